"""Every start-up failure of the command line is one line on stderr, ``error (code): what to do``,
with its own exit status, and no traceback unless ``--debug`` comes first. Run as an operator
runs it: a real process, its real stderr and exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.chain.anvil import free_port
from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN


@pytest.fixture(scope="module")
def seeded_bureau(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('startup-bureau') / 'bureau.db'}"
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=2, progress=False)
    return url


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``consentledger ARGS`` in a fresh process, with only these CONSENTLEDGER_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONSENTLEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "consentledger.cli", *args],
        env={**clean, "COLUMNS": "80", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _assert_one_line(result: subprocess.CompletedProcess[str], code: str, status: int) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error ({code}): "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == status, (result.returncode, result.stderr)
    return lines[0]


def test_a_bad_chain_url(tmp_path: Path) -> None:
    result = _run("serve", "--chain", "ftp://node", "--data-dir", str(tmp_path))
    line = _assert_one_line(result, "bad_chain_url", 4)
    assert "--chain" in line


def test_an_unreachable_node(tmp_path: Path, seeded_bureau: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    key = "0x" + bytes(Account.create().key).hex()
    result = _run(
        "serve",
        *("--chain", url, "--data-dir", str(tmp_path)),
        CONSENTLEDGER_RELAYER_KEY=key,
        CONSENTLEDGER_BUREAU_DATABASE_URL=seeded_bureau,
    )
    line = _assert_one_line(result, "chain_unavailable", 5)
    assert url in line
    assert "consentledger node" in line


def test_a_missing_relayer_key(tmp_path: Path, seeded_bureau: str) -> None:
    result = _run(
        "serve",
        *("--chain", f"http://127.0.0.1:{free_port()}", "--data-dir", str(tmp_path)),
        CONSENTLEDGER_BUREAU_DATABASE_URL=seeded_bureau,
    )
    line = _assert_one_line(result, "relayer_key_missing", 6)
    assert "CONSENTLEDGER_RELAYER_KEY_FILE" in line


def test_production_with_the_development_admin_token(tmp_path: Path) -> None:
    # Without a token serve generates one; the one written in the source is refused.
    result = _run(
        "serve",
        *("--data-dir", str(tmp_path)),
        CONSENTLEDGER_ENVIRONMENT="production",
        CONSENTLEDGER_ADMIN_TOKEN=DEVELOPMENT_ADMIN_TOKEN,
    )
    line = _assert_one_line(result, "development_secret_in_production", 7)
    assert "CONSENTLEDGER_ADMIN_TOKEN" in line


def test_a_data_directory_in_use(tmp_path: Path, seeded_bureau: str) -> None:
    with EmbeddedChain.open(tmp_path / "chain", clock=BlockClock.STEADY):  # another serve
        result = _run(
            "serve", "--data-dir", str(tmp_path), CONSENTLEDGER_BUREAU_DATABASE_URL=seeded_bureau
        )
    _assert_one_line(result, "chain_log_locked", 8)


def test_an_unseeded_bureau_is_refused_at_start(tmp_path: Path) -> None:
    result = _run("serve", "--data-dir", str(tmp_path))
    line = _assert_one_line(result, "bureau_not_seeded", 10)
    assert "consentledger bureau seed" in line
    assert not (tmp_path / "chain").exists()  # refused before the chain was opened


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _run("--debug", "serve", "--chain", "ftp://node", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "BadChainUrlError" in result.stderr


def _assert_one_line_of_ours(result: subprocess.CompletedProcess[str]) -> str:
    """One line with some code of ours and an exit status that is not a bare 0 or 1."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error ("), lines[0]
    assert "Traceback" not in result.stderr
    assert result.returncode not in (0, 1), (result.returncode, result.stderr)
    return lines[0]


def test_audit_without_a_deployment_record(tmp_path: Path) -> None:
    result = _run(
        "audit",
        *("--rpc", f"http://127.0.0.1:{free_port()}"),
        *("--deployment", str(tmp_path / "deployment.json"), "--out", str(tmp_path / "audit")),
    )
    _assert_one_line_of_ours(result)


def test_admin_without_a_token(tmp_path: Path) -> None:
    result = _run("admin", "list-banks")
    line = _assert_one_line(result, "admin_token_unset", 2)
    assert "CONSENTLEDGER_ADMIN_TOKEN" in line


def test_admin_help_needs_no_token() -> None:
    result = _run("admin", "add-bank", "--help")
    assert result.returncode == 0, result.stderr
    assert "--json" in result.stdout


def test_admin_json_after_the_subcommand_is_accepted() -> None:
    # Parsed (no "No such option"): it fails only for the missing token.
    result = _run(
        "admin",
        "add-bank",
        "Example Bank",
        "--name-zh",
        "示例银行",
        "--licence-number",
        "B0001H144030001",
        "--json",
    )
    _assert_one_line(result, "admin_token_unset", 2)


def test_the_journal_variable_is_not_taken_for_the_bureau(tmp_path: Path) -> None:
    journal = f"sqlite:///{tmp_path / 'gateway.db'}"
    result = _run("bureau", "show", "91440300MA5FUTURE8", CONSENTLEDGER_DATABASE_URL=journal)
    line = _assert_one_line(result, "bureau_database_unset", 3)
    assert "CONSENTLEDGER_BUREAU_DATABASE_URL" in line
