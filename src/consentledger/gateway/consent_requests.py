"""Consent requests in the journal's database, and the one place their state changes.

A bank asks an enterprise for a consent; the request waits (``pending``) until the enterprise
approves it by signing the consent (``approving`` while the grant is on its way to the chain,
then ``approved``), declines it with a reason (``declined``), or nobody answers before
``respond_by`` (``expired``). Every request is kept, whatever its state.

The transitions allowed are :data:`TRANSITIONS`; :func:`transition` makes one as a conditional
UPDATE (``WHERE state IN (the states it may come from)``), so two answers racing for one request
cannot both win: the loser gets :class:`ConsentRequestNotPendingError` naming the state it found.
An ``approving`` claim older than :data:`STALE_APPROVAL` (a gateway stopped mid-grant) may be
claimed again; the service first looks on the chain for the consent that claim was granting.
A request stored, declined or expired publishes its webhook event (:data:`PUBLISHED`) in the
transaction of that change; an approval is announced by the chain's ``consent.granted``.
All functions here block: run them off the event loop.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from consentledger.gateway.db import Database
from consentledger.gateway.errors import (
    ConsentRequestNotPendingError,
    UnknownConsentRequestError,
)
from consentledger.gateway.events import DomainEvent, EventType, derived_event_id, publish
from consentledger.gateway.periodic import Periodic
from consentledger.journal.schema import ConsentRequestRecord, RequestState
from consentledger.subject import subject_id

#: Seconds between two sweeps for expired requests.
SWEEP_INTERVAL = 60.0

#: Which state each state may be reached from.
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.APPROVING: frozenset({RequestState.PENDING}),
    RequestState.APPROVED: frozenset({RequestState.APPROVING}),
    RequestState.PENDING: frozenset({RequestState.APPROVING}),  # a grant that failed
    RequestState.DECLINED: frozenset({RequestState.PENDING}),
    RequestState.EXPIRED: frozenset({RequestState.PENDING}),
}
#: The webhook event each change publishes (an approval: the chain's ``consent.granted``).
PUBLISHED: dict[RequestState, EventType] = {
    RequestState.DECLINED: EventType.CONSENT_REQUEST_DECLINED,
    RequestState.EXPIRED: EventType.CONSENT_REQUEST_EXPIRED,
}
#: An approval claimed longer ago than this was abandoned (its gateway stopped mid-grant).
STALE_APPROVAL = timedelta(minutes=10)


def aware(moment: datetime) -> datetime:
    """A stored datetime as UTC (SQLite hands back naive ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def awaits_approval(record: ConsentRequestRecord, now: datetime) -> bool:
    """Whether the enterprise may approve the request now: pending, or an approval abandoned
    (claimed longer than :data:`STALE_APPROVAL` ago)."""
    if record.state == RequestState.PENDING:
        return True
    claimed = record.decided_at
    return (
        record.state == RequestState.APPROVING
        and claimed is not None
        and aware(claimed) < now - STALE_APPROVAL
    )


def new_request_id() -> str:
    return "creq_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class NewRequest:
    """The stored facts of a request a bank makes."""

    bank_address: str
    uscc: str
    categories: int
    purpose: int
    not_before: int | None
    expires_at: int | None
    duration_days: int | None
    max_reads: int
    history_months: int
    reason: str
    respond_by: datetime


def store_request(
    db: Database, new: NewRequest, now: datetime, subject_key: bytes
) -> ConsentRequestRecord:
    """Store a pending request and publish ``consent.requested``; returns it."""
    record = ConsentRequestRecord(
        request_id=new_request_id(),
        bank_address=new.bank_address,
        uscc=new.uscc,
        categories=new.categories,
        purpose=new.purpose,
        not_before=new.not_before,
        expires_at=new.expires_at,
        duration_days=new.duration_days,
        max_reads=new.max_reads,
        history_months=new.history_months,
        reason=new.reason,
        state=RequestState.PENDING,
        created_at=now,
        respond_by=new.respond_by,
    )
    with db.session() as session, session.begin():
        session.add(record)
        session.flush()
        event = event_of(EventType.CONSENT_REQUESTED, record, subject_key, now)
        publish(session, [event], _ms(now))
    return record


def _ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)


def expire_due(db: Database, now: datetime, subject_key: bytes) -> list[ConsentRequestRecord]:
    """Mark every pending request past its ``respond_by`` expired; returns those this call
    expired (each once, whoever else sweeps at the same time)."""
    with db.session() as session:
        due = list(
            session.scalars(
                select(ConsentRequestRecord).where(
                    ConsentRequestRecord.state == RequestState.PENDING,
                    ConsentRequestRecord.respond_by <= now,
                )
            )
        )
    expired: list[ConsentRequestRecord] = []
    for record in due:
        try:
            expired.append(
                transition(db, record.request_id, RequestState.EXPIRED, now, subject_key)
            )
        except ConsentRequestNotPendingError:  # answered or expired by another meanwhile
            continue
    return expired


def event_of(
    type_: EventType, record: ConsentRequestRecord, subject_key: bytes, now: datetime
) -> DomainEvent:
    """The webhook event of a request's change (its ids, state, and what the change decided),
    for the enterprise and the bank."""
    data: dict[str, object] = {
        "request_id": record.request_id,
        "state": str(record.state),
        "uscc": record.uscc,
        "bank": record.bank_address,
    }
    if record.decline_reason is not None:
        data["decline_reason"] = record.decline_reason
    return DomainEvent(
        id=derived_event_id("consent_request", record.request_id, str(type_)),
        type=type_,
        occurred_at=int(now.timestamp()),
        ordering_key=record.request_id,
        subject=subject_id(record.uscc, subject_key),
        bank=record.bank_address,
        data=data,
    )


class RequestExpirySweeper(Periodic):
    """Expires unanswered requests every :data:`SWEEP_INTERVAL` seconds, so their events go out
    even when nobody looks at them (looking expires them too)."""

    def __init__(self, db: Database, subject_key: bytes) -> None:
        async def expire_now() -> None:
            await asyncio.to_thread(expire_due, db, datetime.now(UTC), subject_key)

        super().__init__("consent-request-expiry", SWEEP_INTERVAL, expire_now)


def transition(
    db: Database,
    request_id: str,
    to: RequestState,
    now: datetime,
    subject_key: bytes,
    **values: Any,
) -> ConsentRequestRecord:
    """Move a request to ``to`` (setting ``values`` too) if its state allows it now, publishing
    the change's event (:data:`PUBLISHED`) in the same transaction; returns the request as
    stored after. Raises ConsentRequestNotPendingError naming the state found, or
    UnknownConsentRequestError."""
    allowed = TRANSITIONS[to]
    condition: ColumnElement[bool] = ConsentRequestRecord.state.in_([s.value for s in allowed])
    if to is RequestState.APPROVING:  # an abandoned claim may be taken over
        condition = or_(
            condition,
            and_(
                ConsentRequestRecord.state == RequestState.APPROVING,
                ConsentRequestRecord.decided_at < now - STALE_APPROVAL,
            ),
        )
    if to is not RequestState.PENDING:
        values.setdefault("decided_at", now)
    else:
        values.setdefault("decided_at", None)
    with db.session() as session, session.begin():
        changed = session.execute(
            update(ConsentRequestRecord)
            .where(ConsentRequestRecord.request_id == request_id, condition)
            .values(state=to.value, **values)
        )
        record = session.scalars(
            select(ConsentRequestRecord).where(ConsentRequestRecord.request_id == request_id)
        ).first()
        published = PUBLISHED.get(to)
        if record is not None and changed.rowcount and published is not None:  # type: ignore[attr-defined]
            publish(session, [event_of(published, record, subject_key, now)], _ms(now))
    if record is None:
        raise UnknownConsentRequestError(request_id)
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise ConsentRequestNotPendingError(request_id, record.state)
    return record


def request_by_id(db: Database, request_id: str) -> ConsentRequestRecord | None:
    with db.session() as session:
        return session.scalars(
            select(ConsentRequestRecord).where(ConsentRequestRecord.request_id == request_id)
        ).first()


def requests_after(
    db: Database,
    *,
    bank_address: str | None = None,
    uscc: str | None = None,
    states: Sequence[RequestState] | None = None,
    other_party: str | None = None,
    after_id: int | None,
    limit: int,
) -> list[ConsentRequestRecord]:
    """Up to ``limit`` requests of a bank or of an enterprise (and the other party, states),
    oldest first, after the row id ``after_id``."""
    statement = select(ConsentRequestRecord).order_by(ConsentRequestRecord.id).limit(limit)
    if bank_address is not None:
        statement = statement.where(ConsentRequestRecord.bank_address == bank_address)
    if uscc is not None:
        statement = statement.where(ConsentRequestRecord.uscc == uscc)
    if other_party is not None:
        column = (
            ConsentRequestRecord.uscc
            if bank_address is not None
            else ConsentRequestRecord.bank_address
        )
        statement = statement.where(column == other_party)
    if states:
        statement = statement.where(ConsentRequestRecord.state.in_([s.value for s in states]))
    if after_id is not None:
        statement = statement.where(ConsentRequestRecord.id > after_id)
    with db.session() as session:
        return list(session.scalars(statement))
