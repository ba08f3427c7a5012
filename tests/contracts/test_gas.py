"""Gas per recorded read, for 100-entry batches: distinct consents, one consent, all denied.

Gas is deterministic, so this is a measurement, not a timing: the figures are written to
``out/gas-per-read.json`` and the log. Issue #7's targets are asserted where they are met, and the
other figures bounded a little above their value, so a regression that adds a storage access or a
word per read fails here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from consentledger.categories import Category, Purpose
from consentledger.testing.world import World

BATCH = 100
REPORT = Path(__file__).resolve().parents[2] / "out" / "gas-per-read.json"
log = logging.getLogger(__name__)


def _measure(world: World, consents: list[bytes], purpose: Purpose) -> tuple[int, int]:
    """(gas of a 1-entry batch, gas of a BATCH-entry batch) reading ``consents`` round-robin."""
    bank = world.banks[0]
    one = world.record([world.entry(consents[0], bank, purpose=purpose)])
    entries = [
        world.entry(consents[i % len(consents)], bank, purpose=purpose) for i in range(BATCH)
    ]
    batch = world.record(entries)
    granted = {d.granted for d in batch.decisions}
    assert len(batch.decisions) == BATCH
    if purpose is Purpose.CREDIT_LIMIT_REVIEW:
        assert granted == {False}
    else:
        assert granted == {True}
    return one.mined.gas_used, batch.mined.gas_used


@pytest.mark.slow
def test_gas_per_recorded_read(embedded_world: World) -> None:
    world = embedded_world
    solo = world.enterprises["solo"]

    def monitoring(max_reads: int = 0) -> bytes:
        terms = world.terms(
            solo,
            world.banks[0],
            purpose=Purpose.POST_LOAN_MONITORING,
            categories=[Category.BUSINESS_REGISTRATION],
            max_reads=max_reads,
        )
        return world.grant(terms)

    distinct = [monitoring() for _ in range(BATCH + 1)]
    single = [monitoring(max_reads=400)]

    figures: dict[str, dict[str, int]] = {}
    for name, consents, purpose in [
        ("distinct_consents_granted", distinct[1:], Purpose.POST_LOAN_MONITORING),
        ("one_consent_granted", single, Purpose.POST_LOAN_MONITORING),
        ("distinct_consents_denied", distinct[1:], Purpose.CREDIT_LIMIT_REVIEW),
    ]:
        one, batch = _measure(world, consents, purpose)
        figures[name] = {
            "batch_gas": batch,
            "per_read": batch // BATCH,
            "marginal_per_read": (batch - one) // (BATCH - 1),
        }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps({"batch_size": BATCH, **figures}, indent=2) + "\n")
    log.warning("gas per recorded read: %s", json.dumps(figures))

    # Every read now carries its bank's ReadRequest signature, checked on chain. Over the unsigned
    # read (about 9,500 on distinct consents, 4,750 on one) that adds about 5,700 gas per read:
    # the ecrecover precompile (3,000), three calldata words (the signature's r and vs, 64 mostly
    # non-zero bytes, about 1,000; the packed request word, about 300), and about 1,400 for the
    # struct hash, the EIP-712 digest and OpenZeppelin's recovery around the precompile. The
    # goals (14,000 distinct, 9,500 one consent) are missed by that last share (README, The
    # ledger). Bounded about 3 % above what the contract costs now, so that a change adding a
    # storage access, an event word or a calldata word per entry fails here.
    assert figures["one_consent_granted"]["per_read"] < 10_800
    assert figures["distinct_consents_granted"]["per_read"] < 15_700
    assert figures["distinct_consents_denied"]["per_read"] < 12_300
    # A denied read writes no storage: it costs less than a granted one on the same consents.
    assert (
        figures["distinct_consents_denied"]["per_read"]
        < figures["distinct_consents_granted"]["per_read"]
    )
    assert (
        figures["one_consent_granted"]["per_read"]
        < figures["distinct_consents_granted"]["per_read"]
    )
