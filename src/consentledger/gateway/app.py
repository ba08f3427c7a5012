"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from consentledger import __version__
from consentledger.gateway import api_docs, problems
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.deps import auditor, current_bank, current_source, operator
from consentledger.gateway.limits import AuthThrottle, BodyLimits, RequestLimit
from consentledger.gateway.metrics import GatewayMetrics, RequestTimer
from consentledger.gateway.no_store import NoStore
from consentledger.gateway.routes import (
    admin,
    banks,
    consent_requests,
    consents,
    disputes,
    enterprises,
    feeds,
    meta,
    queries,
    rpc,
    signin,
    webhooks,
)
from consentledger.gateway.settings import Settings, load_settings
from consentledger.gcpause import settle_heap


def create_app(settings: Settings | None = None, context: GatewayContext | None = None) -> FastAPI:
    """A gateway for ``settings`` (default: from the environment). The chain, databases and
    relayer are opened when the app starts (lifespan), unless ``context`` was built already
    (``serve`` builds it first, so that a start-up failure is one line, not a server's
    traceback), and closed when it stops."""
    resolved = settings or (context.settings if context is not None else load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = context
        if running is None:
            running = await asyncio.to_thread(GatewayContext.build, resolved)
        app.state.context = running
        running.metrics = metrics
        running.relayer.on_batch_sent = metrics.batch_size.observe
        try:
            await running.start()
            if resolved.settle_heap:
                settle_heap()
            yield
        finally:
            await running.stop()

    app = FastAPI(
        title="ConsentLedger gateway",
        version=__version__,
        summary="Consented reads of enterprise credit data, recorded on the chain before release.",
        lifespan=lifespan,
        responses=problems.problem_responses(500),
        docs_url=None,  # served offline below
        redoc_url=None,
    )
    api_docs.install(app)
    problems.install(app)
    app.add_middleware(
        BodyLimits,
        max_bytes=resolved.max_body_bytes,
        batches={feeds.PREFIX + "/": resolved.feed_max_body_bytes},
    )
    app.add_middleware(NoStore)
    metrics = GatewayMetrics()
    app.state.metrics = metrics
    app.add_middleware(RequestTimer, metrics=metrics)
    app.state.auth_throttle = AuthThrottle(resolved.auth_failures_per_minute)
    app.state.challenge_limit = RequestLimit(resolved.challenges_per_minute)
    for module in (
        meta,
        queries,
        consents,
        consent_requests,
        signin,
        enterprises,
        disputes,
        webhooks,
        banks,
        feeds,
        admin,
        rpc,
    ):
        _document_problems(module.router)
        app.include_router(module.router)
    app.include_router(meta.metrics_router)
    return app


def _document_problems(router: APIRouter) -> None:
    """Declare on every route the problems answered before it runs: a body that cannot be parsed
    or is nested too deep (400) or too large (413) where a body is taken, and too many failed
    authentications (429) where a bank key, the operator token or the auditor token is checked."""
    authenticating = {auditor, current_bank, current_source, operator}
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        extra: list[int] = []
        if (route.methods or set()) - {"GET", "HEAD", "OPTIONS"}:
            extra += [400, 413]
        calls = [d.call for d in route.dependant.dependencies]
        calls += [d.dependency for d in router.dependencies]
        if authenticating.intersection(calls):
            extra.append(429)
        for status, spec in problems.problem_responses(*extra).items():
            route.responses.setdefault(status, spec)
