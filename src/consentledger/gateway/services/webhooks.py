"""Webhook subscriptions, without HTTP: an enterprise's (signed in) or a bank's (API key), their
deliveries, and a dead delivery sent again on request.

An owner is the enterprise's subject id or the bank's address: a subscription is seen, changed and
deleted by its owner alone, and receives only the events about its owner (see
:mod:`consentledger.gateway.events`).
"""

from __future__ import annotations

import base64
import functools
import secrets
import time
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import (
    DeliveryNotDeadError,
    TooManySubscriptionsError,
    UnknownDeliveryError,
    UnknownSubscriptionError,
)
from consentledger.gateway.events import EventType
from consentledger.gateway.pagination import DEFAULT_LIMIT, scope_of
from consentledger.gateway.webhook_targets import check_resolved
from consentledger.journal.schema import (
    DeliveryStatus,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

#: Subscriptions an owner may hold at once.
MAX_SUBSCRIPTIONS = 20
OwnerKind = Literal["enterprise", "bank"]


class Owner(BaseModel):
    """Who a subscription belongs to."""

    kind: OwnerKind
    #: The enterprise's subject id (0x-hex) or the bank's checksummed address.
    id: str


class NewSubscription(BaseModel):
    """A webhook subscription to make."""

    url: str = Field(
        max_length=2048,
        description="https:// to a public address (http:// to loopback only where the gateway "
        "allows it, in development); redirects are never followed",
        examples=["https://hooks.example.com/consentledger"],
    )
    event_types: list[EventType] = Field(
        min_length=1, max_length=len(EventType), description="the events to deliver"
    )
    description: str = Field(default="", max_length=200)


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[EventType]
    description: str
    created_at: datetime


class CreatedSubscription(SubscriptionOut):
    secret: str = Field(
        description="the signing secret (`whsec_<base64>`), shown this once: verify each "
        "delivery's `webhook-signature` with it (Standard Webhooks)"
    )


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    event_id: str = Field(description="the `webhook-id` header of every attempt")
    event_type: EventType
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next")
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    subscription_id: str
    deliveries: list[DeliveryOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last one"
    )


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _out(sub: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        url=sub.url,
        event_types=[EventType(t) for t in sub.event_types.split()],
        description=sub.description,
        created_at=_aware(sub.created_at),
    )


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _aware(moment: datetime) -> datetime:
    """A stored time in UTC (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class WebhookService:
    """The webhook subscriptions of a running gateway."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def subscribe(self, owner: Owner, body: NewSubscription) -> CreatedSubscription:
        """Check the target (its form, and where its host resolves now), then keep the
        subscription with a new secret."""
        allow = self._context.settings.webhook_allow_loopback_http
        await self._context.in_thread(
            functools.partial(check_resolved, allow_loopback_http=allow), body.url
        )
        secret = new_secret()
        sub = WebhookSubscription(
            id="sub_" + secrets.token_hex(12),
            owner_kind=owner.kind,
            owner=owner.id,
            url=body.url,
            secret=secret,
            event_types=" ".join(sorted({str(t) for t in body.event_types})),
            description=body.description,
            created_at=datetime.now(UTC),
        )

        def keep() -> None:
            with self._context.db.session.begin() as session:
                held = session.scalar(
                    select(func.count())
                    .select_from(WebhookSubscription)
                    .where(
                        WebhookSubscription.owner_kind == owner.kind,
                        WebhookSubscription.owner == owner.id,
                        WebhookSubscription.active,
                    )
                )
                if (held or 0) >= MAX_SUBSCRIPTIONS:
                    raise TooManySubscriptionsError(MAX_SUBSCRIPTIONS)
                session.add(sub)

        await self._context.in_thread(keep)
        return CreatedSubscription(**_out(sub).model_dump(), secret=secret)

    async def subscriptions(self, owner: Owner) -> list[SubscriptionOut]:
        def read() -> list[SubscriptionOut]:
            with self._context.db.session() as session:
                found = session.scalars(
                    select(WebhookSubscription)
                    .where(
                        WebhookSubscription.owner_kind == owner.kind,
                        WebhookSubscription.owner == owner.id,
                        WebhookSubscription.active,
                    )
                    .order_by(WebhookSubscription.created_at)
                )
                return [_out(s) for s in found]

        return await self._context.in_thread(read)

    async def unsubscribe(self, owner: Owner, subscription_id: str) -> SubscriptionOut:
        """Stop a subscription: nothing more is sent to it (its delivery log stays)."""

        def stop() -> SubscriptionOut:
            with self._context.db.session.begin() as session:
                sub = _owned(session, owner, subscription_id)
                sub.active = False
                return _out(sub)

        return await self._context.in_thread(stop)

    async def deliveries(
        self,
        owner: Owner,
        subscription_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> DeliveryPage:
        """The subscription's deliveries, oldest first, with every attempt; one page."""
        scope = scope_of(
            "webhook-deliveries", f"{owner.kind}:{owner.id}:{subscription_id}", status=status
        )
        after = self._context.cursors.decode(cursor, scope)

        def read() -> DeliveryPage:
            with self._context.db.session() as session:
                _owned(session, owner, subscription_id)
                query = (
                    select(WebhookDelivery, OutboxEvent.type)
                    .join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
                    .where(WebhookDelivery.subscription_id == subscription_id)
                    .order_by(WebhookDelivery.id)
                    .limit(limit + 1)
                )
                if status is not None:
                    query = query.where(WebhookDelivery.status == status)
                if after is not None:
                    query = query.where(WebhookDelivery.id > int(after[0]))
                rows = [(d, kind) for d, kind in session.execute(query)]
                page = self._context.cursors.finish(
                    rows, lambda row: (row[0].id,), scope=scope, limit=limit
                )
                return DeliveryPage(
                    subscription_id=subscription_id,
                    deliveries=_described(session, page.items),
                    next_cursor=page.next_cursor,
                )

        return await self._context.in_thread(read)

    async def redeliver(self, owner: Owner, subscription_id: str, delivery_id: int) -> DeliveryOut:
        """Send a dead delivery again: pending, due now, with a fresh count of attempts."""

        def revive() -> None:
            with self._context.db.session.begin() as session:
                _owned(session, owner, subscription_id)
                delivery = session.get(WebhookDelivery, delivery_id)
                if delivery is None or delivery.subscription_id != subscription_id:
                    raise UnknownDeliveryError(delivery_id)
                if delivery.status != DeliveryStatus.DEAD:
                    raise DeliveryNotDeadError(delivery_id, delivery.status)
                session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id)
                    .values(
                        status=DeliveryStatus.PENDING,
                        attempts=0,
                        next_attempt_at=int(time.time() * 1000),
                        leased_until=None,
                    )
                )

        await self._context.in_thread(revive)
        if self._context.dispatcher is not None:
            self._context.dispatcher.wake()

        def read() -> DeliveryOut:
            with self._context.db.session() as session:
                row = session.execute(
                    select(WebhookDelivery, OutboxEvent.type)
                    .join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
                    .where(WebhookDelivery.id == delivery_id)
                ).one()
                return _described(session, [(row[0], row[1])])[0]

        return await self._context.in_thread(read)


def _described(session: Session, rows: list[tuple[WebhookDelivery, str]]) -> list[DeliveryOut]:
    """The deliveries as answered, each with its attempts in order."""
    ids = [d.id for d, _ in rows]
    attempts: dict[int, list[AttemptOut]] = {i: [] for i in ids}
    if ids:
        for a in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        ):
            attempts[a.delivery_id].append(
                AttemptOut(
                    attempted_at=_aware(a.attempted_at),
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
            )
    return [
        DeliveryOut(
            id=d.id,
            event_id=d.event_id,
            event_type=EventType(kind),
            status=DeliveryStatus(d.status),
            attempts=d.attempts,
            next_attempt_at=_when(d.next_attempt_at)
            if d.status == DeliveryStatus.PENDING
            else None,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            delivered_at=_aware(d.delivered_at) if d.delivered_at else None,
            created_at=_aware(d.created_at),
            attempt_log=attempts[d.id],
        )
        for d, kind in rows
    ]


def _owned(session: Session, owner: Owner, subscription_id: str) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id[:40])
    if sub is None or not sub.active or (sub.owner_kind, sub.owner) != (owner.kind, owner.id):
        raise UnknownSubscriptionError(subscription_id)
    return sub
