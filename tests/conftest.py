"""Shared fixtures: one deployment per session, snapshot and revert around every test."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from tests.support import World, build_world


@pytest.fixture(scope="session")
def world_base() -> World:
    return build_world()


@pytest.fixture
def world(world_base: World) -> Iterator[World]:
    """The session's world, returned to its starting state after the test."""
    snapshot = world_base.chain.snapshot()
    model = copy.deepcopy(world_base.model)
    enterprises = dict(world_base.enterprises)
    try:
        yield world_base
    finally:
        world_base.chain.revert(snapshot)
        world_base.model = model
        world_base.enterprises = enterprises
        world_base.regulator.forget_nonce()
        world_base.bureau.forget_nonce()
