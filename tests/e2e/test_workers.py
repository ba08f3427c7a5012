"""Several gateway workers on one anvil node and one journal, each with its own relayer key.

``consentledger serve --workers 2`` serves reads recorded by both relayers; two workers (processes
on their own ports, to choose who gets which request) answer each other's Idempotency-Keys with
the first request's outcome; one SIGKILLed with reads in flight and restarted reclaims its key and
settles only its own entries while the other keeps serving; a third finds no free key. Every time
the journal is the chain and the auditor (journal cross-check included) finds nothing."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account.signers.local import LocalAccount

from consentledger.chain.anvil import AnvilChain, free_port
from consentledger.chain.client import LedgerClient
from consentledger.chain.deploy import Deployment, deploy_ledger
from consentledger.cli import main
from consentledger.client import Gateway as ClientGateway
from consentledger.client import OutcomePendingError
from consentledger.gateway.relayer_keys import new_relayer_key_file
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from consentledger.journal.schema import ReadStatus
from consentledger.ledger.types import ROLE_BUREAU
from consentledger.testing.process import GatewayProcess, GatewayProcessError
from tests.harness.processes import (
    assert_audit_is_clean,
    consented_read,
    journal_entries,
    recorded_reads,
)

OPEN = (ReadStatus.PENDING, ReadStatus.BATCHED)


def _ledger_with_relayers(
    node: AnvilChain, data_dir: Path, relayers: int
) -> tuple[Deployment, list[LocalAccount], LocalAccount]:
    """A ledger whose bureau role is held by ``relayers`` funded keys, kept in
    ``data_dir/keys/relayers``; the deployment record in ``data_dir``. Also returns a separate
    funded account that relays consents."""
    regulator, relay = node.new_account(), node.new_account()
    keys = [node.new_account() for _ in range(relayers)]
    deployment, _ = deploy_ledger(node.w3, regulator, relayers=[k.address for k in keys])
    deployment.save(data_dir / "deployment.json")
    (data_dir / "regulator.key").write_text(bytes(regulator.key).hex())
    key_dir = data_dir / "keys" / "relayers"
    key_dir.mkdir(parents=True)
    for key in keys:
        (key_dir / f"{key.address}.key").write_text(bytes(key.key).hex())
    return deployment, keys, relay


def _env(
    node: AnvilChain, data_dir: Path, bureau_url: str, journal_url: str | None = None
) -> dict[str, str]:
    return {
        **os.environ,
        "CONSENTLEDGER_CHAIN": node.url,
        "CONSENTLEDGER_DEPLOYMENT_FILE": str(data_dir / "deployment.json"),
        "CONSENTLEDGER_RELAYER_KEY_DIR": str(data_dir / "keys" / "relayers"),
        "CONSENTLEDGER_REGULATOR_KEY_FILE": str(data_dir / "regulator.key"),
        "CONSENTLEDGER_DATABASE_URL": journal_url or f"sqlite:///{data_dir / 'gateway.db'}",
        "CONSENTLEDGER_BUREAU_DATABASE_URL": bureau_url,
        "CONSENTLEDGER_BATCH_MAX_WAIT_MS": "20",
        "CONSENTLEDGER_BATCH_MAX_ENTRIES": "8",
    }


def _journal_is_the_chain(
    node: AnvilChain, deployment: Deployment, url: str
) -> dict[str, Counter[str]]:
    """Every entry resolved; granted entries and DataAccessed events match one to one, for every
    relayer; the auditor (with the journal at ``url``) finds nothing. Returns each relayer's
    statuses."""
    entries = journal_entries(url)
    assert {e.status for e in entries} <= {ReadStatus.GRANTED, ReadStatus.FAILED}
    granted = {
        int(e.query_id or "0x0", 16): e.response_hash
        for e in entries
        if e.status == ReadStatus.GRANTED
    }
    recorded: dict[int, str] = {}
    for relayer in deployment.relayers:
        recorded |= recorded_reads(node, deployment.address, relayer)
    assert granted == recorded, "a release without its record, or the reverse"
    for entry in entries:
        if entry.query_id is not None:  # the query id is the relayer's that journaled it
            assert int(entry.query_id, 16) >> 96 == int(entry.relayer or "0x0", 16)
    assert_audit_is_clean(node, deployment, url)
    by_relayer: dict[str, Counter[str]] = {}
    for entry in entries:
        by_relayer.setdefault(entry.relayer or "", Counter())[str(entry.status)] += 1
    return by_relayer


@pytest.mark.slow
def test_serve_with_two_workers_records_reads_with_both_relayers(
    node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    deployment, keys, relay = _ledger_with_relayers(node, data_dir, 2)
    env = _env(node, data_dir, bureau_url)
    del env["CONSENTLEDGER_RELAYER_KEY_DIR"]  # serve finds them in the data directory
    env["CONSENTLEDGER_ADMIN_TOKEN"] = DEVELOPMENT_ADMIN_TOKEN  # development mode accepts it
    port = free_port()
    command = [
        *(sys.executable, "-m", "consentledger.cli", "serve", "--chain", node.url),
        *("--data-dir", str(data_dir), "--port", str(port), "--workers", "2"),
    ]
    service = GatewayProcess(env, port, command)
    try:
        service.start()
        consented = consented_read(service, node, deployment, relay)
        statuses: list[int | None] = []
        with ThreadPoolExecutor(max_workers=12) as pool:
            for round_ in range(5):  # until both workers took reads (the kernel picks)
                keys_ = [f"r{round_}-{i}" for i in range(24)]
                statuses += pool.map(lambda key: consented.status(service.url, key), keys_)
                relayers = {e.relayer for e in journal_entries(env["CONSENTLEDGER_DATABASE_URL"])}
                if relayers == {k.address for k in keys}:
                    break
        assert set(statuses) == {200}
        assert relayers == {k.address for k in keys}, "one worker took every read"
    finally:
        service.stop()
    by_relayer = _journal_is_the_chain(node, deployment, env["CONSENTLEDGER_DATABASE_URL"])
    assert all(counts[ReadStatus.GRANTED] > 0 for counts in by_relayer.values())


@pytest.mark.slow
def test_a_killed_worker_settles_only_its_own_reads_while_the_other_serves(
    node: AnvilChain, bureau_url: str, tmp_path: Path, journal_url: str
) -> None:
    data_dir = tmp_path / "data"
    deployment, _keys, relay = _ledger_with_relayers(node, data_dir, 2)
    env = _env(node, data_dir, bureau_url, journal_url)
    first, second = GatewayProcess(env), GatewayProcess(env)
    third = GatewayProcess(env)
    try:
        first.start()
        second.start()
        consented = consented_read(first, node, deployment, relay)

        def read(gateway: GatewayProcess, key: str) -> int | None:
            return consented.status(gateway.url, key)

        assert read(second, "warm-up") == 200
        # The workers share the regulator's key: each admits a bank, then the first again.
        for index, (gateway, name) in enumerate(((second, "B2"), (first, "B3"))):
            with ClientGateway(gateway.url, timeout=30) as api:
                assert (
                    api.operator(DEVELOPMENT_ADMIN_TOKEN)
                    .add_bank(name, name_zh=f"{name}银行", licence_number=f"B{index:04d}H144030001")
                    .name
                    == name
                )
        # A key answered by one worker gets the same answer from the other.
        assert read(first, "asked-twice") == 200
        assert consented.status(second.url, "asked-twice") == 200
        second_relayer = {
            e.relayer for e in journal_entries(journal_url) if e.idempotency_key == "warm-up"
        }

        first_keys = [f"first-{i}" for i in range(80)]
        second_keys = [f"second-{i}" for i in range(60)]
        with ThreadPoolExecutor(max_workers=24) as pool:
            on_first = [pool.submit(read, first, key) for key in first_keys]
            deadline = time.monotonic() + 20
            while (
                sum(e.idempotency_key.startswith("first-") for e in journal_entries(journal_url))
                < 10
                and time.monotonic() < deadline
            ):
                time.sleep(0.02)
            on_second = [pool.submit(read, second, key) for key in second_keys[:30]]
            first.kill()
            answered_first = [f.result() for f in on_first]
            at_kill = {e.idempotency_key: e for e in journal_entries(journal_url)}
            # The other worker answers the dead one's keys from the journal: still on its way.
            open_at_kill = [k for k in first_keys if k in at_kill and at_kill[k].status in OPEN]
            logging.getLogger(__name__).warning("killed with %d reads open", len(open_at_kill))
            for key in open_at_kill[:1]:
                pending = consented.outcome(second.url, key)
                assert isinstance(pending, OutcomePendingError), pending
                assert (pending.status, pending.retry_after) == (503, 1)
            # The restart (its reconcile) overlaps the other worker's reads.
            on_second += [pool.submit(read, second, key) for key in second_keys[30:]]
            first.start()
            answered_second = [f.result() for f in on_second]
        assert None in answered_first, "the worker died after every read was answered"
        assert set(answered_second) == {200}, "the live worker's reads were disturbed"

        entries = {e.idempotency_key: e for e in journal_entries(journal_url)}
        first_relayer = {entries[k].relayer for k in first_keys if k in entries}
        assert len(first_relayer) == 1
        assert first_relayer.isdisjoint(second_relayer)
        assert {entries[k].status for k in second_keys} == {ReadStatus.GRANTED}
        assert {entries[k].relayer for k in second_keys} == second_relayer
        # The restarted worker reclaimed its key (the other is held) and settled its reads.
        assert read(first, "after-restart") == 200
        assert journal_entries(journal_url)[-1].relayer in first_relayer
        for key in first_keys:
            entry = entries.get(key)
            if entry is None:
                continue
            assert entry.status in (ReadStatus.GRANTED, ReadStatus.FAILED)
            replay = consented.status(second.url, key)
            assert replay == (200 if entry.status == ReadStatus.GRANTED else 503)

        with pytest.raises(GatewayProcessError, match=r"relayer keys .* are claimed"):
            third.start(timeout=60)
    finally:
        for gateway in (first, second, third):
            gateway.stop()
    _journal_is_the_chain(node, deployment, journal_url)


def test_admit_relayers_gives_a_key_directory_the_bureau_role(
    node: AnvilChain, tmp_path: Path
) -> None:
    """From one worker to several on an existing ledger: the regulator admits the new keys, and
    the deployment record names them (the auditor's journal check reads its relayers there)."""
    deployment, [existing], _relay = _ledger_with_relayers(node, tmp_path, 1)
    key_dir = tmp_path / "keys" / "relayers"
    added = new_relayer_key_file(key_dir)
    command = [
        *("admit-relayers", "--rpc", node.url, "--deployment", str(tmp_path / "deployment.json")),
        *("--key-dir", str(key_dir), "--regulator-key-file", str(tmp_path / "regulator.key")),
    ]
    first = CliRunner().invoke(main, command)
    assert first.exit_code == 0, first.output
    assert f"{added.address}: admitted" in first.output
    assert f"{existing.address}: already a relayer" in first.output
    client = LedgerClient(node.w3, deployment.address, added)
    assert client.has_role(ROLE_BUREAU, added.address)
    record = Deployment.load(tmp_path / "deployment.json")
    assert record.relayers == (existing.address, added.address)
    again = CliRunner().invoke(main, command)
    assert again.exit_code == 0, again.output
    assert "admitted" not in again.output
    assert Deployment.load(tmp_path / "deployment.json").relayers == record.relayers
