"""The domain events the chain states, as the gateway's live model applies it.

:class:`ChainEvents` is the live follower's ``on_applied`` hook: each applied consent, read and
dispute event becomes a :class:`~consentledger.gateway.events.DomainEvent` whose id is derived
from its transaction hash and log index. The events no single log states, a consent that expired
and a dispute that was not answered in time, are found as the followed head's time passes them
(:meth:`ChainEvents.passed`). :meth:`ChainEvents.write` publishes what was gathered, in one
transaction; what it could not write stays gathered for the next try, and a restart finds
everything again by replaying the chain (the outbox keeps each id once).
"""

from __future__ import annotations

import heapq
import threading
import time
from typing import Any

from sqlalchemy.exc import IntegrityError

from consentledger.chain.follower import Applied, LedgerState
from consentledger.chain.log_reader import LedgerEvent
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.db import Database
from consentledger.gateway.events import (
    DomainEvent,
    EventType,
    chain_event_id,
    derived_event_id,
    publish,
    subject_hex,
)
from consentledger.gateway.receipts import category_refs, purpose_name
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import ConsentState, ConsentStatus, DisputeState


class OutboxContendedError(ConsentLedgerError, RuntimeError):
    """Other workers kept writing the same events at the same moment (tried again later)."""

    code = "outbox_contended"

    def __init__(self) -> None:
        super().__init__("the outbox refused the same events three times in a row")


_CONSENT_EVENTS = {
    "ConsentGranted": EventType.CONSENT_GRANTED,
    "ConsentPaused": EventType.CONSENT_PAUSED,
    "ConsentResumed": EventType.CONSENT_RESUMED,
    "ConsentRevoked": EventType.CONSENT_REVOKED,
}


def _consent_data(consent: ConsentState) -> dict[str, Any]:
    return {
        "consent_id": "0x" + consent.consent_id.hex(),
        "subject": subject_hex(consent.subject),
        "bank": consent.bank,
        "categories": category_refs(consent.categories),
        "purpose": {"code": consent.purpose, "name": purpose_name(consent.purpose)},
        "not_before": consent.not_before,
        "expires_at": consent.expires_at,
        "max_reads": consent.max_reads,
        "reads_used": consent.reads_used,
    }


def dispute_data(dispute: DisputeState) -> dict[str, Any]:
    return {
        "dispute_id": "0x" + dispute.dispute_id.hex(),
        "subject": subject_hex(dispute.subject),
        "kind": dispute.kind.name.lower(),
        "target": "0x" + dispute.target.hex(),
        "categories": category_refs(dispute.categories),
        "filed_at": dispute.filed_at,
        "answer_due": dispute.answer_due,
        "outcome": dispute.outcome.name.lower() if dispute.outcome is not None else None,
        "answered_at": dispute.answered_at,
    }


class ChainEvents:
    """Gathers the domain events of the chain's applied logs; writes them to the outbox."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._gathered: list[DomainEvent] = []
        #: (time, kind, id): a consent's expiry, a dispute's answer deadline, to watch for.
        self._deadlines: list[tuple[int, str, bytes]] = []

    # ------------------------------------------------------------------ gather

    def on_applied(self, state: LedgerState, event: LedgerEvent, applied: Applied) -> None:
        """The follower's hook (called under its lock, the model just moved)."""
        found = self._of(state.model, event, applied)
        if found is not None:
            with self._lock:
                self._gathered.append(found)

    def _of(self, model: LedgerModel, event: LedgerEvent, applied: Applied) -> DomainEvent | None:
        log_ = event.log
        name, args = log_.event, log_.args
        event_id = chain_event_id(log_.transaction_hash, log_.log_index)
        where = {"block_number": log_.block_number, "tx_hash": "0x" + log_.transaction_hash.hex()}
        if applied.error is not None:
            return None  # the rules refuse it: the auditor reports it, nobody is notified
        if name in _CONSENT_EVENTS:
            consent = model.consents.get(bytes(args["consentId"]))
            if consent is None:
                return None
            if name == "ConsentGranted":
                self.watch_expiry(consent)
            return DomainEvent(
                id=event_id,
                type=_CONSENT_EVENTS[name],
                occurred_at=event.timestamp,
                ordering_key="0x" + consent.consent_id.hex(),
                subject=consent.subject,
                bank=consent.bank,
                data={**_consent_data(consent), **where},
            )
        if applied.read is not None:
            read = applied.read
            entry = read.entry
            consent = model.consents.get(entry.consent_id)
            reason = read.reason
            return DomainEvent(
                id=event_id,
                type=EventType.READ_GRANTED if read.granted else EventType.READ_DENIED,
                occurred_at=event.timestamp,
                ordering_key="0x" + entry.consent_id.hex(),
                subject=consent.subject if consent is not None else None,
                bank=entry.bank,
                data={
                    "consent_id": "0x" + entry.consent_id.hex(),
                    "query_id": f"0x{entry.query_id:064x}",
                    "bank": entry.bank,
                    "categories": category_refs(entry.categories),
                    "purpose": {"code": entry.purpose, "name": purpose_name(entry.purpose)},
                    "reason": None if read.granted or reason is None else reason.name,
                    **where,
                },
            )
        if name in ("DisputeFiled", "DisputeAnswered"):
            dispute = model.disputes.get(bytes(args["disputeId"]))
            if dispute is None:
                return None
            if name == "DisputeFiled":
                self.watch_answer(dispute)
            return DomainEvent(
                id=event_id,
                type=EventType.DISPUTE_FILED
                if name == "DisputeFiled"
                else EventType.DISPUTE_ANSWERED,
                occurred_at=event.timestamp,
                ordering_key="0x" + dispute.dispute_id.hex(),
                subject=dispute.subject,
                data={**dispute_data(dispute), **where},
            )
        return None

    def watch_expiry(self, consent: ConsentState) -> None:
        """Report the consent's expiry once the head's time reaches it (unless revoked)."""
        with self._lock:
            heapq.heappush(self._deadlines, (consent.expires_at, "consent", consent.consent_id))

    def watch_answer(self, dispute: DisputeState) -> None:
        """Report the dispute as overdue once the head's time is past its answer's due time
        (unless answered by then)."""
        with self._lock:
            heapq.heappush(self._deadlines, (dispute.answer_due + 1, "dispute", dispute.dispute_id))

    def passed(self, model: LedgerModel, now: int) -> None:
        """Gather the expiries and the missed answer deadlines at or before ``now`` (the followed
        head's time; called under the follower's lock)."""
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                at, kind, key = heapq.heappop(self._deadlines)
                found = self._deadline_event(model, at, kind, key)
                if found is not None:
                    self._gathered.append(found)

    @staticmethod
    def _deadline_event(model: LedgerModel, at: int, kind: str, key: bytes) -> DomainEvent | None:
        if kind == "consent":
            consent = model.consents.get(key)
            if consent is None or consent.state is ConsentStatus.REVOKED:
                return None
            return DomainEvent(
                id=derived_event_id("consent.expired", key),
                type=EventType.CONSENT_EXPIRED,
                occurred_at=at,
                ordering_key="0x" + key.hex(),
                subject=consent.subject,
                bank=consent.bank,
                data=_consent_data(consent),
            )
        dispute = model.disputes.get(key)
        if dispute is None or dispute.outcome is not None:
            return None
        return DomainEvent(
            id=derived_event_id("dispute.overdue", key),
            type=EventType.DISPUTE_OVERDUE,
            occurred_at=at,
            ordering_key="0x" + key.hex(),
            subject=dispute.subject,
            data=dispute_data(dispute),
        )

    # ------------------------------------------------------------------- write

    @property
    def gathered(self) -> int:
        with self._lock:
            return len(self._gathered)

    def write(self) -> int:
        """Publish what was gathered, in one transaction (blocking). Returns how many events
        were new. A failure keeps them gathered for the next call."""
        with self._lock:
            batch, self._gathered = self._gathered, []
        if not batch:
            return 0
        try:
            for _ in range(3):  # a second worker may publish the same ids at the same moment
                try:
                    with self._db.session.begin() as session:
                        return publish(session, batch, int(time.time() * 1000))
                except IntegrityError:
                    continue
            raise OutboxContendedError()
        except Exception:
            with self._lock:
                self._gathered = batch + self._gathered
            raise
