"""SIGKILL a process writing to a persistent chain at random moments: every write it saw
acknowledged is on the chain after a restart, and at most the one write in flight is extra."""

from __future__ import annotations

import json
import logging
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hexbytes import HexBytes

from consentledger.categories import Category, Purpose
from consentledger.chain.client import LedgerClient
from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.persistent import DurableBackend
from consentledger.testing.world import World
from tests.chain.persistence.conftest import embedded

ROUNDS = 6
REPO = Path(__file__).resolve().parents[3]
log = logging.getLogger(__name__)


def _run_and_kill(data_dir: Path, spec: Path, delay: float, stderr: Path) -> list[str]:
    """Start the writer, SIGKILL it ``delay`` seconds after it is ready; the lines it printed."""
    lines: list[str] = []
    ready = threading.Event()
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.chain.persistence.writer", str(data_dir), str(spec)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
        )

        def read() -> None:
            assert process.stdout is not None
            for raw in process.stdout:
                if not raw.endswith(b"\n"):
                    break  # torn by the kill: never acknowledged
                line = raw.decode().strip()
                if line == "ready":
                    ready.set()
                elif line:
                    lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            if not ready.wait(timeout=120):
                raise AssertionError(f"the writer never got ready: {stderr.read_text()[-2000:]}")
            time.sleep(delay)
            if process.poll() is not None:
                raise AssertionError(f"the writer exited early: {stderr.read_text()[-2000:]}")
            process.send_signal(signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
            reader.join(timeout=30)
    return lines


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_acknowledged(
    persisted: World, tmp_path: Path
) -> None:
    world = persisted
    bank = world.banks[0]
    consent = world.grant(
        world.terms(
            world.enterprises["solo"],
            bank,
            purpose=Purpose.POST_LOAN_MONITORING,
            categories=[Category.BUSINESS_REGISTRATION],
            max_reads=400,
        )
    )
    chain = embedded(world)
    data_dir = chain.data_dir
    assert data_dir is not None
    chain.close()
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "relayer_key": bytes(world.bureau.account.key).hex(),
                "ledger": world.deployment.address,
                "consent": consent.hex(),
                "bank": bank.address,
                "bank_key": bytes(bank.key).hex(),
                "max_writes": 1000,
            }
        )
    )
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    acknowledged: list[tuple[str, str]] = []
    torn = 0
    for round_ in range(ROUNDS):
        delay = rng.uniform(0.0, 1.0)
        lines = _run_and_kill(data_dir, spec, delay, tmp_path / f"writer-{round_}.err")
        acknowledged += [(kind, value) for kind, value in (line.split() for line in lines)]
        with EmbeddedChain.open(data_dir, clock=BlockClock.STEADY) as reopened:
            w3 = reopened.w3
            backend = reopened.tester.backend
            assert isinstance(backend, DurableBackend)
            assert backend.opened is not None
            torn += backend.opened.dropped_tail_bytes > 0
            for kind, value in acknowledged:
                context = f"round {round_} (seed {seed}): acknowledged {kind} {value} is lost"
                if kind == "travel":
                    assert w3.eth.get_block(HexBytes(value))["hash"] == HexBytes(value), context
                else:
                    assert w3.eth.get_transaction_receipt(HexBytes(value))["status"] == 1, context
            reads = sum(kind == "read" for kind, _ in acknowledged)
            ledger = LedgerClient(w3, world.deployment.address, world.bureau.account)
            reads_used = ledger.consent(consent).reads_used
            # Every acknowledged read is there; a read in flight when killed may be too.
            assert reads <= reads_used <= reads + round_ + 1, f"seed {seed}"
    log.info(
        "crash test (seed %d): %d rounds, %d acknowledged writes, %d torn tails dropped",
        seed,
        ROUNDS,
        len(acknowledged),
        torn,
    )
    assert len(acknowledged) > ROUNDS  # the writer did get work done between the kills
