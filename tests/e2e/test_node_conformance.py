"""The same flow on every node implementation: deploy, grant, a read recorded through the
gateway's relayer and released, the gateway's live model following the chain, and the auditor
finding the chain and the journal clean. Only standard JSON-RPC is used against the node (no
``pending`` tag, no node-side nonce bookkeeping, no development methods): one subclass per
implementation, each starting its node once for the class."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hexbytes import HexBytes

from consentledger.chain.anvil import AnvilProcess
from consentledger.chain.nodes import (
    HARDHAT_FUNDER_KEY,
    FundedNode,
    HardhatProcess,
    NodeProcess,
    ethereumjs_dev,
)
from consentledger.client.models import QueryResult
from tests.harness.processes import (
    assert_journal_is_the_chain,
    consented_read,
    gateway_on_anvil,
)

#: The live model stays fresh this long after it last reached the head: a loaded machine (or a
#: node with real block times) must not make the pre-check fall back to the views mid-test.
LIVE_MAX_LAG = {"CONSENTLEDGER_LIVE_MAX_LAG_S": "600"}


def _wait_live(url: str, block: int = 0, timeout: float = 60) -> dict[str, object]:
    """The gateway's health once its live model of the ledger follows the chain through
    ``block``."""
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(f"{url}/v1/health", timeout=30)
        if health.status_code == 200:
            body = health.json()
            if body["live_ledger_fresh"] and (body["live_ledger_block"] or 0) >= block:
                return dict(body)
        assert time.monotonic() < deadline, health.text
        time.sleep(0.2)


class NodeConformance:
    """The flow; a subclass provides ``node`` (a running node with a funded key)."""

    @pytest.fixture(scope="class")
    @classmethod
    def node(cls) -> Iterator[FundedNode]:
        raise NotImplementedError

    @pytest.mark.slow
    def test_deploy_grant_read_follow_audit(
        self, node: FundedNode, bureau_url: str, tmp_path: Path
    ) -> None:
        gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
            node, bureau_url, tmp_path, **LIVE_MAX_LAG
        )
        try:
            gateway.start()
            consented = consented_read(gateway, node, deployment, relay)
            before = _wait_live(gateway.url, node.w3.eth.block_number)
            first = consented.outcome(gateway.url, "first")
            assert isinstance(first, QueryResult), first
            assert first.receipt.matches(first.data)
            mined = node.w3.eth.get_transaction_receipt(HexBytes(first.receipt.tx_hash))
            assert mined["status"] == 1
            assert mined["blockNumber"] == first.receipt.block_number
            # The second read is pre-checked on the live model, which followed the first one.
            after = _wait_live(gateway.url, first.receipt.block_number)
            second = consented.outcome(gateway.url, "second")
            assert isinstance(second, QueryResult), second
            health = httpx.get(f"{gateway.url}/v1/health", timeout=30).json()
            assert health["reads_prechecked_live"] > before["reads_prechecked_live"]
            assert after["live_ledger_fresh"]
        finally:
            gateway.stop()
        statuses = assert_journal_is_the_chain(node, deployment, relayer.address, journal_url)
        assert statuses == {"granted": 2}


class TestAnvil(NodeConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def node(cls) -> Iterator[FundedNode]:
        with AnvilProcess(block_time_interval=None) as anvil:
            yield FundedNode(anvil.url, HARDHAT_FUNDER_KEY)


class TestHardhat(NodeConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def node(cls) -> Iterator[FundedNode]:
        with HardhatProcess() as hardhat:
            yield FundedNode(hardhat.url, HARDHAT_FUNDER_KEY)


def listening_addresses(pid: int) -> set[tuple[str, str]]:
    """(protocol, local IPv4 address) of every TCP socket listening, and every UDP socket bound,
    by process ``pid`` (from /proc: its socket inodes, matched in the namespace's tables)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for protocol in ("tcp", "udp", "tcp6", "udp6"):
        lines = Path(f"/proc/{pid}/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            listening = state == "0A" if protocol.startswith("tcp") else state == "07"
            if inode in inodes and listening:
                address = local.split(":")[0]
                if len(address) == 8:
                    octets = bytes.fromhex(address)[::-1]
                    found.add((protocol, ".".join(str(o) for o in octets)))
                else:
                    found.add((protocol, address))
    return found


class TestEthereumJS(NodeConformance):
    """A single Clique signer sealing a block a second (proof of authority, as a consortium
    chain would run)."""

    @pytest.fixture(scope="class")
    @classmethod
    def process(cls) -> Iterator[tuple[NodeProcess, FundedNode]]:
        process, funder = ethereumjs_dev()
        with process:
            yield process, FundedNode(process.url, funder)

    @pytest.fixture(scope="class")
    @classmethod
    def node(cls, process: tuple[NodeProcess, FundedNode]) -> FundedNode:
        return process[1]

    def test_binds_loopback_only(self, process: tuple[NodeProcess, FundedNode]) -> None:
        """The client hard-codes 0.0.0.0 for its peer-to-peer sockets; the preload moves them."""
        pid = process[0].pid
        assert pid is not None
        bound = listening_addresses(pid)
        assert {protocol for protocol, _ in bound} >= {"tcp", "udp"}, bound
        assert {address for _, address in bound} == {"127.0.0.1"}, bound
