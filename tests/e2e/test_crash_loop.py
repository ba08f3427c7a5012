"""The gateway (a real process on one real anvil, one data directory) SIGKILLed at a random moment
while batches are in flight, 20 times in a row. After every restart: no journal entry is open,
granted entries and DataAccessed events match one to one (query id, response hash), and the
auditor (chain replay plus the journal cross-check) finds nothing.

The moments come from a seed printed at the start (``CONSENTLEDGER_CRASH_SEED`` replays a run);
``CONSENTLEDGER_CRASH_KILLS`` changes the number of kills.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from consentledger.chain.anvil import AnvilChain
from consentledger.journal.schema import ReadStatus
from tests.harness.processes import (
    assert_journal_is_the_chain,
    consented_read,
    gateway_on_anvil,
    journal_entries,
)


def _count(journal_url: str) -> int:
    """How many reads the journal holds (a cheap poll, while the gateway writes)."""
    engine = create_engine(journal_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM journal")).scalar_one())
    finally:
        engine.dispose()


KILLS = int(os.environ.get("CONSENTLEDGER_CRASH_KILLS", "20"))
#: Reads fired per round, by this many concurrent clients.
READS = 16
CLIENTS = 8


@dataclass(frozen=True, slots=True)
class Round:
    """What one kill left behind."""

    journaled: int  # entries in the journal at the kill (all rounds)
    pending_at_kill: int  # journaled, not yet in a batch
    batched_at_kill: int  # in a batch sent (or about to be) but not yet resolved
    answered: int  # reads of this round answered before the kill
    statuses: dict[str, int]  # every entry's status after the restart


@pytest.mark.slow
def test_twenty_sigkills_during_batches_leave_every_entry_resolved_and_the_audit_clean(
    node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CONSENTLEDGER_CRASH_SEED", secrets.randbits(32)))
    print(f"\ncrash loop seed {seed} (CONSENTLEDGER_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        node, bureau_url, tmp_path, CONSENTLEDGER_BATCH_MAX_ENTRIES="6"
    )
    rounds: list[Round] = []
    began = time.monotonic()
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)

        def read(key: str) -> int | None:
            return consented.status(gateway.url, key)

        for kill in range(KILLS):
            where = f"seed {seed}, kill {kill + 1}"
            before = _count(journal_url)
            # Kill once this round journaled a random number of reads, a random moment later.
            threshold = before + rng.randint(1, READS - 4)
            pause = rng.randint(0, 120) / 1000
            keys = [f"round-{kill}-{i}" for i in range(READS)]
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                futures = [pool.submit(read, key) for key in keys]
                deadline = time.monotonic() + 20
                while _count(journal_url) < threshold and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(pause)
                gateway.kill()
                answered = [f.result() for f in futures]
            # Nothing answered is anything but the chain's decision (200, or 403 past the
            # consent's 400 reads) or a dropped connection.
            assert set(answered) <= {None, 200, 403}, (where, answered)
            at_kill = journal_entries(journal_url)
            pending = sum(e.status == ReadStatus.PENDING for e in at_kill)
            batched = sum(e.status == ReadStatus.BATCHED for e in at_kill)
            gateway.start()  # reconciliation runs before the gateway answers
            statuses = assert_journal_is_the_chain(node, deployment, relayer.address, journal_url)
            rounds.append(
                Round(
                    len(at_kill), pending, batched, sum(a is not None for a in answered), statuses
                )
            )
        assert any(r.batched_at_kill for r in rounds), "no kill caught a batch in flight"
    finally:
        gateway.stop()
        seconds = time.monotonic() - began
        print(f"crash loop seed {seed}: {len(rounds)} kills in {seconds:.0f} s")
        for n, r in enumerate(rounds, 1):
            print(
                f"  kill {n:2}: {r.journaled:3} entries, open at the kill {r.pending_at_kill:2} "
                f"pending + {r.batched_at_kill:2} batched, {r.answered:2}/{READS} answered; "
                f"after the restart {r.statuses}"
            )
