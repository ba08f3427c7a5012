"""The gateway's own database (SQLAlchemy 2.x): sign-in nonces, next to the read journal's and the
banks' tables (:mod:`consentledger.journal.schema`). SQLite by default, any SQLAlchemy URL;
nothing here is SQLite-only.

The journal is written before anything is sent to the chain, and every write is committed
(SQLite: synchronous=FULL) before the gateway answers, so a crash never loses an acknowledged read
and never leaves a release without its on-chain record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    String,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from consentledger.errors import ConsentLedgerError
from consentledger.gateway.schema_history import JOURNAL_HISTORY
from consentledger.journal.schema import Bank as Bank
from consentledger.journal.schema import Base


class GatewayDatabaseError(ConsentLedgerError, RuntimeError):
    """The gateway's database cannot be opened or written."""

    code = "gateway_database_error"
    exit_code = 14


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
    """The engine and a session factory; brings the schema to the head revision on open (see
    :mod:`consentledger.schema_versions`: created in a new database, upgraded in place in an old
    one, once when several processes open it at once)."""

    def __init__(self, url: str) -> None:
        try:
            self.engine: Engine = journal_engine(url)
            JOURNAL_HISTORY.upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise GatewayDatabaseError(f"cannot open the gateway database {url}: {exc}") from exc
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()


def journal_engine(url: str) -> Engine:
    """An engine on the gateway's database (SQLite: write-ahead log, synchronous=FULL, a busy
    timeout). Raises SQLAlchemy's errors for a malformed URL or a missing driver."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_durable)
    return engine


def _sqlite_durable(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
