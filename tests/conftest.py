"""Shared fixtures: the session's bureau; one deployment per backend and session, snapshot and
revert around every test.

``world`` runs a test on every backend (the embedded chain and a real anvil process);
``embedded_world`` only on the embedded chain, for tests that use eth-tester's own controls.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.testing.world import World, build_world
from tests.harness.gateway import seeded_bureau
from tests.harness.postgres import fresh_database, postgres_server

#: Synthetic enterprises in the session's bureau (the showcase comes on top): enough for every
#: test that registers fresh ones.
BUREAU_ENTERPRISES = 400


@pytest.fixture(scope="session")
def bureau_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bureau seeded once per session, shared read-only by every gateway of the session."""
    return seeded_bureau(tmp_path_factory.mktemp("bureau"), BUREAU_ENTERPRISES)


# The suite's gateways (in-process and child processes alike) run in development mode, asked for
# explicitly: they use the operator token and subject key written in the source. Tests of the
# production refusal take the variable away.
os.environ.setdefault("CONSENTLEDGER_ENVIRONMENT", "development")


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    with AnvilProcess() as node:
        yield node.url


@pytest.fixture(scope="session")
def embedded_base() -> World:
    return build_world(EmbeddedChain(clock=BlockClock.STEADY))


@pytest.fixture(scope="session")
def anvil_base(anvil_url: str) -> World:
    return build_world(AnvilChain(anvil_url))


def _isolated(base: World) -> Iterator[World]:
    with base.isolated() as world:
        yield world


@pytest.fixture(params=["embedded", "anvil"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The session's world on one backend, returned to its starting state after the test."""
    yield from _isolated(request.getfixturevalue(f"{request.param}_base"))


@pytest.fixture
def embedded_world(embedded_base: World) -> Iterator[World]:
    yield from _isolated(embedded_base)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server for the session (``tests/harness/postgres.py``)."""
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for a gateway's journal: a SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    return fresh_database(request.getfixturevalue("postgres_server_url"))
