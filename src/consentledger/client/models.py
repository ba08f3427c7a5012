"""The gateway's requests and answers as typed models (pydantic), as a client sees them.

Answers ignore members they do not know, so a newer gateway does not break an older client; a
test holds these models to the gateway's OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import rfc8785
from eth_utils.crypto import keccak
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from consentledger.categories import Category, Purpose

#: A category or purpose: its code, its name (``"tax"``), or the enum.
CategoryLike = Category | int | str
PurposeLike = Purpose | int | str
ConsentAction = Literal["revoke", "pause", "resume"]


class Answer(BaseModel):
    """An answer of the gateway (unknown members ignored)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --------------------------------------------------------------------------- shared


class CategoryRef(Answer):
    code: int
    name: str | None


class PurposeRef(Answer):
    code: int
    name: str | None


class ChainEvent(Answer):
    event: str
    block_number: int
    block_time: datetime
    tx_hash: str
    log_index: int


class TypedData(Answer):
    """EIP-712 typed data, as ``eth_signTypedData_v4`` takes it (wide integers as strings)."""

    types: dict[str, list[dict[str, str]]]
    primary_type: str = Field(alias="primaryType")
    domain: dict[str, Any]
    message: dict[str, Any]

    def document(self) -> dict[str, Any]:
        """The JSON document a wallet signs."""
        return self.model_dump(by_alias=True)


# --------------------------------------------------------------------------- meta


class Health(Answer):
    status: str
    chain_id: int
    latest_block: int
    embedded_chain: bool
    contract: str
    deploy_block: int
    relayer: str
    relayer_nonce: int
    batches_in_flight: int
    batches_sent: int
    batches_stuck: int
    batch_replacements_sent: int
    open_journal_entries: int
    live_ledger_block: int | None
    live_ledger_fresh: bool
    reads_prechecked_live: int
    reads_prechecked_on_views: int
    relayer_balance_wei: int
    chain_head_age_s: int


class Eip712Description(Answer):
    domain: dict[str, Any]
    types: dict[str, list[dict[str, str]]]
    primary_types: list[str]


# --------------------------------------------------------------------------- consents


class ConsentRequest(BaseModel):
    """Consent terms in human terms (``POST /v1/consents/draft``). Exactly one of
    ``expires_at`` and ``duration_days``."""

    model_config = ConfigDict(extra="forbid")

    uscc: str
    bank: str
    categories: list[CategoryLike]
    purpose: PurposeLike
    history_months: int
    duration_days: int | None = None
    expires_at: AwareDatetime | None = None
    not_before: AwareDatetime | None = None
    max_reads: int = 0
    sign_within_seconds: int | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class ConsentDraft(Answer):
    """What the enterprise's controllers sign, and the receipt it commits to."""

    consent_id: str
    typed_data: TypedData
    receipt: dict[str, Any]
    receipt_salt: str
    receipt_hash: str
    deadline: datetime


class BankName(Answer):
    """A bank's legal names and financial licence number."""

    name_zh: str
    name_en: str
    licence_number: str


class PublicBank(Answer):
    address: str
    name: BankName | None  # None: a bank admitted before legal names


class BankList(Answer):
    banks: list[PublicBank]


class ConsentDetails(Answer):
    """A consent as the chain holds it now."""

    consent_id: str
    status: Literal["ACTIVE", "PAUSED", "REVOKED", "EXPIRED"]
    subject: str
    bank: str
    bank_name: BankName | None = None
    categories: list[CategoryRef]
    categories_mask: str
    purpose: PurposeRef
    not_before: datetime
    expires_at: datetime
    max_reads: int
    reads_used: int
    reads_left: int
    history_months: int
    receipt_hash: str | None
    events: list[ChainEvent]


class GrantResult(Answer):
    consent_id: str
    status: str
    tx_hash: str
    block_number: int
    consent: ConsentDetails


class ActionDraft(Answer):
    consent_id: str
    action: ConsentAction
    typed_data: TypedData
    endpoint: str
    deadline: datetime


class ActionResult(Answer):
    consent_id: str
    action: ConsentAction
    status: str
    tx_hash: str
    block_number: int


# --------------------------------------------------------------------------- bank reads


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """A bank's read (``POST /v1/queries``). A read signer adds its fields to the body. (A
    dataclass, not a validated model: it is built for every read of a load generator, and the
    gateway validates it.)"""

    uscc: str
    consent_id: str
    categories: Sequence[CategoryLike]
    purpose: PurposeLike

    def body(self) -> dict[str, Any]:
        """The JSON body (an enum member travels as its code)."""
        return {
            "uscc": self.uscc,
            "consent_id": self.consent_id,
            "categories": [int(c) if isinstance(c, Category) else c for c in self.categories],
            "purpose": int(self.purpose) if isinstance(self.purpose, Purpose) else self.purpose,
        }


class Receipt(Answer):
    """Where the chain recorded a read; anyone can check it against the chain."""

    query_id: str
    consent_id: str
    tx_hash: str
    block_number: int
    log_index: int
    response_hash: str
    salt: str
    #: Per category, its source and the records the data was built from (``[id, version]``).
    versions: dict[str, Any] | None = None

    def matches(self, data: dict[str, Any]) -> bool:
        """Whether ``keccak256(salt || RFC 8785 bytes of data)`` is this receipt's hash."""
        digest = keccak(bytes.fromhex(self.salt[2:]) + rfc8785.dumps(data))
        return "0x" + digest.hex() == self.response_hash.lower()


class QueryResult(Answer):
    """A granted read: the data and its receipt."""

    status: str
    data: dict[str, Any]
    receipt: Receipt


# --------------------------------------------------------------------------- enterprise views


class Challenge(Answer):
    message: str
    nonce: str
    issued_at: datetime
    expires_at: datetime
    authorization: str


class AccessRecord(Answer):
    outcome: Literal["granted", "denied"]
    reason: str | None
    bank: str
    bank_name: BankName | None = None
    consent_id: str
    categories: list[CategoryRef]
    categories_mask: str
    purpose: PurposeRef
    query_id: str
    request_id: str | None  # the bank's own id of its signed request
    signed_by: str | None  # the address the request's signature recovers to
    bank_signed: bool  # signed by the bank (its address or its read signer now)
    response_hash: str | None
    block_number: int
    block_time: datetime
    tx_hash: str
    log_index: int


class ExportRecord(Answer):
    categories: list[CategoryRef]
    categories_mask: str
    export_hash: str
    block_number: int
    block_time: datetime
    tx_hash: str
    log_index: int


class AccessLog(Answer):
    uscc: str
    subject: str
    to_block: int
    granted: int
    denied: int
    accesses: list[AccessRecord]
    exports: list[ExportRecord]
    next_cursor: str | None = None


class ConsentList(Answer):
    uscc: str
    subject: str
    to_block: int
    consents: list[ConsentDetails]
    next_cursor: str | None = None


class Session(Answer):
    """An enterprise's session: its token (shown once) and when it ends."""

    token: str
    uscc: str
    address: str
    expires_at: datetime
    authorization: str  # how to send the token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# --------------------------------------------------------------------------- consent requests

RequestState = Literal["pending", "approving", "approved", "declined", "expired"]


class ConsentRequestTerms(BaseModel):
    """What a bank asks an enterprise for (``POST /v1/consent-requests``). Exactly one of
    ``expires_at`` and ``duration_days``."""

    model_config = ConfigDict(extra="forbid")

    uscc: str
    categories: list[CategoryLike]
    purpose: PurposeLike
    history_months: int
    reason: str
    duration_days: int | None = None
    expires_at: AwareDatetime | None = None
    not_before: AwareDatetime | None = None
    max_reads: int = 0
    respond_within_days: int = 7

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RequestedPeriod(Answer):
    not_before: datetime | None
    expires_at: datetime | None
    duration_days: int | None


class ConsentRequestInfo(Answer):
    """A consent request and where it stands."""

    request_id: str
    state: RequestState
    uscc: str
    bank: str
    bank_name: BankName | None
    categories: list[CategoryRef]
    categories_mask: str
    purpose: PurposeRef
    period: RequestedPeriod
    max_reads: int
    history_months: int
    reason: str
    created_at: datetime
    respond_by: datetime
    decided_at: datetime | None
    decline_reason: str | None
    consent_id: str | None
    tx_hash: str | None
    block_number: int | None


class ConsentRequestPage(Answer):
    requests: list[ConsentRequestInfo]
    next_cursor: str | None


class DraftRefusal(Answer):
    code: str
    detail: str


class ConsentRequestView(Answer):
    """A request; to its enterprise while pending, with the consent to sign."""

    request: ConsentRequestInfo
    approval: ConsentDraft | None
    approval_refused: DraftRefusal | None = None


class ApprovalResult(Answer):
    request: ConsentRequestInfo
    grant: GrantResult


class ExportResult(Answer):
    uscc: str
    history_months: int
    categories: list[CategoryRef]
    data: dict[str, Any]
    export_hash: str
    salt: str
    tx_hash: str
    block_number: int


class SignedDraft(Answer):
    """Typed data k of the enterprise's controllers sign (an export, a change of controllers)."""

    typed_data: TypedData
    endpoint: str
    deadline: datetime


class ControllerSet(Answer):
    uscc: str
    subject: str
    controllers: list[str]
    threshold: int
    tx_hash: str
    block_number: int


# --------------------------------------------------------------------------- operator


class BankStanding(Answer):
    name: str  # the legal name in English
    name_zh: str | None = None  # None: a bank admitted before legal names
    licence_number: str | None = None
    address: str
    active_on_chain: bool


class CreatedBank(BankStanding):
    api_key: str
    private_key: str | None = None
    tx_hash: str


class BankAction(Answer):
    tx_hash: str
    address: str
    active_on_chain: bool


class ApiKey(Answer):
    """A bank's API key, by its id (the ``<key id>`` of ``clk_<key id>_<secret>``)."""

    address: str
    key_id: str
    active: bool


class RotatedApiKey(ApiKey):
    api_key: str  # shown once; the gateway keeps only its hash


class FeedCredential(Answer):
    """A source's push credential, by its id (the ``<key id>`` of ``cfs_<key id>_<secret>``)."""

    source: str
    key_id: str
    kinds: list[str]
    active: bool
    issued_at: datetime


class IssuedFeedCredential(FeedCredential):
    credential: str  # shown once; the bureau keeps only its hash


class RefusedRecord(Answer):
    line: int
    record_id: str | None
    code: str
    reason: str


class SupersededVersion(Answer):
    record_id: str
    version: int
    by_version: int


class BatchReport(Answer):
    """What became of a pushed batch."""

    name: str
    source: str
    records: int
    written: int
    unchanged: int
    enterprises_added: int
    accepted: bool
    superseded: list[SupersededVersion]
    refusals: list[RefusedRecord]


class KnownDocument(Answer):
    """An enterprise's document as the bureau would have built it at ``known_at``."""

    known_at: datetime
    document: dict[str, Any]


class RegisteredEnterprise(Answer):
    uscc: str
    subject: str
    controllers: list[str]
    threshold: int
    tx_hash: str


class ControllerSetDraft(Answer):
    """What every controller of a registration or a recovery signs (each one, not k)."""

    uscc: str
    subject: str
    typed_data: TypedData
    deadline: datetime


class StartedRecovery(RegisteredEnterprise):
    effective_at: datetime


# --------------------------------------------------------------------------- webhooks

WebhookEventType = Literal[
    "consent.requested",
    "consent.request_declined",
    "consent.request_expired",
    "consent.granted",
    "consent.paused",
    "consent.resumed",
    "consent.revoked",
    "consent.expired",
    "read.granted",
    "read.denied",
    "dispute.filed",
    "dispute.answered",
    "dispute.overdue",
]


class Subscription(Answer):
    id: str
    url: str
    event_types: list[str]
    description: str
    created_at: AwareDatetime


class CreatedSubscription(Subscription):
    secret: str


class DeliveryAttempt(Answer):
    attempted_at: AwareDatetime
    status_code: int | None
    error: str | None
    duration_ms: int


class Delivery(Answer):
    id: int
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: AwareDatetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: AwareDatetime | None
    created_at: AwareDatetime
    attempt_log: list[DeliveryAttempt]


class DeliveryPage(Answer):
    subscription_id: str
    deliveries: list[Delivery]
    next_cursor: str | None


# --------------------------------------------------------------------------- disputes


class Dispute(Answer):
    dispute_id: str
    uscc: str
    kind: Literal["read", "item"]
    reference: str
    categories: list[CategoryRef]
    reason: str
    state: Literal["filing", "open", "overdue", "answered", "failed"]
    filed_tx: str | None
    filed_block: int | None
    filed_at: int | None
    answer_due: int | None
    outcome: Literal["corrected", "upheld"] | None
    answer: str | None
    answered_tx: str | None
    answered_at: int | None
    answered_late: bool | None


class DisputeList(Answer):
    uscc: str
    disputes: list[Dispute]
    next_cursor: str | None = None
