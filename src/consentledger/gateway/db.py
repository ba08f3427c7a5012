"""The gateway's own database (SQLAlchemy 2.x): sign-in nonces, next to the read journal's and the
banks' tables (:mod:`consentledger.journal.schema`). SQLite by default, any SQLAlchemy URL;
nothing here is SQLite-only.

The journal is written before anything is sent to the chain, and every write is committed
(SQLite: synchronous=FULL) before the gateway answers, so a crash never loses an acknowledged read
and never leaves a release without its on-chain record.
"""

from __future__ import annotations

import sqlite3
import time
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

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long one SQLite statement waits for another connection's lock."""

SQLITE_OPEN_WAIT_S = 120.0
"""How long a new connection waits, in all, for the lock it needs to turn the database to WAL."""


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
    """Write-ahead log, synchronous=FULL and a busy timeout on each new SQLite connection.

    Turning a new database to WAL needs its exclusive lock, which another process creating the
    same database (a worker starting beside others) or upgrading it may hold for longer than a busy
    timeout, and SQLite answers some of these waits SQLITE_BUSY without calling the busy handler:
    the pragma is tried again until the lock is free or :data:`SQLITE_OPEN_WAIT_S` has passed."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        deadline = time.monotonic() + SQLITE_OPEN_WAIT_S
        while True:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()
