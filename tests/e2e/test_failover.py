"""Several node URLs: the gateway (a real process) fails over when its node goes away mid-traffic.

The two "nodes" are two loopback HTTP relays in front of one anvil, as two RPC nodes of one
network serve the same chain; the first is shut down while reads are in flight. Every read answers
200 or a clean problem, and nothing is released unrecorded: the journal is the chain, and the
auditor finds nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import urllib3

from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.chain.jsonrpc import ChainUnavailableError, FailoverJsonRpc
from tests.harness.processes import (
    assert_journal_is_the_chain,
    consented_read,
    gateway_on_anvil,
)


class Relay:
    """An HTTP relay on a free loopback port that forwards each POST to ``target``."""

    def __init__(self, target: str) -> None:
        pool = urllib3.PoolManager(retries=False)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = pool.request(
                    "POST", target, body=body, headers={"Content-Type": "application/json"}
                )
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.data)))
                self.end_headers()
                self.wfile.write(answer.data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def test_failover_transport_moves_on_and_stays() -> None:
    with AnvilProcess() as anvil:
        first, second = Relay(anvil.url), Relay(anvil.url)
        rpc = FailoverJsonRpc([first.url, second.url], timeout=5)
        try:
            assert rpc.url == first.url
            chain_id = rpc.request("eth_chainId", [])
            first.close()
            assert rpc.request("eth_chainId", []) == chain_id
            assert rpc.url == second.url  # stays on the node that answered
            assert rpc.batch([("eth_chainId", []), ("eth_blockNumber", [])])[0] == chain_id
            second.close()
            with pytest.raises(ChainUnavailableError):
                rpc.request("eth_chainId", [])
        finally:
            rpc.close()


@pytest.mark.slow
def test_gateway_fails_over_mid_traffic_and_releases_nothing_unrecorded(
    node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    first, second = Relay(node.url), Relay(node.url)
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        node,
        bureau_url,
        tmp_path,
        CONSENTLEDGER_CHAIN=f"{first.url},{second.url}",
        CONSENTLEDGER_BATCH_STUCK_AFTER_S="3",
    )
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)
        assert consented.status(gateway.url, "before") == 200
        with ThreadPoolExecutor(8) as pool:
            reads = [pool.submit(consented.status, gateway.url, f"during-{i}") for i in range(40)]
            first.close()  # the gateway's node goes away with reads in flight
            statuses = [read.result() for read in reads]
        assert set(statuses) <= {200, 503}, statuses
        assert consented.status(gateway.url, "after") == 200
    finally:
        gateway.stop()
        second.close()
    counts = assert_journal_is_the_chain(node, deployment, relayer.address, journal_url)
    assert counts.get("granted", 0) >= 2
