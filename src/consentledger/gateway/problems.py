"""Errors as RFC 9457 problem details, with a stable machine ``code``; the HTTP status of each.

Everything the package raises on purpose is a :class:`ConsentLedgerError` with a ``code``; this
module is the one place that maps an error's class to an HTTP status (:func:`status_of`). A
contract revert (:class:`LedgerRevertError`) keeps the contract's error name and arguments in the
problem, so a client sees exactly what the chain said. Nothing reaches a client as a bare 500: an
unexpected failure is a 500 problem without internals.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from consentledger.bureau.feed_credentials import NoFeedCredentialError, UnknownFeedKeyIdError
from consentledger.bureau.feeds import UnknownSourceError
from consentledger.bureau.pushing import UnsupportedBatchTypeError
from consentledger.bureau.store import (
    BureauDatabaseError,
    BureauNotSeededError,
    UnknownEnterpriseError,
)
from consentledger.chain.client import TransactionFailedError, TransactionTimeoutError
from consentledger.chain.jsonrpc import ChainUnavailableError
from consentledger.chain.relayer import NotRecordedError, OutcomePendingError
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.db import GatewayDatabaseError
from consentledger.gateway.errors import (
    BodyTooDeepError,
    BodyTooLargeError,
    ConflictError,
    ForeseenRefusalError,
    GatewayError,
    NotAuthenticatedError,
    NotFoundError,
    NotPermittedError,
    TooManyFailedAuthenticationsError,
    TooManyRequestsError,
    UnavailableError,
)
from consentledger.ledger.errors import LedgerRevertError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem detail. Extension members (``reason``, ``receipt``, ``errors``,
    ``contract_error``...) appear next to the standard ones."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


#: The status of each error class (the nearest class in an error's MRO decides); any other
#: package error is a request that cannot be processed (422).
_STATUS: dict[type[ConsentLedgerError], int] = {
    BodyTooDeepError: 400,
    NotAuthenticatedError: 401,
    NotPermittedError: 403,
    NotFoundError: 404,
    UnknownEnterpriseError: 404,
    UnknownSourceError: 404,
    NoFeedCredentialError: 404,
    UnknownFeedKeyIdError: 404,
    UnsupportedBatchTypeError: 415,
    ConflictError: 409,
    BodyTooLargeError: 413,
    TooManyFailedAuthenticationsError: 429,
    TooManyRequestsError: 429,
    TransactionFailedError: 502,
    UnavailableError: 503,
    ChainUnavailableError: 503,
    BureauDatabaseError: 503,
    BureauNotSeededError: 503,
    GatewayDatabaseError: 503,
    NotRecordedError: 503,
    OutcomePendingError: 503,
    TransactionTimeoutError: 504,
}

#: Contract errors (by name) that are not 422 (the signed request cannot be processed).
_REVERT_STATUS = {
    "MembershipUnknownEnterprise": 404,
    "ConsentsUnknownConsent": 404,
    "ConsentsInvalidTransition": 409,
    "RecoveryNotPending": 409,
    "DisputesUnknownDispute": 404,
    "DisputesAlreadyAnswered": 409,
    "DisputesAlreadyFiled": 409,
    "AccessControlUnauthorizedAccount": 503,  # the gateway's own key lacks a role: misconfigured
}

#: Response headers by error class: a read still on its way is worth asking again soon.
_HEADERS: dict[type[ConsentLedgerError], Mapping[str, str]] = {
    OutcomePendingError: {"Retry-After": "1"},
}


def status_of(exc: ConsentLedgerError) -> int:
    """The HTTP status a package error answers with."""
    if isinstance(exc, ForeseenRefusalError):
        return status_of(exc.revert)
    if isinstance(exc, LedgerRevertError):
        return revert_status(exc.error)
    return status_of_class(type(exc))


def status_of_class(error: type[ConsentLedgerError]) -> int:
    """The HTTP status errors of this class answer with (the nearest class in its MRO decides)."""
    for cls in error.__mro__:
        status = _STATUS.get(cls)
        if status is not None:
            return status
    return 422


def revert_status(error: str) -> int:
    """The HTTP status of the contract's custom error ``error`` (by name)."""
    return _REVERT_STATUS.get(error, 422)


def headers_of(exc: ConsentLedgerError) -> Mapping[str, str]:
    """The response headers a package error answers with."""
    if isinstance(exc, GatewayError):
        return exc.headers
    for cls in type(exc).__mro__:
        if cls in _HEADERS:
            return _HEADERS[cls]
    return {}


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def snake_case(name: str) -> str:
    """``ConsentsReadsExceedCap`` -> ``consents_reads_exceed_cap``; ``MembershipNotABank`` ->
    ``membership_not_a_bank``; ``ECDSAInvalidSignatureS`` -> ``ecdsa_invalid_signature_s``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def problem(status: int, code: str, detail: str, **extensions: Any) -> Problem:
    return Problem(
        type=f"urn:consentledger:problem:{code}",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        **extensions,
    )


def problem_for(exc: ConsentLedgerError) -> Problem:
    """The problem a package error answers with."""
    status = status_of(exc)
    if isinstance(exc, ForeseenRefusalError):
        foreseen = problem_for(exc.revert)
        return foreseen.model_copy(update={"detail": exc.detail, "prechecked": True})
    if isinstance(exc, LedgerRevertError):
        arguments = [_jsonable(a) for a in exc.error_args]
        return problem(
            status,
            snake_case(exc.error),
            f"the ledger refused: {exc}",
            contract_error=exc.error,
            arguments=arguments,
        )
    if isinstance(exc, GatewayError):
        return problem(status, exc.code, exc.detail, **exc.extensions)
    return problem(status, exc.code, str(exc))


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def respond(p: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        p.model_dump(exclude_none=True),
        status_code=p.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    """Answer every error with a problem."""

    @app.exception_handler(ConsentLedgerError)
    async def _package_error(request: Request, exc: ConsentLedgerError) -> JSONResponse:
        p = problem_for(exc).model_copy(update={"instance": request.url.path})
        return respond(p, headers_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        p = problem(422, "invalid_request", "the request does not match its schema", errors=errors)
        return respond(p.model_copy(update={"instance": request.url.path}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        p = problem(exc.status_code, code, str(exc.detail))
        return respond(p.model_copy(update={"instance": request.url.path}), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        p = problem(500, "internal_error", "the gateway failed unexpectedly; nothing was released")
        return respond(p.model_copy(update={"instance": request.url.path}))


#: OpenAPI description of the problem responses, for ``responses=`` on routes.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
