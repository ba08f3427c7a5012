"""Measure the feed import's speed into SQLite: records per second, end to end.

Writes the synthetic generator's data for ``--enterprises`` enterprises as source feeds (one
JSON Lines file per source, as ``consentledger bureau write-feeds`` does), then imports them into
a fresh SQLite file the way ``consentledger bureau import`` does: read, validate every record
(schema, USCC, source, versions, duplicates), look up enterprises and earlier versions, write the
rows and the feed log, one transaction per file. Prints the records per second of each file and
of the whole run (best of ``--runs``, each into a fresh database), then the same files imported
once more (every record already there: the idempotent path).

    python scripts/import_bench.py [--enterprises 2000] [--runs 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from consentledger.bureau.feeds import feed_source
from consentledger.bureau.feedwriter import write_feeds
from consentledger.bureau.importing import import_records, read_feed
from consentledger.bureau.store import BureauStore
from consentledger.bureau.synthetic import DEFAULT_AS_OF, DEFAULT_MONTHS, SyntheticBureau


def _import_all(url: str, feeds: dict[str, Path]) -> tuple[dict[str, tuple[int, float]], float]:
    per_file: dict[str, tuple[int, float]] = {}
    started = time.perf_counter()
    with BureauStore.open(url) as store:
        for name, path in feeds.items():
            began = time.perf_counter()
            report = import_records(
                store, feed_source(name), read_feed(path), name=name, as_of=DEFAULT_AS_OF
            )
            if not report.accepted:
                raise SystemExit(f"{name}: refused: {report.refusals[0].describe()}")
            per_file[name] = (report.records, time.perf_counter() - began)
    return per_file, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        directory = Path(tmp)
        generator = SyntheticBureau(args.seed, DEFAULT_AS_OF, DEFAULT_MONTHS)
        feeds = write_feeds(generator.batches(args.enterprises), directory / "feeds")
        total = sum(1 for path in feeds.values() for _ in path.open("rb"))
        size = sum(path.stat().st_size for path in feeds.values())
        print(
            f"{total:,} records in {len(feeds)} files ({size / 1e6:.1f} MB), "
            f"{args.enterprises:,} enterprises + showcase"
        )
        best: tuple[dict[str, tuple[int, float]], float] | None = None
        url = ""
        for run in range(args.runs):
            url = f"sqlite:///{directory / f'run{run}.db'}"
            result = _import_all(url, feeds)
            if best is None or result[1] < best[1]:
                best = result
        assert best is not None
        per_file, seconds = best
        for name, (records, took) in per_file.items():
            print(f"  {name:<22} {records:>9,} records  {records / took:>9,.0f} records/s")
        print(f"import (best of {args.runs}): {total / seconds:,.0f} records/s ({seconds:.2f} s)")
        _, again = _import_all(url, feeds)
        print(f"re-import, all unchanged: {total / again:,.0f} records/s ({again:.2f} s)")


if __name__ == "__main__":
    main()
