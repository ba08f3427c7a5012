"""The gateway's domain events, and :func:`publish`: an event written to the outbox, and one
delivery for every webhook subscription that wants it, in the caller's transaction.

A flow that changes state publishes its event in the same transaction as the change (so either
both are kept or neither); an event of the chain is published when the gateway's live model
applies it (:mod:`consentledger.gateway.chain_events`), with an id derived from its transaction
hash and log index. An id published once is never published again: a restart that replays the
chain, or a second worker following it, adds nothing. The dispatcher
(:mod:`consentledger.gateway.webhook_dispatcher`) sends what the outbox holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentledger.journal.schema import OutboxEvent, WebhookDelivery, WebhookSubscription

#: Ids looked up per query (well under every database's limit of bound parameters).
_CHUNK = 500


class EventType(StrEnum):
    """What a subscription can ask for."""

    CONSENT_REQUESTED = "consent.requested"
    CONSENT_REQUEST_DECLINED = "consent.request_declined"
    CONSENT_REQUEST_EXPIRED = "consent.request_expired"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_PAUSED = "consent.paused"
    CONSENT_RESUMED = "consent.resumed"
    CONSENT_REVOKED = "consent.revoked"
    CONSENT_EXPIRED = "consent.expired"
    READ_GRANTED = "read.granted"
    READ_DENIED = "read.denied"
    DISPUTE_FILED = "dispute.filed"
    DISPUTE_ANSWERED = "dispute.answered"
    DISPUTE_OVERDUE = "dispute.overdue"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened to an enterprise's consents, reads or disputes."""

    #: Unique; the ``webhook-id`` of every delivery of it.
    id: str
    type: EventType
    #: When it happened (a chain event: its block's time), Unix seconds.
    occurred_at: int
    #: Deliveries of events with the same key (a consent id, a dispute id) keep their order.
    ordering_key: str
    #: The enterprise's subject id and the bank it concerns (None: nobody of that kind).
    subject: bytes | None = None
    bank: str | None = None
    #: The event's fields (JSON values), the ``data`` of its body.
    data: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> str:
        """The body every delivery sends: ``{"type", "timestamp", "data"}`` (Standard Webhooks'
        payload structure), compact JSON with sorted keys."""
        timestamp = datetime.fromtimestamp(self.occurred_at, UTC).isoformat().replace("+00:00", "Z")
        payload = {"type": str(self.type), "timestamp": timestamp, "data": dict(self.data)}
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_event_id(tx_hash: bytes, log_index: int) -> str:
    """The id of the event a chain log reports: the same on every worker and after every
    replay."""
    return "evt_" + hashlib.sha256(tx_hash + log_index.to_bytes(8, "big")).hexdigest()[:40]


def derived_event_id(*parts: str | bytes) -> str:
    """The id of an event that no single log states (a consent's expiry, a dispute gone
    overdue): derived from what it is about, so it too is published once."""
    digest = hashlib.sha256()
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        digest.update(len(raw).to_bytes(4, "big") + raw)
    return "evt_" + digest.hexdigest()[:40]


def subject_hex(subject: bytes) -> str:
    return "0x" + subject.hex()


def _wanted_by(
    subscriptions: Iterable[WebhookSubscription], event: DomainEvent
) -> list[WebhookSubscription]:
    subject = subject_hex(event.subject) if event.subject is not None else None
    chosen = []
    for sub in subscriptions:
        if str(event.type) not in sub.event_types.split():
            continue
        if (sub.owner_kind == "enterprise" and sub.owner == subject) or (
            sub.owner_kind == "bank" and sub.owner == event.bank
        ):
            chosen.append(sub)
    return chosen


def publish(session: Session, events: Sequence[DomainEvent], now_ms: int) -> int:
    """Write the events not in the outbox yet, each with a delivery due at ``now_ms`` for every
    active subscription that wants it; in ``session``'s transaction (the caller commits).
    Returns how many were new."""
    if not events:
        return 0
    ids = [e.id for e in events]
    known: set[str] = set()
    for at in range(0, len(ids), _CHUNK):
        chunk = ids[at : at + _CHUNK]
        known.update(
            session.scalars(select(OutboxEvent.event_id).where(OutboxEvent.event_id.in_(chunk)))
        )
    fresh = [e for e in events if e.id not in known]
    if not fresh:
        return 0
    subscriptions = list(
        session.scalars(select(WebhookSubscription).where(WebhookSubscription.active))
    )
    written = 0
    for event in fresh:
        if event.id in known:  # the same id twice in one call
            continue
        known.add(event.id)
        row = OutboxEvent(
            event_id=event.id,
            type=str(event.type),
            subject=subject_hex(event.subject) if event.subject is not None else None,
            bank=event.bank,
            ordering_key=event.ordering_key,
            body=event.body(),
            occurred_at=datetime.fromtimestamp(event.occurred_at, UTC),
        )
        session.add(row)
        session.flush()  # its seq
        for sub in _wanted_by(subscriptions, event):
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    event_seq=row.seq,
                    event_id=event.id,
                    ordering_key=event.ordering_key,
                    next_attempt_at=now_ms,
                )
            )
        written += 1
    return written
