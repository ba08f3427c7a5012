"""The whole system as processes: an anvil node per test (the gateway processes come from
:mod:`tests.harness.processes`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consentledger.chain.anvil import AnvilChain, AnvilProcess


@pytest.fixture
def node() -> Iterator[AnvilChain]:
    """A fresh anvil node, automining."""
    with AnvilProcess() as anvil:
        yield AnvilChain(anvil.url)


@pytest.fixture
def mining_node() -> Iterator[AnvilChain]:
    """A fresh anvil node mining a block every second, whether or not a transaction waits."""
    with AnvilProcess(extra_args=("--block-time", "1")) as anvil:
        yield AnvilChain(anvil.url)
