"""A reorganisation that drops the block recording a read, on a real node (anvil mining a block a
second, its ``anvil_reorg`` replacing the last blocks with empty ones: the read's transaction is
gone from the chain and from the node).

The gateway releases a read only once its block is ``CONSENTLEDGER_CONFIRMATIONS`` deep and still
the chain's: the dropped read is not released from the dropped block; its batch is sent again and
recorded once on the new branch, and only then released, with a receipt the chain holds. The
gateway's live model and the auditor follow the new branch without a finding.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from hexbytes import HexBytes

from consentledger.chain.anvil import AnvilChain
from consentledger.chain.jsonrpc import HttpJsonRpc
from consentledger.client.models import QueryResult
from tests.harness.processes import (
    assert_journal_is_the_chain,
    consented_read,
    gateway_on_anvil,
    recorded_reads,
)

CONFIRMATIONS = 5


def _live(url: str) -> dict[str, object]:
    return dict(httpx.get(f"{url}/v1/health", timeout=30).json())


@pytest.mark.slow
def test_a_dropped_recording_block_is_recorded_again_then_released_once(
    mining_node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        mining_node,
        bureau_url,
        tmp_path,
        CONSENTLEDGER_CONFIRMATIONS=str(CONFIRMATIONS),
        CONSENTLEDGER_BATCH_STUCK_AFTER_S="2",
        CONSENTLEDGER_READ_TIMEOUT_S="90",
    )
    rpc = HttpJsonRpc(mining_node.url)
    try:
        gateway.start()
        consented = consented_read(gateway, mining_node, deployment, relay)
        with ThreadPoolExecutor(1) as pool:
            read = pool.submit(consented.outcome, gateway.url, "dropped")
            deadline = time.monotonic() + 60
            while not (
                recorded := recorded_reads(mining_node, deployment.address, relayer.address)
            ):
                assert time.monotonic() < deadline, "the read was never recorded"
                time.sleep(0.1)
            (first_query_id,) = recorded
            logs = rpc.request("eth_getLogs", [{"address": deployment.address, "fromBlock": "0x0"}])
            recording_block = max(int(log["blockNumber"], 16) for log in logs)
            head = int(rpc.request("eth_blockNumber", []), 16)
            assert not read.done(), "released before its block was deep enough"
            rpc.request("anvil_reorg", [head - recording_block + 1, []])
            assert recorded_reads(mining_node, deployment.address, relayer.address) == {}, (
                "the reorganisation left the read recorded"
            )
            result = read.result()
        assert isinstance(result, QueryResult), result
        assert result.receipt.matches(result.data)
        again = recorded_reads(mining_node, deployment.address, relayer.address)
        # Recorded once more under the same query id (the batch sent again), and released once.
        assert list(again) == [first_query_id] == [int(result.receipt.query_id, 16)]
        assert again[int(result.receipt.query_id, 16)] == result.receipt.response_hash
        mined = mining_node.w3.eth.get_transaction_receipt(HexBytes(result.receipt.tx_hash))
        assert mined["blockNumber"] == result.receipt.block_number
        canonical = rpc.request("eth_getBlockByNumber", [hex(mined["blockNumber"]), False])
        assert canonical["hash"] == "0x" + bytes(mined["blockHash"]).hex()
        assert int(rpc.request("eth_blockNumber", []), 16) - mined["blockNumber"] >= CONFIRMATIONS
        # The live model followed the new branch: fresh, and the next read is pre-checked on it.
        deadline = time.monotonic() + 60
        while not (before := _live(gateway.url))["live_ledger_fresh"]:
            assert time.monotonic() < deadline, before
            time.sleep(0.2)
        assert consented.status(gateway.url, "after") == 200
        assert _live(gateway.url)["reads_prechecked_live"] > before["reads_prechecked_live"]  # type: ignore[operator]
    finally:
        gateway.stop()
        rpc.close()
    counts = assert_journal_is_the_chain(mining_node, deployment, relayer.address, journal_url)
    assert counts == {"granted": 2}
