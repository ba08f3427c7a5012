"""Domain events of a running gateway, and the in-process hook that hands them to subscribers.

A flow publishes an event once the change it reports is stored (a consent request saved, a
consent granted on the chain, a request declined or found expired). Subscribers (notifications,
metrics, tests) are plain callables registered on the gateway's :class:`EventHub`; they run
synchronously in the publishing thread, must be quick, and cannot fail the flow: an exception
in a subscriber is logged and the other subscribers still run. Nothing here is durable: a
subscriber that must not lose an event writes it to its own store (an outbox) when called.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    """What happened (``<thing>.<past tense>``)."""

    CONSENT_REQUESTED = "consent_request.requested"
    CONSENT_REQUEST_APPROVED = "consent_request.approved"  # and the consent granted on chain
    CONSENT_REQUEST_DECLINED = "consent_request.declined"
    CONSENT_REQUEST_EXPIRED = "consent_request.expired"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One event: its kind, the parties it concerns, and what subscribers need to act on it.

    ``uscc`` and ``bank`` name the enterprise and the bank (so a subscriber can route it to
    either side); ``data`` holds the event's own facts as JSON values (ids, states, hashes)."""

    kind: EventKind
    uscc: str
    bank: str
    data: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


Subscriber = Callable[[DomainEvent], None]


class EventHub:
    """Subscribers of one gateway process, and :meth:`publish` to call them in order."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every event published from now on; returns the function
        that unsubscribes it."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: DomainEvent) -> None:
        """Hand ``event`` to every subscriber; a subscriber's failure is logged, not raised."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("an event subscriber failed on %s", event.kind)
