"""The command line: the demo deploys and reports; errors are messages, not tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from consentledger.chain.artifacts import artifact_hash
from consentledger.cli import main


def _text(result: Result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_demo_tells_the_whole_story(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = _text(result)
    record = json.loads((tmp_path / "deployment.json").read_text())
    assert record["contract"] == "ConsentLedger"
    assert record["artifact_hash"] == artifact_hash("ConsentLedger")
    assert "the DataAccessed event match (verify_receipt)" in text
    assert "denied: CATEGORY_NOT_CONSENTED" in text
    assert "denied: REVOKED; nothing released" in text
    report = json.loads((tmp_path / "audit" / "report.json").read_text())
    assert report["clean"] is True
    # the read, the size class and the read that marks the dispute
    assert report["summary"]["reads_granted"] == 3
    assert report["summary"]["reads_denied"] == 2
    assert report["summary"]["consents_granted"] == 2
    assert "the next document released marks it: business_registration/registered_capital" in text
    assert "the bureau answers: corrected" in text
    assert text.count('["read.granted"') == 3
    assert '["dispute.answered"' in text
    assert '["consent.requested"' in text
    assert "approved: consent" in text  # the bank's request, approved by signing
    portability = list((tmp_path / "audit").glob("portability-*.json"))
    assert len(portability) == 1
    named = json.loads(portability[0].read_text())
    assert named["data_subject"]["uscc"] is not None
    assert named["data_subject"]["name"]
    assert named["consent_records"][0]["recipient"]["name_zh"] == "深圳小微银行股份有限公司"
    assert len(list((tmp_path / "audit").glob("portability-*.html"))) == 1


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_deploy_to_a_real_node(anvil_url: str, tmp_path: Path) -> None:
    from eth_account import Account
    from web3 import Web3
    from web3.providers.rpc import HTTPProvider

    from consentledger.chain.anvil import AnvilChain
    from consentledger.chain.deploy import Deployment, verify_deployment

    chain = AnvilChain(anvil_url)
    regulator = chain.new_account()
    key_file = tmp_path / "regulator.key"
    key_file.write_text(regulator.key.hex())
    relayer = Account.create().address
    out = tmp_path / "deployment.json"
    result = CliRunner().invoke(
        main,
        [
            *("deploy", "--rpc", anvil_url, "--regulator-key-file", str(key_file)),
            *("--relayer", relayer, "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert regulator.key.hex() not in result.output
    deployment = Deployment.load(out)
    assert deployment.regulator == regulator.address
    assert deployment.relayers == (relayer,)
    verify_deployment(Web3(HTTPProvider(anvil_url)), deployment)


def test_deploy_refuses_a_bad_key_without_echoing_it(tmp_path: Path) -> None:
    key_file = tmp_path / "regulator.key"
    key_file.write_text("0xnot-a-key-secret-material")
    result = CliRunner().invoke(
        main, ["deploy", "--rpc", "http://127.0.0.1:9", "--regulator-key-file", str(key_file)]
    )
    assert result.exit_code == 2
    assert "does not hold a valid private key" in _text(result)
    assert "secret-material" not in result.output
    assert "Traceback" not in result.output


def test_deploy_to_an_unreachable_node_is_a_clear_error(tmp_path: Path) -> None:
    from eth_account import Account

    key_file = tmp_path / "regulator.key"
    key_file.write_text(Account.create().key.hex())
    result = CliRunner().invoke(
        main, ["deploy", "--rpc", "http://127.0.0.1:9", "--regulator-key-file", str(key_file)]
    )
    assert result.exit_code == 5  # chain_unavailable's own status
    assert "(chain_unavailable)" in _text(result)
    assert "cannot reach" in _text(result)


def test_deploy_without_a_key_names_the_variable() -> None:
    result = CliRunner().invoke(
        main, ["deploy", "--rpc", "http://127.0.0.1:9"], env={"CONSENTLEDGER_REGULATOR_KEY": ""}
    )
    assert result.exit_code == 2
    assert "CONSENTLEDGER_REGULATOR_KEY" in _text(result)
