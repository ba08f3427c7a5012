"""Measure the auditor's replay speed on a real anvil node.

Starts anvil and records a ledger straight through the chain client: ``--consents`` consents for
post-loan monitoring (one enterprise each, alternating between two banks), then ``--reads`` reads
in batches of ``--batch`` entries per transaction, round-robin over the consents. About one read
in ten asks for a category the consent does not grant (denied), and one consent in fifty is
revoked halfway through, so its later reads are denied too. Then it audits the ledger over HTTP
JSON-RPC and prints:

* replay: the auditor's own figure, fetch + decode + state model + checks (best of ``--runs``);
* reader: fetch + decode alone (best of ``--runs``), and the state model alone;
* node: the node's own ``eth_getLogs`` rate over the same blocks with a plain HTTP client (the
  bytes received, nothing parsed), and the reader's share of it;
* recorded: the replay from a recorded ledger file (the auditor's own recording of the node's
  answers, served again without a node);
* web3: web3.py's ``contract.events.X.get_logs`` for every event type over the same blocks
  (1,000-block ranges), against the reader over those same blocks, with the ratio.

    python scripts/audit_bench.py [--consents 1000] [--reads 100000] [--batch 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eth_account import Account

from consentledger.audit.recorded import RecordedJsonRpc, RecordingJsonRpc
from consentledger.audit.replay import Replayer
from consentledger.audit.runner import Audit
from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.chain.client import LedgerClient
from consentledger.chain.deploy import Deployment
from consentledger.chain.jsonrpc import HttpJsonRpc
from consentledger.chain.log_reader import DEFAULT_BLOCK_RANGE, LedgerEvent
from consentledger.ledger.types import AccessEntry, record_accesses_args
from consentledger.testing.world import DAY, Enterprise, World, build_world

#: Entries per recordAccesses transaction (about 12,600 gas each: 500 fit a 30M-gas block twice).
BATCH = 500
#: One consent in this many is revoked halfway through the reads.
REVOKE_EVERY = 50
#: One read in this many asks for a category its consent does not grant.
DENY_EVERY = 10


@dataclass(frozen=True)
class BenchLedger:
    """A recorded ledger: the world that made it and what it holds."""

    world: World
    consents: int
    reads: int
    revoked: int
    transactions: int
    seconds: float

    @property
    def deployment(self) -> Deployment:
        return self.world.deployment


def _send_all(client: LedgerClient, calls: list[tuple[str, tuple[Any, ...]]]) -> int:
    """Send ``calls`` one after the other without waiting for each receipt (anvil mines each
    as it arrives; a call that would revert raises at its gas estimate), then wait for the last
    one, which is mined only after all the others. Returns the number sent."""
    last = None
    for name, args in calls:
        last = client.send(name, *args)
    if last is not None:
        client.wait(last)
    return len(calls)


def record_ledger(
    url: str,
    consents: int,
    reads: int,
    *,
    batch: int = BATCH,
    log: Callable[[str], None] | None = None,
) -> BenchLedger:
    """Deploy a ledger on the node at ``url`` and record ``reads`` reads across ``consents``
    consents (see the module's docstring for its shape)."""
    say = log or (lambda _message: None)
    started = time.perf_counter()
    world = build_world(AnvilChain(url))
    bureau = world.bureau
    enterprises = [
        Enterprise(f"e{i}", secrets.token_bytes(32), [Account.create()], 1) for i in range(consents)
    ]
    sent = _send_all(
        bureau,
        [("registerEnterprise", (e.subject, [e.controllers[0].address], 1)) for e in enterprises],
    )
    say(f"registered {consents} enterprises ({time.perf_counter() - started:.0f} s)")
    expires_at = world.now() + 300 * DAY
    ids: list[bytes] = []
    grants: list[tuple[str, tuple[Any, ...]]] = []
    for i, enterprise in enumerate(enterprises):
        terms = world.terms(
            enterprise,
            world.banks[i % 2],
            categories=[Category.SOCIAL_INSURANCE, Category.TAX],
            purpose=Purpose.POST_LOAN_MONITORING,
            expires_at=expires_at,
            history_months=12,
        )
        document = bureau.consent_document(terms)
        ids.append(typed_data.digest(document))
        grants.append(("grantConsent", (terms.as_tuple(), enterprise.sign(document))))
    sent += _send_all(bureau, grants)
    say(f"granted {consents} consents ({time.perf_counter() - started:.0f} s)")
    revoked = list(range(0, consents, REVOKE_EVERY))
    halfway = reads // 2 // batch * batch
    recorded = 0
    while recorded < reads:
        if recorded == halfway:
            sent += _send_all(bureau, [_revocation(world, enterprises[i], ids[i]) for i in revoked])
        entries: list[AccessEntry] = []
        for n in range(recorded, min(recorded + batch, reads)):
            index = n % consents
            categories = [Category.CUSTOMS] if n % DENY_EVERY == 0 else [Category.TAX]
            entries.append(
                world.entry(
                    ids[index],
                    world.banks[index % 2],
                    categories=categories,
                    purpose=Purpose.POST_LOAN_MONITORING,
                )
            )
        sent += _send_all(bureau, [("recordAccesses", record_accesses_args(entries))])
        recorded += len(entries)
        if recorded % (20 * batch) == 0 or recorded == reads:
            say(f"recorded {recorded:,} reads ({time.perf_counter() - started:.0f} s)")
    return BenchLedger(world, consents, recorded, len(revoked), sent, time.perf_counter() - started)


def _revocation(
    world: World, enterprise: Enterprise, consent_id: bytes
) -> tuple[str, tuple[Any, ...]]:
    nonce = world.model.nonce(enterprise.subject, secrets.randbits(64))
    deadline = world.now() + DAY
    document = world.bureau.action_document("Revocation", consent_id, nonce, deadline)
    return ("revokeConsent", (consent_id, nonce, deadline, enterprise.sign(document)))


def _time_reader(
    url: str, deployment: Deployment, first: int, last: int, runs: int
) -> tuple[float, int, float]:
    """(best seconds, events, CPU seconds of that run) of the reader over blocks
    ``first..last``, each item consumed and dropped as the replay does."""
    best = (float("inf"), 0, 0.0)
    for _ in range(runs):
        rpc = HttpJsonRpc(url)
        reader = Audit(rpc, deployment).reader
        began, cpu = time.perf_counter(), time.process_time()
        events = 0
        for item in reader.read(first, last):
            if isinstance(item, LedgerEvent):
                events += 1
        seconds = time.perf_counter() - began
        if seconds < best[0]:
            best = (seconds, events, time.process_time() - cpu)
        rpc.close()
    return best


def raw_get_logs(url: str, deployment: Deployment, first: int, last: int) -> tuple[int, float]:
    """(logs, seconds) of the node's own ``eth_getLogs`` answers for blocks ``first..last``
    fetched with a plain HTTP client (the standard library's, one connection, the reader's
    1,000-block ranges in turn), the bytes received and nothing parsed: the node's rate, which no
    reader of it can beat. The logs are counted afterwards, untimed."""
    target = urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80)
    answers: list[bytes] = []
    began = time.perf_counter()
    for start in range(first, last + 1, DEFAULT_BLOCK_RANGE):
        query = {
            "address": deployment.address,
            "fromBlock": hex(start),
            "toBlock": hex(min(last, start + DEFAULT_BLOCK_RANGE - 1)),
        }
        body = json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [query]}
        ).encode()
        connection.request("POST", target.path or "/", body, {"Content-Type": "application/json"})
        answers.append(connection.getresponse().read())
    seconds = time.perf_counter() - began
    connection.close()
    return sum(len(json.loads(answer)["result"]) for answer in answers), seconds


def recorded_replay(
    url: str, deployment: Deployment, path: Path, runs: int
) -> tuple[float, int, int]:
    """Record an audit of the node's ledger into the file ``path`` (the auditor's own recording:
    every answer it needed), then replay the file ``runs`` times: (best events/s of the replay,
    events, the file's bytes)."""
    recording = RecordingJsonRpc(HttpJsonRpc(url))
    Audit(recording, deployment).run()
    recording.save(path)
    recording.close()
    best = 0.0
    events = 0
    for _ in range(runs):
        result = Audit(RecordedJsonRpc.load(path), deployment).run()
        if not result.clean:
            raise RuntimeError(f"the recorded ledger is not clean: {result.findings[:3]}")
        best = max(best, result.events_per_second)
        events = result.events_replayed
    return best, events, path.stat().st_size


def web3_get_logs(
    url: str, deployment: Deployment, first: int, last: int
) -> tuple[int, float, float]:
    """(events, seconds, CPU seconds) for web3.py's ``contract.events.X.get_logs`` of every
    event type over blocks ``first..last`` in 1,000-block ranges."""
    chain = AnvilChain(url)
    contract = LedgerClient(chain.w3, deployment.address, Account.create()).contract
    names = [str(e.get("name")) for e in contract.abi if e.get("type") == "event"]
    events = 0
    began, cpu = time.perf_counter(), time.process_time()
    for name in names:
        event = getattr(contract.events, name)
        for start in range(first, last + 1, 1000):
            events += len(event.get_logs(from_block=start, to_block=min(start + 999, last)))
    return events, time.perf_counter() - began, time.process_time() - cpu


def measure(
    url: str,
    ledger: BenchLedger,
    *,
    runs: int = 3,
    web3_runs: int = 1,
    web3_blocks: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Audit ``ledger`` on the node at ``url``: the replay, the reader, the model alone, and
    web3.py's get_logs over the last ``web3_blocks`` blocks (None: all), each timed."""
    say = log or (lambda _message: None)
    load_before = os.getloadavg()[0]
    deployment = ledger.deployment
    best_replay = None
    audit_seconds = 0.0
    for _ in range(runs):
        rpc = HttpJsonRpc(url)
        began = time.perf_counter()
        result = Audit(rpc, deployment).run()
        total = time.perf_counter() - began
        rpc.close()
        if not result.clean:
            raise RuntimeError(f"the benchmark ledger is not clean: {result.findings[:3]}")
        if best_replay is None or result.replay_seconds < best_replay.replay_seconds:
            best_replay, audit_seconds = result, total
    assert best_replay is not None
    say(f"replay: {best_replay.events_per_second:,.0f} events/s")
    # The reader alone (fetch + decode, its items consumed as the auditor consumes them), then
    # the state model alone on its events.
    first = deployment.deploy_block
    head = best_replay.window_last
    reader_seconds, events, reader_cpu = _time_reader(url, deployment, first, head, runs)
    say(f"reader: {events / reader_seconds:,.0f} events/s")
    # The node's own eth_getLogs rate over the same blocks, just before or after the reader's
    # best run (best of as many runs), and the replay from a recorded ledger file (no node).
    raw_logs, raw_seconds = min(
        (raw_get_logs(url, deployment, first, head) for _ in range(runs)), key=lambda r: r[1]
    )
    say(f"node raw eth_getLogs: {raw_logs / raw_seconds:,.0f} logs/s")
    with tempfile.TemporaryDirectory(prefix="consentledger-audit-bench-") as tmp:
        recorded_rate, recorded_events, recorded_bytes = recorded_replay(
            url, deployment, Path(tmp) / "ledger.json", runs
        )
    say(f"replay from the recorded file: {recorded_rate:,.0f} events/s")
    rpc = HttpJsonRpc(url)
    items = list(Audit(rpc, deployment).reader.read(first, head))
    rpc.close()
    replay = Replayer(deployment)
    began = time.perf_counter()
    for item in items:
        replay.apply(item)
    model_seconds = time.perf_counter() - began
    # web3.py against the reader on the same blocks.
    web3_first = first if web3_blocks is None else max(first, head - web3_blocks + 1)
    web3_seconds, web3_cpu = float("inf"), 0.0
    web3_events = 0
    for _ in range(web3_runs):
        web3_events, seconds, cpu = web3_get_logs(url, deployment, web3_first, head)
        if seconds < web3_seconds:
            web3_seconds, web3_cpu = seconds, cpu
    same_seconds, same_events, same_cpu = reader_seconds, events, reader_cpu
    if web3_first != first:
        same_seconds, same_events, same_cpu = _time_reader(url, deployment, web3_first, head, runs)
    if same_events != web3_events:
        raise RuntimeError(f"web3 found {web3_events} events where the reader found {same_events}")
    reader_rate = events / reader_seconds
    web3_rate = web3_events / web3_seconds
    say(f"web3 get_logs: {web3_rate:,.0f} events/s")
    return {
        "load_average": f"{load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        "ledger_reads": ledger.reads,
        "ledger_consents": ledger.consents,
        "ledger_revoked": ledger.revoked,
        "ledger_transactions": ledger.transactions,
        "ledger_blocks": head - first + 1,
        "ledger_seconds": round(ledger.seconds, 1),
        "events": best_replay.events_replayed,
        "replay_seconds": round(best_replay.replay_seconds, 3),
        "replay_events_per_second": round(best_replay.events_per_second),
        "audit_seconds": round(audit_seconds, 3),
        "reader_events_per_second": round(reader_rate),
        "node_raw_get_logs_per_second": round(raw_logs / raw_seconds),
        "reader_vs_node_raw": round(reader_rate / (raw_logs / raw_seconds), 2),
        "recorded_replay_events_per_second": round(recorded_rate),
        "recorded_events": recorded_events,
        "recorded_file_mib": round(recorded_bytes / 2**20, 1),
        "model_events_per_second": round(events / model_seconds),
        "web3_blocks": head - web3_first + 1,
        "web3_get_logs_events": web3_events,
        "web3_get_logs_events_per_second": round(web3_rate),
        "reader_same_blocks_events_per_second": round(same_events / same_seconds),
        "reader_vs_web3": round(same_events / same_seconds / web3_rate, 1),
        # Client CPU per event (all threads), which the machine's load disturbs far less than
        # wall time: the reader and web3 are timed minutes apart.
        "reader_cpu_us_per_event": round(1e6 * reader_cpu / events, 1),
        "web3_cpu_us_per_event": round(1e6 * web3_cpu / web3_events, 1),
        "reader_vs_web3_cpu": round(web3_cpu / web3_events / (same_cpu / same_events), 1),
        "replay_vs_web3": round(best_replay.events_per_second / web3_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consents", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=BATCH, help="entries per transaction")
    parser.add_argument("--runs", type=int, default=3, help="audits to time (best is reported)")
    parser.add_argument("--web3-runs", type=int, default=1)
    parser.add_argument(
        "--web3-blocks", type=int, default=None, help="web3 over the last N blocks (default: all)"
    )
    args = parser.parse_args()

    def say(message: str) -> None:
        print(message, flush=True)

    with AnvilProcess() as node:
        ledger = record_ledger(node.url, args.consents, args.reads, batch=args.batch, log=say)
        say(f"ledger: {ledger.reads:,} reads on {ledger.consents:,} consents "
            f"({ledger.revoked} revoked), {ledger.transactions:,} transactions, "
            f"{ledger.seconds:.0f} s")  # fmt: skip
        figures = measure(
            node.url,
            ledger,
            runs=args.runs,
            web3_runs=args.web3_runs,
            web3_blocks=args.web3_blocks,
            log=say,
        )
    for key, value in figures.items():
        print(f"  {key}: {value:,}" if isinstance(value, int) else f"  {key}: {value}")


if __name__ == "__main__":
    main()
