"""The relayer: group commit of reads into ``recordAccesses`` batches, one writer per key.

Requests wait in a queue; a batch closes when it holds ``max_entries`` reads or ``max_wait``
seconds after its first read, whichever comes first. The relayer gives each read its query id
(``uint160(relayer) << 96 | sequence``, strictly increasing in batch order), signs the batch,
hands it to the journal *before* broadcasting it, sends it, and resolves every waiting request
from the receipt's events: the chain, not the relayer, decides each outcome.

All chain calls go through a :class:`ChainRunner` (one thread), since the embedded chain is not
thread-safe and a key needs one writer for its nonces anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

from consentledger.audit.model import (
    AccessEntry,
    DenialReason,
    LedgerRevertError,
    RecordedAccess,
    first_query_id,
    record_accesses_args,
)
from consentledger.chain.client import (
    ChainUnavailableError,
    LedgerClient,
    Mined,
    SignedCall,
    TransactionFailedError,
    TransactionTimeoutError,
)
from consentledger.errors import ConsentLedgerError

log = logging.getLogger(__name__)
T = TypeVar("T")

SEQUENCE_MASK = 2**96 - 1


class ChainRunner:
    """Runs blocking chain calls on one dedicated thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chain")

    async def run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """A journaled read waiting for the chain."""

    journal_id: int
    consent_id: bytes
    bank: str
    categories: int
    purpose: int
    response_hash: bytes


@dataclass(frozen=True, slots=True)
class ReadOutcome:
    """What the chain decided for one read, and where it says so."""

    journal_id: int
    query_id: int
    reason: DenialReason
    tx_hash: bytes
    block_number: int
    log_index: int

    @property
    def granted(self) -> bool:
        return self.reason is DenialReason.NONE


class NotRecordedError(ConsentLedgerError, RuntimeError):
    """The read could not be recorded on the chain; nothing was released."""

    code = "not_recorded"


class OutcomePendingError(ConsentLedgerError, RuntimeError):
    """The batch was sent but its outcome is not known yet; nothing was released so far."""

    code = "outcome_pending"


class BatchJournal(Protocol):
    """Where the relayer records batches before sending them, and outcomes after."""

    def batch_signed(self, signed: SignedCall, assignments: Sequence[tuple[int, int]]) -> None:
        """Durably store the signed batch and each (journal id, query id) before broadcast."""

    def outcomes(self, outcomes: Sequence[ReadOutcome]) -> None:
        """Durably store the chain's decisions."""

    def failed(self, journal_ids: Sequence[int], why: str) -> None:
        """Mark reads that were never recorded on the chain."""


def outcomes_of(mined: Mined, journal_ids: dict[int, int]) -> list[ReadOutcome]:
    """The decision of each read in a mined batch, from its events (query id -> journal id)."""
    found: list[ReadOutcome] = []
    for event in mined.events:
        if event.event not in ("DataAccessed", "AccessDenied"):
            continue
        read = RecordedAccess.of(event.event, event.args)
        query_id = read.entry.query_id
        if query_id not in journal_ids:
            continue
        reason = DenialReason(read.reason_code)
        found.append(
            ReadOutcome(
                journal_id=journal_ids[query_id],
                query_id=query_id,
                reason=reason,
                tx_hash=mined.tx_hash,
                block_number=mined.block_number,
                log_index=event.log_index,
            )
        )
    return found


_Waiting = tuple[ReadRequest, "asyncio.Future[ReadOutcome]"]


class BatchRelayer:
    """Group commit for one relayer key."""

    def __init__(
        self,
        client: LedgerClient,
        runner: ChainRunner,
        journal: BatchJournal,
        *,
        max_entries: int = 200,
        max_wait: float = 0.005,
        receipt_timeout: float = 60.0,
    ) -> None:
        self.client = client
        self.runner = runner
        self.journal = journal
        self.max_entries = max_entries
        self.max_wait = max_wait
        self.receipt_timeout = receipt_timeout
        self._prefix = first_query_id(client.account.address)
        self._sequence = 0
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        #: Held from signing to broadcasting a transaction of this key, by the relayer and by
        #: every other writer with the same key, so nonces reach the node in order.
        self.send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.batches_in_flight = 0
        self.batches_sent = 0

    @property
    def relayer(self) -> str:
        return self.client.account.address

    def start(self, after_sequence: int) -> None:
        """Start batching; query id sequences continue after ``after_sequence`` (the highest the
        chain or the journal has seen for this relayer)."""
        self._sequence = after_sequence & SEQUENCE_MASK
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="relayer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():
            _request, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(NotRecordedError("the gateway is shutting down"))

    async def submit(self, request: ReadRequest) -> ReadOutcome:
        """Queue a journaled read; returns the chain's outcome once its batch is mined."""
        if self._task is None:
            raise NotRecordedError("the relayer is not running")
        future: asyncio.Future[ReadOutcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((request, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_entries:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            try:
                await self._commit(batch)
            except Exception as exc:  # a bug must not kill the loop or leave requests hanging
                log.exception("batch commit failed unexpectedly")
                _fail_all(batch, NotRecordedError(f"the batch could not be recorded: {exc}"))

    async def _commit(self, batch: list[_Waiting]) -> None:
        entries: list[AccessEntry] = []
        assignments: list[tuple[int, int]] = []
        for request, _future in batch:
            self._sequence += 1
            query_id = self._prefix | self._sequence
            assignments.append((request.journal_id, query_id))
            entries.append(
                AccessEntry(
                    query_id=query_id,
                    consent_id=request.consent_id,
                    bank=request.bank,
                    categories=request.categories,
                    purpose=request.purpose,
                    response_hash=request.response_hash,
                )
            )
        journal_ids = [request.journal_id for request, _ in batch]
        self.batches_in_flight += 1
        try:
            async with self.send_lock:
                try:
                    signed = await self.runner.run(
                        self.client.prepare, "recordAccesses", *record_accesses_args(entries)
                    )
                except (LedgerRevertError, ChainUnavailableError) as exc:
                    # Nothing was signed or sent: these reads are certainly not on the chain.
                    await asyncio.to_thread(self.journal.failed, journal_ids, str(exc))
                    _fail_all(batch, NotRecordedError(f"the read could not be recorded: {exc}"))
                    if (
                        isinstance(exc, LedgerRevertError)
                        and exc.error == "AccessLedgerStaleQueryId"
                    ):
                        # Another writer with this key moved the chain's last query id on:
                        # continue after it, so the next batch is accepted.
                        last = await self.runner.run(self.client.last_query_id, self.relayer)
                        self._sequence = max(self._sequence, last & SEQUENCE_MASK)
                    return
                await asyncio.to_thread(self.journal.batch_signed, signed, assignments)
                await self.runner.run(self.client.broadcast, signed)
            self.batches_sent += 1
            mined = await self.runner.run(self.client.wait, signed.tx_hash, self.receipt_timeout)
        except TransactionFailedError as exc:
            await asyncio.to_thread(self.journal.failed, journal_ids, str(exc))
            _fail_all(batch, NotRecordedError(f"the batch transaction failed: {exc}"))
            return
        except (ChainUnavailableError, TransactionTimeoutError) as exc:
            # The batch may still be mined: its reads stay journaled as batched and are
            # resolved by reconciliation; nothing is released until then.
            _fail_all(batch, OutcomePendingError(f"the outcome is not known yet: {exc}"))
            return
        finally:
            self.batches_in_flight -= 1
        by_query = {query_id: journal_id for journal_id, query_id in assignments}
        outcomes = outcomes_of(mined, by_query)
        await asyncio.to_thread(self.journal.outcomes, outcomes)
        by_journal = {o.journal_id: o for o in outcomes}
        for request, future in batch:
            if future.done():
                continue
            outcome = by_journal.get(request.journal_id)
            if outcome is None:
                future.set_exception(NotRecordedError("the batch's events did not name this read"))
            else:
                future.set_result(outcome)


def _fail_all(batch: list[_Waiting], exc: Exception) -> None:
    for _request, future in batch:
        if not future.done():
            future.set_exception(exc)
