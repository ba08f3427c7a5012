"""The embedded chain finds transactions through py-evm's index instead of eth-tester's scan from
the head (which made ``eth_getLogs`` cost O(blocks^2)), and stays right after a revert."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from consentledger.chain import embedded
from consentledger.chain.deploy import deploy_ledger
from consentledger.chain.embedded import EmbeddedChain


def _send(chain: EmbeddedChain, value: int) -> HexBytes:
    sender = chain.tester.get_accounts()[1]
    tx = {"from": sender, "to": Account.create().address, "value": value, "gas": 21_000}
    return HexBytes(chain.tester.send_transaction(tx))


def test_receipts_of_old_transactions_and_after_a_revert() -> None:
    chain = EmbeddedChain()
    first = _send(chain, 1)
    for value in range(2, 30):
        _send(chain, value)
    receipt = chain.w3.eth.get_transaction_receipt(first)
    assert receipt["blockNumber"] == 1
    assert chain.w3.eth.get_transaction(first)["value"] == 1

    snapshot = chain.snapshot()
    vanished = _send(chain, 500)
    chain.revert(snapshot)
    with pytest.raises(TransactionNotFound):
        chain.w3.eth.get_transaction_receipt(vanished)

    dropped = _send(chain, 1000)
    dropped_block = chain.w3.eth.get_transaction_receipt(dropped)["blockNumber"]
    chain.revert(snapshot)
    kept = _send(chain, 2000)
    # The index may still name `dropped` at the block `kept` now occupies: it must not be found.
    assert chain.w3.eth.get_transaction_receipt(kept)["blockNumber"] == dropped_block
    with pytest.raises(TransactionNotFound):
        chain.w3.eth.get_transaction_receipt(dropped)


def test_get_logs_reads_receipts_through_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = EmbeddedChain()
    regulator = chain.new_account()
    deployment, _ = deploy_ledger(chain.w3, regulator, relayers=[regulator.address])
    for value in range(50):
        _send(chain, value + 1)

    def no_scan(_chain: object, transaction_hash: bytes) -> None:
        raise AssertionError(f"scanned the chain for 0x{transaction_hash.hex()}")

    monkeypatch.setattr(embedded, "_scan_for_transaction", no_scan)
    contract = to_checksum_address(deployment.address)
    logs = chain.w3.eth.get_logs({"address": contract, "fromBlock": 0})
    assert len(logs) > 11  # roles, the 11 categories, the purposes
    assert chain.w3.eth.get_transaction_receipt(logs[0]["transactionHash"])["status"] == 1
