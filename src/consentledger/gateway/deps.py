"""Dependencies of the routes, as narrow ``Annotated`` aliases: the services, the calling bank,
the operator, the signed-in controller (:mod:`consentledger.gateway.siwe`)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from consentledger.gateway.banks import VerifiedKeys, authenticate
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.db import Bank
from consentledger.gateway.errors import (
    InvalidAdminTokenError,
    InvalidApiKeyError,
    MissingAdminTokenError,
    MissingApiKeyError,
)
from consentledger.gateway.limits import AuthThrottle
from consentledger.gateway.services.reads import ReadService

_bearer = HTTPBearer(auto_error=False, description="A bank's API key, or the operator token")


async def get_context(request: Request) -> GatewayContext:
    """The running gateway's context. ``async``: FastAPI runs a plain ``def`` dependency in its
    thread pool, which cost every request a thread hand-off and grew the process by up to 40
    threads (each with its own stack and malloc arena) under load."""
    context: GatewayContext = request.app.state.context
    return context


ContextDep = Annotated[GatewayContext, Depends(get_context)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def throttle(request: Request) -> tuple[AuthThrottle, str]:
    """The app's throttle of failed authentications, and the calling client's address."""
    limiter: AuthThrottle = request.app.state.auth_throttle
    return limiter, request.client.host if request.client is not None else "unknown"


async def current_bank(request: Request, context: ContextDep, credentials: Credentials) -> Bank:
    """The bank whose API key is in ``Authorization: Bearer``."""
    if credentials is None:
        raise MissingApiKeyError()
    limiter, client = throttle(request)
    limiter.check(client)
    verified: VerifiedKeys = request.app.state.verified_keys
    known = verified.get(credentials.credentials)
    if known is not None:
        return known
    bank = await context.in_thread(authenticate, context.db, credentials.credentials)
    if bank is None:
        limiter.failed(client)
        raise InvalidApiKeyError()
    verified.remember(credentials.credentials, bank)
    return bank


async def operator(request: Request, context: ContextDep, credentials: Credentials) -> None:
    """The bureau operator, by the admin token (compared as SHA-256 digests, in constant time)."""
    if credentials is None:
        raise MissingAdminTokenError()
    limiter, client = throttle(request)
    limiter.check(client)
    given = hashlib.sha256(credentials.credentials.encode()).digest()
    if not hmac.compare_digest(given, context.admin_token_hash):
        limiter.failed(client)
        raise InvalidAdminTokenError()


CurrentBank = Annotated[Bank, Depends(current_bank)]


async def read_service(context: ContextDep) -> ReadService:
    return ReadService(context)


ReadServiceDep = Annotated[ReadService, Depends(read_service)]
Operator = Depends(operator)
