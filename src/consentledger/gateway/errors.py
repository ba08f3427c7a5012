"""The gateway's own errors: each a named exception under :class:`ConsentLedgerError` with its
problem code.

The classes say what went wrong, never which HTTP status to answer: :mod:`consentledger.gateway.
problems` maps a class to its status once, at the boundary. The families below group the errors
by meaning (not signed in, not permitted, not found, in conflict, throttled, unavailable); any
other gateway error is a request that cannot be processed. ``detail`` is the message; keyword
arguments become extension members of the problem (``field``, ``index``, ``contract_error``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consentledger.errors import ConsentLedgerError


class GatewayError(ConsentLedgerError):
    """An error the gateway answers with a problem: its code, detail and extension members."""

    code = "gateway_error"
    #: Response headers the problem carries (a challenge, a retry time).
    headers: Mapping[str, str] = {}

    def __init__(self, detail: str, **extensions: Any) -> None:
        self.detail = detail
        self.extensions = extensions
        super().__init__(detail)


class CodedGatewayError(GatewayError):
    """A family of errors that share a meaning and differ by their code (one per check); the
    family lists its codes (``codes``), which the API document names."""

    codes: tuple[str, ...] = ()

    def __init__(self, code: str, detail: str, **extensions: Any) -> None:
        if code not in self.codes:
            raise ValueError(f"{type(self).__name__} has no code {code!r}: add it to its codes")
        self.code = code
        super().__init__(detail, **extensions)


# ------------------------------------------------------------------ families, by meaning


class NotAuthenticatedError(GatewayError):
    """The credentials are missing or not valid."""

    headers: Mapping[str, str] = {"WWW-Authenticate": "Bearer"}


class NotPermittedError(GatewayError):
    """The caller is known but may not do this."""


class NotFoundError(GatewayError):
    """What the request names does not exist."""


class ConflictError(GatewayError):
    """The request contradicts what exists already."""


class UnavailableError(GatewayError):
    """The gateway cannot serve this now (misconfigured or waiting on the chain)."""


# ------------------------------------------------------------------ credentials


class MissingApiKeyError(NotAuthenticatedError):
    code = "missing_api_key"

    def __init__(self) -> None:
        super().__init__("send the bank's API key as a Bearer token")


class DraftNeedsAuthenticationError(NotAuthenticatedError):
    """A consent draft names the enterprise's subject id: only the asking bank or a signed-in
    controller may have one."""

    code = "draft_needs_authentication"
    headers: Mapping[str, str] = {"WWW-Authenticate": "Bearer, SIWE"}

    def __init__(self) -> None:
        super().__init__(
            "a draft is asked for by the bank (its API key as a Bearer token) or by a signed-in "
            "controller of the enterprise (SIWE)"
        )


class DraftForAnotherBankError(NotPermittedError):
    code = "draft_for_another_bank"

    def __init__(self) -> None:
        super().__init__("a bank asks for consents to itself only: 'bank' must be its address")


class InvalidApiKeyError(NotAuthenticatedError):
    code = "invalid_api_key"

    def __init__(self) -> None:
        super().__init__("the API key is not valid")


class MissingAdminTokenError(NotAuthenticatedError):
    code = "missing_admin_token"

    def __init__(self) -> None:
        super().__init__("send the operator token as a Bearer token")


class InvalidAdminTokenError(NotAuthenticatedError):
    code = "invalid_admin_token"

    def __init__(self) -> None:
        super().__init__("the operator token is not valid")


class MissingFeedCredentialError(NotAuthenticatedError):
    code = "missing_feed_credential"

    def __init__(self) -> None:
        super().__init__("send the source's feed credential as a Bearer token")


class InvalidFeedCredentialError(NotAuthenticatedError):
    code = "invalid_feed_credential"

    def __init__(self) -> None:
        super().__init__("the feed credential is not valid (unknown, rotated or revoked)")


class FeedSourceMismatchError(NotPermittedError):
    """A credential of one source used to push to another's feed."""

    code = "feed_source_not_permitted"

    def __init__(self, credential_source: str, asked: str) -> None:
        super().__init__(
            f"this credential is source {credential_source}'s; it may not push to {asked[:64]!r}",
            source=credential_source,
        )


class FeedBatchRejectedError(GatewayError):
    """A pushed batch with refused records: nothing of it was written (the report says why)."""

    code = "feed_rejected"

    def __init__(self, report: dict[str, object]) -> None:
        refusals = report["refusals"]
        count = len(refusals) if isinstance(refusals, list) else 0
        super().__init__(
            f"{count} record(s) of the batch refused; nothing of it was written", report=report
        )


class MissingRpcTokenError(NotAuthenticatedError):
    code = "missing_rpc_token"

    def __init__(self) -> None:
        super().__init__("send the auditor token as a Bearer token")


class InvalidRpcTokenError(NotAuthenticatedError):
    code = "invalid_rpc_token"

    def __init__(self) -> None:
        super().__init__("the auditor token is not valid")


class SignInRefusedError(CodedGatewayError, NotAuthenticatedError):
    """A Sign-In with Ethereum credential failed one check (``siwe_malformed``,
    ``siwe_wrong_domain``, ``siwe_nonce_used``...)."""

    codes = (
        "siwe_required",
        "session_required",
        "siwe_malformed",
        "siwe_wrong_domain",
        "siwe_wrong_uri",
        "siwe_wrong_chain",
        "siwe_expired",
        "siwe_not_yet_valid",
        "siwe_bad_signature",
        "siwe_unknown_nonce",
        "siwe_nonce_mismatch",
        "siwe_nonce_used",
        "siwe_nonce_expired",
    )
    headers: Mapping[str, str] = {"WWW-Authenticate": "SIWE"}


class SignInNotPermittedError(CodedGatewayError, NotPermittedError):
    """A valid sign-in that does not reach this enterprise (``siwe_wrong_enterprise``,
    ``siwe_not_controller``)."""

    codes = ("siwe_wrong_enterprise", "siwe_not_controller", "siwe_not_an_export_approval")


class TooManyRequestsError(GatewayError):
    """A client that asked an anonymous endpoint too often must wait."""

    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        self.headers = {"Retry-After": str(retry_after)}
        super().__init__(
            f"too many requests from this address; retry in {retry_after} s",
            retry_after=retry_after,
        )


class TooManySignInChallengesError(UnavailableError):
    """The gateway holds as many open sign-in challenges as it keeps: it issues more as they
    are used or expire."""

    code = "too_many_open_challenges"

    def __init__(self, retry_after: int) -> None:
        self.headers = {"Retry-After": str(retry_after)}
        super().__init__(
            f"too many sign-in challenges are open; retry in {retry_after} s",
            retry_after=retry_after,
        )


class TooManyFailedAuthenticationsError(GatewayError):
    """A client that failed to authenticate too often must wait."""

    code = "too_many_failed_authentications"

    def __init__(self, retry_after: int) -> None:
        self.headers = {"Retry-After": str(retry_after)}
        super().__init__(
            f"too many failed authentications from this address; retry in {retry_after} s",
            retry_after=retry_after,
        )


# ------------------------------------------------------------------ bad input


class InvalidTypedDataError(GatewayError):
    """An EIP-712 message field that does not fit its type."""

    code = "invalid_typed_data"


class InvalidAddressError(GatewayError):
    """Not an address, or a mixed-case address with a wrong EIP-55 checksum."""

    code = "invalid_address"


class InvalidTimeError(GatewayError):
    code = "invalid_time"


class MalformedSignatureError(GatewayError):
    """Not 0x-hex, or not 65 bytes."""

    code = "malformed_signature"


class InvalidSignatureError(GatewayError):
    """65 bytes that OpenZeppelin's ``ECDSA.recover`` refuses, or that recover no key."""

    code = "invalid_signature"


class ReceiptHashMismatchError(GatewayError):
    code = "receipt_hash_mismatch"


class ReceiptTermsMismatchError(GatewayError):
    code = "receipt_terms_mismatch"


class IdempotencyKeyReusedError(GatewayError):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used for a different request")


class InvalidQueryIdError(GatewayError):
    code = "invalid_query_id"

    def __init__(self) -> None:
        super().__init__("a query id is an integer or 0x-hex")


# ------------------------------------------------------------------ refusals and lookups


class ConsentNotForThisEnterpriseError(NotPermittedError):
    code = "consent_not_for_this_enterprise"

    def __init__(self) -> None:
        super().__init__(
            "this consent was given by another enterprise; nothing was read or recorded"
        )


class AccessDeniedError(NotPermittedError):
    """The chain recorded the read and denied it: the reason and the read's receipt."""

    code = "access_denied"

    def __init__(self, reason: str, receipt: Mapping[str, Any]) -> None:
        self.reason = reason
        super().__init__(
            f"the chain denied this read: {reason}", reason=reason, receipt=dict(receipt)
        )


class DeliveryEndedError(NotPermittedError):
    """A stored read asked for again after its consent stopped allowing reads (revoked, paused
    or expired) or its bank was suspended: the receipt, not the data."""

    code = "delivery_ended"

    def __init__(self, why: str, receipt: Mapping[str, Any]) -> None:
        self.why = why
        super().__init__(
            f"this read was released, but its data is not delivered again: {why}; "
            "the receipt stands",
            why=why,
            receipt=dict(receipt),
        )


class DeliveryWindowPassedError(DeliveryEndedError):
    """A stored read asked for again after the delivery window: the journal kept its salt and
    hash, not the document."""

    code = "delivery_window_passed"

    def __init__(self, window_s: float, receipt: Mapping[str, Any]) -> None:
        super().__init__(
            f"the document is kept for {window_s:g} s after the read and is gone", receipt
        )


class UnknownQueryError(NotFoundError):
    code = "unknown_query"


class UnknownConsentError(NotFoundError):
    """No consent with this id on the ledger (what the contract's ``ConsentsUnknownConsent``
    says, found before anything was sent)."""

    code = "consents_unknown_consent"

    def __init__(self, consent_id: bytes) -> None:
        super().__init__(
            f"no consent with id 0x{consent_id.hex()} on the ledger",
            contract_error="ConsentsUnknownConsent",
        )


class RpcDisabledError(NotFoundError):
    code = "rpc_disabled"

    def __init__(self) -> None:
        super().__init__("set CONSENTLEDGER_AUDITOR_TOKEN to open /rpc")


class RpcNotEmbeddedError(NotFoundError):
    code = "rpc_not_embedded"

    def __init__(self) -> None:
        super().__init__("this gateway uses a node: ask the node")


class UnknownBankError(NotFoundError):
    code = "unknown_bank"

    def __init__(self, address: str) -> None:
        super().__init__(f"no bank with address {address} is served by this gateway")


class UnknownKeyIdError(NotFoundError):
    """A key id that is not the bank's current API key (never issued, or rotated out)."""

    code = "unknown_key_id"

    def __init__(self, address: str, key_id: str) -> None:
        super().__init__(f"{key_id!r} is not the API key id of bank {address}", key_id=key_id[:64])


class BankExistsError(ConflictError):
    code = "bank_exists"


class RegulatorKeyMissingError(UnavailableError):
    code = "regulator_key_missing"

    def __init__(self) -> None:
        super().__init__(
            "this gateway has no regulator key (CONSENTLEDGER_REGULATOR_KEY): ask the regulator"
        )


class ForeseenRefusalError(GatewayError):
    """A contract error the state model foresaw before anything was sent: answered as the chain's
    own refusal would be (same code and status), marked ``prechecked``."""

    def __init__(self, revert: ConsentLedgerError) -> None:
        self.revert = revert
        super().__init__(
            f"the ledger would refuse: {revert} (checked before sending; nothing was sent)"
        )


class BodyTooLargeError(GatewayError):
    code = "body_too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"bodies are limited to {max_bytes} bytes")


class BodyTooDeepError(GatewayError):
    code = "body_too_deep"

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")


# ------------------------------------------------------------------ a bank's signed read request


class ReadRequestExpiredError(GatewayError):
    """The bank's signed request is past its deadline (the ledger would deny it)."""

    code = "request_expired"

    def __init__(self) -> None:
        super().__init__("the request's deadline has passed; nothing was read or recorded")


class ReadRequestDeadlineTooFarError(GatewayError):
    """The request's deadline lies further ahead than the ledger accepts."""

    code = "request_deadline_too_far"

    def __init__(self) -> None:
        super().__init__(
            "the request's deadline lies more than an hour ahead of the chain's time; "
            "nothing was read or recorded"
        )


class ReadRequestSignatureInvalidError(NotPermittedError):
    """The request's signature does not recover to the bank's read signer over exactly it."""

    code = "request_signature_invalid"

    def __init__(self) -> None:
        super().__init__(
            "the signature does not recover to this bank's read signer over exactly this "
            "request (in this ledger's EIP-712 domain and chain); nothing was read or recorded"
        )


class ReadRequestReplayedError(ConflictError):
    """The bank used this request id for another read."""

    code = "request_replayed"

    def __init__(self, request_id: int) -> None:
        super().__init__(
            f"this bank's request id {request_id} was used for another read; "
            "sign each read with a new request id",
            request_id=str(request_id),
        )


class HistoryExceedsConsentError(NotPermittedError):
    """The request asks for more history than its consent allows."""

    code = "history_exceeds_consent"

    def __init__(self, asked: int, consented: int) -> None:
        super().__init__(
            f"the request asks for {asked} months of history; the consent allows {consented}; "
            "nothing was read or recorded"
        )


# ------------------------------------------------------------------ webhooks


class InvalidWebhookUrlError(CodedGatewayError):
    """A webhook target the gateway will not send to (``webhook_url_invalid``,
    ``webhook_url_not_https``, ``webhook_url_not_public``)."""

    codes = ("webhook_url_invalid", "webhook_url_not_https", "webhook_url_not_public")


class UnknownSubscriptionError(NotFoundError):
    code = "unknown_subscription"

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"no webhook subscription {subscription_id[:64]!r} of yours")


class TooManySubscriptionsError(ConflictError):
    code = "too_many_subscriptions"

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} webhook subscriptions each: delete one first")


class UnknownDeliveryError(NotFoundError):
    code = "unknown_delivery"

    def __init__(self, delivery_id: int) -> None:
        super().__init__(f"no delivery {delivery_id} of this subscription")


class DeliveryNotDeadError(ConflictError):
    """Only a delivery whose retries ran out is sent again on request."""

    code = "delivery_not_dead"

    def __init__(self, delivery_id: int, status: str) -> None:
        super().__init__(f"delivery {delivery_id} is {status}, not dead", delivery_status=status)


# ------------------------------------------------------------------ disputes


class InvalidDisputeError(CodedGatewayError):
    """A dispute that does not say what it disputes (``dispute_needs_query_id``,
    ``dispute_needs_item``, ``dispute_categories_outside_read``)."""

    codes = ("dispute_needs_query_id", "dispute_needs_item", "dispute_categories_outside_read")


class DisputedReadUnknownError(NotFoundError):
    code = "disputed_read_unknown"

    def __init__(self, query_id: str) -> None:
        super().__init__(f"no recorded read {query_id[:80]} of this enterprise's data")


class UnknownDisputeError(NotFoundError):
    code = "unknown_dispute"

    def __init__(self, dispute_id: str) -> None:
        super().__init__(f"no dispute {dispute_id[:80]}")


class DisputeNotOpenError(ConflictError):
    """A dispute that cannot be answered: answered already, or its filing never recorded."""

    code = "dispute_not_open"

    def __init__(self, dispute_id: str, status: str) -> None:
        super().__init__(
            f"dispute {dispute_id} is {status}: nothing to answer", dispute_status=status
        )


# ------------------------------------------------------------------ banks' legal names


class InvalidLicenceNumberError(GatewayError):
    """A financial licence number (金融许可证 机构编码) that does not have the licence's shape."""

    code = "invalid_licence_number"

    def __init__(self, given: str) -> None:
        super().__init__(
            f"{given[:40]!r} is not a financial licence number: one letter (the institution "
            "type), four digits, one letter (the level), nine digits, e.g. B0011H144030001",
            field="licence_number",
        )


# ------------------------------------------------------------------ sessions


class SessionRefusedError(CodedGatewayError, NotAuthenticatedError):
    """A session token that does not sign anyone in (``session_unknown``, ``session_expired``,
    ``session_revoked``, ``session_not_controller``)."""

    codes = ("session_unknown", "session_expired", "session_revoked", "session_not_controller")


class SessionNotForThisEnterpriseError(NotPermittedError):
    """A session is bound to one enterprise."""

    code = "session_wrong_enterprise"

    def __init__(self, uscc: str) -> None:
        super().__init__(f"this session is for another enterprise, not {uscc}")


# ------------------------------------------------------------------ pagination


class InvalidCursorError(GatewayError):
    """A cursor that this gateway did not issue for this list (changed, truncated, or from
    another list or filter)."""

    code = "invalid_cursor"

    def __init__(self, why: str) -> None:
        super().__init__(f"the cursor is not valid here: {why}", field="cursor")


# ------------------------------------------------------------------ consent requests


class UnknownConsentRequestError(NotFoundError):
    """No consent request with this id for the caller (another party's request is not found
    either)."""

    code = "unknown_consent_request"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"no consent request {request_id[:64]!r} for you")


class ConsentRequestNotPendingError(ConflictError):
    """The request was answered already, expired, or is being approved."""

    code = "consent_request_not_pending"

    def __init__(self, request_id: str, state: str) -> None:
        super().__init__(
            f"consent request {request_id} is {state}: only a pending request can be answered",
            state=state,
        )


class ConsentRequestTermsMismatchError(GatewayError):
    """The signed consent does not carry the request's terms."""

    code = "consent_request_terms_mismatch"

    def __init__(self, field: str, expected: object, signed: object) -> None:
        super().__init__(
            f"the signed consent's {field} is {signed}, the request asks for {expected}: sign "
            "the typed data of GET /v1/consent-requests/{id}",
            field=field,
            expected=str(expected),
            signed=str(signed),
        )


class ConsentRequestWindowError(GatewayError):
    """The bank's answer-by time is outside what the gateway allows."""

    code = "consent_request_respond_by_out_of_range"

    def __init__(self, max_days: int) -> None:
        super().__init__(
            f"respond_within_days must lie between 1 and {max_days} "
            "(CONSENTLEDGER_CONSENT_REQUEST_MAX_DAYS)",
            field="respond_within_days",
            max_days=max_days,
        )


class ConsentRequestNeedsAuthenticationError(NotAuthenticatedError):
    """A consent request is seen by its bank (API key) or its enterprise (session or SIWE)."""

    code = "consent_request_needs_authentication"
    headers: Mapping[str, str] = {"WWW-Authenticate": "Bearer, SIWE"}

    def __init__(self) -> None:
        super().__init__(
            "a consent request is seen by its bank (its API key as a Bearer token) or by a "
            "controller of its enterprise (a session as a Bearer token, or SIWE)"
        )
