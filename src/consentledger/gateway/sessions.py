"""Enterprise sessions: a signed-in controller views without a new wallet signature each time.

A session is opened with one EIP-4361 sign-in (:mod:`consentledger.gateway.services.signin`)
and gives a token ``cls_<secret>``, sent as ``Authorization: Bearer cls_...``. Only the token's
SHA-256 is stored, with the enterprise and the controller it is bound to, and its end: it
lasts at most ``CONSENTLEDGER_SESSION_TTL_SECONDS`` and ends at once when signed out. A session
only views and answers requests; whatever changes the chain still needs the controllers' EIP-712
signatures. Every use checks again on the chain that the address still controls the enterprise.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update

from consentledger.gateway.db import Database
from consentledger.gateway.errors import SessionRefusedError
from consentledger.journal.schema import EnterpriseSession

#: The prefix of a session token (a bank's API key starts ``clk_``).
TOKEN_PREFIX = "cls_"  # noqa: S105 - a prefix, not a secret
#: How long an ended session's row is kept before it is purged.
_PURGE_AFTER = timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str
    uscc: str
    address: str
    expires_at: datetime


def open_session(db: Database, uscc: str, address: str, ttl_seconds: int) -> OpenedSession:
    """Store a new session (ended ones over a day old are purged on the way). Blocking."""
    now = datetime.now(UTC).replace(microsecond=0)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_seconds)
    with db.session() as session, session.begin():
        session.execute(
            delete(EnterpriseSession).where(EnterpriseSession.expires_at < now - _PURGE_AFTER)
        )
        session.add(
            EnterpriseSession(
                token_hash=_hash(token),
                uscc=uscc,
                address=address,
                created_at=now,
                expires_at=expires_at,
            )
        )
    return OpenedSession(token, uscc, address, expires_at)


def session_of(db: Database, token: str, now: datetime) -> EnterpriseSession:
    """The live session of a token; raises SessionRefusedError (unknown, expired, signed out).
    Blocking."""
    with db.session() as session:
        row = session.get(EnterpriseSession, _hash(token))
    if row is None:
        raise SessionRefusedError("session_unknown", "no such session: sign in again")
    if row.revoked_at is not None:
        raise SessionRefusedError("session_revoked", "the session was signed out: sign in again")
    if _aware(row.expires_at) <= now:
        raise SessionRefusedError("session_expired", "the session has expired: sign in again")
    return row


def end_session(db: Database, token: str, now: datetime) -> bool:
    """Sign a session out; False when it was not live. Blocking."""
    with db.session() as session, session.begin():
        ended = session.execute(
            update(EnterpriseSession)
            .where(
                EnterpriseSession.token_hash == _hash(token),
                EnterpriseSession.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return bool(ended.rowcount)  # type: ignore[attr-defined]
