"""Loading synthetic data into a store: one call, optionally with the generator in a second process.

Generation (pure Python) and insertion (SQLAlchemy and the database) take about the same time, so
for large runs the generator runs in a child process and hands batches over a bounded queue while
this process inserts them: both cores work. The child runs the very same
:class:`~consentledger.bureau.synthetic.SyntheticBureau` with the same arguments, so the data are
identical either way (the tests check this).
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import sys
import time
from collections.abc import Generator, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from consentledger.bureau.models import DatasetMeta, Enterprise
from consentledger.bureau.rows import Row
from consentledger.bureau.showcase import SHOWCASE_USCCS
from consentledger.bureau.store import Batch, BureauAlreadySeededError, BureauStore
from consentledger.bureau.synthetic import (
    DEFAULT_AS_OF,
    DEFAULT_BATCH_SIZE,
    DEFAULT_ENTERPRISES,
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    SyntheticBureau,
)
from consentledger.errors import ConsentLedgerError

#: From this many enterprises on, the generator runs in its own process by default.
PARALLEL_THRESHOLD = 20_000
_QUEUE_DEPTH = 4
_POLL_SECONDS = 1.0


class SyntheticWorkerError(ConsentLedgerError, RuntimeError):
    """The generator process failed or died before it finished."""

    code = "synthetic_worker_failed"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"the synthetic-data generator process failed: {detail}")


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a seeding run wrote and how long it took."""

    enterprises: int
    rows: int
    seconds: float
    seed: int
    as_of: date
    parallel: bool


@dataclass(frozen=True, slots=True)
class _Done:
    failure: str | None = None


def _produce(
    out: Any, seed: int, as_of: date, months: int, enterprises: int, batch_size: int
) -> None:
    """The child process: generate every batch into ``out``, then a :class:`_Done`."""
    gc.disable()
    try:
        for batch in SyntheticBureau(seed, as_of, months).batches(enterprises, batch_size):
            out.put(batch)
    except BaseException as exc:
        out.put(_Done(f"{type(exc).__name__}: {exc}"))
        raise
    out.put(_Done())


def _from_worker(
    seed: int, as_of: date, months: int, enterprises: int, batch_size: int
) -> Generator[dict[str, list[Row]], None, None]:
    """Batches generated in a spawned child process, in order."""
    context = multiprocessing.get_context("spawn")
    channel = context.Queue(maxsize=_QUEUE_DEPTH)
    worker = context.Process(
        target=_produce,
        args=(channel, seed, as_of, months, enterprises, batch_size),
        name="consentledger-synthetic",
        daemon=True,
    )
    worker.start()
    try:
        while True:
            try:
                item = channel.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not worker.is_alive():
                    raise SyntheticWorkerError(
                        f"it exited with code {worker.exitcode} (a script that seeds with "
                        "parallel=True must guard its entry point with "
                        "`if __name__ == '__main__':`, as multiprocessing's spawn requires)"
                    ) from None
                continue
            if isinstance(item, _Done):
                if item.failure is not None:
                    raise SyntheticWorkerError(item.failure)
                return
            yield item
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()
        channel.close()


@contextmanager
def _gc_paused() -> Generator[None, None, None]:
    """Pause the cyclic garbage collector during a bulk load (reference counting still frees
    the batches); a load allocates millions of short-lived rows, and collections would scan
    them again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _progress_wanted(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def seed_store(
    store: BureauStore,
    *,
    enterprises: int = DEFAULT_ENTERPRISES,
    seed: int = DEFAULT_SEED,
    as_of: date = DEFAULT_AS_OF,
    months: int = DEFAULT_MONTHS,
    replace: bool = False,
    progress: bool | None = None,
    parallel: bool | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SeedReport:
    """Create the schema and load the showcase plus ``enterprises`` synthetic enterprises.

    Refuses (:class:`~consentledger.bureau.store.BureauAlreadySeededError`) a database that
    already holds enterprises unless ``replace`` drops the bureau's tables first. ``progress``
    shows a rich progress bar on stderr (default: only when stderr is a terminal). ``parallel``
    runs the generator in a second, spawned process (default: from :data:`PARALLEL_THRESHOLD`
    enterprises on); the data are the same either way. As with any use of multiprocessing's
    spawn, a script that seeds in parallel must guard its entry point with
    ``if __name__ == "__main__":``.
    """
    if enterprises < 0:
        raise ValueError(f"number of enterprises must be >= 0, got {enterprises}")
    if months < 1:
        raise ValueError(f"months of history must be >= 1, got {months}")
    started = time.perf_counter()
    if replace:
        store.drop_schema()
    store.create_schema()
    existing = store.enterprise_count()
    if existing:
        raise BureauAlreadySeededError(store.url, existing)
    use_worker = enterprises >= PARALLEL_THRESHOLD if parallel is None else parallel
    total = enterprises + len(SHOWCASE_USCCS)
    meta = {
        "as_of": as_of.isoformat(),
        "seed": str(seed),
        "enterprises": str(total),
        "months": str(months),
        "generator": f"consentledger.bureau.synthetic/{GENERATOR_VERSION}",
    }
    # The dataset's facts go in the same transaction as its rows: a seed is all or nothing.
    meta_batch = {DatasetMeta.__tablename__: [{"key": k, "value": v} for k, v in meta.items()]}
    generated = (
        _from_worker(seed, as_of, months, enterprises, batch_size)
        if use_worker
        else SyntheticBureau(seed, as_of, months).batches(enterprises, batch_size)
    )
    try:
        with _gc_paused():
            rows = _load(store, chain(generated, [meta_batch]), total, progress)
    finally:
        generated.close()  # stops the generator process if loading failed half-way
    return SeedReport(total, rows, time.perf_counter() - started, seed, as_of, use_worker)


def _load(store: BureauStore, batches: Iterable[Batch], total: int, progress: bool | None) -> int:
    """Insert the batches, with a progress bar over ``total`` enterprises if wanted."""
    if not _progress_wanted(progress):
        return store.bulk_insert(batches)
    columns = (
        TextColumn("seeding the bureau"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("seed", total=total)

        def advance(batch: Batch) -> None:
            bar.advance(task, len(batch.get(Enterprise.__tablename__, ())))

        return store.bulk_insert(batches, on_batch=advance)
