"""The sources' credentials for the push API: issued by the operator, shown once, kept hashed.

A credential is ``cfs_<key id>_<secret>``: the key id finds the source, the secret is stored only
as its SHA-256 and compared in constant time (an unknown key id costs the same comparison). A
credential is bound to its source and to the record kinds it may push: all of the source's kinds,
or fewer when the operator names them. A source has one credential at a time: issuing another
replaces it (rotation), revoking it leaves the source with none until the next issue.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentledger.bureau.feeds import FeedSource, feed_source
from consentledger.bureau.models import FeedCredential
from consentledger.bureau.store import BureauStore
from consentledger.errors import ConsentLedgerError

_PREFIX = "cfs_"
_DUMMY_HASH = hashlib.sha256(b"no such credential").hexdigest()
#: The stored hash of a revoked credential: no SHA-256 hex digest equals it.
_REVOKED = ""


class KindNotOfSourceError(ConsentLedgerError, ValueError):
    """A credential asked for with record kinds its source does not send."""

    code = "kind_not_of_source"

    def __init__(self, source: FeedSource, kinds: Iterable[str]) -> None:
        self.source = source.name
        self.kinds = sorted(kinds)
        super().__init__(
            f"source {source.name} does not send {', '.join(self.kinds)}; "
            f"its kinds are: {', '.join(source.kinds)}"
        )


class NoFeedCredentialError(ConsentLedgerError, LookupError):
    """A source that has never been issued a credential."""

    code = "no_feed_credential"

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(f"source {source} has no credential; issue one first")


class UnknownFeedKeyIdError(ConsentLedgerError, LookupError):
    """A key id that is not the source's credential."""

    code = "unknown_feed_key_id"

    def __init__(self, source: str, key_id: str) -> None:
        self.source = source
        self.key_id = key_id
        super().__init__(f"{key_id!r} is not the key id of source {source}'s credential")


@dataclass(frozen=True, slots=True)
class SourceCredential:
    """A source's credential as the operator and the push API see it (never the secret)."""

    source: str
    key_id: str
    kinds: tuple[str, ...]
    active: bool
    issued_at: datetime

    @property
    def kind_set(self) -> frozenset[str]:
        """The record kinds it may push."""
        return frozenset(self.kinds)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _view(row: FeedCredential) -> SourceCredential:
    issued = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=UTC)
    return SourceCredential(
        row.source, row.key_id, tuple(row.kinds.split(",")), row.key_hash != _REVOKED, issued
    )


def _kinds(source: FeedSource, kinds: Iterable[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return source.kinds
    asked = set(kinds)
    foreign = asked - set(source.kinds)
    if foreign or not asked:
        raise KindNotOfSourceError(source, foreign or {"(no kind)"})
    return tuple(k for k in source.kinds if k in asked)


def issue_credential(
    store: BureauStore, source_name: str, kinds: Iterable[str] | None = None
) -> tuple[SourceCredential, str]:
    """Issue ``source_name`` a new credential (its earlier one stops working); returns it and
    the credential to show once (only its hash is kept). ``kinds`` narrows what it may push."""
    source = feed_source(source_name)
    allowed = _kinds(source, kinds)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    store.create_schema()
    with Session(store.engine) as session, session.begin():
        row = session.get(FeedCredential, source.name)
        if row is None:
            row = FeedCredential(source=source.name)
            session.add(row)
        row.key_id, row.key_hash = key_id, _hash(secret)
        row.kinds, row.issued_at = ",".join(allowed), datetime.now(UTC)
        session.flush()
        view = _view(row)
    return view, f"{_PREFIX}{key_id}_{secret}"


def source_credential(store: BureauStore, source_name: str) -> SourceCredential:
    """The source's credential (raises :class:`NoFeedCredentialError`)."""
    source = feed_source(source_name)
    store.create_schema()
    with Session(store.engine) as session:
        row = session.get(FeedCredential, source.name)
        if row is None:
            raise NoFeedCredentialError(source.name)
        return _view(row)


def revoke_credential(store: BureauStore, source_name: str, key_id: str) -> SourceCredential:
    """Revoke the source's credential ``key_id``: it stops working at once. Revoking a revoked
    credential changes nothing."""
    source = feed_source(source_name)
    store.create_schema()
    with Session(store.engine) as session, session.begin():
        row = session.get(FeedCredential, source.name)
        if row is None or row.key_id != key_id:  # the key id is public: no constant-time compare
            raise UnknownFeedKeyIdError(source.name, key_id)
        row.key_hash = _REVOKED
        session.flush()
        return _view(row)


def authenticate_source(store: BureauStore, credential: str) -> SourceCredential | None:
    """The credential ``credential`` is, if it is one and works; else None."""
    key_id, secret = "", credential
    if credential.startswith(_PREFIX) and credential.count("_") >= 2:
        key_id, secret = credential[len(_PREFIX) :].split("_", 1)
    row = None
    if key_id:
        with Session(store.engine) as session:
            row = session.scalars(
                select(FeedCredential).where(FeedCredential.key_id == key_id)
            ).first()
    expected = row.key_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(_hash(secret), expected)
    if row is None or not matches or row.key_hash == _REVOKED:
        return None
    return _view(row)


__all__ = [
    "KindNotOfSourceError",
    "NoFeedCredentialError",
    "SourceCredential",
    "UnknownFeedKeyIdError",
    "authenticate_source",
    "issue_credential",
    "revoke_credential",
    "source_credential",
]
