"""Crash safety: the gateway as a real process on a real anvil node, SIGKILLed with reads in
flight, then restarted. Every journal entry ends resolved, and no read is released (journaled
granted) without its DataAccessed on the chain, nor recorded on the chain without its entry."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from web3 import Web3

from consentledger.audit.journal_check import JournalCheck, JournalDatabase
from consentledger.audit.runner import Audit
from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.categories import Category
from consentledger.chain.anvil import AnvilChain, AnvilProcess, free_port
from consentledger.chain.client import LedgerClient
from consentledger.chain.deploy import Deployment, deploy_ledger
from consentledger.chain.jsonrpc import HttpJsonRpc
from consentledger.gateway.process import GatewayProcess
from consentledger.journal.schema import JournalEntry, ReadStatus
from consentledger.ledger.types import ConsentTerms
from tests.reads.conftest import ADMIN, CONSENT_TYPE, DAY, DOMAIN_TYPE
from tests.support import SignedReads, signed_reads


class DevNode(Protocol):
    """A node process the helpers below can use: anvil's controls, or any node's through a
    funded key (consentledger.chain.nodes.FundedNode)."""

    url: str

    @property
    def w3(self) -> Web3: ...

    def new_account(self, wei: int = ...) -> LocalAccount: ...

    def now(self) -> int: ...


@pytest.fixture
def node() -> Iterator[AnvilChain]:
    with AnvilProcess() as anvil:
        yield AnvilChain(anvil.url)


@pytest.mark.slow
def test_sigkill_with_reads_in_flight_loses_nothing(
    node: AnvilChain, bureau_url: str, tmp_path: Path, journal_url: str
) -> None:
    gateway, deployment, relayer, relay, journal_url = gateway_on_anvil(
        node, bureau_url, tmp_path, journal_url, CONSENTLEDGER_BATCH_MAX_ENTRIES="8"
    )
    try:
        gateway.start()
        headers, body = consented_read(gateway, node, deployment, relay)
        warm = send_read(gateway.url, headers, body, "warm-up")
        assert warm.status_code == 200, warm.text
        keys = [f"crash-{i}" for i in range(120)]

        def read(key: str) -> int | None:
            return post_read(gateway, headers, body, key)

        with ThreadPoolExecutor(max_workers=24) as pool:
            futures = [pool.submit(read, key) for key in keys]
            deadline = time.monotonic() + 20
            while len(_journal(journal_url)) < 10 and time.monotonic() < deadline:
                time.sleep(0.02)  # let batches get going, then kill at a random moment
            time.sleep(secrets.randbelow(200) / 1000)
            gateway.kill()
            answered = [f.result() for f in futures]
        assert None in answered, "the gateway died after every read was answered"
        assert all(status in (None, 200) for status in answered)

        at_kill = _journal(journal_url)
        open_at_kill = sum(e.status in (ReadStatus.PENDING, ReadStatus.BATCHED) for e in at_kill)
        logging.getLogger(__name__).warning(
            "killed with %d of %d journal entries open", open_at_kill, len(at_kill)
        )
        gateway.start()  # reconciliation runs before the gateway answers
        entries = _journal(journal_url)
        assert len(entries) > 1, "no read beyond the warm-up was journaled before the kill"
        assert {e.status for e in entries} <= {ReadStatus.GRANTED, ReadStatus.FAILED}
        recorded = _recorded_reads(node, deployment.address, relayer.address)
        granted = {
            int(e.query_id or "0x0", 16): e for e in entries if e.status == ReadStatus.GRANTED
        }
        assert set(granted) == set(recorded), "a release without its record, or the reverse"
        for query_id, entry in granted.items():
            assert recorded[query_id] == entry.response_hash
        for key, status in zip(keys, answered, strict=True):
            if status == 200:  # what was answered is what the journal says
                assert send_read(gateway.url, headers, body, key).status_code == 200
    finally:
        gateway.stop()


def _grant(client: LedgerClient, subject: bytes, bank: str, key: bytes, now: int) -> bytes:
    terms = ConsentTerms(
        subject=subject,
        bank=bank,
        categories=Category.BUSINESS_REGISTRATION.bit,
        purpose=2,
        not_before=now - 1,
        expires_at=now + 30 * DAY,
        max_reads=400,
        history_months=12,
        receipt_hash=secrets.token_bytes(32),
        nonce=0,
        deadline=now + DAY,
    )
    document = {
        "types": {"EIP712Domain": DOMAIN_TYPE, "Consent": CONSENT_TYPE},
        "primaryType": "Consent",
        "domain": {
            "name": "ConsentLedger",
            "version": "1",
            "chainId": client.chain_id,
            "verifyingContract": client.address,
        },
        "message": terms.message(),
    }
    signature = Account.sign_message(encode_typed_data(full_message=document), key).signature
    mined = client.grant_consent(terms, [bytes(signature)])
    consent_id: bytes = next(e for e in mined.events if e.event == "ConsentGranted").args[
        "consentId"
    ]
    return consent_id


def _journal(url: str) -> list[JournalEntry]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(JournalEntry).order_by(JournalEntry.id)))
    finally:
        engine.dispose()


def _recorded_reads(node: DevNode, contract: str, relayer: str) -> dict[int, str]:
    """query id -> response hash of every DataAccessed of this relayer on the chain."""
    client = LedgerClient(node.w3, contract, Account.create())
    logs = node.w3.eth.get_logs(
        {
            "address": client.address,
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [HexBytes(client.logs.topics["DataAccessed"])],
        }
    )
    found: dict[int, str] = {}
    prefix = int(relayer, 16)
    for log in logs:
        decoded = client.logs.decode(log)
        assert decoded is not None
        query_id = int(decoded.args["queryId"])
        if query_id >> 96 == prefix:
            found[query_id] = "0x" + decoded.args["responseHash"].hex()
    return found


def gateway_on_anvil(
    node: DevNode,
    bureau_url: str,
    tmp_path: Path,
    journal_url: str | None = None,
    **env: str,
) -> tuple[GatewayProcess, Deployment, LocalAccount, LocalAccount, str]:
    """A ledger deployed on ``node`` and a gateway process for it (not started): the process,
    the deployment, the relayer key, a separate funded account to relay consents, the journal URL
    (default: a SQLite file in ``tmp_path``). ``env`` adds CONSENTLEDGER_* settings."""
    regulator, relayer, relay = node.new_account(), node.new_account(), node.new_account()
    deployment, _ = deploy_ledger(node.w3, regulator, relayers=[relayer.address])
    deployment.save(tmp_path / "deployment.json")
    (tmp_path / "relayer.key").write_text(bytes(relayer.key).hex())
    (tmp_path / "regulator.key").write_text(bytes(regulator.key).hex())
    journal_url = journal_url or f"sqlite:///{tmp_path / 'gateway.db'}"
    settings = {
        "CONSENTLEDGER_CHAIN": node.url,
        "CONSENTLEDGER_DEPLOYMENT_FILE": str(tmp_path / "deployment.json"),
        "CONSENTLEDGER_RELAYER_KEY_FILE": str(tmp_path / "relayer.key"),
        "CONSENTLEDGER_REGULATOR_KEY_FILE": str(tmp_path / "regulator.key"),
        "CONSENTLEDGER_DATABASE_URL": journal_url,
        "CONSENTLEDGER_BUREAU_DATABASE_URL": bureau_url,
        "CONSENTLEDGER_BATCH_MAX_WAIT_MS": "20",
        **env,
    }
    gateway = GatewayProcess({**os.environ, **settings}, free_port())
    return gateway, deployment, relayer, relay, journal_url


def post_read(
    gateway: GatewayProcess, headers: dict[str, str], body: SignedReads, key: str
) -> int | None:
    """POST the read with an Idempotency-Key: its status, or None if the gateway died on it."""
    try:
        return send_read(gateway.url, headers, body, key).status_code
    except httpx.HTTPError:
        return None


def send_read(url: str, headers: dict[str, str], body: SignedReads, key: str) -> httpx.Response:
    """POST the read to the gateway at ``url`` with an Idempotency-Key (its signed body)."""
    return httpx.post(
        f"{url}/v1/queries", json=body(key), headers={**headers, "Idempotency-Key": key}, timeout=30
    )


def consented_read(
    gateway: GatewayProcess, node: DevNode, deployment: Deployment, relay: LocalAccount
) -> tuple[dict[str, str], SignedReads]:
    """A bank, an enterprise and its consent, through a started gateway: the bank's headers and
    the bodies of a read the consent allows, signed by the bank (one per Idempotency-Key)."""
    bank = httpx.post(f"{gateway.url}/v1/admin/banks", json={"name": "B"}, headers=ADMIN).json()
    controller = Account.create()
    enterprise = httpx.post(
        f"{gateway.url}/v1/admin/enterprises",
        json={"uscc": CHIP_DISTRIBUTOR_USCC, "controllers": [controller.address]},
        headers=ADMIN,
    ).json()
    client = LedgerClient(node.w3, deployment.address, relay)
    consent_id = _grant(
        client,
        bytes.fromhex(enterprise["subject"][2:]),
        bank["address"],
        controller.key,
        node.now(),
    )
    body: dict[str, object] = {
        "uscc": CHIP_DISTRIBUTOR_USCC,
        "consent_id": "0x" + consent_id.hex(),
        "categories": [1],
        "purpose": "post_loan_monitoring",
    }
    reads = signed_reads(body, Account.from_key(bank["private_key"]), client)
    return {"Authorization": f"Bearer {bank['api_key']}"}, reads


def assert_journal_is_the_chain(
    node: DevNode, deployment: Deployment, relayer: str, journal_url: str
) -> dict[str, int]:
    """Every entry resolved; granted entries and DataAccessed events match one to one (query id
    and response hash); the auditor (chain replay and journal cross-check) finds nothing.
    Returns how many entries ended in each status."""
    entries = _journal(journal_url)
    statuses = Counter(str(e.status) for e in entries)
    assert set(statuses) <= {ReadStatus.GRANTED, ReadStatus.DENIED, ReadStatus.FAILED}, statuses
    granted = {
        int(e.query_id or "0x0", 16): e.response_hash
        for e in entries
        if e.status == ReadStatus.GRANTED
    }
    assert granted == _recorded_reads(node, deployment.address, relayer), (
        "a release without its DataAccessed, or a DataAccessed without its granted entry"
    )
    assert_audit_is_clean(node, deployment, journal_url)
    return dict(statuses)


def assert_audit_is_clean(node: DevNode, deployment: Deployment, journal_url: str) -> None:
    """The auditor, replaying the chain and cross-checking the journal, finds nothing."""
    database = JournalDatabase(journal_url)
    try:
        check = JournalCheck(database, deployment.relayers)
        result = Audit(HttpJsonRpc(node.url), deployment, journal=check).run()
    finally:
        database.close()
    assert result.findings == []
