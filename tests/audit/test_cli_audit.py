"""``consentledger audit``: exit code 0 clean, 1 findings, 2 could not audit, with one-line
messages; against recordings, a real anvil node, and a node behind a bearer token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from consentledger.chain.anvil import free_port
from consentledger.cli import main
from consentledger.testing.scenario import SOLO_USCC, SUBJECT_KEY, Scenario
from tests.audit.conftest import GOLDEN

TOKEN = "s3cret-token"


def _text(result: Result) -> str:
    return " ".join(result.output.split())


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["audit", *args], env={"COLUMNS": "200", **(env or {})})


def _recorded(out: Path, *extra: str, deployment: Path = GOLDEN / "deployment.json") -> Result:
    return _run(
        *("--logs", str(GOLDEN / "ledger.json"), "--deployment", str(deployment)),
        *("--out", str(out), *extra),
    )


# ------------------------------------------------------------------------------ exit 0 and 1


def test_clean_recording_exits_0_and_writes_reports(tmp_path: Path) -> None:
    result = _recorded(tmp_path, "--subject", "0x" + "00" * 32)
    assert result.exit_code == 0, result.output
    assert "clean" in _text(result)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["clean"] is True
    assert (tmp_path / "report.html").is_file()
    assert (tmp_path / f"portability-0x{'00' * 32}.json").is_file()


def test_findings_exit_1(tmp_path: Path) -> None:
    recording: dict[str, Any] = json.loads((GOLDEN / "ledger.json").read_text())
    from tests.audit.test_golden import _wrong_reason

    _wrong_reason(recording)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(recording))
    result = _run(
        *("--logs", str(tampered), "--deployment", str(GOLDEN / "deployment.json")),
        *("--out", str(tmp_path / "out")),
    )
    assert result.exit_code == 1, result.output
    assert "finding" in _text(result)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["summary"]["findings_by_code"] == {"wrong_denial_reason": 1}
    assert "wrong_denial_reason" in (tmp_path / "out" / "report.html").read_text()


def test_real_node_with_enterprise_portability(
    anvil_ledger: tuple[str, Scenario, Path], tmp_path: Path
) -> None:
    url, scenario, record = anvil_ledger
    key_file = tmp_path / "subject.key"
    key_file.write_text(SUBJECT_KEY + "\n")
    result = _run(
        *("--rpc", url, "--deployment", str(record), "--out", str(tmp_path)),
        *("--enterprise", SOLO_USCC, "--subject-key-file", str(key_file), "--block-range", "5"),
        *("--gateway-url", "https://gateway.example/"),
    )
    assert result.exit_code == 0, result.output
    subject = scenario.world.enterprises["solo"].subject
    portability = json.loads((tmp_path / f"portability-0x{subject.hex()}.json").read_text())
    assert portability["summary"]["consents"] == 4
    assert portability["data_subject"]["uscc"] == SOLO_USCC
    assert portability["dashboard"] == "https://gateway.example/dashboard"
    html = (tmp_path / f"portability-0x{subject.hex()}.html").read_text()
    assert 'href="https://gateway.example/dashboard"' in html
    assert SOLO_USCC in html
    assert SUBJECT_KEY not in result.output
    # The same through the environment variable.
    env_run = _run(
        *("--rpc", url, "--deployment", str(record), "--out", str(tmp_path / "env")),
        *("--enterprise", SOLO_USCC),
        env={"CONSENTLEDGER_SUBJECT_KEY": SUBJECT_KEY},
    )
    assert env_run.exit_code == 0, env_run.output


def test_follow_for_a_while_then_exit(
    anvil_ledger: tuple[str, Scenario, Path], tmp_path: Path
) -> None:
    url, _scenario, record = anvil_ledger
    result = _run(
        *("--rpc", url, "--deployment", str(record), "--out", str(tmp_path)),
        *("--follow", "--follow-for", "0.6", "--poll-interval", "0.2"),
    )
    assert result.exit_code == 0, result.output
    assert "following the chain" in _text(result)
    assert json.loads((tmp_path / "report.json").read_text())["clean"] is True


# ---------------------------------------------------------------------------- bearer token


class _TokenProxy(BaseHTTPRequestHandler):
    """Forwards JSON-RPC to ``upstream`` only with the right bearer token; 401 otherwise."""

    upstream = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        answer = httpx.post(
            self.upstream, content=body, headers={"Content-Type": "application/json"}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def token_proxy(anvil_ledger: tuple[str, Scenario, Path]) -> Iterator[str]:
    handler = type("Proxy", (_TokenProxy,), {"upstream": anvil_ledger[0]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rpc"
    finally:
        server.shutdown()
        server.server_close()


def test_bearer_token_is_sent(
    anvil_ledger: tuple[str, Scenario, Path], token_proxy: str, tmp_path: Path
) -> None:
    _url, _scenario, record = anvil_ledger
    args = ("--rpc", token_proxy, "--deployment", str(record), "--out", str(tmp_path))
    refused = _run(*args)
    assert refused.exit_code == 5  # chain_unavailable
    assert "refused the request (HTTP 401)" in _text(refused)
    token_file = tmp_path / "auditor.token"
    token_file.write_text(TOKEN + "\n")
    accepted = _run(*args, "--rpc-token-file", str(token_file))
    assert accepted.exit_code == 0, accepted.output
    from_env = _run(*args, env={"CONSENTLEDGER_RPC_TOKEN": TOKEN})
    assert from_env.exit_code == 0, from_env.output
    assert TOKEN not in accepted.output


def test_the_token_is_never_taken_from_the_command_line(
    anvil_ledger: tuple[str, Scenario, Path], token_proxy: str, tmp_path: Path
) -> None:
    _url, _scenario, record = anvil_ledger
    args = ("--rpc", token_proxy, "--deployment", str(record), "--out", str(tmp_path))
    refused = _run(*args, "--rpc-token", TOKEN)
    assert refused.exit_code == 2
    assert "No such option '--rpc-token'" in _text(refused)


# ------------------------------------------------------------------------------------ exit 2


def _deployment_with(tmp_path: Path, **changes: Any) -> Path:
    record = json.loads((GOLDEN / "deployment.json").read_text())
    record.update(changes)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(record))
    return path


def test_unreachable_node(tmp_path: Path) -> None:
    result = _run(
        *("--rpc", f"http://127.0.0.1:{free_port()}/key-in-path", "--deployment"),
        *(str(GOLDEN / "deployment.json"), "--out", str(tmp_path)),
    )
    assert result.exit_code == 5  # chain_unavailable
    text = _text(result)
    assert "cannot reach a JSON-RPC node" in text
    assert "key-in-path" not in text  # the URL is shown without its path
    assert "Traceback" not in result.output


def test_chain_id_mismatch(tmp_path: Path) -> None:
    result = _recorded(tmp_path, deployment=_deployment_with(tmp_path, chain_id=1))
    assert result.exit_code == 12  # bad_deployment_record
    assert "chain id mismatch: the record says 1, the node says 131277322940537" in _text(result)


def test_no_ledger_code_at_the_address(tmp_path: Path) -> None:
    result = _recorded(tmp_path, deployment=_deployment_with(tmp_path, address="0x" + "12" * 20))
    assert result.exit_code == 12  # bad_deployment_record
    assert "is not this package's ConsentLedger" in _text(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "cannot read deployment record"), ('{"chain_id": 1}', "incomplete")],
    ids=["not_json", "incomplete"],
)
def test_bad_deployment_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(content)
    result = _recorded(tmp_path, deployment=path)
    assert result.exit_code == 12  # bad_deployment_record
    assert message in _text(result)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deployment", "d.json"], "give either --rpc URL"),
        (["--rpc", "http://x", "--logs", "l.json", "--deployment", "d.json"], "give either"),
        (["--logs", "l.json", "--deployment", "d.json", "--follow"], "--follow audits a live"),
        (["--logs", "l.json", "--deployment", "d.json", "--follow-for", "1"], "needs --follow"),
        (
            ["--logs", "l.json", "--deployment", "d.json", "--from-block", "9", "--to-block", "3"],
            "--from-block 9 is after --to-block 3",
        ),
        (["--logs", "l.json", "--deployment", "d.json", "--subject", "0x12"], "32 bytes of hex"),
        (
            ["--logs", "l.json", "--deployment", "d.json", "--enterprise", "91440305MA5DKW7Q1A"],
            "invalid USCC",
        ),
        (
            ["--logs", "l.json", "--deployment", "d.json", "--enterprise", SOLO_USCC],
            "no subject key: pass --subject-key-file or set CONSENTLEDGER_SUBJECT_KEY",
        ),
    ],
    ids=[
        "no_source",
        "two_sources",
        "follow_a_recording",
        "follow_for_alone",
        "reversed_window",
        "short_subject",
        "bad_uscc",
        "no_subject_key",
    ],
)
def test_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    result = _run(*args, "--out", str(tmp_path), env={"CONSENTLEDGER_SUBJECT_KEY": ""})
    assert result.exit_code == 2
    assert message in _text(result)
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_to_block_beyond_the_head(tmp_path: Path) -> None:
    result = _recorded(tmp_path, "--to-block", "100000")
    assert result.exit_code == 2
    assert "beyond the chain's latest block" in _text(result)


def test_cli_default_block_range_is_the_readers() -> None:
    from consentledger.audit import cli
    from consentledger.chain import log_reader

    assert cli.DEFAULT_BLOCK_RANGE == log_reader.DEFAULT_BLOCK_RANGE


def test_from_block_beyond_the_head(tmp_path: Path) -> None:
    result = _recorded(tmp_path, "--from-block", "100000")
    assert result.exit_code == 2
    assert "first audited block 100000 is beyond the last block to audit" in _text(result)
