"""Group commit of new journal entries.

Every read is journaled, durably, before it goes to the relayer. One transaction (and one fsync)
per read made the journal the gateway's bottleneck whenever the disk was slow: a busy disk here
took 3-5 ms per SQLite commit. The writer instead commits, in one transaction, every entry that
arrived while the previous transaction was committing: no read waits longer than one commit, and
a read is still never queued for the chain before its entry is on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError

from consentledger.gateway.db import GatewayDatabaseError
from consentledger.gateway.journal_store import Journal
from consentledger.journal.schema import JournalEntry

log = logging.getLogger(__name__)

_Waiting = tuple[JournalEntry, "asyncio.Future[JournalEntry | None]"]


class JournalWriter:
    """Adds journal entries in groups, one transaction per group."""

    def __init__(self, journal: Journal, *, max_entries: int = 500) -> None:
        self.journal = journal
        self.max_entries = max_entries
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.groups = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="journal")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():
            _entry, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(GatewayDatabaseError("the gateway is shutting down"))

    async def add(self, entry: JournalEntry) -> JournalEntry | None:
        """Store a new pending read; None if its bank already used its Idempotency-Key (the
        entry that did is in the journal). Raises :class:`GatewayDatabaseError`."""
        if self._task is None:
            raise GatewayDatabaseError("the journal writer is not running")
        future: asyncio.Future[JournalEntry | None] = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, future))
        return await future

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self.max_entries and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                stored = await asyncio.to_thread(self.journal.add_all, [e for e, _ in group])
            except SQLAlchemyError as exc:
                log.error("journal write failed: %s", exc)
                failure = GatewayDatabaseError(f"the journal could not be written: {exc}")
                for _entry, future in group:
                    if not future.done():
                        future.set_exception(failure)
                continue
            self.groups += 1
            for (_entry, future), result in zip(group, stored, strict=True):
                if not future.done():
                    future.set_result(result)
