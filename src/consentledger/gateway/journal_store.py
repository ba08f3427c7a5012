"""The read journal: every bank read, written before it goes to the chain, resolved from it.

It is the relayer's :class:`~consentledger.chain.relayer.BatchJournal` and the gateway's memory of
idempotent requests. On start, :func:`reconcile` settles what a crash left open: a signed batch
(its first transaction and every replacement the relayer signed when it was stuck) is looked up on
the chain (and broadcast again if the node lost it), so every entry ends granted, denied or failed
and no data is ever released without its on-chain record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consentledger.chain.client import (
    LedgerClient,
    Mined,
    SignedCall,
    TransactionFailedError,
    TransactionTimeoutError,
)
from consentledger.chain.relayer import ReadOutcome, outcomes_of
from consentledger.gateway.db import Database
from consentledger.journal.schema import Batch, BatchReplacement, JournalEntry, ReadStatus, utcnow
from consentledger.ledger.types import DenialReason

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


def _entry_id_of_bank(column: Any, name: str) -> Select[int]:
    """The id of a bank's entry whose unique ``column`` equals the parameter ``name``."""
    return (
        select(JournalEntry.id)
        .where(JournalEntry.bank_address == bindparam("bank"), column == bindparam(name))
        .limit(1)
    )


_BY_IDEMPOTENCY_KEY = _entry_id_of_bank(JournalEntry.idempotency_key, "key")
_BY_REQUEST_ID = _entry_id_of_bank(JournalEntry.request_id, "request_id")


class Journal:
    """Journal operations over the gateway database."""

    def __init__(self, db: Database, relayer: str | None = None) -> None:
        self.db = db
        #: This worker's relayer address: written on its entries and batches, and what
        #: :func:`reconcile` and :meth:`last_sequence` look at. None: every row (one relayer).
        self.relayer = relayer

    def owned(self, column: Any, *, legacy: bool = False) -> Any:
        """The condition "``column`` names this worker's relayer"; with ``legacy``, rows from
        before the relayer column (NULL: left by the single-relayer gateway that ran before the
        column, see the revision ``j0002`` in ``gateway/migrations``) count as its own too."""
        if self.relayer is None:
            return true()
        if legacy:
            return or_(column == self.relayer, column.is_(None))
        return column == self.relayer

    # -------------------------------------------------------------- requests

    def find(self, bank_address: str, idempotency_key: str) -> JournalEntry | None:
        """The entry of a bank's Idempotency-Key. Nearly every read is new, so the key is looked
        up with a Core query (a fifth of the CPU of an ORM query) and loaded only if found."""
        return self._found(_BY_IDEMPOTENCY_KEY, {"bank": bank_address, "key": idempotency_key})

    def _found(self, statement: Select[int], params: dict[str, str]) -> JournalEntry | None:
        """The entry whose id ``statement`` selects, loaded only if there is one."""
        with self.db.engine.connect() as connection:
            entry_id = connection.execute(statement, params).scalar()
        return None if entry_id is None else self.get(entry_id)

    def get(self, entry_id: int) -> JournalEntry | None:
        with self.db.session() as session:
            return session.get(JournalEntry, entry_id)

    def by_request_id(self, bank_address: str, request_id: int) -> JournalEntry | None:
        """The entry of a bank's signed request id, if it was journaled (looked up as
        :meth:`find` looks up a key: every new read asks, and nearly none is found)."""
        return self._found(_BY_REQUEST_ID, {"bank": bank_address, "request_id": str(request_id)})

    def by_query_id(self, query_id: int) -> JournalEntry | None:
        with self.db.session() as session:
            return session.scalars(
                select(JournalEntry).where(JournalEntry.query_id == query_hex(query_id))
            ).first()

    def add(self, entry: JournalEntry) -> JournalEntry:
        """Store a new pending read (committed before it is queued for the chain)."""
        if entry.relayer is None:
            entry.relayer = self.relayer
        with self.db.session() as session, session.begin():
            session.add(entry)
        return entry

    def add_all(self, entries: Sequence[JournalEntry]) -> list[JournalEntry | None]:
        """Store new pending reads in one transaction. An entry whose bank already used its
        Idempotency-Key is not stored (None in its place); the others still are."""
        for entry in entries:
            if entry.relayer is None:
                entry.relayer = self.relayer
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
            batch = Batch(
                tx_hash=hex32(signed.tx_hash),
                raw_tx=signed.raw,
                nonce=signed.nonce,
                relayer=self.relayer,
            )
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

    def batch_replaced(self, original_tx_hash: bytes, replacement: SignedCall) -> None:
        """Store a replacement of a stuck batch (same nonce, higher fees) before it is broadcast;
        the batch's entries now name it, the likeliest to be mined."""
        with self.db.session() as session, session.begin():
            batch = session.scalars(
                select(Batch).where(Batch.tx_hash == hex32(original_tx_hash))
            ).one()
            session.add(
                BatchReplacement(
                    batch_id=batch.id, tx_hash=hex32(replacement.tx_hash), raw_tx=replacement.raw
                )
            )
            session.execute(
                update(JournalEntry)
                .where(JournalEntry.batch_id == batch.id, JournalEntry.status == ReadStatus.BATCHED)
                .values(tx_hash=hex32(replacement.tx_hash))
            )

    def candidates(self, batch: Batch) -> list[SignedCall]:
        """The batch's first transaction and its replacements, oldest first."""
        with self.db.session() as session:
            replacements = list(
                session.scalars(
                    select(BatchReplacement)
                    .where(BatchReplacement.batch_id == batch.id)
                    .order_by(BatchReplacement.id)
                )
            )
        first = SignedCall(batch.raw_tx, bytes.fromhex(batch.tx_hash[2:]), batch.nonce)
        return [first] + [
            SignedCall(r.raw_tx, bytes.fromhex(r.tx_hash[2:]), batch.nonce) for r in replacements
        ]

    def outcomes(self, outcomes: Sequence[ReadOutcome]) -> None:
        if not outcomes:
            return
        now = utcnow()
        with self.db.session() as session, session.begin():
            session.execute(
                update(JournalEntry),
                [{"id": o.journal_id, **outcome_values(o, now)} for o in outcomes],
            )
            self._mark_batches(session, [o.journal_id for o in outcomes], "mined")

    def failed(self, journal_ids: Sequence[int], why: str) -> None:
        """Entries never recorded on the chain; their batch (if any) failed as a whole."""
        with self.db.session() as session, session.begin():
            session.execute(
                update(JournalEntry)
                .where(JournalEntry.id.in_(list(journal_ids)))
                .values(status=ReadStatus.FAILED, reason=why[:32], resolved_at=utcnow())
            )
            self._mark_batches(session, journal_ids, "failed")

    @staticmethod
    def _mark_batches(session: Session, journal_ids: Sequence[int], status: str) -> None:
        """Mark the batches of these entries (the batch, not a transaction hash: the one mined
        may be a replacement)."""
        if not journal_ids:
            return
        batch_ids = select(JournalEntry.batch_id).where(
            JournalEntry.id.in_(list(journal_ids)), JournalEntry.batch_id.is_not(None)
        )
        session.execute(
            update(Batch)
            .where(Batch.id.in_(batch_ids.scalar_subquery()), Batch.status == "sent")
            .values(status=status)
        )

    def last_sequence(self) -> int:
        """The highest query id sequence this worker's relayer was ever assigned in this journal
        (0 if none): its query ids are the range ``relayer << 96 ..``, whatever the relayer
        column says (query ids are fixed-width hex, so text order is number order)."""
        query = select(func.max(JournalEntry.query_id))
        if self.relayer is not None:
            first = int(self.relayer, 16) << 96
            query = query.where(
                JournalEntry.query_id.between(query_hex(first), query_hex(first | (2**96 - 1)))
            )
        with self.db.session() as session:
            highest = session.scalar(query)
        return 0 if highest is None else int(highest, 16) & (2**96 - 1)

    def counts_by_status(self) -> dict[str, int]:
        """How many journal entries are in each status (every relayer's)."""
        with self.db.session() as session:
            rows = session.execute(
                select(JournalEntry.status, func.count()).group_by(JournalEntry.status)
            )
            return {str(getattr(status, "value", status)): int(count) for status, count in rows}

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
class OpenBatch:
    """A batch reconciliation could not settle: none of its transactions mined, nonce free."""

    candidates: tuple[SignedCall, ...]
    #: query id -> journal id of its open entries
    journal_ids: dict[int, int]


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What reconciliation settled, and the batches it left open (for the relayer to watch)."""

    granted: int
    denied: int
    failed: int
    still_open: int
    open_batches: tuple[OpenBatch, ...] = ()


def reconcile(
    journal: Journal, client: LedgerClient, receipt_timeout: float = 30.0
) -> ReconcileReport:
    """Settle every entry a previous run of this worker's relayer left pending or batched
    (blocking; call at start). Other relayers' entries and batches belong to workers that may be
    running: they are not touched."""
    granted = denied = failed = still_open = 0
    open_batches: list[OpenBatch] = []
    with journal.db.session() as session:
        pending_ids = list(
            session.scalars(
                select(JournalEntry.id).where(
                    JournalEntry.status == ReadStatus.PENDING,
                    JournalEntry.batch_id.is_(None),
                    journal.owned(JournalEntry.relayer, legacy=True),
                )
            )
        )
        batches = list(
            session.scalars(
                select(Batch).where(Batch.status == "sent", journal.owned(Batch.relayer))
            )
        )
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
        candidates = journal.candidates(batch)
        try:
            mined = _settle_batch(client, candidates, receipt_timeout)
        except TransactionFailedError as exc:
            journal.failed(list(by_query.values()), "batch transaction failed")
            _mark_batch(journal, batch.id, "failed")
            log.warning("batch %s failed on the chain: %s", batch.tx_hash, exc)
            failed += len(by_query)
            continue
        if mined is None:
            still_open += len(by_query)
            open_batches.append(OpenBatch(tuple(candidates), by_query))
            continue
        if isinstance(mined, _NonceTaken):
            journal.failed(list(by_query.values()), "batch replaced")
            _mark_batch(journal, batch.id, "failed")
            failed += len(by_query)
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
    return ReconcileReport(granted, denied, failed, still_open, tuple(open_batches))


class _NonceTaken:
    """Another transaction took the batch's nonce: none of its candidates can be mined."""


def _settle_batch(
    client: LedgerClient, candidates: list[SignedCall], receipt_timeout: float
) -> Mined | _NonceTaken | None:
    """Which candidate of a batch was mined: look, else broadcast them all again (newest first:
    a node keeps the best-paying one) and wait. None when none was mined and the nonce is still
    free (the batch stays open)."""
    hashes = [c.tx_hash for c in candidates]
    mined = client.first_mined(hashes)
    if mined is not None:
        return mined
    for signed in reversed(candidates):
        try:
            client.broadcast(signed)
        except Exception as exc:  # the node refused it (underpriced, nonce used): decide below
            log.warning("batch candidate 0x%s not taken: %s", signed.tx_hash.hex(), exc)
    try:
        return client.wait_any(hashes, receipt_timeout)
    except TransactionTimeoutError as exc:
        log.warning("batch not mined after rebroadcast: %s", exc)
    # Read the nonce first, then the receipts again: a candidate mined between the two reads is
    # then still found, never mistaken for a taken nonce.
    taken = client.confirmed_nonce() > candidates[0].nonce
    mined = client.first_mined(hashes)
    if mined is not None:
        return mined
    return _NonceTaken() if taken else None


def _mark_batch(journal: Journal, batch_id: int, status: str) -> None:
    with journal.db.session() as session, session.begin():
        session.execute(update(Batch).where(Batch.id == batch_id).values(status=status))


def reason_of(entry: JournalEntry) -> DenialReason | None:
    """The chain's denial reason of a resolved entry (None if granted or not resolved)."""
    if entry.status != ReadStatus.DENIED or entry.reason is None:
        return None
    return DenialReason[entry.reason]
