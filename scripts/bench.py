"""The benchmark: the whole system in one run, written to JSON and printed as a table.

Measures, in one run (ratios matter more than absolute numbers on a noisy machine):

1. End-to-end reads through HTTP: the gateway as a uvicorn process (settings by environment),
   an async load generator (aiohttp, N concurrent clients on loopback) posting
   ``/v1/queries`` for post-loan monitoring across many consents: reads/s and p50/p95/p99 latency.
   Batched (the default group commit) and the naive baseline (``BATCH_MAX_ENTRIES=1``,
   ``BATCH_MAX_WAIT_MS=0``) on the same chain, with the ratio. On anvil, and with
   ``--embedded`` also on the gateway's in-process embedded chain; with ``--block-time S`` also
   on an anvil that mines every S seconds (each transaction then waits for a block). On anvil
   the gateway runs ``--workers N`` uvicorn worker processes (default 1), each with its own
   relayer key, the batched and the naive gateway alike; the embedded chain runs one. (On the
   2-core machine, where anvil and the load generator share the cores, a second worker did not
   add reads/s and cost more CPU per read: each worker's batches are half as large.) The
   gateway's CPU per read is summed over its processes (``/proc``: utime + stime).
2. Gas per recorded (bank-signed) read, in 100-entry batches (distinct consents granted, one
   consent granted, distinct consents denied), beside the unsigned figures from before reads were
   signed, and how many reads fit in a 30M-gas block.
3. Audit replay (``scripts/audit_bench.py``): on a ledger recorded straight through the chain
   client, the reader's events/s (fetch + decode), the replay's (+ state model and checks) and
   web3.py's ``contract.events.X.get_logs`` over the same blocks, with the ratio.
4. Consent grants relayed per second through ``POST /v1/consents`` (signed with eth-account,
   concurrent clients), before the read load.
5. The gateway's RSS (VmRSS) before and after the read load (the full mode: after 100,000
   reads).

Modes (``--quick`` finishes in about a minute on a 2-core machine):

* quick: 16 clients, 400 batched reads across 40 consents, 80 naive reads; audit ledger of
  1,000 reads on 10 consents; anvil only.
* full (default): 64 clients, 10,000 batched reads across 1,000 consents (then on to 100,000
  for the RSS), 1,000 naive reads (the
  naive gateway records one transaction per read, so a full 10,000 would take many minutes; the
  rate is what matters); audit ledger of 100,000 reads on 1,000 consents (500 reads per
  transaction; about 5 minutes to record, and web3.py's get_logs takes minutes over it).

    python scripts/bench.py [--quick] [--embedded] [--block-time S] [--workers N] [--out F]
    python scripts/bench.py --markdown out/bench.json   # the README's table from a result
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import HTTPProvider, Web3

from audit_bench import measure, record_ledger
from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.chain.anvil import AnvilChain, AnvilProcess, free_port
from consentledger.chain.client import LedgerClient
from consentledger.chain.clock import BlockClock
from consentledger.chain.deploy import Deployment, deploy_ledger
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.read_signer import BankReadSigner
from consentledger.client import (
    AsyncGateway,
    Bank,
    Gateway,
    GatewayClientError,
    GatewayProblemError,
)
from consentledger.client.http import AsyncRunner
from consentledger.client.models import ReadRequest
from consentledger.gateway import eip712_json
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from consentledger.ledger.types import ConsentTerms
from consentledger.testing.gateway import seeded_bureau
from consentledger.testing.process import GatewayProcess, uvicorn_command
from consentledger.testing.world import build_world

ROOT = Path(__file__).resolve().parent.parent

DAY = 86_400
BLOCK_GAS = 30_000_000
GAS_BATCH = 100

QUICK = {
    "clients": 16,
    "reads": 400,
    "consents": 40,
    "naive_reads": 80,
    "memory_reads": 0,
    "audit_consents": 10,
    "audit_reads": 1000,
    "audit_web3_runs": 2,
    "grant_clients": 4,
}
FULL = {
    "clients": 64,
    "reads": 10_000,
    "consents": 1_000,
    "naive_reads": 1_000,
    "memory_reads": 100_000,
    "audit_consents": 1_000,
    "audit_reads": 100_000,
    "audit_web3_runs": 1,
    "grant_clients": 8,
}

#: Gas per read before reads carried the bank's signature (same batches; README, The ledger), shown
#: beside the signed figures: the contract no longer records an unsigned read.
UNSIGNED_GAS_PER_READ = {
    "distinct_consents_granted": 9_497,
    "one_consent_granted": 4_747,
    "distinct_consents_denied": 6_189,
}

TARGETS = {
    # Gateway CPU (utime + stime, every worker) per recorded read, batched on anvil.
    "gateway_cpu_ms_per_read": 1.0,
    "anvil_reads_per_second": 1_000,
    "anvil_p99_ms": 250,
    "anvil_vs_naive": 20,
    "embedded_reads_per_second": 300,
    "embedded_vs_naive": 10,
    "grants_per_second": 100,
    # Per bank-signed read (the contract checks each read's EIP-712 signature).
    "gas_distinct_granted": 14_000,
    "gas_one_consent_granted": 9_500,
    "audit_events_per_second": 100_000,
    "audit_vs_web3": 50,
    # The replay (model and checks) from a recorded ledger file, no node.
    "audit_recorded_events_per_second": 100_000,
    # The reader's events/s against the node's own eth_getLogs logs/s (a plain HTTP client).
    "audit_reader_vs_node": 0.8,
    "rss_growth_percent": 10,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the gateway process


def deploy_on_anvil(node: AnvilChain, work: Path, relayers: int = 1) -> Deployment:
    """A ledger on ``node`` with a funded regulator and ``relayers`` funded relayers; the
    deployment record and the keys written to ``work`` (where :func:`gateway_env` points a
    gateway): ``relayer.key``, and every relayer key in ``relayers/`` for several workers."""
    regulator = node.new_account()
    keys = [node.new_account() for _ in range(relayers)]
    deployment, _ = deploy_ledger(node.w3, regulator, relayers=[k.address for k in keys])
    deployment.save(work / "deployment.json")
    (work / "relayer.key").write_text(bytes(keys[0].key).hex())
    (work / "regulator.key").write_text(bytes(regulator.key).hex())
    (work / "relayers").mkdir()
    for key in keys:
        (work / "relayers" / f"{key.address}.key").write_text(bytes(key.key).hex())
    return deployment


#: The bearer token of the bench gateway's /rpc (a throwaway: the gateway lives for one run).
BENCH_RPC_TOKEN = secrets.token_urlsafe(24)


def gateway_env(
    work: Path, chain: str, bureau_url: str, *, batched: bool, workers: int = 1
) -> dict[str, str]:
    env = {
        **os.environ,
        "CONSENTLEDGER_ENVIRONMENT": "development",  # the development operator token above
        "CONSENTLEDGER_CHAIN": chain,
        "CONSENTLEDGER_DEPLOYMENT_FILE": str(work / "deployment.json"),
        "CONSENTLEDGER_DATABASE_URL": f"sqlite:///{work / 'gateway.db'}",
        "CONSENTLEDGER_BUREAU_DATABASE_URL": bureau_url,
        "CONSENTLEDGER_WORKERS": str(workers),
        # The bank's signer reads the chain through /rpc (the embedded chain has no node).
        "CONSENTLEDGER_AUDITOR_TOKEN": BENCH_RPC_TOKEN,
    }
    if chain != "embedded":
        if workers > 1:  # one relayer key per worker
            env["CONSENTLEDGER_RELAYER_KEY_DIR"] = str(work / "relayers")
        else:
            env["CONSENTLEDGER_RELAYER_KEY_FILE"] = str(work / "relayer.key")
        env["CONSENTLEDGER_REGULATOR_KEY_FILE"] = str(work / "regulator.key")
    if not batched:
        env["CONSENTLEDGER_BATCH_MAX_ENTRIES"] = "1"
        env["CONSENTLEDGER_BATCH_MAX_WAIT_MS"] = "0"
    return env


# --------------------------------------------------------------------------- parties and consents


@dataclass
class Party:
    bank_address: str
    bank_api_key: str
    subject: bytes
    controller_key: bytes
    #: Signs the bank's read requests (EIP-712 ReadRequest).
    bank_key: bytes


#: The load's read: the showcase enterprise's registration, for post-loan monitoring.
LOAD_USCC = CHIP_DISTRIBUTOR_USCC
LOAD_CATEGORIES = [int(Category.BUSINESS_REGISTRATION)]
LOAD_PURPOSE = "post_loan_monitoring"


def admit(url: str) -> Party:
    """A bank and an enterprise (the showcase chip distributor) with one controller."""
    controller = Account.create()
    with Gateway(url) as gateway:
        operator = gateway.operator(DEVELOPMENT_ADMIN_TOKEN)
        bank = operator.add_bank("bench", name_zh="基准银行", licence_number="B0000H144030001")
        enterprise = operator.register_enterprise(LOAD_USCC, [controller.address])
    if bank.private_key is None:
        raise RuntimeError("the gateway made the bank no key pair")
    return Party(
        bank.address,
        bank.api_key,
        bytes.fromhex(enterprise.subject[2:]),
        bytes(controller.key),
        bytes.fromhex(bank.private_key.removeprefix("0x")),
    )


def signed_consent(party: Party, domain: typed_data.Domain) -> tuple[dict[str, Any], list[str]]:
    """A post-loan monitoring consent (400 reads), signed with eth-account: the message in its
    JSON form and the signature."""
    now = int(time.time())
    terms = ConsentTerms(
        subject=party.subject,
        bank=party.bank_address,
        categories=Category.BUSINESS_REGISTRATION.bit,
        purpose=int(Purpose.POST_LOAN_MONITORING),
        not_before=now - DAY,  # generous windows: the chain's clock runs ahead of the wall's
        expires_at=now + 300 * DAY,
        max_reads=400,
        history_months=12,
        receipt_hash=secrets.token_bytes(32),
        nonce=secrets.randbits(64) << 64,
        deadline=now + 30 * DAY,
    )
    document = typed_data.typed_data(domain, "Consent", terms.message())
    signature = Account.sign_message(encode_typed_data(full_message=document), party.controller_key)
    message = eip712_json.as_json("Consent", terms.message())
    return message, ["0x" + bytes(signature.signature).hex()]


async def grant_consents(
    url: str, party: Party, domain: typed_data.Domain, count: int, clients: int
) -> tuple[list[str], float]:
    """Grant ``count`` consents through ``POST /v1/consents``; (ids, grants per second)."""
    signed = [signed_consent(party, domain) for _ in range(count)]
    ids: list[str] = []
    async with AsyncGateway(url, connections=clients) as gateway:
        # Only relay_grant is used: the consents are signed above, with the controller's key.
        enterprise = gateway.enterprise(LOAD_USCC, [])

        async def worker() -> None:
            while signed:
                message, signatures = signed.pop()
                granted = await enterprise.relay_grant(message, signatures)
                ids.append(granted.consent_id)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - began
    return ids, count / seconds


# --------------------------------------------------------------------------- the read load


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def chain_rpc(gateway_url: str, chain: str) -> str:
    """Where the chain answers JSON-RPC: the node, or the gateway's /rpc for the embedded one."""
    return f"{gateway_url}/rpc" if chain == "embedded" else chain


def bank_signer(rpc: str, party: Party, ledger: str) -> BankReadSigner:
    """The bank's read signer, reading the chain off ``rpc`` (see :func:`chain_rpc`); its
    requests stay valid for 50 minutes of the chain's time, within the ledger's one-hour request
    lifetime."""
    headers = {"Authorization": f"Bearer {BENCH_RPC_TOKEN}"}
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"headers": headers, "timeout": 60}))
    view = LedgerClient(w3, ledger, Account.from_key(party.bank_key))
    return BankReadSigner(view.account, view, lifetime=3000, refresh_s=60)


def load_read(consent_id: str) -> ReadRequest:
    """The load's read: the showcase enterprise's registration, for post-loan monitoring."""
    return ReadRequest(LOAD_USCC, consent_id, LOAD_CATEGORIES, LOAD_PURPOSE)


async def read_load(
    url: str,
    party: Party,
    signer: BankReadSigner,
    consent_ids: list[str],
    reads: int,
    clients: int,
    tag: str,
) -> dict[str, Any]:
    """``reads`` reads, round-robin over the consents, from ``clients`` concurrent clients,
    each signed by the bank (all signed before the clock starts: the gateway's throughput is
    measured, not the load generator's signing).

    The client over aiohttp, not httpx: on a 2-core machine the load generator shares the CPU
    with the gateway and the node, and httpx's client used about as much CPU per request as the
    gateway itself.
    """
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(reads):
        jobs.put_nowait(i)
    signer.sign_ahead(
        (load_read(consent_ids[i % len(consent_ids)]), f"{tag}-{i}") for i in range(reads)
    )
    latencies: list[float] = []
    failures: dict[int, int] = {}

    async def worker(bank: Bank[AsyncRunner]) -> None:
        while True:
            try:
                i = jobs.get_nowait()
            except asyncio.QueueEmpty:
                return
            consent_id = consent_ids[i % len(consent_ids)]
            began = time.perf_counter()
            status = 200
            try:
                await bank.read(
                    LOAD_USCC,
                    consent_id,
                    LOAD_CATEGORIES,
                    LOAD_PURPOSE,
                    idempotency_key=f"{tag}-{i}",
                )
            except GatewayProblemError as problem:
                status = problem.status
            except GatewayClientError:
                status = -1
            latencies.append(time.perf_counter() - began)
            if status != 200:
                failures[status] = failures.get(status, 0) + 1

    async with AsyncGateway(url, connections=clients) as gateway:
        bank = gateway.bank(party.bank_api_key, party.bank_address, signer=signer)
        began, cpu_began = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(bank) for _ in range(clients)))
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    latencies.sort()
    ok = reads - sum(failures.values())
    return {
        "reads": reads,
        "ok": ok,
        "failures": {str(k): v for k, v in failures.items()},
        "clients": clients,
        "consents": len(consent_ids),
        "seconds": round(seconds, 3),
        "reads_per_second": round(ok / seconds, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        # The load generator's own CPU (this process): it shares the machine with the gateway.
        "client_cpu_ms_per_read": round(1000 * cpu / reads, 3),
    }


def warm_up(url: str, party: Party, signer: BankReadSigner, consent_id: str) -> None:
    """One read, which must be granted."""
    with Gateway(url) as gateway:
        bank = gateway.bank(party.bank_api_key, party.bank_address, signer=signer)
        bank.read(LOAD_USCC, consent_id, LOAD_CATEGORIES, LOAD_PURPOSE)


def block_number(chain: str) -> int | None:
    """The node's head (None on the embedded chain, which the gateway holds in-process)."""
    if chain == "embedded":
        return None
    answer = httpx.post(
        chain, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    )
    return int(answer.json()["result"], 16)


def run_gateway(
    env: dict[str, str],
    params: dict[str, int],
    *,
    party: Party | None,
    consent_ids: list[str] | None,
    reads: int,
    tag: str,
) -> tuple[dict[str, Any], Party, list[str]]:
    """Start a gateway, (grant consents,) run the read load, measure RSS and CPU, stop it."""
    port = free_port()
    gateway = GatewayProcess(env, port, uvicorn_command(port, int(env["CONSENTLEDGER_WORKERS"])))
    result: dict[str, Any] = {}
    try:
        gateway.start()
        if party is None:
            party = admit(gateway.url)
        if consent_ids is None:
            record = Deployment.load(Path(env["CONSENTLEDGER_DEPLOYMENT_FILE"]))
            domain = typed_data.Domain(record.chain_id, record.address)
            consent_ids, per_second = asyncio.run(
                grant_consents(
                    gateway.url, party, domain, params["consents"], params["grant_clients"]
                )
            )
            result["grants"] = {
                "count": params["consents"],
                "clients": params["grant_clients"],
                "grants_per_second": round(per_second, 1),
                "path": "POST /v1/consents",
            }
            log(f"{tag}: granted {params['consents']} consents, {per_second:.1f}/s")
        record = Deployment.load(Path(env["CONSENTLEDGER_DEPLOYMENT_FILE"]))
        rpc = chain_rpc(gateway.url, env["CONSENTLEDGER_CHAIN"])
        signer = bank_signer(rpc, party, record.address)
        warm_up(gateway.url, party, signer, consent_ids[0])
        rss_before = gateway.rss_kib()
        first_block = block_number(env["CONSENTLEDGER_CHAIN"])
        cpu_before = gateway.cpu_seconds()
        load_before = os.getloadavg()[0]
        load = asyncio.run(
            read_load(gateway.url, party, signer, consent_ids, reads, params["clients"], tag)
        )
        cpu = gateway.cpu_seconds() - cpu_before
        rss_after = gateway.rss_kib()
        load["workers"] = int(env["CONSENTLEDGER_WORKERS"])
        # The machine's load: CPU per read is steady under it, reads/s is not.
        load["load_average"] = f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}"
        # Summed over the gateway's processes (every worker): CPU is what a 2-core machine
        # shares with the node and the load generator, so it says more than wall time.
        load["gateway_cpu_seconds"] = round(cpu, 2)
        load["gateway_cpu_ms_per_read"] = round(1000 * cpu / max(load["ok"], 1), 2)
        if first_block is not None:
            blocks = (block_number(env["CONSENTLEDGER_CHAIN"]) or 0) - first_block
            load["blocks_mined"] = blocks  # automine: one block per batch transaction
            load["reads_per_block"] = round(load["ok"] / max(blocks, 1), 1)
        load["rss_before_kib"] = rss_before
        load["rss_after_kib"] = rss_after
        load["rss_growth_percent"] = round(100 * (rss_after - rss_before) / rss_before, 1)
        result["reads"] = load
        log(
            f"{tag}: {load['reads_per_second']} reads/s, p99 {load['p99_ms']} ms, "
            f"gateway CPU {load['gateway_cpu_ms_per_read']} ms/read over {load['workers']} "
            f"worker(s), client CPU {load['client_cpu_ms_per_read']} ms/read, "
            f"failures {load['failures']}"
        )
        more = params["memory_reads"] - reads if tag == "batched" else 0
        if more > 0:
            log(f"{tag}: {more} more reads for the memory measurement")
            extra = asyncio.run(
                read_load(
                    gateway.url,
                    party,
                    bank_signer(rpc, party, record.address),  # a fresh deadline
                    consent_ids,
                    more,
                    params["clients"],
                    f"{tag}-memory",
                )
            )
            rss_end = gateway.rss_kib()
            result["memory"] = {
                "reads": params["memory_reads"],
                "failures": extra["failures"],
                "rss_before_kib": rss_before,
                "rss_after_kib": rss_end,
                "rss_growth_percent": round(100 * (rss_end - rss_before) / rss_before, 1),
            }
            log(f"{tag}: RSS {rss_before} -> {rss_end} KiB over {params['memory_reads']} reads")
    finally:
        gateway.stop()
    return result, party, consent_ids


def end_to_end(
    chain: str, work: Path, bureau_url: str, params: dict[str, int], workers: int = 1
) -> dict[str, Any]:
    """Batched and naive on one chain (anvil: a URL; or "embedded"), both with ``workers``
    gateway processes (so the ratio compares like with like)."""
    work.mkdir(parents=True, exist_ok=True)
    if chain == "embedded":
        env = gateway_env(work, chain, bureau_url, batched=True, workers=workers)
        batched, _, _ = run_gateway(
            env,
            params,
            party=None,
            consent_ids=None,
            reads=params["reads"],
            tag="batched",
        )
        # The in-memory embedded chain does not outlive its gateway: the naive gateway deploys
        # a fresh ledger, so it needs its own bank, enterprise and consents.
        naive_work = work / "naive"
        naive_work.mkdir(exist_ok=True)
        naive_params = {**params, "consents": min(params["consents"], 20)}
        env = gateway_env(naive_work, chain, bureau_url, batched=False)
        naive, _, _ = run_gateway(
            env,
            naive_params,
            party=None,
            consent_ids=None,
            reads=params["naive_reads"],
            tag="naive",
        )
        grants = batched.pop("grants")
    else:
        # The naive gateway first, on a fresh chain and journal, then the batched one on the
        # same consents: the batched run goes on to the memory measurement's 100,000 reads, and
        # a naive run after those would meet a chain and a journal a hundred times as large.
        env = gateway_env(work, chain, bureau_url, batched=False, workers=workers)
        naive, party, ids = run_gateway(
            env,
            params,
            party=None,
            consent_ids=None,
            reads=params["naive_reads"],
            tag="naive",
        )
        env = gateway_env(work, chain, bureau_url, batched=True, workers=workers)
        batched, _, _ = run_gateway(
            env,
            params,
            party=party,
            consent_ids=ids,
            reads=params["reads"],
            tag="batched",
        )
        grants = naive.pop("grants")
    ratio = batched["reads"]["reads_per_second"] / max(naive["reads"]["reads_per_second"], 1e-9)
    return {
        "workers": workers,
        "grants": grants,
        "batched": batched,
        "naive": naive,
        "batched_vs_naive": round(ratio, 1),
    }


# --------------------------------------------------------------------------- gas


def gas_per_read() -> dict[str, Any]:
    """tests/contracts/test_gas.py's measurement on the embedded chain (gas is deterministic)."""
    world = build_world(EmbeddedChain(clock=BlockClock.STEADY))
    solo = world.enterprises["solo"]
    bank = world.banks[0]

    def monitoring(max_reads: int = 0) -> bytes:
        terms = world.terms(
            solo,
            bank,
            purpose=Purpose.POST_LOAN_MONITORING,
            categories=[Category.BUSINESS_REGISTRATION],
            max_reads=max_reads,
        )
        return world.grant(terms)

    distinct = [monitoring() for _ in range(GAS_BATCH + 1)]
    single = [monitoring(max_reads=400)]
    figures: dict[str, Any] = {"batch_size": GAS_BATCH}
    for name, consents, purpose in [
        ("distinct_consents_granted", distinct[1:], Purpose.POST_LOAN_MONITORING),
        ("one_consent_granted", single, Purpose.POST_LOAN_MONITORING),
        ("distinct_consents_denied", distinct[1:], Purpose.CREDIT_LIMIT_REVIEW),
    ]:
        one = world.record([world.entry(consents[0], bank, purpose=purpose)])
        entries = [
            world.entry(consents[i % len(consents)], bank, purpose=purpose)
            for i in range(GAS_BATCH)
        ]
        batch = world.record(entries)
        marginal = (batch.mined.gas_used - one.mined.gas_used) // (GAS_BATCH - 1)
        figures[name] = {
            "batch_gas": batch.mined.gas_used,
            "per_read": batch.mined.gas_used // GAS_BATCH,
            "marginal_per_read": marginal,
            "reads_per_30m_block": BLOCK_GAS // marginal,
        }
    return figures


# --------------------------------------------------------------------------- audit


def audit_replay(params: dict[str, Any]) -> dict[str, Any]:
    """The auditor against web3.py's get_logs on one anvil ledger (``scripts/audit_bench.py``)."""
    with AnvilProcess() as node:
        ledger = record_ledger(node.url, params["audit_consents"], params["audit_reads"], log=log)
        log(
            f"audit ledger: {ledger.reads:,} reads on {ledger.consents:,} consents, "
            f"{ledger.transactions:,} transactions, {ledger.seconds:.0f} s"
        )
        return measure(node.url, ledger, runs=3, web3_runs=params["audit_web3_runs"], log=log)


# --------------------------------------------------------------------------- report


def verdicts(result: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, wanted, measured, met) rows."""
    rows: list[tuple[str, str, str, bool | None]] = []

    def add(
        name: str,
        wanted: str,
        value: float | None,
        ok: bool | None,
        unit: str = "",
        digits: int = 1,
    ) -> None:
        shown = "not measured"
        if value is not None:
            shown = f"{value:,.{digits}f}{unit}".replace(".0" + unit, unit)
        rows.append((name, wanted, shown, ok))

    anvil = result.get("end_to_end", {}).get("anvil")
    cpu = anvil["batched"]["reads"].get("gateway_cpu_ms_per_read") if anvil else None
    add(
        "anvil: gateway CPU per read",
        f"<= {TARGETS['gateway_cpu_ms_per_read']} ms",
        cpu,
        None if cpu is None else cpu <= TARGETS["gateway_cpu_ms_per_read"],
        " ms",
        digits=2,
    )
    for chain, rate_target, ratio_target in [
        ("anvil", TARGETS["anvil_reads_per_second"], TARGETS["anvil_vs_naive"]),
        ("embedded", TARGETS["embedded_reads_per_second"], TARGETS["embedded_vs_naive"]),
    ]:
        e2e = result.get("end_to_end", {}).get(chain)
        rate = e2e["batched"]["reads"]["reads_per_second"] if e2e else None
        ratio = e2e["batched_vs_naive"] if e2e else None
        add(
            f"{chain}: reads/s",
            f">= {rate_target:,}",
            rate,
            None if rate is None else rate >= rate_target,
        )
        if chain == "anvil":
            p99 = e2e["batched"]["reads"]["p99_ms"] if e2e else None
            add(
                "anvil: p99 latency",
                f"<= {TARGETS['anvil_p99_ms']} ms",
                p99,
                None if p99 is None else p99 <= TARGETS["anvil_p99_ms"],
                " ms",
            )
        add(
            f"{chain}: batched vs naive",
            f">= {ratio_target}x",
            ratio,
            None if ratio is None else ratio >= ratio_target,
            "x",
        )
    grants = anvil["grants"]["grants_per_second"] if anvil else None
    add(
        "anvil: consent grants/s (POST /v1/consents)",
        f">= {TARGETS['grants_per_second']}",
        grants,
        None if grants is None else grants >= TARGETS["grants_per_second"],
    )
    gas = result.get("gas")
    for key, target_key in [
        ("distinct_consents_granted", "gas_distinct_granted"),
        ("one_consent_granted", "gas_one_consent_granted"),
    ]:
        value = gas[key]["per_read"] if gas else None
        add(
            f"gas per read, {key.replace('_', ' ')}",
            f"<= {TARGETS[target_key]:,}",
            value,
            None if value is None else value <= TARGETS[target_key],
        )
    audit = result.get("audit") or {}
    for key, name, target_key, unit in [
        (
            "reader_events_per_second",
            "audit reader events/s (fetch + decode)",
            "audit_events_per_second",
            "",
        ),
        (
            "replay_events_per_second",
            "audit replay events/s (+ model, checks)",
            "audit_events_per_second",
            "",
        ),
        (
            "recorded_replay_events_per_second",
            "audit replay from a recorded file, events/s",
            "audit_recorded_events_per_second",
            "",
        ),
        (
            "reader_vs_node_raw",
            "audit reader vs the node's raw eth_getLogs",
            "audit_reader_vs_node",
            "x",
        ),
        ("reader_vs_web3", "audit reader vs web3 get_logs", "audit_vs_web3", "x"),
    ]:
        value = audit.get(key)
        target = TARGETS[target_key]
        add(name, f">= {target:,}{unit}", value, None if value is None else value >= target, unit)
    e2e = result.get("end_to_end", {}).get("anvil")
    # Over the memory run (100,000 reads in the full mode) when there was one, else the load.
    memory = (e2e["batched"].get("memory") or e2e["batched"]["reads"]) if e2e else None
    growth = memory["rss_growth_percent"] if memory else None
    add(
        f"gateway RSS growth over {memory['reads'] if memory else 'the'} reads",
        f"<= {TARGETS['rss_growth_percent']} %",
        growth,
        None if growth is None else growth <= TARGETS["rss_growth_percent"],
        " %",
    )
    return rows


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Measured with `scripts/bench.py{result.get('options', '')}`"
        f" on {result['machine']} ({result['when']}).",
        "",
        "| Target | Wanted | Measured | Met |",
        "| --- | --- | --- | --- |",
    ]
    for name, wanted, measured, ok in verdicts(result):
        met = "n/a" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| {name} | {wanted} | {measured} | {met} |")
    lines += ["", "| Measurement | Value |", "| --- | --- |"]
    for chain, e2e in result.get("end_to_end", {}).items():
        for kind in ("batched", "naive"):
            r = e2e[kind]["reads"]
            lines.append(
                f"| {chain} {kind}: {r['ok']}/{r['reads']} reads, {r['clients']} clients, "
                f"{r['consents']} consents | {r['reads_per_second']:,} reads/s, p50/p95/p99 "
                f"{r['p50_ms']}/{r['p95_ms']}/{r['p99_ms']} ms, gateway CPU "
                f"{r.get('gateway_cpu_ms_per_read', '?')} ms per read, RSS "
                f"{r['rss_before_kib'] // 1024}"
                f" -> {r['rss_after_kib'] // 1024} MiB"
                + (f", {r['reads_per_block']} reads per block" if "reads_per_block" in r else "")
                + (f", load average {r['load_average']}" if "load_average" in r else "")
                + " |"
            )
        lines.append(f"| {chain}: batched vs naive | {e2e['batched_vs_naive']}x |")
        memory = e2e["batched"].get("memory")
        if memory:
            lines.append(
                f"| {chain}: gateway RSS over {memory['reads']:,} reads (failures "
                f"{memory['failures'] or 'none'}) | {memory['rss_before_kib'] // 1024} -> "
                f"{memory['rss_after_kib'] // 1024} MiB ({memory['rss_growth_percent']} %); "
                f"{e2e['batched']['reads']['rss_after_kib'] // 1024} MiB after the first "
                f"{e2e['batched']['reads']['reads']:,} |"
            )
        grants = e2e.get("grants") or e2e["batched"].get("grants")
        if grants:
            lines.append(
                f"| {chain}: consent grants via {grants['path']} ({grants['clients']} clients) "
                f"| {grants['grants_per_second']:,}/s |"
            )
    gas = result.get("gas")
    if gas:
        for key in ("distinct_consents_granted", "one_consent_granted", "distinct_consents_denied"):
            g = gas[key]
            lines.append(
                f"| gas, {key.replace('_', ' ')} (100-read batch) | {g['per_read']:,} per signed "
                f"read (unsigned: {UNSIGNED_GAS_PER_READ[key]:,}; marginal "
                f"{g['marginal_per_read']:,}), {g['reads_per_30m_block']:,} reads per 30M-gas "
                "block |"
            )
    audit = result.get("audit")
    if audit and "ledger_consents" not in audit:  # an older result file (one ledger)
        lines.append(
            f"| audit, {audit['events']:,} events ({audit['ledger_reads']:,} reads) | replay "
            f"{audit['replay_events_per_second']:,}/s; reader (fetch + decode) "
            f"{audit['reader_events_per_second']:,}/s vs web3 get_logs "
            f"{audit['web3_get_logs_events_per_second']:,}/s ({audit['reader_vs_web3']}x) |"
        )
    elif audit:
        lines.append(
            f"| audit ledger | {audit['events']:,} events: {audit['ledger_reads']:,} reads on "
            f"{audit['ledger_consents']:,} consents ({audit['ledger_revoked']} revoked), "
            f"{audit['ledger_blocks']:,} blocks, recorded in {audit['ledger_seconds']:,} s |"
        )
        lines.append(
            f"| audit speed (load average {audit['load_average']}) | reader (fetch + decode) "
            f"{audit['reader_events_per_second']:,} events/s; replay (+ state model and checks) "
            f"{audit['replay_events_per_second']:,} events/s; state model alone "
            f"{audit['model_events_per_second']:,} events/s |"
        )
        if "recorded_replay_events_per_second" in audit:
            lines.append(
                f"| audit against the node and without it | the node's own eth_getLogs "
                f"{audit['node_raw_get_logs_per_second']:,} logs/s (plain HTTP client, nothing "
                f"parsed), the reader {audit['reader_vs_node_raw']}x of it; the replay from the "
                f"recorded file ({audit['recorded_file_mib']} MiB) "
                f"{audit['recorded_replay_events_per_second']:,} events/s |"
            )
        lines.append(
            f"| audit vs web3.py, {audit['web3_get_logs_events']:,} events in "
            f"{audit['web3_blocks']:,} blocks | web3 get_logs "
            f"{audit['web3_get_logs_events_per_second']:,} events/s, reader "
            f"{audit['reader_same_blocks_events_per_second']:,} events/s: "
            f"{audit['reader_vs_web3']}x; client CPU per event {audit['web3_cpu_us_per_event']}"
            f" vs {audit['reader_cpu_us_per_event']} us: {audit['reader_vs_web3_cpu']}x |"
        )
    return "\n".join(lines)


def table(result: dict[str, Any]) -> str:
    rows = verdicts(result)
    width = max(len(r[0]) for r in rows)
    out = [f"{'target':<{width}}  {'wanted':>12}  {'measured':>14}  met"]
    for name, wanted, measured, ok in rows:
        met = "n/a" if ok is None else ("yes" if ok else "NO")
        out.append(f"{name:<{width}}  {wanted:>12}  {measured:>14}  {met}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small parameters, about a minute")
    parser.add_argument("--embedded", action="store_true", help="also the embedded chain")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench.json")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["anvil", "gas", "audit"],
        help="leave a part out",
    )
    parser.add_argument(
        "--block-time",
        type=int,
        metavar="S",
        help="also end to end on an anvil that mines a block every S seconds (automine off): "
        "a chain where each transaction waits for a block",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="gateway worker processes on anvil, each with its own relayer key, for the batched "
        "and the naive gateway alike (default 1; the embedded chain always runs 1)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="JSON",
        help="print the README table of a result file and exit",
    )
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return
    params = QUICK if args.quick else FULL
    workers = 1 if args.workers is None else args.workers
    if workers < 1:
        parser.error("--workers must be at least 1")
    result: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "params": params,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "targets": TARGETS,
        "options": "".join(
            [
                " --quick" if args.quick else "",
                " --embedded" if args.embedded else "",
                f" --block-time {args.block_time}" if args.block_time else "",
                f" --workers {workers}",
                *(f" --skip {part}" for part in args.skip),
            ]
        ),
        "end_to_end": {},
    }
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="consentledger-bench-") as tmp:
        work = Path(tmp)
        bureau_url = seeded_bureau(work)
        if "anvil" not in args.skip:
            with AnvilProcess() as anvil:
                anvil_work = work / "anvil"
                anvil_work.mkdir()
                deploy_on_anvil(AnvilChain(anvil.url), anvil_work, workers)
                result["end_to_end"]["anvil"] = end_to_end(
                    anvil.url, anvil_work, bureau_url, params, workers
                )
        if args.block_time:
            with AnvilProcess(extra_args=("--block-time", str(args.block_time))) as anvil:
                anvil_work = work / "anvil-blocks"
                anvil_work.mkdir()
                deploy_on_anvil(AnvilChain(anvil.url), anvil_work, workers)
                result["end_to_end"][f"anvil, {args.block_time} s blocks"] = end_to_end(
                    anvil.url, anvil_work, bureau_url, params, workers
                )
        if args.embedded:
            result["end_to_end"]["embedded"] = end_to_end(
                "embedded", work / "embedded", bureau_url, params
            )
        if "gas" not in args.skip:
            log("gas per read")
            result["gas"] = gas_per_read()
        if "audit" not in args.skip:
            log("audit replay")
            result["audit"] = audit_replay(params)
    result["seconds"] = round(time.perf_counter() - began, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\n{result['mode']} run in {result['seconds']} s; written to {args.out}")


if __name__ == "__main__":
    main()
