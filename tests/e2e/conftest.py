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
