"""A ledger on a persistent embedded chain, and the means to restart it.

The session builds one world (deployment, registries, banks, two enterprises) on a chain kept in a
data directory; each test gets its own copy of that directory, opened, with the world's clients and
state model bound to it.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.testing.world import World, bind, build_world


def embedded(world: World) -> EmbeddedChain:
    chain = world.chain
    assert isinstance(chain, EmbeddedChain)
    return chain


def restart(world: World) -> EmbeddedChain:
    """Close the world's chain and open its data directory again (a clean restart)."""
    chain = embedded(world)
    data_dir = chain.data_dir
    assert data_dir is not None
    chain.close()
    reopened = EmbeddedChain.open(data_dir, clock=BlockClock.STEADY)
    bind(world, reopened)
    return reopened


def chain_facts(world: World, consents: Sequence[bytes] = ()) -> dict[str, Any]:
    """Everything a restart must keep: every block hash, the head's state root and time, the
    ledger's views of ``consents``, the relayer's last query id, the actors' balances."""
    w3 = world.chain.w3
    head = w3.eth.get_block("latest")
    actors = [world.regulator.account.address, world.bureau.account.address]
    actors += [bank.address for bank in world.banks]
    return {
        "hashes": [bytes(w3.eth.get_block(n)["hash"]) for n in range(head["number"] + 1)],
        "state_root": bytes(head["stateRoot"]),
        "timestamp": head["timestamp"],
        "now": world.chain.now(),
        "consents": [world.bureau.consent(c) for c in consents],
        "last_query_id": world.bureau.last_query_id(world.bureau.account.address),
        "balances": [w3.eth.get_balance(a) for a in actors],
    }


@pytest.fixture(scope="session")
def persisted_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    data_dir = tmp_path_factory.mktemp("persisted") / "chain"
    chain = EmbeddedChain.open(data_dir, clock=BlockClock.STEADY)
    world = build_world(chain)
    chain.close()
    return data_dir, world


@pytest.fixture
def persisted(persisted_base: tuple[Path, World], tmp_path: Path) -> Iterator[World]:
    """A world on its own copy of the session's chain directory, open."""
    base_dir, base = persisted_base
    data_dir = tmp_path / "chain"
    shutil.copytree(base_dir, data_dir)
    world = dataclasses.replace(
        base, model=copy.deepcopy(base.model), enterprises=dict(base.enterprises)
    )
    bind(world, EmbeddedChain.open(data_dir, clock=BlockClock.STEADY))
    yield world
    embedded(world).close()
