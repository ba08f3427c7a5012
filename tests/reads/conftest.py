"""A gateway on the embedded chain with a seeded bureau, and the parties that use it.

Consents are signed here with eth-account directly, from the contract's type string, never with
the gateway's own helpers; they are relayed by a separate funded account.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import CATERING_CHAIN_USCC, CHIP_DISTRIBUTOR_USCC
from consentledger.bureau.store import BureauStore
from consentledger.chain.anvil import free_port
from consentledger.chain.client import LedgerClient
from consentledger.client import Bank as ClientBank
from consentledger.client import Gateway as ClientGateway
from consentledger.client import GatewayProblemError, Operator
from consentledger.client.http import SyncRunner
from consentledger.client.models import QueryResult
from consentledger.gateway.app import create_app
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN, Settings
from consentledger.ledger.types import ConsentTerms

ADMIN = {"Authorization": f"Bearer {DEVELOPMENT_ADMIN_TOKEN}"}
DAY = 86_400

CONSENT_TYPE = [
    {"name": "subject", "type": "bytes32"},
    {"name": "bank", "type": "address"},
    {"name": "categories", "type": "uint256"},
    {"name": "purpose", "type": "uint16"},
    {"name": "notBefore", "type": "uint64"},
    {"name": "expiresAt", "type": "uint64"},
    {"name": "maxReads", "type": "uint32"},
    {"name": "historyMonths", "type": "uint16"},
    {"name": "receiptHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
ACTION_TYPE = [
    {"name": "consentId", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@pytest.fixture(scope="session")
def bureau_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('bureau') / 'bureau.db'}"
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=20, progress=False)
    return url


@dataclass
class Bank:
    """A bank the operator admitted."""

    name: str
    address: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """For the tests that send raw requests."""
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Enterprise:
    uscc: str
    subject: bytes
    controller: LocalAccount


@dataclass
class Gateway:
    """A running gateway (TestClient, and the typed client over it) and handles on its chain for
    the test's own moves."""

    http: TestClient
    app: FastAPI
    relay: LedgerClient  # a separate funded account that relays signed consents
    api: ClientGateway = field(init=False)
    operator: Operator[SyncRunner] = field(init=False)

    def __post_init__(self) -> None:
        self.api = ClientGateway.over(self.http)
        self.operator = self.api.operator(DEVELOPMENT_ADMIN_TOKEN)

    @property
    def context(self) -> GatewayContext:
        context: GatewayContext = self.app.state.context
        return context

    def domain(self) -> dict[str, Any]:
        return {
            "name": "ConsentLedger",
            "version": "1",
            "chainId": self.context.deployment.chain_id,
            "verifyingContract": self.context.deployment.address,
        }

    def add_bank(self, name: str | None = None) -> Bank:
        created = self.operator.add_bank(name or f"bank-{secrets.token_hex(4)}")
        return Bank(created.name, created.address, created.api_key)

    def client_of(self, bank: Bank) -> ClientBank[SyncRunner]:
        """The typed client of ``bank`` on this gateway."""
        return self.api.bank(bank.api_key, bank.address)

    def register(self, uscc: str) -> Enterprise:
        controller = Account.create()
        registered = self.operator.register_enterprise(uscc, [controller.address])
        return Enterprise(uscc, bytes.fromhex(registered.subject[2:]), controller)

    def now(self) -> int:
        return self.context.ledger.block_timestamp() + 1

    def grant(
        self,
        enterprise: Enterprise,
        bank: Bank,
        categories: int,
        *,
        purpose: int = 1,
        max_reads: int = 0,
        history_months: int = 12,
        not_before: int | None = None,
        expires_at: int | None = None,
    ) -> bytes:
        """Sign a consent with eth-account and relay it; returns the consent id."""
        now = self.now()
        terms = ConsentTerms(
            subject=enterprise.subject,
            bank=bank.address,
            categories=categories,
            purpose=purpose,
            not_before=now - 1 if not_before is None else not_before,
            expires_at=now + 30 * DAY if expires_at is None else expires_at,
            max_reads=max_reads,
            history_months=history_months,
            receipt_hash=secrets.token_bytes(32),
            nonce=secrets.randbits(64) << 64,
            deadline=now + DAY,
        )
        document = {
            "types": {"EIP712Domain": DOMAIN_TYPE, "Consent": CONSENT_TYPE},
            "primaryType": "Consent",
            "domain": self.domain(),
            "message": terms.message(),
        }
        signable = encode_typed_data(full_message=document)
        signature = Account.sign_message(signable, enterprise.controller.key).signature
        mined = self.relay.grant_consent(terms, [bytes(signature)])
        granted = [e for e in mined.events if e.event == "ConsentGranted"]
        consent_id: bytes = granted[0].args["consentId"]
        return consent_id

    def action(self, name: str, consent_id: bytes, enterprise: Enterprise) -> None:
        """Pause, Resume or Revocation, signed with eth-account and relayed."""
        nonce, deadline = secrets.randbits(64) << 64, self.now() + DAY
        document = {
            "types": {"EIP712Domain": DOMAIN_TYPE, name: ACTION_TYPE},
            "primaryType": name,
            "domain": self.domain(),
            "message": {"consentId": consent_id, "nonce": nonce, "deadline": deadline},
        }
        signature = bytes(
            Account.sign_message(
                encode_typed_data(full_message=document), enterprise.controller.key
            ).signature
        )
        send = {
            "Pause": self.relay.pause_consent,
            "Resume": self.relay.resume_consent,
            "Revocation": self.relay.revoke_consent,
        }[name]
        send(consent_id, nonce, deadline, [signature])

    def read(
        self,
        bank: Bank,
        enterprise: Enterprise,
        consent_id: bytes,
        categories: list[int | str],
        *,
        purpose: int | str = 1,
        key: str | None = None,
    ) -> QueryResult:
        """A read the chain grants (anything else raises the client's named exception)."""
        return self.client_of(bank).read(
            enterprise.uscc, consent_id, categories, purpose, idempotency_key=key
        )

    def refused(
        self,
        bank: Bank,
        enterprise: Enterprise,
        consent_id: bytes,
        categories: list[int | str],
        *,
        purpose: int | str = 1,
        key: str | None = None,
    ) -> GatewayProblemError:
        """The problem a read is refused with (a denial on the chain is an AccessDeniedError)."""
        with pytest.raises(GatewayProblemError) as refused:
            self.read(bank, enterprise, consent_id, categories, purpose=purpose, key=key)
        return refused.value


@contextmanager
def running_gateway(tmp: Path, bureau_url: str, **settings: Any) -> Iterator[Gateway]:
    """A gateway on a fresh embedded chain, stopped when the block exits."""
    app = create_app(
        Settings(
            chain="embedded",
            database_url=f"sqlite:///{tmp / 'gateway.db'}",
            bureau_database_url=bureau_url,
            batch_max_wait_ms=settings.pop("batch_max_wait_ms", 2.0),
            **settings,
        )
    )
    with TestClient(app) as http:
        context: GatewayContext = app.state.context
        assert context.chain is not None
        relay_key = context.chain.new_account()
        yield Gateway(http, app, LedgerClient(context.w3, context.deployment.address, relay_key))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, bureau_url: str) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway"), bureau_url) as running:
        yield running


@pytest.fixture(scope="module")
def chip(gateway: Gateway) -> Enterprise:
    return gateway.register(CHIP_DISTRIBUTOR_USCC)


@pytest.fixture(scope="module")
def catering(gateway: Gateway) -> Enterprise:
    return gateway.register(CATERING_CHAIN_USCC)


@pytest.fixture(scope="module")
def bank(gateway: Gateway) -> Bank:
    return gateway.add_bank("Shenzhen Commercial Bank")


@pytest.fixture(scope="module")
def other_bank(gateway: Gateway) -> Bank:
    return gateway.add_bank("Other Bank")


@contextmanager
def serve_live(app: FastAPI) -> Iterator[str]:
    """Serve a started gateway's app over real HTTP (uvicorn in a thread); yields its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
