"""The gateway's tests, by flow: one gateway per module (a fresh embedded chain, SQLite, the
session's bureau), and the parties most tests need. The harness is :mod:`tests.harness.gateway`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consentledger.bureau.showcase import CATERING_CHAIN_USCC, CHIP_DISTRIBUTOR_USCC
from tests.harness.gateway import Bank, Enterprise, Gateway, running_gateway, serve_live


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, bureau_url: str) -> Iterator[Gateway]:
    """The module's gateway: a bank admitted on its chain, a relay and a second relayer."""
    with running_gateway(tmp_path_factory.mktemp("gateway"), bureau_url) as running:
        yield running


@pytest.fixture(scope="module")
def chip(gateway: Gateway) -> Enterprise:
    return gateway.register(CHIP_DISTRIBUTOR_USCC)


@pytest.fixture(scope="module")
def catering(gateway: Gateway) -> Enterprise:
    return gateway.register(CATERING_CHAIN_USCC)


@pytest.fixture(scope="module")
def bank(gateway: Gateway) -> Bank:
    return gateway.add_bank("Shenzhen Commercial Bank")


@pytest.fixture(scope="module")
def other_bank(gateway: Gateway) -> Bank:
    return gateway.add_bank("Other Bank")


@pytest.fixture(scope="module")
def live_url(gateway: Gateway) -> Iterator[str]:
    """The module's gateway app served over real HTTP by uvicorn in a thread."""
    with serve_live(gateway.app) as url:
        yield url
