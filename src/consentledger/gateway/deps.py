"""Dependencies of the routes, as narrow ``Annotated`` aliases: each service of the running
gateway (``ReadServiceDep``...), the calling bank (``CurrentBank``), the operator and the auditor
(by their tokens), the controller signed in with EIP-4361 (``SignedInController``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.http import HTTPBase

from consentledger.bureau.feed_credentials import SourceCredential
from consentledger.bureau.uscc import parse_uscc
from consentledger.gateway.banks import authenticate
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.db import Bank
from consentledger.gateway.errors import (
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
    SignInRefusedError,
)
from consentledger.gateway.limits import AuthThrottle, RequestLimit
from consentledger.gateway.services.admin import AdminService
from consentledger.gateway.services.banks import BankDirectory
from consentledger.gateway.services.chain_rpc import ChainRpcService
from consentledger.gateway.services.consent_requests import ConsentRequestService
from consentledger.gateway.services.consents import ConsentDraftRequest, ConsentService
from consentledger.gateway.services.disputes import DisputeService
from consentledger.gateway.services.enterprises import EnterpriseViewService
from consentledger.gateway.services.feeds import FeedService
from consentledger.gateway.services.known_at import KnownAtService
from consentledger.gateway.services.reads import ReadService
from consentledger.gateway.services.signin import SignedIn, SignInService
from consentledger.gateway.services.status import StatusService
from consentledger.gateway.services.webhooks import WebhookService
from consentledger.gateway.sessions import TOKEN_PREFIX
from consentledger.gateway.siwe import HEADER_FORMAT

#: One security scheme per credential, so that the API document says which an operation takes.
bank_key_scheme = HTTPBearer(
    scheme_name="bankApiKey",
    description="A bank's API key (`clk_<key id>_<secret>`), from the operator",
    auto_error=False,
)
operator_scheme = HTTPBearer(
    scheme_name="operatorToken",
    description="The bureau operator's token (`CONSENTLEDGER_ADMIN_TOKEN`)",
    auto_error=False,
)
feed_credential_scheme = HTTPBearer(
    scheme_name="sourceFeedCredential",
    description="A source's (a department's) feed credential for the push API, from the operator",
    auto_error=False,
)
auditor_scheme = HTTPBearer(
    scheme_name="auditorToken",
    description="The auditor's token for the read-only chain endpoint "
    "(`CONSENTLEDGER_AUDITOR_TOKEN`)",
    auto_error=False,
)


async def get_context(request: Request) -> GatewayContext:
    """The running gateway's context. ``async``: FastAPI runs a plain ``def`` dependency in its
    thread pool, which cost every request a thread hand-off and grew the process by up to 40
    threads (each with its own stack and malloc arena) under load."""
    context: GatewayContext = request.app.state.context
    return context


ContextDep = Annotated[GatewayContext, Depends(get_context)]

S = TypeVar("S")


def _service(service: Callable[[GatewayContext], S]) -> Callable[[Request], Awaitable[S]]:
    """A dependency that gives a route one service of the running gateway (``async``, as
    :func:`get_context` is)."""

    async def provide(request: Request) -> S:
        return service(request.app.state.context)

    return provide


ReadServiceDep = Annotated[ReadService, Depends(_service(ReadService))]
ConsentServiceDep = Annotated[ConsentService, Depends(_service(ConsentService))]
EnterpriseViewServiceDep = Annotated[
    EnterpriseViewService, Depends(_service(EnterpriseViewService))
]
SignInServiceDep = Annotated[SignInService, Depends(_service(SignInService))]
AdminServiceDep = Annotated[AdminService, Depends(_service(AdminService))]
StatusServiceDep = Annotated[StatusService, Depends(_service(StatusService))]
ChainRpcServiceDep = Annotated[ChainRpcService, Depends(_service(ChainRpcService))]
WebhookServiceDep = Annotated[WebhookService, Depends(_service(WebhookService))]
DisputeServiceDep = Annotated[DisputeService, Depends(_service(DisputeService))]
BankDirectoryDep = Annotated[BankDirectory, Depends(_service(BankDirectory))]
ConsentRequestServiceDep = Annotated[
    ConsentRequestService, Depends(_service(ConsentRequestService))
]
FeedServiceDep = Annotated[FeedService, Depends(_service(FeedService))]
KnownAtServiceDep = Annotated[KnownAtService, Depends(_service(KnownAtService))]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bank_key_scheme)]
OperatorCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(operator_scheme)]
AuditorCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(auditor_scheme)]
FeedCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(feed_credential_scheme)]


def throttle(request: Request) -> tuple[AuthThrottle, str]:
    """The app's throttle of failed authentications, and the calling client's address."""
    limiter: AuthThrottle = request.app.state.auth_throttle
    return limiter, request.client.host if request.client is not None else "unknown"


async def current_bank(request: Request, context: ContextDep, credentials: Credentials) -> Bank:
    """The bank whose API key is in ``Authorization: Bearer``."""
    if credentials is None:
        raise MissingApiKeyError()
    verified = context.verified_keys
    known = verified.get(credentials.credentials)
    if known is not None:
        return known
    bank = await context.in_thread(authenticate, context.db, credentials.credentials)
    if bank is None:
        limiter, client = throttle(request)
        raise limiter.refuse(client, InvalidApiKeyError())
    verified.remember(credentials.credentials, bank)
    return bank


async def operator(request: Request, context: ContextDep, credentials: OperatorCredentials) -> None:
    """The bureau operator, by the admin token (compared as SHA-256 digests, in constant time)."""
    if credentials is None:
        raise MissingAdminTokenError()
    given = hashlib.sha256(credentials.credentials.encode()).digest()
    if not hmac.compare_digest(given, context.admin_token_hash):
        limiter, client = throttle(request)
        raise limiter.refuse(client, InvalidAdminTokenError())


CurrentBank = Annotated[Bank, Depends(current_bank)]


async def current_source(
    request: Request, feeds: FeedServiceDep, credentials: FeedCredentials
) -> SourceCredential:
    """The source whose feed credential is in ``Authorization: Bearer``."""
    if credentials is None:
        raise MissingFeedCredentialError()
    found = await feeds.authenticate(credentials.credentials)
    if found is None:
        limiter, client = throttle(request)
        raise limiter.refuse(client, InvalidFeedCredentialError())
    return found


CurrentSource = Annotated[SourceCredential, Depends(current_source)]


async def anonymous_limit(request: Request) -> None:
    """Count a request to an endpoint anyone may call: 429 past the client's limit."""
    limit: RequestLimit = request.app.state.challenge_limit
    limit.take(request.client.host if request.client is not None else "unknown")


async def auditor(request: Request, context: ContextDep, credentials: AuditorCredentials) -> None:
    """The auditor, by ``CONSENTLEDGER_AUDITOR_TOKEN`` (unset: /rpc is off), compared as SHA-256
    digests in constant time."""
    token = context.settings.auditor_token
    if token is None:
        raise RpcDisabledError()
    if credentials is None:
        raise MissingRpcTokenError()
    given = hashlib.sha256(credentials.credentials.encode()).digest()
    expected = hashlib.sha256(token.get_secret_value().encode()).digest()
    if not hmac.compare_digest(given, expected):
        limiter, client = throttle(request)
        raise limiter.refuse(client, InvalidRpcTokenError())


siwe_scheme = HTTPBase(
    scheme="SIWE",
    scheme_name="enterpriseSignIn",
    description=(
        "Sign-In with Ethereum (EIP-4361), one request per challenge: "
        f"`{HEADER_FORMAT}`. Get the message from `POST /v1/auth/challenge`, sign it with "
        "personal_sign (EIP-191) by one of the enterprise's controllers. Or, after "
        f"`POST /v1/enterprises/{{uscc}}/sessions`, the session: `Authorization: Bearer "
        f"{TOKEN_PREFIX}...`."
    ),
    auto_error=False,
)

UsccPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The enterprise's Unified Social Credit Code",
        examples=["91440305MA5DKW7Q1B"],
    ),
]
EnterpriseCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(siwe_scheme)]


def is_session(credentials: HTTPAuthorizationCredentials | None) -> bool:
    """Whether the credentials are an enterprise session's token."""
    return (
        credentials is not None
        and credentials.scheme.lower() == "bearer"
        and credentials.credentials.startswith(TOKEN_PREFIX)
    )


async def signed_in_controller(
    uscc: UsccPath, sign_in: SignInServiceDep, credentials: EnterpriseCredentials
) -> SignedIn:
    """The controller a SIWE credential or a session signs in, for the enterprise named in the
    path."""
    code = parse_uscc(uscc).code
    if is_session(credentials):
        assert credentials is not None
        return await sign_in.from_session(credentials.credentials, code)
    if credentials is None or credentials.scheme.lower() != "siwe":
        raise SignInRefusedError("siwe_required", f"sign in: send {HEADER_FORMAT}")
    return await sign_in.verify(credentials.credentials, code)


async def fresh_sign_in(
    uscc: UsccPath, sign_in: SignInServiceDep, credentials: EnterpriseCredentials
) -> SignedIn:
    """A controller signed in with a fresh EIP-4361 signature (not a session), for the
    enterprise named in the path."""
    code = parse_uscc(uscc).code
    if credentials is None or credentials.scheme.lower() != "siwe":
        raise SignInRefusedError("siwe_required", f"sign in: send {HEADER_FORMAT}")
    return await sign_in.verify(credentials.credentials, code)


async def enterprise_caller(
    sign_in: SignInServiceDep, credentials: EnterpriseCredentials
) -> SignedIn:
    """The controller a session or a SIWE credential signs in, for the enterprise it names
    (endpoints whose path names no enterprise)."""
    if is_session(credentials):
        assert credentials is not None
        return await sign_in.from_session(credentials.credentials)
    if credentials is None or credentials.scheme.lower() != "siwe":
        raise SignInRefusedError("siwe_required", f"sign in: send {HEADER_FORMAT}")
    return await sign_in.verify_named(credentials.credentials)


async def session_token(credentials: EnterpriseCredentials) -> str:
    """The session token the request carries."""
    if not is_session(credentials):
        raise SignInRefusedError("session_required", f"send the session: Bearer {TOKEN_PREFIX}...")
    assert credentials is not None
    return credentials.credentials


async def request_party(
    request: Request,
    context: ContextDep,
    sign_in: SignInServiceDep,
    credentials: EnterpriseCredentials,
) -> Bank | SignedIn:
    """Who asks about a consent request: a bank by its API key, or an enterprise's controller
    by its session or a SIWE credential."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        if is_session(credentials):
            return await sign_in.from_session(credentials.credentials)
        return await current_bank(request, context, credentials)
    if credentials is not None and credentials.scheme.lower() == "siwe":
        return await sign_in.verify_named(credentials.credentials)
    raise ConsentRequestNeedsAuthenticationError()


SignedInController = Annotated[SignedIn, Depends(signed_in_controller)]
FreshSignIn = Annotated[SignedIn, Depends(fresh_sign_in)]
EnterpriseCaller = Annotated[SignedIn, Depends(enterprise_caller)]
SessionToken = Annotated[str, Depends(session_token)]
RequestParty = Annotated[Bank | SignedIn, Depends(request_party)]


async def drafting_bank(
    request: Request,
    context: ContextDep,
    body: ConsentDraftRequest,
    sign_in: SignInServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(siwe_scheme)],
    _bank_key: Credentials,  # documents the alternative: the bank's key (read from the header)
) -> str | None:
    """Who asks for a consent draft: the bank by its API key (its address), or a controller of
    the enterprise the draft names, signed in with EIP-4361 (None). Anyone else is refused before
    the USCC is looked at: a draft names the enterprise's subject id."""
    scheme = credentials.scheme.lower() if credentials is not None else ""
    if is_session(credentials):
        assert credentials is not None
        await sign_in.from_session(credentials.credentials, parse_uscc(body.uscc).code)
        return None
    if credentials is not None and scheme == "bearer":
        bank = await current_bank(request, context, credentials)
        return bank.address
    if credentials is not None and scheme == "siwe":
        await sign_in.verify(credentials.credentials, parse_uscc(body.uscc).code)
        return None
    raise DraftNeedsAuthenticationError()


DraftingBank = Annotated[str | None, Depends(drafting_bank)]
