"""Measure the auditor's replay speed on a real anvil node.

Starts anvil, records a ledger of a few thousand reads (consents for post-loan monitoring, batches
of 100 reads, about one in ten denied), then audits it over HTTP JSON-RPC and prints the
throughput: events read, decoded and replayed per second, and the split between fetching,
decoding and the state model.

    python scripts/audit_bench.py [--consents 20] [--reads 5000] [--block-range 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import DAY, build_world  # noqa: E402

from consentledger.audit.reader import LedgerEvent  # noqa: E402
from consentledger.audit.replay import Replayer  # noqa: E402
from consentledger.audit.runner import Audit  # noqa: E402
from consentledger.categories import Category, Purpose  # noqa: E402
from consentledger.chain.anvil import AnvilChain, AnvilProcess  # noqa: E402
from consentledger.chain.jsonrpc import HttpJsonRpc  # noqa: E402

BATCH = 100


def record_ledger(url: str, consents: int, reads: int) -> tuple[object, int]:
    """Grant ``consents`` consents and record ``reads`` reads in batches; returns the world and
    the number of reads recorded."""
    world = build_world(AnvilChain(url))
    enterprises = [world.new_enterprise(f"e{i}") for i in range(consents)]
    ids = [
        world.grant(
            world.terms(
                enterprise,
                world.banks[i % 2],
                categories=[Category.SOCIAL_INSURANCE, Category.TAX],
                purpose=Purpose.POST_LOAN_MONITORING,
                expires_at=world.now() + 300 * DAY,
                history_months=12,
            )
        )
        for i, enterprise in enumerate(enterprises)
    ]
    recorded = 0
    while recorded < reads:
        entries = []
        for n in range(min(BATCH, reads - recorded)):
            index = (recorded + n) % consents
            bank = world.banks[index % 2]
            categories = [Category.TAX] if n % 10 else [Category.CUSTOMS]  # 1 in 10 denied
            entries.append(
                world.entry(
                    ids[index], bank, categories=categories, purpose=Purpose.POST_LOAN_MONITORING
                )
            )
        world.bureau.record_accesses(entries)  # straight to the chain: the model is not needed
        recorded += len(entries)
    return world, recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consents", type=int, default=20)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--block-range", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="audits to time (best is reported)")
    args = parser.parse_args()
    with AnvilProcess() as node:
        started = time.perf_counter()
        world, recorded = record_ledger(node.url, args.consents, args.reads)
        print(f"recorded {recorded} reads on {args.consents} consents "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        deployment = world.deployment  # type: ignore[attr-defined]
        best = None
        for _ in range(args.runs):
            rpc = HttpJsonRpc(node.url)
            began = time.perf_counter()
            result = Audit(rpc, deployment, block_range=args.block_range).run()
            total = time.perf_counter() - began
            rpc.close()
            if not result.clean:
                raise SystemExit(f"the benchmark ledger is not clean: {result.findings[:3]}")
            if best is None or result.replay_seconds < best[0].replay_seconds:
                best = (result, total)
        assert best is not None
        result, total = best
        print(f"events: {result.events_replayed}, requests: {result.requests}")
        print(f"replay (read + decode + model): {result.replay_seconds:.3f} s, "
              f"{result.events_per_second:,.0f} events/s")  # fmt: skip
        print(f"whole audit with the storage check: {total:.3f} s")
        # The split: fetching and decoding alone, then the model alone on the decoded events.
        rpc = HttpJsonRpc(node.url)
        reader = Audit(rpc, deployment).reader
        head = reader.head()
        began = time.perf_counter()
        items = list(reader.read(deployment.deploy_block, head))
        read_seconds = time.perf_counter() - began
        rpc.close()
        replay = Replayer(deployment)
        began = time.perf_counter()
        for item in items:
            replay.apply(item)
        model_seconds = time.perf_counter() - began
        events = sum(isinstance(i, LedgerEvent) for i in items)
        print(f"  fetch + decode: {read_seconds:.3f} s ({events / read_seconds:,.0f} events/s)")
        print(f"  state model:    {model_seconds:.3f} s ({events / model_seconds:,.0f} events/s)")


if __name__ == "__main__":
    main()
