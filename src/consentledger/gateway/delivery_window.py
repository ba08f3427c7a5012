"""The delivery window: the journal keeps a released document only so long.

A bank may ask for a read's outcome again (``GET /v1/queries/{id}``, a repeated Idempotency-Key)
and get the same document while the window lasts (``CONSENTLEDGER_DELIVERY_WINDOW_S``, from the
read's journaling). Past it the document is deleted: the entry keeps its salt and response hash,
so the read's receipt still stands and the bank's own copy can still be checked against the
chain, but the bureau no longer holds a second copy of what it released. A deleted document is
stored as empty bytes (no released document is empty: the smallest is ``{}``).

Deletion happens twice over: :class:`DocumentSweeper` deletes expired documents periodically,
and a read asked for after its window answers without its document even before the sweep came.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, update

from consentledger.gateway.db import Database
from consentledger.gateway.periodic import Periodic
from consentledger.journal.schema import JournalEntry, ReadStatus

log = logging.getLogger(__name__)

#: Entries whose outcome is settled: a pending or batched read keeps its document until the chain
#: decides (it is released then).
_SETTLED = (ReadStatus.GRANTED, ReadStatus.DENIED, ReadStatus.FAILED)
#: The longest pause between two sweeps (shorter windows: half the window).
_MAX_INTERVAL_S = 300.0


def document_gone(entry: JournalEntry) -> bool:
    """Whether the entry's document was deleted."""
    return not entry.document


def window_passed(entry: JournalEntry, window_s: float, now: datetime) -> bool:
    """Whether the entry's document is past the window (deleted or not yet)."""
    created = entry.created_at
    if created.tzinfo is None:  # SQLite keeps no offset: the column is always UTC
        created = created.replace(tzinfo=UTC)
    return document_gone(entry) or now - created > timedelta(seconds=window_s)


def sweep(db: Database, window_s: float, now: datetime) -> int:
    """Delete the documents of settled entries journaled more than ``window_s`` before ``now``;
    returns how many."""
    cutoff = now - timedelta(seconds=window_s)
    statement = (
        update(JournalEntry)
        .where(JournalEntry.status.in_([s.value for s in _SETTLED]))
        .where(JournalEntry.created_at < cutoff)
        .where(func.length(JournalEntry.document) > 0)
        .values(document=b"")
    )
    with db.session() as session, session.begin():
        return session.execute(statement).rowcount  # type: ignore[attr-defined,no-any-return]


class DocumentSweeper(Periodic):
    """Deletes expired documents every half window (at most every five minutes)."""

    def __init__(self, db: Database, window_s: float) -> None:
        async def sweep_now() -> None:
            deleted = await asyncio.to_thread(sweep, db, window_s, datetime.now(UTC))
            if deleted:
                log.info("deleted %d released documents past the delivery window", deleted)

        super().__init__("delivery-window-sweep", min(window_s / 2, _MAX_INTERVAL_S), sweep_now)
