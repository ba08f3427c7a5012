"""What the client raises: every problem+json answer as a named exception with its stable code.

All of them derive from :class:`GatewayClientError`, itself a
:class:`~consentledger.errors.ConsentLedgerError`; a problem answer is a
:class:`GatewayProblemError` whose subclass follows the problem's code where the code has its own
meaning for the caller (``access_denied``, ``outcome_pending``, ``not_recorded``), else its status.
Each carries ``status``, ``code`` (the gateway's stable code), ``detail`` and the whole ``problem``
(extension members such as ``contract_error``, ``errors`` or ``receipt`` included).
"""

from __future__ import annotations

from typing import Any

from consentledger.errors import ConsentLedgerError


class GatewayClientError(ConsentLedgerError):
    """Root of what the gateway client raises."""

    code = "gateway_client_error"


class GatewayUnreachableError(GatewayClientError, ConnectionError):
    """The request did not get an answer (refused, reset, timed out)."""

    code = "gateway_unreachable"

    def __init__(self, base_url: str, cause: BaseException) -> None:
        self.base_url = base_url
        super().__init__(f"cannot reach the gateway at {base_url}: {cause!r}")


class UnexpectedAnswerError(GatewayClientError, ValueError):
    """An answer that is neither the expected result nor a problem+json document."""

    code = "unexpected_answer"

    def __init__(self, status: int, body: bytes, expected: str) -> None:
        self.status = status
        self.body = body
        super().__init__(
            f"the gateway answered {status} where {expected} was expected: {body[:300]!r}"
        )


class RequestNotApprovableError(GatewayClientError, ValueError):
    """A consent request that carries no consent to sign: it is not pending, or the ledger would
    refuse its consent now (``refusal`` holds the refusal's code and detail)."""

    code = "consent_request_not_approvable"

    def __init__(self, request_id: str, state: str, refusal: str | None) -> None:
        self.request_id = request_id
        self.state = state
        self.refusal = refusal
        why = f": {refusal}" if refusal else ""
        super().__init__(f"consent request {request_id} ({state}) cannot be approved now{why}")


class GatewayProblemError(GatewayClientError):
    """The gateway answered with a problem (RFC 9457); ``retry_after`` is its Retry-After header
    in seconds, if it sent one."""

    def __init__(
        self, status: int, problem: dict[str, Any], retry_after: float | None = None
    ) -> None:
        self.status = status
        self.problem = problem
        self.retry_after = retry_after
        self.code = str(problem.get("code", "unknown_problem"))
        self.detail = str(problem.get("detail", ""))
        super().__init__(f"{status} {self.code}: {self.detail}")

    @property
    def contract_error(self) -> str | None:
        """The ledger contract's error name, when the chain (or its model) refused."""
        value = self.problem.get("contract_error")
        return value if isinstance(value, str) else None


class InvalidRequestError(GatewayProblemError, ValueError):
    """400, 413, 415 or 422: the request (or what it asks the ledger to do) is not acceptable."""


class UnauthorizedError(GatewayProblemError, PermissionError):
    """401: a missing or invalid API key, operator token, auditor token or sign-in."""


class ForbiddenError(GatewayProblemError, PermissionError):
    """403 other than a denied read: e.g. a sign-in by an address that does not control the
    enterprise, or a consent given by another enterprise."""


class AccessDeniedError(ForbiddenError):
    """403 ``access_denied``: the chain recorded the read and denied it; nothing was released."""

    @property
    def reason(self) -> str:
        """The denial reason the chain recorded (``REVOKED``, ``CATEGORY_NOT_GRANTED``, ...)."""
        return str(self.problem.get("reason", ""))

    @property
    def receipt(self) -> dict[str, Any]:
        """Where the chain recorded the denial (a :class:`~consentledger.client.models.Receipt`'s
        fields)."""
        receipt = self.problem.get("receipt")
        return receipt if isinstance(receipt, dict) else {}


class NotFoundError(GatewayProblemError, LookupError):
    """404: no such enterprise, consent, read or endpoint."""


class ConflictError(GatewayProblemError):
    """409: the state does not allow it (a bank that exists, an action the consent's status
    forbids)."""


class RateLimitedError(GatewayProblemError):
    """429: too many failed authentications from this client; wait ``retry_after`` seconds."""


class UnavailableError(GatewayProblemError):
    """5xx: the chain, a database or a key the gateway needs is not available now."""


class OutcomePendingError(UnavailableError):
    """503 ``outcome_pending``: the read is on its way to the chain; ask again with the same
    Idempotency-Key."""


class NotRecordedError(UnavailableError):
    """503 ``not_recorded``: the read was not recorded on the chain; nothing was released."""


_BY_CODE: dict[str, type[GatewayProblemError]] = {
    "access_denied": AccessDeniedError,
    "outcome_pending": OutcomePendingError,
    "not_recorded": NotRecordedError,
}
_BY_STATUS: dict[int, type[GatewayProblemError]] = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    415: InvalidRequestError,
    422: InvalidRequestError,
}


def problem_error(
    status: int, problem: dict[str, Any], retry_after: str | None = None
) -> GatewayProblemError:
    """The named exception for a problem answer (``retry_after``: its Retry-After header)."""
    seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
    if status == 429:
        return RateLimitedError(status, problem, seconds)
    kind = _BY_CODE.get(str(problem.get("code")))
    if kind is None:
        kind = _BY_STATUS.get(status, UnavailableError if status >= 500 else GatewayProblemError)
    return kind(status, problem, seconds)
