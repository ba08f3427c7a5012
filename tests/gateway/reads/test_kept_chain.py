"""A gateway on a kept embedded chain (CONSENTLEDGER_CHAIN_DIR): a restart finds the same ledger,
consents and recorded reads, and goes on serving; a log that does not replay refuses the start,
naming the block."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pydantic import SecretStr, ValidationError

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.categories import Category
from consentledger.chain.blocklog import LOG_NAME
from consentledger.chain.persistent import ChainLogMismatchError
from consentledger.gateway.settings import Settings
from tests.harness.gateway import running_gateway


def _kept(tmp_path: Path) -> dict[str, Any]:
    relayer, regulator = Account.create(), Account.create()
    return {
        "chain_dir": tmp_path / "chain",
        "deployment_file": tmp_path / "deployment.json",
        "relayer_key": SecretStr(bytes(relayer.key).hex()),
        "regulator_key": SecretStr(bytes(regulator.key).hex()),
    }


def test_a_restarted_gateway_finds_its_ledger_and_goes_on(tmp_path: Path, bureau_url: str) -> None:
    kept = _kept(tmp_path)
    with running_gateway(tmp_path, bureau_url, **kept) as gateway:
        bank = gateway.add_bank("Kept Bank")
        chip = gateway.register(CHIP_DISTRIBUTOR_USCC)
        consent = gateway.grant_on_chain(chip, bank, Category.BUSINESS_REGISTRATION.bit)
        first = gateway.read(bank, chip, consent, [1]).receipt
        deployment = gateway.context.deployment
        head = gateway.context.w3.eth.get_block("latest")

    with running_gateway(tmp_path, bureau_url, **kept) as gateway:
        assert gateway.context.deployment == deployment
        w3 = gateway.context.w3
        assert w3.eth.get_block(head["number"])["hash"] == head["hash"]
        mined = gateway.context.ledger.receipt(bytes.fromhex(first.tx_hash[2:]))
        assert mined is not None
        assert mined.block_number == first.block_number
        assert gateway.context.ledger.consent(consent).reads_used == 1
        second = gateway.read(bank, chip, consent, [1])  # the same bank key, the same consent
        assert int(second.receipt.query_id, 16) > int(first.query_id, 16)
        assert gateway.context.ledger.consent(consent).reads_used == 2
        read_block = first.block_number

    log = tmp_path / "chain" / LOG_NAME
    lines = log.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[read_block])
    record["timestamp"] += 1
    lines[read_block] = json.dumps(record).encode() + b"\n"
    log.write_bytes(b"".join(lines))
    with (
        pytest.raises(ChainLogMismatchError, match=f"block {read_block}: hash differs"),
        running_gateway(tmp_path, bureau_url, **kept),
    ):
        pass


def test_a_chain_directory_needs_kept_keys_and_record(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CONSENTLEDGER_DEPLOYMENT_FILE, CONSENTLEDGER_RELAY"):
        Settings(chain_dir=tmp_path / "chain")
    with pytest.raises(ValidationError, match="for the embedded chain only"):
        Settings(chain="http://127.0.0.1:8545", **_kept(tmp_path))
    assert Settings(**_kept(tmp_path)).chain_dir == tmp_path / "chain"
