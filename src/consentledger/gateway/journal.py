"""The read journal: every bank read, written before it goes to the chain, resolved from it.

It is the relayer's :class:`~consentledger.chain.relayer.BatchJournal` and the gateway's memory of
idempotent requests. On start, :func:`reconcile` settles what a crash left open: a signed batch
is looked up on the chain (and broadcast again if the node lost it), so every entry ends granted,
denied or failed and no data is ever released without its on-chain record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from consentledger.audit.model import DenialReason
from consentledger.chain.client import LedgerClient, SignedCall
from consentledger.chain.relayer import ReadOutcome, outcomes_of
from consentledger.gateway.db import Batch, Database, JournalEntry, ReadStatus, utcnow

log = logging.getLogger(__name__)


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def query_hex(query_id: int) -> str:
    return f"0x{query_id:064x}"


def outcome_values(outcome: ReadOutcome, resolved_at: datetime) -> dict[str, Any]:
    """The journal columns that record the chain's decision on a read."""
    return {
        "status": ReadStatus.GRANTED if outcome.granted else ReadStatus.DENIED,
        "query_id": query_hex(outcome.query_id),
        "reason": None if outcome.granted else outcome.reason.name,
        "tx_hash": hex32(outcome.tx_hash),
        "block_number": outcome.block_number,
        "log_index": outcome.log_index,
        "resolved_at": resolved_at,
    }


def _copy(entry: JournalEntry) -> JournalEntry:
    """A new, unsaved entry with ``entry``'s request columns (after a rolled-back insert)."""
    columns = JournalEntry.__table__.columns.keys()
    values = {c: getattr(entry, c) for c in columns if c != "id"}
    return JournalEntry(**{c: v for c, v in values.items() if v is not None})


def apply_outcome(entry: JournalEntry, outcome: ReadOutcome, resolved_at: datetime) -> None:
    """Bring an in-memory entry to what :meth:`Journal.outcomes` stored for it."""
    for column, value in outcome_values(outcome, resolved_at).items():
        setattr(entry, column, value)


class Journal:
    """Journal operations over the gateway database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -------------------------------------------------------------- requests

    def find(self, bank_address: str, idempotency_key: str) -> JournalEntry | None:
        with self.db.session() as session:
            return session.scalars(
                select(JournalEntry).where(
                    JournalEntry.bank_address == bank_address,
                    JournalEntry.idempotency_key == idempotency_key,
                )
            ).first()

    def get(self, entry_id: int) -> JournalEntry | None:
        with self.db.session() as session:
            return session.get(JournalEntry, entry_id)

    def by_query_id(self, query_id: int) -> JournalEntry | None:
        with self.db.session() as session:
            return session.scalars(
                select(JournalEntry).where(JournalEntry.query_id == query_hex(query_id))
            ).first()

    def add(self, entry: JournalEntry) -> JournalEntry:
        """Store a new pending read (committed before it is queued for the chain)."""
        with self.db.session() as session, session.begin():
            session.add(entry)
        return entry

    def add_all(self, entries: Sequence[JournalEntry]) -> list[JournalEntry | None]:
        """Store new pending reads in one transaction. An entry whose bank already used its
        Idempotency-Key is not stored (None in its place); the others still are."""
        try:
            with self.db.session() as session, session.begin():
                session.add_all(entries)
            return list(entries)
        except IntegrityError:
            pass  # a reused (bank, Idempotency-Key) among them: one at a time, so only it fails
        stored: list[JournalEntry | None] = []
        for entry in entries:
            fresh = _copy(entry)
            try:
                stored.append(self.add(fresh))
            except IntegrityError:
                stored.append(None)
        return stored

    # ----------------------------------------------------- the relayer's side

    def batch_signed(self, signed: SignedCall, assignments: Sequence[tuple[int, int]]) -> None:
        with self.db.session() as session, session.begin():
            batch = Batch(tx_hash=hex32(signed.tx_hash), raw_tx=signed.raw, nonce=signed.nonce)
            session.add(batch)
            session.flush()
            # One executemany (ORM bulk UPDATE by primary key), not a statement per entry.
            session.execute(
                update(JournalEntry),
                [
                    {
                        "id": journal_id,
                        "status": ReadStatus.BATCHED,
                        "query_id": query_hex(query_id),
                        "batch_id": batch.id,
                        "tx_hash": batch.tx_hash,
                    }
                    for journal_id, query_id in assignments
                ],
            )

    def outcomes(self, outcomes: Sequence[ReadOutcome]) -> None:
        if not outcomes:
            return
        now = utcnow()
        with self.db.session() as session, session.begin():
            session.execute(
                update(JournalEntry),
                [{"id": o.journal_id, **outcome_values(o, now)} for o in outcomes],
            )
            tx_hashes = {hex32(o.tx_hash) for o in outcomes}
            session.execute(
                update(Batch).where(Batch.tx_hash.in_(tx_hashes)).values(status="mined")
            )

    def failed(self, journal_ids: Sequence[int], why: str) -> None:
        with self.db.session() as session, session.begin():
            session.execute(
                update(JournalEntry)
                .where(JournalEntry.id.in_(list(journal_ids)))
                .values(status=ReadStatus.FAILED, reason=why[:32], resolved_at=utcnow())
            )

    def last_sequence(self) -> int:
        """The highest query id sequence this journal ever assigned (0 if none)."""
        with self.db.session() as session:
            highest = session.scalar(select(func.max(JournalEntry.query_id)))
        return 0 if highest is None else int(highest, 16) & (2**96 - 1)

    def open_count(self) -> int:
        with self.db.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(JournalEntry)
                    .where(JournalEntry.status.in_([ReadStatus.PENDING, ReadStatus.BATCHED]))
                )
                or 0
            )


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What reconciliation settled."""

    granted: int
    denied: int
    failed: int
    still_open: int


def reconcile(
    journal: Journal, client: LedgerClient, receipt_timeout: float = 30.0
) -> ReconcileReport:
    """Settle every entry a previous run left pending or batched (blocking; call at start)."""
    granted = denied = failed = still_open = 0
    with journal.db.session() as session:
        pending_ids = list(
            session.scalars(
                select(JournalEntry.id).where(
                    JournalEntry.status == ReadStatus.PENDING, JournalEntry.batch_id.is_(None)
                )
            )
        )
        batches = list(session.scalars(select(Batch).where(Batch.status == "sent")))
    if pending_ids:
        journal.failed(pending_ids, "not sent before restart")
        failed += len(pending_ids)
    for batch in batches:
        with journal.db.session() as session:
            entries = list(
                session.scalars(
                    select(JournalEntry).where(
                        JournalEntry.batch_id == batch.id,
                        JournalEntry.status == ReadStatus.BATCHED,
                    )
                )
            )
        by_query = {int(e.query_id, 16): e.id for e in entries if e.query_id is not None}
        tx_hash = bytes.fromhex(batch.tx_hash[2:])
        mined = client.receipt(tx_hash)
        if mined is None:
            signed = SignedCall(batch.raw_tx, tx_hash, batch.nonce)
            try:
                client.broadcast(signed)
                mined = client.wait(tx_hash, receipt_timeout)
            except Exception as exc:  # the node refused it or it did not land: decide below
                log.warning("batch %s not mined after rebroadcast: %s", batch.tx_hash, exc)
                mined = client.receipt(tx_hash)
        if mined is None:
            if client.w3.eth.get_transaction_count(client.account.address) > batch.nonce:
                # Another transaction took this nonce: the batch can never be mined.
                journal.failed(list(by_query.values()), "batch replaced")
                _mark_batch(journal, batch.id, "failed")
                failed += len(by_query)
            else:
                still_open += len(by_query)
            continue
        outcomes = outcomes_of(mined, by_query)
        journal.outcomes(outcomes)
        granted += sum(o.granted for o in outcomes)
        denied += sum(not o.granted for o in outcomes)
        missing = set(by_query.values()) - {o.journal_id for o in outcomes}
        if missing:
            journal.failed(sorted(missing), "not in the batch events")
            failed += len(missing)
        _mark_batch(journal, batch.id, "mined")
    return ReconcileReport(granted, denied, failed, still_open)


def _mark_batch(journal: Journal, batch_id: int, status: str) -> None:
    with journal.db.session() as session, session.begin():
        session.execute(update(Batch).where(Batch.id == batch_id).values(status=status))


def reason_of(entry: JournalEntry) -> DenialReason | None:
    """The chain's denial reason of a resolved entry (None if granted or not resolved)."""
    if entry.status != ReadStatus.DENIED or entry.reason is None:
        return None
    return DenialReason[entry.reason]
