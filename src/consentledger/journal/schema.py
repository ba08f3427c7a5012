"""The read journal's tables: every bank read the gateway journals, and the batches that carry
reads to the chain. The gateway writes them; the auditor reads them to cross-check the chain.
Next to them, the banks the gateway serves and the enterprise's side: banks' consent requests and
signed-in sessions.

SQLAlchemy 2.x declarative models on the gateway database's one :class:`Base` (the gateway adds
its own tables to it: banks, sign-in nonces). Nothing here is SQLite-only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ReadStatus(StrEnum):
    PENDING = "pending"  # journaled, not yet in a batch
    BATCHED = "batched"  # in a batch transaction that was (or is about to be) sent
    GRANTED = "granted"  # DataAccessed: released
    DENIED = "denied"  # AccessDenied: nothing released
    FAILED = "failed"  # never recorded on the chain: nothing released


class Batch(Base):
    """One recordAccesses transaction: kept signed, so a restart can rebroadcast it."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    raw_tx: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | mined | failed
    #: The relayer key that signed it (checksummed address): each gateway worker settles only
    #: its own batches. NULL only in a database from before the column (revision ``j0002``).
    relayer: Mapped[str | None] = mapped_column(String(42), nullable=True, index=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BatchReplacement(Base):
    """A batch signed again with the same nonce and higher fees, because the first was stuck.

    Written before it is broadcast. The batch's first transaction and every replacement are all
    candidates: a node mines at most one of them (they share the nonce), and whichever it mines
    resolves the batch's entries; a restart looks for all of them.
    """

    __tablename__ = "batch_replacements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    raw_tx: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JournalEntry(Base):
    """One bank read: what was asked, what would be released, and what the chain decided."""

    __tablename__ = "journal"
    __table_args__ = (
        UniqueConstraint("bank_address", "idempotency_key"),
        # A bank's signed request is journaled once: a second read with its request id is a
        # replay (NULL, in rows from before signed requests, never collides).
        Index("ix_journal_bank_request", "bank_address", "request_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the request body's canonical form: same key with another body is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64))
    bank_address: Mapped[str] = mapped_column(String(42), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="query")  # query | size_class
    uscc: Mapped[str] = mapped_column(String(18))
    subject: Mapped[str] = mapped_column(String(66), index=True)
    consent_id: Mapped[str] = mapped_column(String(66), index=True)
    categories: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[int] = mapped_column(Integer)
    history_months: Mapped[int] = mapped_column(Integer)
    #: RFC 8785 canonical bytes of the data that is released if the chain grants.
    document: Mapped[bytes] = mapped_column(LargeBinary)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    response_hash: Mapped[str] = mapped_column(String(66))
    #: The record versions the document was built from (its ``versions`` member, RFC 8785 JSON):
    #: kept when the document is deleted after the delivery window. NULL for a document without
    #: them (a size class, a denied read, rows from before versioned documents).
    versions: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The bank's signed EIP-712 ReadRequest: its request id (uint64, decimal: it exceeds a
    #: signed BIGINT), deadline and 65-byte signature. NULL only in rows from before signed reads.
    request_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    request_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    request_signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=ReadStatus.PENDING, index=True)
    #: uint256 as 0x-hex (64 digits): query ids exceed every SQL integer type.
    query_id: Mapped[str | None] = mapped_column(String(66), unique=True, nullable=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), nullable=True)
    #: The relayer key of the worker that journaled the read (checksummed address); its query id,
    #: once assigned, starts with the same 160 bits. NULL only in a database from before the
    #: column (revision ``j0002``).
    relayer: Mapped[str | None] = mapped_column(String(42), nullable=True, index=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutboxEvent(Base):
    """A domain event the gateway reports to webhook subscribers (see ``gateway/events.py``).

    Written in the transaction of the state change it reports, or, for an event of the chain,
    when the gateway's live model applies it; its id is unique (for a chain event derived from
    the transaction hash and log index), so a replay of the chain after a restart, or a second
    worker following the same chain, writes nothing twice. ``seq`` orders the events."""

    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    #: The enterprise's subject id (0x-hex) and the bank (checksummed address) the event is
    #: about, either may be NULL: who may subscribe to it.
    subject: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    bank: Mapped[str | None] = mapped_column(String(42), nullable=True, index=True)
    #: Deliveries with the same key (a consent id, a dispute id) go out in ``seq`` order.
    ordering_key: Mapped[str] = mapped_column(String(80))
    #: The Standard Webhooks body: ``{"type", "timestamp", "data"}`` as JSON text.
    body: Mapped[str] = mapped_column(String)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookSubscription(Base):
    """Where an enterprise or a bank wants its events delivered, and which ones."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_owner", "owner_kind", "owner"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # enterprise | bank
    #: The enterprise's subject id (0x-hex) or the bank's checksummed address.
    owner: Mapped[str] = mapped_column(String(66))
    url: Mapped[str] = mapped_column(String(2048))
    #: The signing secret (``whsec_<base64>``): shown once when the subscription is made, kept
    #: to sign every delivery.
    secret: Mapped[str] = mapped_column(String(80))
    #: The event types delivered, space-separated.
    event_types: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # to be sent (again) at next_attempt_at
    DELIVERED = "delivered"  # the receiver answered 2xx
    DEAD = "dead"  # every attempt failed: kept for a redelivery on request


class WebhookDelivery(Base):
    """One event for one subscription, until the receiver took it or the retries ran out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "subscription_id", "ordering_key", "event_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_seq: Mapped[int] = mapped_column(ForeignKey("outbox_events.seq"))
    event_id: Mapped[str] = mapped_column(String(80))
    ordering_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When it is due (Unix time in milliseconds: compared in SQL, on every database alike).
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    #: A worker sending it holds it until then (Unix ms; another worker leaves it alone meanwhile).
    leased_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookAttempt(Base):
    """One try of a delivery: when, what the receiver answered (or why there was no answer)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class DisputeRecord(Base):
    """An enterprise's dispute as the gateway filed it: the texts the chain holds hashes of
    (``DisputeFiled``'s reason, ``DisputeAnswered``'s answer), and where each was recorded.

    Written before the filing is sent (status ``filing``), so a filing whose transaction fails is
    kept as ``failed``, not lost."""

    __tablename__ = "disputes"

    #: The dispute id on the chain (0x-hex, 32 bytes).
    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    subject: Mapped[str] = mapped_column(String(66), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # read | item
    #: What is disputed: a read's query id (0x-hex), or the item's reference as given.
    reference: Mapped[str] = mapped_column(String(200))
    #: The chain's ``target``: the query id, or keccak256 of the item's reference.
    target: Mapped[str] = mapped_column(String(66))
    categories: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(4000))
    reason_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    filed_by: Mapped[str] = mapped_column(String(42))
    status: Mapped[str] = mapped_column(
        String(16), default="filing"
    )  # filing|filed|answered|failed
    filed_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    filed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Block times (Unix seconds).
    filed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    answer: Mapped[str | None] = mapped_column(String(8000), nullable=True)
    answer_salt: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    answered_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    answered_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    answered_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Bank(Base):
    """A bank the bureau serves: its on-chain address, legal names and API key (hashed).

    Here, below the gateway and the auditor: the auditor names banks from it."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The bank's legal name in English (in a database from before legal names: the name the
    #: operator gave, shown nowhere but in the operator's list).
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: The legal name in Chinese and the financial licence number (金融许可证 机构编码). NULL
    #: for a bank admitted before legal names: views then show its address only.
    name_zh: Mapped[str | None] = mapped_column(String(200), nullable=True)
    licence_number: Mapped[str | None] = mapped_column(String(15), nullable=True)
    address: Mapped[str] = mapped_column(String(42), unique=True)
    #: The public half of the API key (``clk_<key_id>_<secret>``), for lookup.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: SHA-256 of the secret half, hex. Compared in constant time.
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RequestState(StrEnum):
    """Where a bank's consent request stands (:mod:`consentledger.gateway.consent_requests`)."""

    PENDING = "pending"  # waiting for the enterprise
    APPROVING = "approving"  # the enterprise's signed consent is on its way to the chain
    APPROVED = "approved"  # granted on the chain: ``consent_id`` names the consent
    DECLINED = "declined"  # the enterprise said no (``decline_reason``)
    EXPIRED = "expired"  # nobody answered before ``respond_by``


class ConsentRequestRecord(Base):
    """A bank's request for a consent, waiting for (or answered by) the enterprise.

    The terms are those of the consent the bank asks for; the period is either fixed
    (``expires_at``) or a length from the approval on (``duration_days``). Kept in every state:
    declined and expired requests stay visible to both sides."""

    __tablename__ = "consent_requests"
    __table_args__ = (
        Index("ix_consent_requests_bank", "bank_address", "id"),
        Index("ix_consent_requests_uscc", "uscc", "id"),
    )

    #: Ordered, for pagination; never shown (the public id is ``request_id``).
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(40), unique=True)
    bank_address: Mapped[str] = mapped_column(String(42))
    uscc: Mapped[str] = mapped_column(String(18))
    categories: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_reads: Mapped[int] = mapped_column(BigInteger)
    history_months: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(16), default=RequestState.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    respond_by: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: The consent being granted (approving) or granted (approved).
    consent_id: Mapped[str | None] = mapped_column(String(66), nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EnterpriseSession(Base):
    """A signed-in controller's session: viewing without a new signature each time.

    Only the SHA-256 of the token is stored. Bound to one enterprise and one controller; ends at
    ``expires_at`` or when signed out (``revoked_at``)."""

    __tablename__ = "enterprise_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    address: Mapped[str] = mapped_column(String(42))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReceivedRevocation(Base):
    """A signed revocation the gateway received, journaled before it is relayed: the auditor
    reports one the chain did not show revoked within its bound (the bureau must not sit on an
    enterprise's revocation)."""

    __tablename__ = "revocations_received"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consent_id: Mapped[str] = mapped_column(String(66), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
