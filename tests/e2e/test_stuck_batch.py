"""A batch transaction stuck in a real anvil's pool (automine off, or dropped from the pool): the
gateway (a real process) detects it, replaces it with higher fees under the same nonce, answers
the waiting reads with a 503 ``outcome_pending`` (nothing released), survives a SIGKILL meanwhile,
and once the node mines again resolves them by itself and carries on. A batch whose nonce another
transaction took fails cleanly: 503 ``not_recorded``, nothing on the chain, the entry failed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from consentledger.chain.anvil import AnvilChain
from consentledger.client import Gateway as ClientGateway
from consentledger.client import NotRecordedError, OutcomePendingError
from consentledger.client.models import QueryResult
from consentledger.journal.schema import Batch, BatchReplacement, ReadStatus
from tests.harness.processes import (
    assert_journal_is_the_chain,
    consented_read,
    gateway_on_anvil,
    journal_entries,
    recorded_reads,
)

#: Stuck after half a second, replaced at most twice, a request waits 3 s at most.
STUCK = {
    "CONSENTLEDGER_BATCH_STUCK_AFTER_S": "0.5",
    "CONSENTLEDGER_BATCH_MAX_REPLACEMENTS": "2",
    "CONSENTLEDGER_READ_TIMEOUT_S": "3",
}


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _transactions(journal_url: str) -> list[tuple[str, int]]:
    """Every signed batch transaction in the journal, first ones and replacements: (hash, nonce)."""
    engine = create_engine(journal_url)
    try:
        with Session(engine) as session:
            batches = {b.id: b for b in session.scalars(select(Batch))}
            found = [(b.tx_hash, b.nonce) for b in batches.values()]
            found += [
                (r.tx_hash, batches[r.batch_id].nonce)
                for r in session.scalars(select(BatchReplacement))
            ]
            return found
    finally:
        engine.dispose()


def _mined(node: AnvilChain, tx_hash: str) -> bool:
    answer = node.w3.provider.make_request(
        "eth_getTransactionReceipt",  # type: ignore[arg-type]
        [tx_hash],
    )
    return answer.get("result") is not None


def _pool_size(node: AnvilChain) -> int:
    status = node.w3.provider.make_request("txpool_status", [])  # type: ignore[arg-type]
    return int(status["result"]["pending"], 16)


def _assert_pending(answer: object) -> None:
    assert isinstance(answer, OutcomePendingError), answer
    assert (answer.status, answer.code) == (503, "outcome_pending")
    assert "data" not in answer.problem


@pytest.mark.slow
def test_a_batch_stuck_in_the_pool_is_replaced_and_resolved_when_the_node_mines_again(
    node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        node, bureau_url, tmp_path, **STUCK
    )
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)
        assert consented.status(gateway.url, "before") == 200

        node.set_automine(False)  # the node takes transactions and mines none
        began = time.monotonic()
        stuck = consented.outcome(gateway.url, "stuck")
        _assert_pending(stuck)
        assert 2.5 < time.monotonic() - began < 30  # the read timeout, not a hang
        # Detected and replaced (twice, the limit), every candidate journaled with one nonce.
        _until(lambda: len(_transactions(journal_url)) == 1 + 1 + 2)
        candidates = _transactions(journal_url)[1:]
        assert len({nonce for _, nonce in candidates}) == 1
        assert _pool_size(node) == 1  # each replacement took the place of the one before
        _assert_pending(consented.outcome(gateway.url, "stuck"))  # same key: still pending
        entry = next(e for e in journal_entries(journal_url) if e.idempotency_key == "stuck")
        assert entry.status == ReadStatus.BATCHED
        assert entry.tx_hash == candidates[-1][0]  # the journal names the newest candidate
        assert len(recorded_reads(node, deployment.address, relayer.address)) == 1

        with ClientGateway(gateway.url, timeout=30) as api:
            health = api.health()
        assert health.batch_replacements_sent == 2
        assert health.batches_stuck >= 3
        assert health.open_journal_entries == 1
        # The gateway dies and comes back while the node still mines nothing: the restart finds
        # the batch open (every candidate journaled) and goes on watching it.
        gateway.kill()
        gateway.start()
        _assert_pending(consented.outcome(gateway.url, "stuck"))
        assert _pool_size(node) == 1

        node.set_automine(True)  # anvil mines its pool: the last replacement
        _until(lambda: consented.status(gateway.url, "stuck") == 200)
        released = consented.outcome(gateway.url, "stuck")
        assert isinstance(released, QueryResult), released
        assert [_mined(node, h) for h, _ in candidates] == [False, False, True]
        assert released.receipt.tx_hash == candidates[-1][0]
        # and it carries on by itself
        assert consented.status(gateway.url, "after") == 200
        assert_journal_is_the_chain(node, deployment, relayer.address, journal_url)
    finally:
        gateway.stop()


@pytest.mark.slow
def test_a_batch_dropped_from_the_pool_is_sent_again(
    node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        node, bureau_url, tmp_path, **{**STUCK, "CONSENTLEDGER_BATCH_STUCK_AFTER_S": "1"}
    )
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)
        node.set_automine(False)
        _assert_pending(consented.outcome(gateway.url, "dropped"))
        assert _pool_size(node) == 1
        # The node loses it (a restart of a node without a kept pool, an eviction).
        node.w3.provider.make_request("anvil_dropAllTransactions", [])  # type: ignore[arg-type]
        assert _pool_size(node) == 0
        node.set_automine(True)
        # Still not mined a second later: sent again (replaced, or past the limit rebroadcast),
        # and mined at once.
        _until(lambda: consented.status(gateway.url, "dropped") == 200)
        assert consented.status(gateway.url, "after") == 200
        assert_journal_is_the_chain(node, deployment, relayer.address, journal_url)
    finally:
        gateway.stop()


@pytest.mark.slow
def test_a_stuck_batch_whose_nonce_is_taken_fails_cleanly(
    node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        node,
        bureau_url,
        tmp_path,
        **{**STUCK, "CONSENTLEDGER_BATCH_STUCK_AFTER_S": "4", "CONSENTLEDGER_READ_TIMEOUT_S": "1"},
    )
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)
        node.set_automine(False)
        _assert_pending(consented.outcome(gateway.url, "lost"))
        # The read waits 1 s, the relayer calls a batch stuck after 4 s: a busy machine can let
        # it send a replacement first, and every candidate carries the one nonce.
        nonces = {nonce for _, nonce in _transactions(journal_url)}
        assert len(nonces) == 1
        (nonce,) = nonces
        # Before the relayer calls it stuck, the node loses it and another transaction of the
        # same key takes its nonce: that batch can never be mined.
        node.w3.provider.make_request("anvil_dropAllTransactions", [])  # type: ignore[arg-type]
        node.set_automine(True)
        assert node.w3.eth.get_transaction_count(relayer.address) == nonce
        transfer = relayer.sign_transaction(
            {
                "to": relayer.address,
                "value": 0,
                "gas": 21_000,
                "nonce": nonce,
                "chainId": node.chain_id,
                "maxFeePerGas": 10 * node.w3.eth.gas_price,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        taken = node.w3.eth.send_raw_transaction(transfer.raw_transaction)
        # Anvil answers the send before it mines: wait on the receipt, not on its speed.
        assert node.w3.eth.wait_for_transaction_receipt(taken, timeout=60)["status"] == 1
        assert node.w3.eth.get_transaction_count(relayer.address) == nonce + 1

        def failed() -> bool:
            return isinstance(consented.outcome(gateway.url, "lost"), NotRecordedError)

        _until(failed)
        entry = next(e for e in journal_entries(journal_url) if e.idempotency_key == "lost")
        assert entry.status == ReadStatus.FAILED
        assert recorded_reads(node, deployment.address, relayer.address) == {}
        # carries on with the next nonce
        assert consented.status(gateway.url, "after") == 200
        assert_journal_is_the_chain(node, deployment, relayer.address, journal_url)
    finally:
        gateway.stop()
