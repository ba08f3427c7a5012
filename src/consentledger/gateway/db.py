"""The gateway's own database (SQLAlchemy 2.x): banks' API keys, the read journal, batches, and
sign-in nonces. SQLite by default, any SQLAlchemy URL; nothing here is SQLite-only.

The journal is written before anything is sent to the chain, and every write is committed
(SQLite: synchronous=FULL) before the gateway answers, so a crash never loses an acknowledged read
and never leaves a release without its on-chain record.
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
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from consentledger.errors import ConsentLedgerError
from consentledger.gateway.db_migrate import add_relayer_columns, add_request_columns


class GatewayDatabaseError(ConsentLedgerError, RuntimeError):
    """The gateway's database cannot be opened or written."""

    code = "gateway_database_error"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Bank(Base):
    """A bank the bureau serves: its on-chain address and its API key (hashed)."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(42), unique=True)
    #: The public half of the API key (``clk_<key_id>_<secret>``), for lookup.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: SHA-256 of the secret half, hex. Compared in constant time.
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
    #: its own batches. NULL only in a database from before the column (see ``migrate``).
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
    #: column (see ``migrate``).
    relayer: Mapped[str | None] = mapped_column(String(42), nullable=True, index=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SignInNonce(Base):
    """A single-use nonce of an EIP-4361 sign-in challenge."""

    __tablename__ = "signin_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    address: Mapped[str] = mapped_column(String(42))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Database:
    """The engine and a session factory; creates the schema on open."""

    def __init__(self, url: str) -> None:
        try:
            self.engine: Engine = create_engine(url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_durable)
            _create_tables(self.engine)
            add_relayer_columns(self.engine)
            add_request_columns(self.engine)
        except SQLAlchemyError as exc:
            raise GatewayDatabaseError(f"cannot open the gateway database {url}: {exc}") from exc
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()


def _create_tables(engine: Engine) -> None:
    """The missing tables. Several workers may open a new database at once: another one can
    create a table between this one's check and its CREATE, so that is tried again (each try
    finds at least one more table there)."""
    for _ in Base.metadata.tables:
        try:
            Base.metadata.create_all(engine)
        except (OperationalError, ProgrammingError) as exc:  # SQLite / PostgreSQL
            if "already exists" not in str(exc):
                raise
        else:
            return
    Base.metadata.create_all(engine)


def _sqlite_durable(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
