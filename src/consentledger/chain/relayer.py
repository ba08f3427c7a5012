"""The relayer: group commit of reads into ``recordAccesses`` batches, one writer per key.

Requests wait in a queue; a batch closes when it holds ``max_entries`` reads or ``max_wait``
seconds after its first read, whichever comes first. The relayer gives each read its query id
(``uint160(relayer) << 96 | sequence``, strictly increasing in batch order), signs the batch,
hands it to the journal *before* broadcasting it, sends it, and resolves every waiting request
from the receipt's events: the chain, not the relayer, decides each outcome.

A batch not mined within ``stuck_after`` seconds is stuck (a fee below the base fee, a node that
lost it or does not mine): the relayer signs it again with the same nonce and both fees raised by
12.5 % (or to the node's current price), journals the replacement before broadcasting it, and
keeps watching every candidate; after ``max_replacements`` it only broadcasts the last one again.
Whichever candidate is mined resolves the batch; if another transaction took the nonce, none can
be mined and its reads fail cleanly. A request waits at most ``read_timeout`` seconds: then it is
told the outcome is pending (its entry stays journaled, and is resolved when the batch is mined).

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

from web3.exceptions import Web3Exception

from consentledger.chain.client import (
    LedgerClient,
    Mined,
    NodeRefusedError,
    SignedCall,
    TransactionFailedError,
)
from consentledger.chain.jsonrpc import ChainUnavailableError
from consentledger.errors import ConsentLedgerError
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import (
    AccessEntry,
    DenialReason,
    RecordedAccess,
    first_query_id,
    record_accesses_args,
)

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
    """A journaled read waiting for the chain, with the bank's signature of its EIP-712
    ``ReadRequest`` (history window, request id, deadline, 65-byte signature)."""

    journal_id: int
    consent_id: bytes
    bank: str
    categories: int
    purpose: int
    response_hash: bytes
    history_months: int = 0
    request_id: int = 0
    deadline: int = 0
    signature: bytes = b""


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


class BatchNonceTakenError(NotRecordedError):
    """Another transaction took a batch's nonce: none of the batch's transactions can be mined."""

    def __init__(self, nonce: int) -> None:
        self.nonce = nonce
        super().__init__(f"nonce {nonce} was taken by another transaction; the batch was not mined")


class BatchJournal(Protocol):
    """Where the relayer records batches before sending them, and outcomes after."""

    def batch_signed(self, signed: SignedCall, assignments: Sequence[tuple[int, int]]) -> None:
        """Durably store the signed batch and each (journal id, query id) before broadcast."""

    def batch_replaced(self, original_tx_hash: bytes, replacement: SignedCall) -> None:
        """Durably store a replacement of a stuck batch (same nonce) before broadcast."""

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
        stuck_after: float = 15.0,
        max_replacements: int = 5,
        read_timeout: float = 30.0,
        max_in_flight: int = 4,
        confirmations: int = 0,
    ) -> None:
        self.client = client
        self.runner = runner
        self.journal = journal
        self.max_entries = max_entries
        self.max_wait = max_wait
        self.stuck_after = stuck_after
        self.max_replacements = max_replacements
        self.read_timeout = read_timeout
        #: Blocks above a batch's block before it counts as mined (see LedgerClient.first_mined).
        self.confirmations = confirmations
        #: Batches sent and not yet settled at once: the next batch is signed and sent while
        #: earlier ones wait for their blocks (nonces and query ids still go out in order).
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._settling: set[asyncio.Task[None]] = set()
        self._prefix = first_query_id(client.account.address)
        self._sequence = 0
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        #: Held from signing to broadcasting a transaction of this key, by the relayer and by
        #: every other writer with the same key, so nonces reach the node in order.
        self.send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._adopted: set[asyncio.Task[None]] = set()
        self.batches_in_flight = 0
        self.batches_sent = 0
        #: Called with the number of reads in each batch sent (the gateway's metrics).
        self.on_batch_sent: Callable[[int], None] | None = None
        self.batches_stuck = 0
        self.replacements_sent = 0

    @property
    def _depth(self) -> int | None:
        """What a batch needs to count as mined (LedgerClient.first_mined): a receipt at once
        on a chain with final blocks, else a block still the chain's, that deep."""
        return self.confirmations or None

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
        for running in [*([task] if task is not None else []), *self._settling, *self._adopted]:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        while not self._queue.empty():
            _request, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(NotRecordedError("the gateway is shutting down"))

    async def submit(self, request: ReadRequest) -> ReadOutcome:
        """Queue a journaled read; returns the chain's outcome once its batch is mined, or raises
        OutcomePendingError after ``read_timeout`` (the read stays queued or batched)."""
        if self._task is None:
            raise NotRecordedError("the relayer is not running")
        future: asyncio.Future[ReadOutcome] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)  # resolved after its requester gave up: no warning
        await self._queue.put((request, future))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.read_timeout)
        except TimeoutError:
            raise OutcomePendingError(
                f"the read's batch was not mined within {self.read_timeout:g} s"
            ) from None

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
            await self._in_flight.acquire()
            try:
                sent = await self._send(batch)
            except Exception as exc:  # a bug must not kill the loop or leave requests hanging
                self._in_flight.release()
                log.exception("batch commit failed unexpectedly")
                _fail_all(batch, NotRecordedError(f"the batch could not be recorded: {exc}"))
                continue
            if sent is None:
                self._in_flight.release()
                continue
            settle = loop.create_task(self._settle(batch, *sent), name="batch")
            self._settling.add(settle)
            settle.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._settling.discard(task)
        self._in_flight.release()

    async def _send(self, batch: list[_Waiting]) -> tuple[SignedCall, list[tuple[int, int]]] | None:
        """Give the batch its query ids, sign, journal and broadcast it; None if it could not be
        signed (its reads are then failed: nothing was sent)."""
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
                    history_months=request.history_months,
                    request_id=request.request_id,
                    deadline=request.deadline,
                    signature=request.signature,
                )
            )
        journal_ids = [request.journal_id for request, _ in batch]
        async with self.send_lock:
            try:
                signed = await self.runner.run(
                    self.client.prepare, "recordAccesses", *record_accesses_args(entries)
                )
            except (LedgerRevertError, ChainUnavailableError, NodeRefusedError) as exc:
                # Nothing was signed or sent: these reads are certainly not on the chain.
                await asyncio.to_thread(self.journal.failed, journal_ids, str(exc))
                _fail_all(batch, NotRecordedError(f"the read could not be recorded: {exc}"))
                if isinstance(exc, LedgerRevertError) and exc.error == "AccessLedgerStaleQueryId":
                    # Another writer with this key moved the chain's last query id on:
                    # continue after it, so the next batch is accepted.
                    last = await self.runner.run(self.client.last_query_id, self.relayer)
                    self._sequence = max(self._sequence, last & SEQUENCE_MASK)
                return None
            await asyncio.to_thread(self.journal.batch_signed, signed, assignments)
            await self._broadcast(signed)
        self.batches_sent += 1
        if self.on_batch_sent is not None:
            self.on_batch_sent(len(entries))
        return signed, assignments

    async def _settle(
        self, batch: list[_Waiting], signed: SignedCall, assignments: list[tuple[int, int]]
    ) -> None:
        """Watch a sent batch until it is mined; store and hand out the chain's decisions."""
        try:
            await self._settle_batch(batch, signed, assignments)
        except Exception as exc:  # a bug must not leave requests hanging
            log.exception("settling batch 0x%s failed unexpectedly", signed.tx_hash.hex())
            # Journaled as batched: reconciliation settles it from the chain.
            _fail_all(batch, OutcomePendingError(f"the batch's outcome is not known: {exc}"))

    async def _settle_batch(
        self, batch: list[_Waiting], signed: SignedCall, assignments: list[tuple[int, int]]
    ) -> None:
        journal_ids = [request.journal_id for request, _ in batch]
        self.batches_in_flight += 1
        try:
            mined = await self._until_mined([signed])
        except (TransactionFailedError, BatchNonceTakenError) as exc:
            await asyncio.to_thread(self.journal.failed, journal_ids, str(exc))
            _fail_all(batch, NotRecordedError(f"the batch was not recorded: {exc}"))
            return
        finally:
            self.batches_in_flight -= 1
        by_query = {query_id: journal_id for journal_id, query_id in assignments}
        outcomes = outcomes_of(mined, by_query)
        await asyncio.to_thread(self.journal.outcomes, outcomes)
        by_journal = {o.journal_id: o for o in outcomes}
        unnamed = [i for i in journal_ids if i not in by_journal]
        if unnamed:  # resolved, not left batched in a batch that is marked mined
            await asyncio.to_thread(self.journal.failed, unnamed, "not in the batch events")
        for request, future in batch:
            if future.done():
                continue
            outcome = by_journal.get(request.journal_id)
            if outcome is None:
                future.set_exception(NotRecordedError("the batch's events did not name this read"))
            else:
                future.set_result(outcome)

    async def _broadcast(self, signed: SignedCall) -> None:
        """Send a journaled transaction; a refusal or an unreachable node is left to the watch
        that follows (it sends again, or finds the nonce taken)."""
        try:
            await self.runner.run(self.client.broadcast, signed)
        except (Web3Exception, ValueError, ChainUnavailableError) as exc:
            log.warning("batch 0x%s not taken by the node yet: %s", signed.tx_hash.hex(), exc)

    def adopt(self, candidates: Sequence[SignedCall], journal_ids: dict[int, int]) -> None:
        """Watch a batch a previous run sent and reconciliation left open (not mined, nonce
        free) until it is mined or its nonce is taken, then resolve its entries (query id ->
        journal id). Its candidates come from the journal as bytes: they are broadcast again,
        not replaced."""
        task = asyncio.get_running_loop().create_task(
            self._follow(list(candidates), journal_ids), name="adopted-batch"
        )
        self._adopted.add(task)
        task.add_done_callback(self._adopted.discard)

    async def _follow(self, candidates: list[SignedCall], journal_ids: dict[int, int]) -> None:
        ids = list(journal_ids.values())
        try:
            mined = await self._until_mined(candidates)
        except (TransactionFailedError, BatchNonceTakenError) as exc:
            await asyncio.to_thread(self.journal.failed, ids, str(exc))
            return
        outcomes = outcomes_of(mined, journal_ids)
        await asyncio.to_thread(self.journal.outcomes, outcomes)
        missing = set(ids) - {o.journal_id for o in outcomes}
        if missing:
            await asyncio.to_thread(self.journal.failed, sorted(missing), "not in the batch events")

    async def _until_mined(self, candidates: list[SignedCall]) -> Mined:
        """Watch a sent batch until one of its candidates is mined, unsticking it on the way.

        Raises TransactionFailedError if the mined one failed, BatchNonceTakenError if another
        transaction took the nonce. An unreachable node is waited out: the batch may be mined."""
        loop = asyncio.get_running_loop()
        signed = candidates[0]
        sent_at = loop.time()
        delay = 0.002
        while True:
            try:
                mined = await self.runner.run(
                    self.client.first_mined, [c.tx_hash for c in candidates], self._depth
                )
                if mined is not None:
                    return mined
                if loop.time() - sent_at >= self.stuck_after:
                    mined = await self._unstick(candidates)
                    if mined is not None:
                        return mined
                    sent_at = loop.time()
                delay = min(delay * 2, 0.1)
            except ChainUnavailableError as exc:
                log.warning("batch 0x%s: %s; still watching", signed.tx_hash.hex(), exc)
                delay = 1.0
            await asyncio.sleep(delay)

    async def _unstick(self, candidates: list[SignedCall]) -> Mined | None:
        """A batch not mined for ``stuck_after`` seconds: replace it with higher fees (or, past
        ``max_replacements``, broadcast the last candidate again). Appends to ``candidates``."""
        self.batches_stuck += 1
        hashes = [c.tx_hash for c in candidates]
        # The nonce first, then the receipts: a candidate mined between the two reads is found.
        taken = await self.runner.run(self.client.confirmed_nonce) > candidates[0].nonce
        mined = await self.runner.run(self.client.first_mined, hashes, self._depth)
        if mined is not None:
            return mined
        if self.confirmations:
            included = await self.runner.run(self.client.first_mined, hashes, 0)
            if included is not None:
                return None  # in the chain's block, not yet deep enough: not stuck
        if taken:
            raise BatchNonceTakenError(candidates[0].nonce)
        last = candidates[-1]
        if last.tx is None or len(candidates) - 1 >= self.max_replacements:
            log.warning("batch 0x%s still not mined: sending it again", last.tx_hash.hex())
            await self._broadcast(last)
            return None
        replacement = await self.runner.run(self.client.replacement, last)
        await asyncio.to_thread(self.journal.batch_replaced, candidates[0].tx_hash, replacement)
        candidates.append(replacement)
        self.replacements_sent += 1
        log.warning(
            "batch 0x%s not mined within %g s: replaced by 0x%s (nonce %d, tip %s, fee cap %s)",
            candidates[0].tx_hash.hex(),
            self.stuck_after,
            replacement.tx_hash.hex(),
            replacement.nonce,
            replacement.tip,
            replacement.max_fee,
        )
        await self._broadcast(replacement)
        return None


def _retrieve(future: asyncio.Future[ReadOutcome]) -> None:
    if not future.cancelled():
        future.exception()


def _fail_all(batch: list[_Waiting], exc: Exception) -> None:
    for _request, future in batch:
        if not future.done():
            future.set_exception(exc)
