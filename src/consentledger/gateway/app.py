"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from consentledger import __version__
from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.gateway import api_docs, api_schema, operations, problems
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.deps import (
    anonymous_limit,
    auditor,
    current_bank,
    current_source,
    drafting_bank,
    enterprise_caller,
    fresh_sign_in,
    operator,
    request_party,
    session_token,
    signed_in_controller,
)
from consentledger.gateway.errors import (
    BodyTooDeepError,
    BodyTooLargeError,
    ConsentRequestNeedsAuthenticationError,
    DraftNeedsAuthenticationError,
    InvalidAdminTokenError,
    InvalidApiKeyError,
    InvalidFeedCredentialError,
    InvalidRpcTokenError,
    MissingAdminTokenError,
    MissingApiKeyError,
    MissingFeedCredentialError,
    MissingRpcTokenError,
    RpcDisabledError,
    SessionNotForThisEnterpriseError,
    SessionRefusedError,
    SignInNotPermittedError,
    SignInRefusedError,
    TooManyFailedAuthenticationsError,
    TooManyRequestsError,
)
from consentledger.gateway.limits import AuthThrottle, BodyLimits, RequestLimit
from consentledger.gateway.metrics import GatewayMetrics, RequestTimer
from consentledger.gateway.no_store import NoStore
from consentledger.gateway.operations import INVALID_REQUEST, MALFORMED_BODY, Declared
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
    api_schema.install(app, resolved.domain)
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
        operations.document(module.router, _answered_before)
        app.include_router(module.router)
    app.include_router(meta.metrics_router)
    return app


def _answered_before(route: APIRoute) -> list[Declared]:
    """The problems answered before a route runs, from what it takes: a body that cannot be
    parsed, is nested too deep or is too large; parameters that do not match their schema; a bank
    key, a source's feed credential, the operator's or the auditor's token, a sign-in, each with
    its throttle."""
    calls: set[object] = set()
    params, body = False, False
    todo = [route.dependant]
    while todo:
        dependant = todo.pop()
        calls.add(dependant.call)
        todo += dependant.dependencies
        params = params or bool(
            dependant.path_params + dependant.query_params + dependant.header_params
        )
        body = body or bool(dependant.body_params)
    found: list[Declared] = [INVALID_REQUEST] if params or body else []
    if (route.methods or set()) - {"GET", "HEAD", "OPTIONS"}:
        found.append(BodyTooLargeError)  # any body is limited (BodyLimits)
        if not route.path.startswith(feeds.PREFIX + "/"):  # a batch's parsers limit its depth
            found.append(BodyTooDeepError)
    if body:
        found.append(MALFORMED_BODY)
    for call, answered in _AUTHENTICATION.items():
        if call in calls:
            found += answered
    return found


_THROTTLED = TooManyFailedAuthenticationsError
_SIGN_IN: tuple[Declared, ...] = (SignInRefusedError, SignInNotPermittedError)
_SESSION: tuple[Declared, ...] = (SessionRefusedError, SessionNotForThisEnterpriseError)
_AUTHENTICATION: dict[object, tuple[Declared, ...]] = {
    current_bank: (MissingApiKeyError, InvalidApiKeyError, _THROTTLED),
    operator: (MissingAdminTokenError, InvalidAdminTokenError, _THROTTLED),
    current_source: (MissingFeedCredentialError, InvalidFeedCredentialError, _THROTTLED),
    auditor: (RpcDisabledError, MissingRpcTokenError, InvalidRpcTokenError, _THROTTLED),
    signed_in_controller: (InvalidUSCCError, *_SIGN_IN, *_SESSION),
    fresh_sign_in: (InvalidUSCCError, *_SIGN_IN),
    enterprise_caller: (InvalidUSCCError, *_SIGN_IN, SessionRefusedError),
    session_token: (SignInRefusedError, SessionRefusedError),
    drafting_bank: (
        DraftNeedsAuthenticationError,
        InvalidApiKeyError,
        _THROTTLED,
        InvalidUSCCError,
        *_SIGN_IN,
        *_SESSION,
    ),
    request_party: (
        ConsentRequestNeedsAuthenticationError,
        InvalidApiKeyError,
        _THROTTLED,
        InvalidUSCCError,
        *_SIGN_IN,
        SessionRefusedError,
    ),
    anonymous_limit: (TooManyRequestsError,),
}
