"""The events no single log states: a consent that expired and a dispute its 20 days passed
without an answer, found as the followed head's time passes them, each once by its derived id."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select

from consentledger.gateway.chain_events import ChainEvents
from consentledger.gateway.db import Database
from consentledger.gateway.events import EventType
from consentledger.journal.schema import OutboxEvent
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import (
    DISPUTE_ANSWER_PERIOD,
    ConsentState,
    ConsentStatus,
    DisputeKind,
    DisputeOutcome,
    DisputeState,
)

BANK = "0x00000000000000000000000000000000000000B1"


def _consent(expires_at: int) -> ConsentState:
    return ConsentState(
        consent_id=secrets.token_bytes(32),
        subject=secrets.token_bytes(32),
        bank=BANK,
        categories=2,
        purpose=1,
        not_before=0,
        expires_at=expires_at,
        max_reads=10,
        history_months=12,
        receipt_hash=b"\0" * 32,
    )


def _dispute(filed_at: int) -> DisputeState:
    return DisputeState(
        dispute_id=secrets.token_bytes(32),
        subject=secrets.token_bytes(32),
        kind=DisputeKind.ITEM,
        target=secrets.token_bytes(32),
        categories=2,
        reason_hash=secrets.token_bytes(32),
        filed_at=filed_at,
    )


def test_expiries_and_missed_answers_are_published_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'outbox.db'}")
    model = LedgerModel()
    expiring, revoked = _consent(1_000), _consent(1_000)
    revoked.state = ConsentStatus.REVOKED
    unanswered, answered = _dispute(0), _dispute(0)
    answered.outcome = DisputeOutcome.UPHELD
    for consent in (expiring, revoked):
        model.consents[consent.consent_id] = consent
    for dispute in (unanswered, answered):
        model.disputes[dispute.dispute_id] = dispute
    for round_ in range(2):  # a second follower (or a restart) finds the same events again
        events = ChainEvents(db)
        for consent in (expiring, revoked):
            events.watch_expiry(consent)
        for dispute in (unanswered, answered):
            events.watch_answer(dispute)
        events.passed(model, 999)
        assert events.gathered == 0
        events.passed(model, DISPUTE_ANSWER_PERIOD)  # expired; the answer is still in time
        assert events.gathered == 1
        events.passed(model, DISPUTE_ANSWER_PERIOD + 1)
        assert events.gathered == 2
        assert events.write() == (2 if round_ == 0 else 0)
    with db.session() as session:
        rows = list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)))
    assert [(r.type, r.ordering_key) for r in rows] == [
        (EventType.CONSENT_EXPIRED, "0x" + expiring.consent_id.hex()),
        (EventType.DISPUTE_OVERDUE, "0x" + unanswered.dispute_id.hex()),
    ]
    db.close()
