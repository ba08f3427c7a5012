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
from dataclasses import dataclass
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
from consentledger.categories import mask_of, parse_category, parse_purpose
from consentledger.chain import typed_data
from consentledger.chain.anvil import free_port
from consentledger.chain.client import LedgerClient
from consentledger.gateway.app import create_app
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.services.reads import SIZE_CATEGORIES
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
    name: str
    address: str
    headers: dict[str, str]
    key: LocalAccount | None = None  # signs the bank's read requests


@dataclass
class Enterprise:
    uscc: str
    subject: bytes
    controller: LocalAccount


@dataclass
class Gateway:
    """A running gateway (TestClient) and handles on its chain for the test's own moves."""

    http: TestClient
    app: FastAPI
    relay: LedgerClient  # a separate funded account that relays signed consents

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
        response = self.http.post(
            "/v1/admin/banks", json={"name": name or f"bank-{secrets.token_hex(4)}"}, headers=ADMIN
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Bank(
            body["name"],
            body["address"],
            {"Authorization": f"Bearer {body['api_key']}"},
            Account.from_key(body["private_key"]),
        )

    def register(self, uscc: str) -> Enterprise:
        controller = Account.create()
        response = self.http.post(
            "/v1/admin/enterprises",
            json={"uscc": uscc, "controllers": [controller.address], "threshold": 1},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
        return Enterprise(uscc, bytes.fromhex(response.json()["subject"][2:]), controller)

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

    def signed(
        self,
        reader: Bank,
        consent_id: bytes,
        categories: list[int | str],
        purpose: int | str,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The bank's signed ReadRequest fields of a read: its whole consented history window,
        a deadline ten minutes ahead of the chain, a fresh request id (``overrides`` replace
        any of them, the ``bank`` named in the request, the signing ``account`` or the EIP-712
        ``domain``)."""
        assert reader.key is not None, "a bank made without a key cannot sign its reads"
        view = self.context.ledger.consent(consent_id)
        fields: dict[str, Any] = {
            "consent_id": consent_id,
            "categories": mask_of(parse_category(c) for c in categories),
            "purpose": int(parse_purpose(purpose)),
            "history_months": view.history_months,
            "deadline": self.now() + 600,
            "bank": reader.address,
        }
        account = overrides.pop("account", reader.key)
        domain = overrides.pop("domain", self.context.ledger.domain)
        fields.update(overrides)
        return typed_data.signed_read_fields(account, domain, **fields)

    def size_class(self, bank: Bank, enterprise: Enterprise, consent_id: bytes) -> Any:
        """``GET .../size-class``, signed by the bank for the categories the size class reads:
        those of :data:`SIZE_CATEGORIES` the consent grants, or all of them if it grants none."""
        view = self.context.ledger.consent(consent_id)
        granted = [c for c in SIZE_CATEGORIES if c.bit & view.categories] or list(SIZE_CATEGORIES)
        purpose = view.purpose if view.purpose else 1
        signed = self.signed(bank, consent_id, [int(c) for c in granted], purpose)
        return self.http.get(
            f"/v1/enterprises/{enterprise.uscc}/size-class",
            params={"consent_id": "0x" + consent_id.hex(), **signed},
            headers=bank.headers,
        )

    def read(
        self,
        bank: Bank,
        enterprise: Enterprise,
        consent_id: bytes,
        categories: list[int | str],
        *,
        purpose: int | str = 1,
        key: str | None = None,
        fields: dict[str, Any] | None = None,
        **signing: Any,
    ) -> Any:
        """``POST /v1/queries``, signed by the bank (see :meth:`signed`; ``fields``: signed
        fields made before, e.g. to send the same request again)."""
        return self.http.post(
            "/v1/queries",
            json={
                "uscc": enterprise.uscc,
                "consent_id": "0x" + consent_id.hex(),
                "categories": categories,
                "purpose": purpose,
                **(fields or self.signed(bank, consent_id, categories, purpose, **signing)),
            },
            headers={**bank.headers, "Idempotency-Key": key or secrets.token_hex(8)},
        )


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
def serve_live(gateway: Gateway) -> Iterator[str]:
    """Serve a started gateway's app over real HTTP (uvicorn in a thread); yields its URL."""
    port = free_port()
    config = uvicorn.Config(
        gateway.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start within a minute"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
