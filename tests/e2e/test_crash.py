"""Crash safety: the gateway as a real process on a real anvil node, SIGKILLed with reads in
flight, then restarted. Every journal entry ends resolved, and no read is released (journaled
granted) without its DataAccessed on the chain, nor recorded on the chain without its entry."""

from __future__ import annotations

import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from consentledger.chain.anvil import AnvilChain
from consentledger.journal.schema import ReadStatus
from tests.harness.processes import (
    consented_read,
    gateway_on_anvil,
    journal_entries,
    recorded_reads,
)


@pytest.mark.slow
def test_sigkill_with_reads_in_flight_loses_nothing(
    node: AnvilChain, bureau_url: str, tmp_path: Path, journal_url: str
) -> None:
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        node, bureau_url, tmp_path, journal_url, CONSENTLEDGER_BATCH_MAX_ENTRIES="8"
    )
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)
        assert consented.status(gateway.url, "warm-up") == 200
        keys = [f"crash-{i}" for i in range(120)]

        def read(key: str) -> int | None:
            return consented.status(gateway.url, key)

        with ThreadPoolExecutor(max_workers=24) as pool:
            futures = [pool.submit(read, key) for key in keys]
            deadline = time.monotonic() + 20
            while len(journal_entries(journal_url)) < 10 and time.monotonic() < deadline:
                time.sleep(0.02)  # let batches get going, then kill at a random moment
            time.sleep(secrets.randbelow(200) / 1000)
            gateway.kill()
            answered = [f.result() for f in futures]
        assert None in answered, "the gateway died after every read was answered"
        assert all(status in (None, 200) for status in answered)

        at_kill = journal_entries(journal_url)
        open_at_kill = sum(e.status in (ReadStatus.PENDING, ReadStatus.BATCHED) for e in at_kill)
        logging.getLogger(__name__).warning(
            "killed with %d of %d journal entries open", open_at_kill, len(at_kill)
        )
        gateway.start()  # reconciliation runs before the gateway answers
        entries = journal_entries(journal_url)
        assert len(entries) > 1, "no read beyond the warm-up was journaled before the kill"
        assert {e.status for e in entries} <= {ReadStatus.GRANTED, ReadStatus.FAILED}
        recorded = recorded_reads(node, deployment.address, relayer.address)
        granted = {
            int(e.query_id or "0x0", 16): e for e in entries if e.status == ReadStatus.GRANTED
        }
        assert set(granted) == set(recorded), "a release without its record, or the reverse"
        for query_id, entry in granted.items():
            assert recorded[query_id] == entry.response_hash
        for key, status in zip(keys, answered, strict=True):
            if status == 200:  # what was answered is what the journal says
                assert consented.status(gateway.url, key) == 200
    finally:
        gateway.stop()
