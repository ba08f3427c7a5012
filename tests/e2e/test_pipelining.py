"""Relayer pipelining on a node with block times: while one batch waits for its block, the next
is signed and sent, so several batches share a block. Nonces and query ids still reach the chain
in order, and every read ends with its event and its journal entry."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from consentledger.chain.anvil import AnvilChain
from tests.harness.processes import assert_journal_is_the_chain, consented_read, gateway_on_anvil


def test_batches_in_flight_share_blocks_and_stay_in_order(
    mining_node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        mining_node,
        bureau_url,
        tmp_path,
        CONSENTLEDGER_BATCH_MAX_ENTRIES="4",
        CONSENTLEDGER_BATCH_MAX_IN_FLIGHT="8",
    )
    try:
        gateway.start()
        consented = consented_read(gateway, mining_node, deployment, relay)
        first_block = mining_node.w3.eth.block_number

        def read(i: int) -> int | None:
            return consented.status(gateway.url, f"pipelined-{i}")

        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(read, range(48)))
    finally:
        gateway.stop()
    assert statuses == [200] * 48
    batches_per_block: Counter[int] = Counter()
    for number in range(first_block + 1, mining_node.w3.eth.block_number + 1):
        block = mining_node.w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            assert not isinstance(tx, bytes)
            if tx["from"] == relayer.address:
                batches_per_block[number] += 1
    assert sum(batches_per_block.values()) >= 12  # 48 reads, at most 4 per batch
    assert max(batches_per_block.values()) >= 2, (
        f"one batch per block: the relayer waited for each block ({dict(batches_per_block)})"
    )
    assert assert_journal_is_the_chain(mining_node, deployment, relayer.address, journal_url) == {
        "granted": 48
    }
