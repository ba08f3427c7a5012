"""Seed 100,000 synthetic enterprises into a temporary SQLite file and print the seconds it took.

Not part of the test suite (the suite stays fast); run it by hand:
``.venv/bin/python scripts/seed_bench.py [--enterprises N] [--keep PATH]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.bureau.synthetic import DEFAULT_SEED


def main() -> None:
    """Parse the arguments, seed, and print the timing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        with BureauStore.open(f"sqlite:///{path}") as store:
            report = seed_store(
                store, enterprises=args.enterprises, seed=args.seed, progress=args.progress
            )
        seconds = time.perf_counter() - started
        size_mib = path.stat().st_size / 2**20
    print(
        f"seeded {report.enterprises:,} enterprises ({report.rows:,} rows, {size_mib:,.0f} MiB) "
        f"into SQLite in {seconds:.1f} s (generator in a second process: {report.parallel})"
    )


if __name__ == "__main__":
    main()
