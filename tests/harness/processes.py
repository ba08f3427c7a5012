"""A gateway as a real process on a real anvil node: its ledger, a bank with a consent, the
journal it writes, and the checks that hold the journal to the chain.

Consents are signed here with eth-account from the contract's type string, never with the
gateway's own helpers, and relayed by a separate funded account straight to the chain; reads go
through the typed client.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
from consentledger.chain.anvil import free_port
from consentledger.chain.client import LedgerClient
from consentledger.chain.deploy import Deployment, deploy_ledger
from consentledger.chain.jsonrpc import HttpJsonRpc
from consentledger.chain.read_signer import BankReadSigner
from consentledger.client import Gateway as ClientGateway
from consentledger.client import GatewayProblemError, GatewayUnreachableError
from consentledger.client.models import QueryResult
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from consentledger.journal.schema import JournalEntry, ReadStatus
from consentledger.ledger.types import ConsentTerms
from consentledger.testing.process import GatewayProcess
from tests.harness.gateway import CONSENT_TYPE, DAY, DOMAIN_TYPE


class DevNode(Protocol):
    """A node process the helpers below can use: anvil's controls, or any node's through a
    funded key (consentledger.chain.nodes.FundedNode)."""

    url: str

    @property
    def w3(self) -> Web3: ...

    def new_account(self, wei: int = ...) -> LocalAccount: ...

    def now(self) -> int: ...


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


def journal_entries(url: str) -> list[JournalEntry]:
    """Every entry of the journal at ``url``."""
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(JournalEntry).order_by(JournalEntry.id)))
    finally:
        engine.dispose()


def recorded_reads(node: DevNode, contract: str, relayer: str) -> dict[int, str]:
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


@dataclass
class ConsentedRead:
    """A bank with a consent, on a gateway with a ledger on anvil: a read the consent allows,
    sent through the typed client to whichever gateway process is asked."""

    api_key: str
    bank_address: str
    consent_id: str
    signer: BankReadSigner  # the bank's: one for all its reads, so a retry sends the same request

    def outcome(self, url: str, key: str) -> QueryResult | GatewayProblemError:
        """The read with this Idempotency-Key at the gateway at ``url``: the granted result or
        the problem it was answered with."""
        with ClientGateway(url, timeout=30) as api:
            bank = api.bank(self.api_key, self.bank_address, signer=self.signer)
            try:
                return bank.read(
                    CHIP_DISTRIBUTOR_USCC,
                    self.consent_id,
                    [Category.BUSINESS_REGISTRATION],
                    "post_loan_monitoring",
                    idempotency_key=key,
                )
            except GatewayProblemError as problem:
                return problem

    def status(self, url: str, key: str) -> int | None:
        """The read's HTTP status, or None if the gateway died on it (no answer)."""
        try:
            answer = self.outcome(url, key)
        except GatewayUnreachableError:
            return None
        return answer.status if isinstance(answer, GatewayProblemError) else 200


def consented_read(
    gateway: GatewayProcess, node: DevNode, deployment: Deployment, relay: LocalAccount
) -> ConsentedRead:
    """A bank, an enterprise and its consent, through a started gateway (the consent relayed by
    ``relay`` straight to the chain)."""
    with ClientGateway(gateway.url, timeout=60) as api:
        operator = api.operator(DEVELOPMENT_ADMIN_TOKEN)
        bank = operator.add_bank("B", name_zh="乙银行", licence_number="B0001H144030001")
        controller = Account.create()
        enterprise = operator.register_enterprise(CHIP_DISTRIBUTOR_USCC, [controller.address])
    consent_id = _grant(
        LedgerClient(node.w3, deployment.address, relay),
        bytes.fromhex(enterprise.subject[2:]),
        bank.address,
        controller.key,
        node.now(),
    )
    assert bank.private_key is not None
    bank_key = Account.from_key(bank.private_key)
    signer = BankReadSigner(
        bank_key, LedgerClient(node.w3, deployment.address, bank_key), lifetime=3000, refresh_s=60
    )
    return ConsentedRead(bank.api_key, bank.address, "0x" + consent_id.hex(), signer)


def assert_journal_is_the_chain(
    node: DevNode, deployment: Deployment, relayer: str, journal_url: str
) -> dict[str, int]:
    """Every entry resolved; granted entries and DataAccessed events match one to one (query id
    and response hash); the auditor (chain replay and journal cross-check) finds nothing.
    Returns how many entries ended in each status."""
    entries = journal_entries(journal_url)
    statuses = Counter(str(e.status) for e in entries)
    assert set(statuses) <= {ReadStatus.GRANTED, ReadStatus.DENIED, ReadStatus.FAILED}, statuses
    granted = {
        int(e.query_id or "0x0", 16): e.response_hash
        for e in entries
        if e.status == ReadStatus.GRANTED
    }
    assert granted == recorded_reads(node, deployment.address, relayer), (
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
