"""A typed Python client of the gateway's HTTP API, for banks, enterprises, the operator
and the data sources.

:class:`Gateway` (synchronous) and :class:`AsyncGateway` (asynchronous) hand out the parties;
every answer is a typed model (:mod:`consentledger.client.models`) and every problem answer a
named exception (:mod:`consentledger.client.errors`) carrying the gateway's stable code.
"""

from consentledger.client.bank import Bank, ReadSigner
from consentledger.client.enterprise import Enterprise
from consentledger.client.errors import (
    AccessDeniedError,
    ConflictError,
    ForbiddenError,
    GatewayClientError,
    GatewayProblemError,
    GatewayUnreachableError,
    InvalidRequestError,
    NotFoundError,
    NotRecordedError,
    OutcomePendingError,
    RateLimitedError,
    RequestNotApprovableError,
    UnauthorizedError,
    UnavailableError,
    UnexpectedAnswerError,
)
from consentledger.client.gateway import AsyncGateway, Gateway
from consentledger.client.http import (
    AiohttpTransport,
    HttpRequest,
    HttpResponse,
    HttpxTransport,
)
from consentledger.client.operator import Operator
from consentledger.client.signing import Signer, sign_typed_data, siwe_authorization
from consentledger.client.source import Source

__all__ = [
    "AccessDeniedError",
    "AiohttpTransport",
    "AsyncGateway",
    "Bank",
    "ConflictError",
    "Enterprise",
    "ForbiddenError",
    "Gateway",
    "GatewayClientError",
    "GatewayProblemError",
    "GatewayUnreachableError",
    "HttpRequest",
    "HttpResponse",
    "HttpxTransport",
    "InvalidRequestError",
    "NotFoundError",
    "NotRecordedError",
    "Operator",
    "OutcomePendingError",
    "RateLimitedError",
    "ReadSigner",
    "RequestNotApprovableError",
    "Signer",
    "Source",
    "UnauthorizedError",
    "UnavailableError",
    "UnexpectedAnswerError",
    "sign_typed_data",
    "siwe_authorization",
]
