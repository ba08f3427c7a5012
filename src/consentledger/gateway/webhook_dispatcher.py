"""Sends the outbox's deliveries to their receivers, signed the Standard Webhooks way.

Every ``poll_interval`` the dispatcher claims the deliveries that are due (a lease in the
database: a second worker, or this one after a restart, leaves a leased delivery alone until the
lease runs out), sends them, and records each attempt. A delivery waits while an earlier one of
the same subscription and ordering key (a consent, a dispute) is still pending, so a receiver gets
a consent's events in order. A 2xx answer delivers it; anything else (no answer, a timeout, a
redirect, which is never followed, another status) is retried after an exponential backoff with
jitter, and after ``max_attempts`` the delivery is dead: kept, with its attempts, for a redelivery
on request.

Headers (https://www.standardwebhooks.com): ``webhook-id`` (the event's id, the same on every
attempt: receivers deduplicate by it), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` with the subscription's
secret), made by the ``standardwebhooks`` package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased
from standardwebhooks.webhooks import Webhook

from consentledger.gateway.db import Database
from consentledger.gateway.errors import InvalidWebhookUrlError
from consentledger.gateway.settings import Settings
from consentledger.gateway.webhook_targets import check_resolved
from consentledger.journal.schema import (
    DeliveryStatus,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

log = logging.getLogger(__name__)

#: Deliveries claimed per round.
CLAIM_BATCH = 32
#: Bytes of a receiver's answer read at most (the rest is not read).
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "ConsentLedger-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds, with what it needs to send it."""

    delivery_id: int
    attempts: int
    url: str
    secret: str
    event_id: str
    body: str


@dataclass(frozen=True, slots=True)
class Attempted:
    """What one attempt came to."""

    claimed: Claimed
    at_ms: int
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(secret: str, event_id: str, body: str, now: float) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at Unix time ``now``."""
    moment = datetime.fromtimestamp(int(now), UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": Webhook(secret).sign(event_id, moment, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def backoff_ms(attempts: int, base_s: float, max_s: float, rng: random.Random) -> int:
    """The wait before the next attempt after ``attempts`` failed ones: ``base * 2^(n-1)``
    capped at ``max_s``, less a random part of up to half of it."""
    full = min(max_s, base_s * 2 ** (attempts - 1))
    return int(1000 * full * (1 - rng.random() / 2))


class WebhookDispatcher:
    """The delivery loop of one gateway worker."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.SystemRandom()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: A lease outlives the attempt it covers (then another worker may try again).
        self._lease_ms = int(1000 * (2 * settings.webhook_timeout_s + 30))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    def wake(self) -> None:
        """Look for due deliveries now (new events were published)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        transport = httpx.AsyncHTTPTransport(retries=0)
        async with httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the target is checked, not a proxy
            timeout=httpx.Timeout(self._settings.webhook_timeout_s),
        ) as client:
            failing = False
            while True:
                try:
                    sent = await self.round(client)
                except Exception as exc:  # the database away: try again at the next round
                    if not failing:
                        log.warning("the webhook dispatcher cannot run: %s", exc, exc_info=True)
                    failing, sent = True, 0
                else:
                    failing = False
                if sent == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), self._settings.webhook_poll_interval_s
                        )
                    self._wake.clear()

    async def round(self, client: httpx.AsyncClient) -> int:
        """Claim the due deliveries, send them, record the attempts. Returns how many were
        sent."""
        claimed = await asyncio.to_thread(self._claim, int(self._clock() * 1000))
        if not claimed:
            return 0
        attempted = await asyncio.gather(*(self._send(client, c) for c in claimed))
        await asyncio.to_thread(self._record, attempted)
        return len(attempted)

    # ------------------------------------------------------------------ claim

    def _claim(self, now_ms: int) -> list[Claimed]:
        earlier = aliased(WebhookDelivery)
        blocked = exists().where(
            and_(
                earlier.subscription_id == WebhookDelivery.subscription_id,
                earlier.ordering_key == WebhookDelivery.ordering_key,
                earlier.status == DeliveryStatus.PENDING,
                earlier.event_seq < WebhookDelivery.event_seq,
            )
        )
        query = (
            select(WebhookDelivery.id)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now_ms,
                (WebhookDelivery.leased_until.is_(None)) | (WebhookDelivery.leased_until < now_ms),
                WebhookSubscription.active,
                ~blocked,
            )
            .order_by(WebhookDelivery.event_seq)
            .limit(CLAIM_BATCH)
        )
        claimed: list[Claimed] = []
        with self._db.session.begin() as session:
            for delivery_id in list(session.scalars(query)):
                taken = session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id,
                        WebhookDelivery.status == DeliveryStatus.PENDING,
                        (WebhookDelivery.leased_until.is_(None))
                        | (WebhookDelivery.leased_until < now_ms),
                    )
                    .values(leased_until=now_ms + self._lease_ms)
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another worker took it first
                row = session.execute(
                    select(
                        WebhookDelivery.attempts,
                        WebhookSubscription.url,
                        WebhookSubscription.secret,
                        OutboxEvent.event_id,
                        OutboxEvent.body,
                    )
                    .join(
                        WebhookSubscription,
                        WebhookSubscription.id == WebhookDelivery.subscription_id,
                    )
                    .join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
                    .where(WebhookDelivery.id == delivery_id)
                ).one()
                claimed.append(Claimed(delivery_id, *row))
        return claimed

    # ------------------------------------------------------------------- send

    async def _send(self, client: httpx.AsyncClient, claimed: Claimed) -> Attempted:
        now = self._clock()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            await asyncio.to_thread(
                check_resolved,
                claimed.url,
                allow_loopback_http=self._settings.webhook_allow_loopback_http,
            )
            headers = signed_headers(claimed.secret, claimed.event_id, claimed.body, now)
            async with asyncio.timeout(self._settings.webhook_timeout_s):
                async with client.stream(
                    "POST", claimed.url, content=claimed.body.encode(), headers=headers
                ) as answer:
                    status = answer.status_code
                    read = 0
                    async for chunk in answer.aiter_raw():
                        read += len(chunk)
                        if read >= MAX_ANSWER_BYTES:
                            break
            if answer.is_redirect:
                error = "a redirect (never followed)"
            elif not 200 <= status < 300:
                error = f"answered {status}"
        except InvalidWebhookUrlError as exc:
            error = exc.detail
        except TimeoutError:
            error = f"no answer within {self._settings.webhook_timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        duration = int(1000 * (time.monotonic() - started))
        return Attempted(claimed, int(now * 1000), status, error, duration)

    # ----------------------------------------------------------------- record

    def _record(self, attempted: list[Attempted]) -> None:
        settings = self._settings
        with self._db.session.begin() as session:
            for a in attempted:
                attempts = a.claimed.attempts + 1
                session.add(
                    WebhookAttempt(
                        delivery_id=a.claimed.delivery_id,
                        attempted_at=datetime.fromtimestamp(a.at_ms / 1000, UTC),
                        status_code=a.status_code,
                        error=a.error[:300] if a.error else None,
                        duration_ms=a.duration_ms,
                    )
                )
                values: dict[str, object] = {
                    "attempts": attempts,
                    "leased_until": None,
                    "last_status_code": a.status_code,
                    "last_error": a.error[:300] if a.error else None,
                }
                if a.delivered:
                    values["status"] = DeliveryStatus.DELIVERED
                    values["delivered_at"] = datetime.fromtimestamp(a.at_ms / 1000, UTC)
                elif attempts >= settings.webhook_max_attempts:
                    values["status"] = DeliveryStatus.DEAD
                else:
                    values["next_attempt_at"] = a.at_ms + backoff_ms(
                        attempts,
                        settings.webhook_backoff_base_s,
                        settings.webhook_backoff_max_s,
                        self._rng,
                    )
                session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == a.claimed.delivery_id)
                    .values(**values)
                )
