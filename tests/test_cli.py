"""The command line: the demo deploys and reports; errors are messages, not tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from consentledger.chain.artifacts import artifact_hash
from consentledger.cli import main


def test_demo_deploys_and_writes_the_record(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "deployment.json").read_text())
    assert record["contract"] == "ConsentLedger"
    assert record["artifact_hash"] == artifact_hash("ConsentLedger")
    assert record["address"] in result.output
    for purpose in ("credit_underwriting", "post_loan_monitoring", "account_opening"):
        assert purpose in result.output
    assert "audited_financial_statements" in result.output
    assert len(record["relayers"]) == 1


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
