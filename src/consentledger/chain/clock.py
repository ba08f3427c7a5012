"""Block time: when the next block of a chain will be stamped.

A chain that follows the wall clock (a real node, anvil without a fixed interval, the embedded
chain by default) stamps each block with the wall clock, and at least one second after its parent,
so timestamps strictly increase. Whoever judges a transaction before it is mined (the gateway's
pre-check, the relayer's simulation) judges it at :func:`next_block_time`, the earliest time the
block that will carry it can have.

A steady chain (the embedded chain with ``BlockClock.STEADY``) stamps each block one second after
its parent, whatever the wall clock says: tests that keep a state model in step with the chain use
it, so that the model and the chain always see the same time.
"""

from __future__ import annotations

import time
from enum import StrEnum


class BlockClock(StrEnum):
    """How the embedded chain stamps its blocks."""

    #: The wall clock, at least one second after the parent block.
    WALL = "wall"
    #: One second after the parent block (time moves only with blocks and time travel).
    STEADY = "steady"


def wall_clock() -> int:
    """The wall clock in whole seconds (what a block timestamp can carry)."""
    return int(time.time())


def next_block_time(latest: int, clock: BlockClock = BlockClock.WALL) -> int:
    """The earliest timestamp a block after one stamped ``latest`` can carry."""
    if clock is BlockClock.STEADY:
        return latest + 1
    return max(latest + 1, wall_clock())
