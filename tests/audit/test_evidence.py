"""The evidence file: a live ledger recorded from a node (``consentledger audit record``) replays
offline (``audit --logs``) to the same report as the live audit, and the report names the file's
SHA-256. On eth-tester (through the Python API) and on a real anvil (through the command line)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from consentledger.audit.evidence import evidence_of, record_ledger
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc
from consentledger.cli import main
from consentledger.testing.scenario import Scenario
from tests.audit.conftest import audit_embedded, reports, without

#: What differs between a live audit's report and the same ledger's recorded one.
LIVE_ONLY = frozenset({"generated_at", "evidence"})


def _audit(*args: str) -> Result:
    return CliRunner().invoke(main, ["audit", *args], env={"COLUMNS": "200"})


def _report(directory: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((directory / "report.json").read_text())
    return report


def test_a_recording_of_eth_tester_replays_to_the_live_report_and_names_its_hash(
    scripted: tuple[EmbeddedChain, Scenario], tmp_path: Path
) -> None:
    chain, scenario = scripted
    deployment = tmp_path / "deployment.json"
    scenario.world.deployment.save(deployment)
    evidence_file = tmp_path / "ledger.json"
    live, evidence = record_ledger(EmbeddedJsonRpc(chain), scenario.world.deployment, evidence_file)
    assert live.clean
    assert evidence.sha256 == hashlib.sha256(evidence_file.read_bytes()).hexdigest()
    # The same chain gives the same bytes.
    _again, repeated = record_ledger(
        EmbeddedJsonRpc(chain), scenario.world.deployment, tmp_path / "again.json"
    )
    assert repeated.sha256 == evidence.sha256

    replayed = _audit(
        *("--logs", str(evidence_file), "--deployment", str(deployment)),
        *("--out", str(tmp_path / "out")),
    )
    assert replayed.exit_code == 0, replayed.output
    assert evidence.sha256 in replayed.output
    report = _report(tmp_path / "out")
    assert report["evidence"] == {
        "file": "ledger.json",
        "format": "consentledger-recorded-ledger/1",
        "sha256": evidence.sha256,
    }
    assert evidence.sha256 in (tmp_path / "out" / "report.html").read_text()
    expected = reports(audit_embedded(chain, scenario, subject=None), None)["report"]
    assert without(report, LIVE_ONLY) == without(expected, LIVE_ONLY)

    # Another file (the same logs, written otherwise) is another piece of evidence.
    reformatted = tmp_path / "reformatted.json"
    reformatted.write_text(json.dumps(json.loads(evidence_file.read_text())))
    assert evidence_of(reformatted).sha256 != evidence.sha256


def test_audit_record_on_anvil_writes_evidence_that_replays_offline(
    anvil_ledger: tuple[str, Scenario, Path], tmp_path: Path
) -> None:
    url, _scenario, deployment = anvil_ledger
    evidence_file = tmp_path / "evidence" / "ledger.json"
    recorded = _audit(
        "record", "--rpc", url, "--deployment", str(deployment), "--out", str(evidence_file)
    )
    assert recorded.exit_code == 0, recorded.output
    sha256 = hashlib.sha256(evidence_file.read_bytes()).hexdigest()
    assert f"sha256 {sha256}" in recorded.output

    live = _audit("--rpc", url, "--deployment", str(deployment), "--out", str(tmp_path / "live"))
    assert live.exit_code == 0, live.output
    offline = _audit(
        *("--logs", str(evidence_file), "--deployment", str(deployment)),
        *("--out", str(tmp_path / "offline")),
    )
    assert offline.exit_code == 0, offline.output
    report = _report(tmp_path / "offline")
    assert report["evidence"]["sha256"] == sha256
    assert "evidence" not in _report(tmp_path / "live")
    assert without(report, LIVE_ONLY) == without(_report(tmp_path / "live"), LIVE_ONLY)
    assert report["summary"]["reads"] == 24


def test_audit_record_refuses_a_node_it_cannot_reach_in_one_line(tmp_path: Path) -> None:
    deployment = Path(__file__).resolve().parent / "golden" / "deployment.json"
    result = _audit(
        *("record", "--rpc", "http://127.0.0.1:9", "--deployment", str(deployment)),
        *("--out", str(tmp_path / "ledger.json")),
    )
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "ledger.json").exists()
