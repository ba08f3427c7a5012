"""The read journal's tables: every bank read the gateway journals, and the batches that carry
reads to the chain. The gateway writes them; the auditor reads them to cross-check the chain.

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
