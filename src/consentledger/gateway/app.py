"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from consentledger import __version__
from consentledger.gateway import problems
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.limits import BodyLimits
from consentledger.gateway.routes import (
    admin,
    consents,
    enterprises,
    meta,
    queries,
    rpc,
    signin,
)
from consentledger.gateway.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """A gateway for ``settings`` (default: from the environment). The chain, databases and
    relayer are opened when the app starts (lifespan) and closed when it stops."""
    resolved = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = await asyncio.to_thread(GatewayContext.build, resolved)
        app.state.context = context
        try:
            await context.start()
            yield
        finally:
            await context.stop()

    app = FastAPI(
        title="ConsentLedger gateway",
        version=__version__,
        summary="Consented reads of enterprise credit data, recorded on the chain before release.",
        lifespan=lifespan,
        responses=problems.problem_responses(500),
    )
    problems.install(app)
    app.add_middleware(BodyLimits, max_bytes=resolved.max_body_bytes)
    for module in (meta, queries, consents, signin, enterprises, admin, rpc):
        app.include_router(module.router)
    return app
