"""Block time follows the wall clock on the embedded chain (its default) and on anvil without a
fixed interval: consents expire and start when the clock says, an idle chain does not fall behind,
and a reopened chain keeps time monotonic. Every wait here is on the clock itself, never a guess
about the machine's speed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consentledger.chain import typed_data
from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.chain.clock import BlockClock, next_block_time, wall_clock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.ledger.types import DenialReason
from consentledger.testing.world import DAY, World, bind, build_world


def _wait_for_clock(timestamp: int) -> None:
    """Return once the wall clock reads ``timestamp`` or later."""
    while wall_clock() < timestamp:
        time.sleep(0.05)


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def wall_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """A world set up on a steady clock ten minutes in the past (setting up mines a few dozen
    blocks, more than one a second, which would run a wall-clock chain ahead of the clock), then
    switched to the wall clock."""
    past = wall_clock() - 600
    if request.param == "embedded":
        chain = EmbeddedChain(clock=BlockClock.STEADY, genesis_timestamp=past)
        world = build_world(chain)
        chain.set_clock(BlockClock.WALL)
        yield world
        return
    with AnvilProcess(extra_args=("--timestamp", str(past))) as node:
        world = build_world(AnvilChain(node.url))
        wall = AnvilChain(node.url, clock=BlockClock.WALL)
        wall.w3.provider.make_request("anvil_removeBlockTimestampInterval", [])  # type: ignore[arg-type]
        wall.w3.provider.make_request("evm_setTime", [wall_clock()])  # type: ignore[arg-type]
        bind(world, wall)
        yield world


def _grant(world: World, not_before: int, expires_at: int) -> bytes:
    """A consent granted on the chain alone (the world's model keeps the steady clock)."""
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0], not_before=not_before, expires_at=expires_at)
    document = world.bureau.consent_document(terms)
    world.bureau.grant_consent(terms, solo.sign(document))
    return typed_data.digest(document)


def _read(world: World, consent: bytes) -> tuple[DenialReason, int]:
    """Record one read; the chain's decision and the timestamp of the block that judged it."""
    result = world.bureau.record_accesses([world.entry(consent, world.banks[0])])
    (decision,) = result.decisions
    block = world.chain.w3.eth.get_block(result.mined.block_number)
    return decision.reason, int(block["timestamp"])


def test_a_consent_expires_when_the_wall_clock_says(wall_world: World) -> None:
    granted_at = wall_clock()
    expires_at = granted_at + 5
    consent = _grant(wall_world, granted_at - 1, expires_at)

    before = wall_clock()
    reason, stamped = _read(wall_world, consent)
    # The block carries the wall clock (a second later for the grant's block in the same second).
    assert before <= stamped <= wall_clock() + 1
    assert stamped < expires_at, "the machine took 5 s to record one read"
    assert reason is DenialReason.NONE

    _wait_for_clock(expires_at)
    reason, stamped = _read(wall_world, consent)
    assert stamped >= expires_at
    assert reason is DenialReason.EXPIRED


def test_a_not_before_from_the_wall_clock_is_honoured(wall_world: World) -> None:
    not_before = wall_clock() + 4
    consent = _grant(wall_world, not_before, not_before + DAY)

    reason, stamped = _read(wall_world, consent)
    assert stamped < not_before, "the machine took 4 s to grant and record one read"
    assert reason is DenialReason.NOT_YET_VALID

    _wait_for_clock(not_before)
    reason, stamped = _read(wall_world, consent)
    assert stamped >= not_before
    assert reason is DenialReason.NONE


def test_an_idle_chain_does_not_fall_behind(wall_world: World) -> None:
    chain = wall_world.chain
    latest = int(chain.w3.eth.get_block("latest")["timestamp"])
    _wait_for_clock(latest + 3)  # idle for a few seconds
    assert chain.now() == next_block_time(latest) >= latest + 3
    before = wall_clock()
    chain.mine()
    stamped = int(chain.w3.eth.get_block("latest")["timestamp"])
    assert before <= stamped <= wall_clock() + 1


def test_a_chain_idle_for_minutes_stamps_its_next_block_with_the_clock(tmp_path: Path) -> None:
    ten_minutes_ago = wall_clock() - 600
    with EmbeddedChain.open(tmp_path / "chain", genesis_timestamp=ten_minutes_ago) as chain:
        before = wall_clock()
        chain.fund(chain.new_account().address)
        stamped = int(chain.w3.eth.get_block("latest")["timestamp"])
    assert before <= stamped <= wall_clock() + 1


def test_timestamps_strictly_increase_faster_than_the_clock() -> None:
    chain = EmbeddedChain()
    stamps = []
    for _ in range(5):  # several blocks within one second of the wall clock
        chain.fund(chain.new_account().address)
        stamps.append(int(chain.w3.eth.get_block("latest")["timestamp"]))
    assert all(a < b for a, b in itertools.pairwise(stamps))


def test_a_reopened_chain_keeps_time_monotonic(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    with EmbeddedChain.open(data_dir) as chain:
        ahead = wall_clock() + 3600  # a chain ahead of the clock (time travel, a fast clock)
        chain.time_travel(ahead)
        assert int(chain.w3.eth.get_block("latest")["timestamp"]) == ahead
    with EmbeddedChain.open(data_dir) as chain:  # a restart of serve
        assert chain.now() == ahead + 1
        chain.mine()
        assert int(chain.w3.eth.get_block("latest")["timestamp"]) == ahead + 1
    with EmbeddedChain.open(data_dir) as chain:
        chain.mine()
        assert int(chain.w3.eth.get_block("latest")["timestamp"]) == ahead + 2
