"""The soak: a gateway process on anvil under steady load at 80 % of its measured capacity.

One run: a seeded bureau, an anvil process, a ledger deployed on it, a gateway process (uvicorn,
settings by environment: :func:`bench.gateway_env`), a bank, an enterprise and enough
post-loan-monitoring consents granted through ``POST /v1/consents``. Then:

1. Capacity: a short saturating burst (closed loop, 64 clients) measures reads/s, unless
   ``--rate`` gives the rate outright.
2. Load: ``--duration`` seconds (default 300) of open-loop reads at ``--share`` (default 80 %) of
   that capacity, an async aiohttp generator that starts each request at its scheduled time
   whether or not earlier ones have answered (latency counts from the scheduled time).
3. The gateway's RSS (VmRSS) sampled every ``--rss-every`` seconds.

Checks, each a line of the table and a field of the JSON (``out/soak.json``); the exit code is
non-zero if any fails:

* errors: zero. An error is any transport error or any answer but 200, except a 403
  ``access_denied`` (the chain's denial, expected when a consent's reads run out);
* RSS flat: the last sample within 10 % of the first one after the warm-up (a fifth of the run,
  at most 60 s);
* the journal: no entry left pending or batched;
* the auditor (chain replay plus the journal cross-check): zero findings.

    python scripts/soak.py [--duration 300] [--rate READS_PER_S] [--share 0.8] [--out out/soak.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import (
    LOAD_CATEGORIES,
    LOAD_PURPOSE,
    LOAD_USCC,
    Party,
    admit,
    bank_signer,
    deploy_on_anvil,
    gateway_env,
    grant_consents,
    log,
    percentile,
    read_load,
    warm_up,
)
from consentledger.audit.journal_check import JournalCheck, JournalDatabase
from consentledger.audit.runner import Audit
from consentledger.chain import typed_data
from consentledger.chain.anvil import AnvilChain, AnvilProcess, free_port
from consentledger.chain.deploy import Deployment
from consentledger.chain.jsonrpc import HttpJsonRpc
from consentledger.chain.read_signer import BankReadSigner
from consentledger.client import (
    AccessDeniedError,
    AsyncGateway,
    Bank,
    GatewayProblemError,
    GatewayUnreachableError,
    UnexpectedAnswerError,
)
from consentledger.client.http import AsyncRunner
from consentledger.gateway.db import Database
from consentledger.gateway.journal_store import Journal
from consentledger.testing.gateway import seeded_bureau
from consentledger.testing.process import GatewayProcess

ROOT = Path(__file__).resolve().parent.parent

#: Reads each consent allows (bench.signed_consent's terms), and the purpose's cap.
READS_PER_CONSENT = 400
BURST_CLIENTS = 64
BURST_READS = 1_000
BURST_CONSENTS = 20
RSS_LIMIT_PERCENT = 10.0
#: Below uvicorn's keep-alive timeout (5 s), so the client never reuses a connection the server is
#: closing.
CLIENT_KEEPALIVE_S = 2.0
#: At most this many requests in flight: past it the generator is not keeping its schedule.
MAX_IN_FLIGHT = 2_000


@dataclass
class LoadResult:
    """What the open-loop load saw."""

    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    late_starts: int = 0  # requests the generator started more than 100 ms after their time
    rss: list[tuple[float, int]] = field(default_factory=list)
    seconds: float = 0.0
    failed_keys: list[str] = field(default_factory=list)  # Idempotency-Keys of the errors


async def open_loop(
    gateway: GatewayProcess,
    party: Party,
    consent_ids: list[str],
    rate: float,
    duration: float,
    rss_every: float,
    signer: BankReadSigner,
) -> LoadResult:
    """``rate`` reads a second for ``duration`` seconds, each started at its time and signed by
    the bank then."""
    result = LoadResult()
    total = int(rate * duration)
    in_flight: set[asyncio.Task[None]] = set()
    # aiohttp, not httpx: httpx's pool scans every connection for every request, and at ~90
    # reads/s with hundreds of connections the generator itself fell behind its schedule.
    # Idle connections expire on the client's side first: uvicorn closes one idle for 5 s, and a
    # request sent on it at that moment fails with a ReadError that says nothing of the gateway.

    async def one(bank: Bank[AsyncRunner], i: int, scheduled: float) -> None:
        key = f"soak-{i}"
        try:
            await bank.read(
                LOAD_USCC,
                consent_ids[i % len(consent_ids)],
                LOAD_CATEGORIES,
                LOAD_PURPOSE,
                idempotency_key=key,
            )
        except GatewayUnreachableError as exc:
            cause = exc.__cause__
            result.errors[f"transport: {type(cause).__name__}"] += 1
            result.failed_keys.append(key)
            return
        except AccessDeniedError:
            # The chain's denial: a consent's reads ran out.
            result.latencies.append(loop.time() - scheduled)
            result.statuses["403"] += 1
            return
        except GatewayProblemError as problem:
            result.latencies.append(loop.time() - scheduled)
            result.statuses[str(problem.status)] += 1
            result.errors[f"{problem.status} {problem.code}"] += 1
            result.failed_keys.append(key)
            return
        except UnexpectedAnswerError as odd:
            result.latencies.append(loop.time() - scheduled)
            result.statuses[str(odd.status)] += 1
            result.errors[f"{odd.status} not problem+json"] += 1
            result.failed_keys.append(key)
            return
        result.latencies.append(loop.time() - scheduled)
        result.statuses["200"] += 1

    async def sample_rss(stop: asyncio.Event, started: float) -> None:
        while not stop.is_set():
            result.rss.append((round(loop.time() - started, 1), gateway.rss_kib()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rss_every)

    loop = asyncio.get_running_loop()
    async with AsyncGateway(
        gateway.url, connections=512, keepalive_timeout=CLIENT_KEEPALIVE_S
    ) as client:
        bank = client.bank(party.bank_api_key, party.bank_address, signer=signer)
        started = loop.time()
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(stop, started))
        for i in range(total):
            scheduled = started + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.1:
                result.late_starts += 1
            if len(in_flight) >= MAX_IN_FLIGHT:
                result.errors["generator: too many requests in flight"] += 1
                continue
            task = asyncio.create_task(one(bank, i, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            result.sent += 1
        if in_flight:
            await asyncio.gather(*in_flight)
        result.seconds = loop.time() - started
        stop.set()
        await sampler
    result.rss.append((round(result.seconds, 1), gateway.rss_kib()))
    return result


def audit(node_url: str, deployment: Deployment, journal_url: str) -> dict[str, Any]:
    """The auditor over the whole chain, with the gateway's journal cross-checked."""
    database = JournalDatabase(journal_url)
    try:
        check = JournalCheck(database, deployment.relayers)
        began = time.perf_counter()
        result = Audit(HttpJsonRpc(node_url), deployment, journal=check).run()
        seconds = time.perf_counter() - began
    finally:
        database.close()
    return {
        "findings": len(result.findings),
        "first_findings": [f"{f.code}: {f.message}" for f in result.findings[:5]],
        "events_replayed": result.events_replayed,
        "journal_entries_checked": result.journal.figures.checked if result.journal else 0,
        "seconds": round(seconds, 1),
    }


def open_entries(journal_url: str) -> int:
    database = Database(journal_url)
    try:
        return Journal(database).open_count()
    finally:
        database.close()


def soak(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    bureau_url = seeded_bureau(work)
    with AnvilProcess() as anvil:
        deployment = deploy_on_anvil(AnvilChain(anvil.url), work)
        env = gateway_env(work, anvil.url, bureau_url, batched=True)
        journal_url = env["CONSENTLEDGER_DATABASE_URL"]
        domain = typed_data.Domain(deployment.chain_id, deployment.address)
        gateway = GatewayProcess(env, free_port())
        try:
            gateway.start()
            party = admit(gateway.url)
            ids, _ = asyncio.run(grant_consents(gateway.url, party, domain, BURST_CONSENTS, 8))
            signer = bank_signer(anvil.url, party, deployment.address)
            warm_up(gateway.url, party, signer, ids[0])
            capacity: dict[str, Any] | None = None
            if args.rate is None:
                log(f"capacity: a burst of {BURST_READS} reads from {BURST_CLIENTS} clients")
                capacity = asyncio.run(
                    read_load(gateway.url, party, signer, ids, BURST_READS, BURST_CLIENTS, "burst")
                )
                rate = args.share * capacity["reads_per_second"]
                log(f"capacity {capacity['reads_per_second']} reads/s: soaking at {rate:.0f}/s")
            else:
                rate = args.rate
            # Enough consents that none runs out during the soak (a fifth to spare).
            needed = math.ceil(rate * args.duration * 1.2 / READS_PER_CONSENT)
            fresh, _ = asyncio.run(grant_consents(gateway.url, party, domain, needed, 8))
            log(f"granted {needed} consents for {int(rate * args.duration)} reads")
            load = asyncio.run(
                open_loop(gateway, party, fresh, rate, args.duration, args.rss_every, signer)
            )
            log(f"load done in {load.seconds:.0f} s: {dict(load.statuses)}, errors {load.errors}")
            time.sleep(1)  # nothing is in flight; let the last receipts land
            still_open = open_entries(journal_url)
        finally:
            gateway.stop()
        audited = audit(anvil.url, deployment, journal_url)
    warm = min(60.0, args.duration / 5)
    after_warm = [kib for at, kib in load.rss if at >= warm] or [load.rss[-1][1]]
    rss_growth = 100 * (after_warm[-1] - after_warm[0]) / after_warm[0]
    latencies = sorted(load.latencies)
    achieved = sum(load.statuses.values()) / load.seconds if load.seconds else 0.0
    checks = {
        "zero errors": sum(load.errors.values()) == 0,
        f"RSS flat (within {RSS_LIMIT_PERCENT:g} % after warm-up)": abs(rss_growth)
        <= RSS_LIMIT_PERCENT,
        "no open journal entries": still_open == 0,
        "auditor clean": audited["findings"] == 0,
    }
    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "duration_s": args.duration,
        "capacity": capacity,
        "share": args.share if args.rate is None else None,
        "target_rate": round(rate, 1),
        "achieved_rate": round(achieved, 1),
        "sent": load.sent,
        "statuses": dict(load.statuses),
        "errors": dict(load.errors),
        "error_keys": load.failed_keys[:20],
        "late_starts": load.late_starts,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "rss_kib": load.rss,
        "rss_warm_up_s": warm,
        "rss_growth_percent": round(rss_growth, 1),
        "open_journal_entries": still_open,
        "audit": audited,
        "checks": checks,
        "passed": all(checks.values()),
    }


def table(result: dict[str, Any]) -> Table:
    out = Table(title=f"soak: {result['duration_s']} s on anvil, {result['machine']}")
    out.add_column("what")
    out.add_column("measured", justify="right")
    capacity = result["capacity"]
    if capacity is not None:
        out.add_row("capacity (burst, reads/s)", f"{capacity['reads_per_second']}")
    out.add_row(
        "target / achieved rate (reads/s)", f"{result['target_rate']} / {result['achieved_rate']}"
    )
    out.add_row("reads sent", f"{result['sent']:,}")
    out.add_row("answers", ", ".join(f"{k}: {v:,}" for k, v in result["statuses"].items()))
    out.add_row(
        "latency p50 / p95 / p99 (ms)",
        f"{result['p50_ms']} / {result['p95_ms']} / {result['p99_ms']}",
    )
    first, last = result["rss_kib"][0][1], result["rss_kib"][-1][1]
    out.add_row("RSS first / last (MiB)", f"{first / 1024:.0f} / {last / 1024:.0f}")
    out.add_row("RSS growth after warm-up", f"{result['rss_growth_percent']} %")
    out.add_row(
        "audit",
        f"{result['audit']['events_replayed']:,} events, {result['audit']['findings']} findings",
    )
    for name, ok in result["checks"].items():
        out.add_row(name, "[green]pass[/green]" if ok else "[red]FAIL[/red]")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--rate", type=float, help="reads/s (default: measured capacity x share)")
    parser.add_argument("--share", type=float, default=0.8, help="share of the capacity")
    parser.add_argument("--rss-every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "soak.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consentledger-soak-") as tmp:
        result = soak(args, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    Console().print(table(result))
    print(f"written to {args.out}")
    sys.exit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
