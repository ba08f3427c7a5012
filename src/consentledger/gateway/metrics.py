"""The gateway's Prometheus metrics, served at ``/metrics`` (``prometheus-client``).

On the hot path only what is cheap: a counter per read outcome, a histogram observation per
request and per batch sent (a few microseconds each). What costs a query (the journal's counts by
status, the relayer's balance, the chain's head) is read when ``/metrics`` is scraped.

The metrics and their labels are listed in the README's operations section.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from consentledger.chain.clock import wall_clock

if TYPE_CHECKING:
    from consentledger.gateway.context import GatewayContext

#: Seconds: a read on the embedded chain takes milliseconds, one waiting on a node's block seconds.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Reads per batch transaction (at most BATCH_MAX_ENTRIES).
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)

__all__ = ["CONTENT_TYPE_LATEST", "GatewayMetrics", "RequestTimer"]


class GatewayMetrics:
    """One gateway's metrics, in a registry of its own (several apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._reads: dict[tuple[str, str], Counter] = {}
        self._requests: dict[tuple[str, str], Histogram] = {}
        self.reads = Counter(
            "consentledger_reads",
            "Reads recorded, by the chain's outcome and its denial reason",
            ["outcome", "reason"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "consentledger_request_duration_seconds",
            "Time from a request's arrival to its answer, by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "consentledger_batch_size",
            "Reads in each batch transaction the relayer sent",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "consentledger_relayer_batches_in_flight",
            "Batch transactions sent and not yet settled",
            registry=self.registry,
        )
        self.balance = Gauge(
            "consentledger_relayer_balance_wei",
            "The relayer key's balance, in wei",
            registry=self.registry,
        )
        self.head = Gauge(
            "consentledger_chain_head_block", "The chain's latest block", registry=self.registry
        )
        self.head_age = Gauge(
            "consentledger_chain_head_age_seconds",
            "The wall clock minus the latest block's timestamp (negative: the chain runs ahead)",
            registry=self.registry,
        )
        self.live_lag = Gauge(
            "consentledger_live_ledger_lag_blocks",
            "Blocks between the chain's head and the last one the live model applied",
            registry=self.registry,
        )
        self.journal = Gauge(
            "consentledger_journal_entries",
            "Journal entries by status",
            ["status"],
            registry=self.registry,
        )

    def read(self, outcome: str, reason: str = "") -> None:
        """Count one recorded read (hot path: a dictionary look-up and an increment; the
        labelled child is looked up by prometheus-client once per label pair)."""
        key = (outcome, reason)
        child = self._reads.get(key)
        if child is None:
            child = self._reads[key] = self.reads.labels(outcome, reason)
        child.inc()

    def request_timer(self, method: str, route: str) -> Histogram:
        """The latency histogram of one route (its labelled child, looked up once)."""
        key = (method, route)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self.request_seconds.labels(method, route)
        return child

    async def scrape(self, context: GatewayContext) -> bytes:
        """Read what is costly now (the chain's head and the relayer's balance, on the chain's
        thread; the journal's counts, on a worker thread), then render every metric."""
        state = await chain_state(context)
        self.head.set(state.latest_block)
        self.head_age.set(state.head_age_s)
        self.balance.set(state.relayer_balance_wei)
        self.in_flight.set(context.relayer.batches_in_flight)
        live = context.live
        if live is not None:
            self.live_lag.set(max(0, state.latest_block - live.followed_through))
        for status, count in (await context.in_thread(context.journal.counts_by_status)).items():
            self.journal.labels(status).set(count)
        return generate_latest(self.registry)


class ChainState:
    """The chain's head and the relayer's balance, read at one moment."""

    __slots__ = ("head_age_s", "latest_block", "relayer_balance_wei")

    def __init__(self, latest_block: int, head_timestamp: int, relayer_balance_wei: int) -> None:
        self.latest_block = latest_block
        self.head_age_s = wall_clock() - head_timestamp
        self.relayer_balance_wei = relayer_balance_wei


async def chain_state(context: GatewayContext) -> ChainState:
    """The chain's head and the relayer's balance (for ``/metrics`` and ``/v1/health``)."""
    node = context.ledger.node
    relayer = context.ledger.account.address

    def read() -> ChainState:
        # Raw JSON-RPC, one round trip: web3's block formatter refuses the longer extraData of
        # a proof-of-authority header (Clique, QBFT).
        head, balance = node.batch(
            [("eth_getBlockByNumber", ["latest", False]), ("eth_getBalance", [relayer, "latest"])]
        )
        return ChainState(int(head["number"], 16), int(head["timestamp"], 16), int(balance, 16))

    return await context.on_chain(context.ledger.rpc, read)


class RequestTimer:
    """ASGI middleware: each request's duration, labelled with its route's template (unmatched
    paths share one label, so a scan cannot grow the series)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.timer = metrics.request_timer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.timer(scope["method"], route).observe(time.perf_counter() - started)
