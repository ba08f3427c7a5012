"""Measure what the pytest plugin's ``ledger`` fixture costs a test: deploy once and revert a
snapshot around each test, against a fresh deployment for each test.

Each simulated test registers an enterprise, grants it a consent and records one signed read (the
work the docs' example does). Prints the median setup and teardown per test of each way, and the
whole per-test cost with the same work inside.

    python scripts/plugin_isolation_bench.py [--tests 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.testing.world import World, build_world


def _work(world: World) -> None:
    enterprise = world.new_enterprise("bench", controllers=2, threshold=2)
    bank = world.banks[0]
    consent_id = world.grant(world.terms(enterprise, bank))
    decision = world.record([world.entry(consent_id, bank)]).decisions[0]
    assert decision.granted, decision


def _fresh(tests: int) -> tuple[list[float], list[float]]:
    setup, whole = [], []
    for _ in range(tests):
        started = time.perf_counter()
        world = build_world(EmbeddedChain(clock=BlockClock.STEADY))
        setup.append(time.perf_counter() - started)
        _work(world)
        whole.append(time.perf_counter() - started)
    return setup, whole


def _reverted(tests: int) -> tuple[list[float], list[float], float]:
    started = time.perf_counter()
    base = build_world(EmbeddedChain(clock=BlockClock.STEADY))
    once = time.perf_counter() - started
    overhead, whole = [], []
    for _ in range(tests):
        began = time.perf_counter()
        isolated = base.isolated()
        world = isolated.__enter__()
        entered = time.perf_counter() - began
        _work(world)
        before_exit = time.perf_counter()
        isolated.__exit__(None, None, None)
        ended = time.perf_counter()
        overhead.append(entered + (ended - before_exit))
        whole.append(ended - began)
    return overhead, whole, once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=20, help="simulated tests of each way")
    args = parser.parse_args()
    fresh_setup, fresh_whole = _fresh(args.tests)
    overhead, reverted_whole, once = _reverted(args.tests)
    median = statistics.median
    print(f"{args.tests} tests each; medians per test")
    print(
        f"  redeploy per test:        setup {median(fresh_setup) * 1000:7.1f} ms, "
        f"test with work {median(fresh_whole) * 1000:7.1f} ms"
    )
    print(
        f"  deploy once ({once * 1000:.0f} ms), "
        f"snapshot + revert: {median(overhead) * 1000:7.1f} ms, "
        f"test with work {median(reverted_whole) * 1000:7.1f} ms"
    )
    print(f"  per-test setup saved: {median(fresh_setup) / median(overhead):.0f}x")


if __name__ == "__main__":
    main()
