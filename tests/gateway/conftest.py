"""The gateway's tests, by flow: one gateway per module (a fresh embedded chain, SQLite, the
session's bureau), and the parties most tests need. The harness is :mod:`tests.harness.gateway`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consentledger.bureau.showcase import CATERING_CHAIN_USCC, CHIP_DISTRIBUTOR_USCC
from tests.harness.gateway import Bank, Enterprise, Gateway, running_gateway


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
