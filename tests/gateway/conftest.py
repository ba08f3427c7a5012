"""One gateway for the enterprise-facing tests: embedded chain, SQLite, a seeded bureau.

The app is session-scoped (one deployment, about a second); each test registers its own
enterprises under fresh USCCs that the bureau holds, so tests never see each other's consents.
Everything a client does is done here the way a client would: typed data signed with eth-account
directly, sign-in messages signed with ``personal_sign``; never with the gateway's own helpers.
"""

from __future__ import annotations

import base64
import itertools
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.chain import typed_data
from consentledger.chain.client import BatchResult, LedgerClient
from consentledger.gateway.app import create_app
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.settings import Settings
from consentledger.ledger.types import AccessEntry, first_query_id

#: Synthetic enterprises in the gateway tests' bureau (the showcase comes on top).
BUREAU_ENTERPRISES = 400
DOMAIN = "gateway.test:8443"


@dataclass
class Enterprise:
    """A registered enterprise: its USCC and the keys that sign for it."""

    uscc: str
    controllers: list[LocalAccount]
    threshold: int


def sign_typed(document: dict[str, Any], signers: Sequence[LocalAccount]) -> list[str]:
    """Sign a JSON typed-data document as a wallet would (``eth_signTypedData_v4``)."""
    signable = encode_typed_data(full_message=document)
    return ["0x" + bytes(a.sign_message(signable).signature).hex() for a in signers]


def siwe_header(message: str, signer: LocalAccount) -> dict[str, str]:
    """``Authorization: SIWE <base64url(message)>.<0x signature>`` for ``message``."""
    signature = bytes(signer.sign_message(encode_defunct(text=message)).signature).hex()
    encoded = base64.urlsafe_b64encode(message.encode()).decode().rstrip("=")
    return {"Authorization": f"SIWE {encoded}.0x{signature}"}


@dataclass
class Gateway:
    """The running app and what tests need around it."""

    app: FastAPI
    client: TestClient
    context: GatewayContext
    bank: LocalAccount
    reader: LedgerClient  # a second bureau relayer, recording test reads with its own query ids
    usccs: Iterator[str]
    _sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_enterprise(self, controllers: int = 1, threshold: int = 1) -> Enterprise:
        """Register a fresh enterprise (a USCC the bureau holds) with new controller keys."""
        keys = [Account.create() for _ in range(controllers)]
        uscc = next(self.usccs)
        self.context.ledger.register_enterprise(
            self.context.subject_of(uscc), [k.address for k in keys], threshold
        )
        return Enterprise(uscc, keys, threshold)

    def draft(self, enterprise: Enterprise, **overrides: Any) -> dict[str, Any]:
        """A consent draft for the test bank (underwriting, two categories, 30 days)."""
        body = {
            "uscc": enterprise.uscc,
            "bank": self.bank.address,
            "categories": ["business_registration", 2],
            "purpose": "credit_underwriting",
            "duration_days": 30,
            "history_months": 12,
            **overrides,
        }
        response = self.client.post("/v1/consents/draft", json=body)
        assert response.status_code == 200, response.text
        draft: dict[str, Any] = response.json()
        return draft

    def grant(self, enterprise: Enterprise, **overrides: Any) -> str:
        """Draft, sign with the first k controllers, grant; the consent id."""
        draft = self.draft(enterprise, **overrides)
        signers = enterprise.controllers[: enterprise.threshold]
        response = self.client.post(
            "/v1/consents",
            json={
                "message": draft["typed_data"]["message"],
                "signatures": sign_typed(draft["typed_data"], signers),
                "receipt": draft["receipt"],
            },
        )
        assert response.status_code == 201, response.text
        consent_id: str = response.json()["consent_id"]
        return consent_id

    def act(
        self,
        consent_id: str,
        action: str,
        signers: Sequence[LocalAccount],
        edit: Callable[[dict[str, Any]], None] | None = None,
    ) -> Any:
        """Draft an action, sign it (after ``edit`` of its message), send it; the response."""
        drafted = self.client.post(
            f"/v1/consents/{consent_id}/actions/draft", json={"action": action}
        )
        assert drafted.status_code == 200, drafted.text
        document = drafted.json()["typed_data"]
        if edit is not None:
            edit(document["message"])
        body = {
            "nonce": document["message"]["nonce"],
            "deadline": document["message"]["deadline"],
            "signatures": sign_typed(document, signers),
        }
        return self.client.post(f"/v1/consents/{consent_id}/{action}", json=body)

    def challenge(self, uscc: str, address: str) -> str:
        response = self.client.post("/v1/auth/challenge", json={"uscc": uscc, "address": address})
        assert response.status_code == 200, response.text
        message: str = response.json()["message"]
        return message

    def signed_in(
        self, enterprise: Enterprise, signer: LocalAccount | None = None
    ) -> dict[str, str]:
        """A fresh sign-in header for ``enterprise`` by its first controller (or ``signer``)."""
        account = signer or enterprise.controllers[0]
        return siwe_header(self.challenge(enterprise.uscc, account.address), account)

    def record_reads(self, entries: Sequence[tuple[str, str, int, int]]) -> BatchResult:
        """Record reads (consent id, bank, category mask, purpose) as the bureau does, each
        signed by the bank (this gateway's bank; any other bank's read goes unsigned)."""
        deadline = self.context.ledger.block_timestamp() + 600
        batch = [
            AccessEntry(
                query_id=first_query_id(self.reader.account.address) + next(self._sequence),
                consent_id=bytes.fromhex(consent_id[2:]),
                bank=bank,
                categories=categories,
                purpose=purpose,
                response_hash=secrets.token_bytes(32),
                history_months=12,
                request_id=secrets.randbits(64),
                deadline=deadline,
            )
            for consent_id, bank, categories, purpose in entries
        ]
        domain = self.context.ledger.domain
        signed = [
            typed_data.sign_read_request(self.bank, domain, e) if e.bank == self.bank.address else e
            for e in batch
        ]
        return self.reader.record_accesses(signed)

    def relayer_nonce(self) -> int:
        """Transactions the gateway's relayer has sent (unchanged: nothing was sent)."""
        return int(self.context.w3.eth.get_transaction_count(self.context.ledger.account.address))


@pytest.fixture(scope="session")
def bureau_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bureau seeded once per session (the showcase and some synthetic enterprises)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('gateway-bureau') / 'bureau.db'}"
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=BUREAU_ENTERPRISES, progress=False)
    return url


@pytest.fixture(scope="session")
def gateway(bureau_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The running gateway, a bank admitted on its ledger, and a test relayer for reads."""
    directory: Path = tmp_path_factory.mktemp("gateway")
    settings = Settings(
        chain="embedded",
        database_url=f"sqlite:///{directory / 'gw.db'}",
        bureau_database_url=bureau_url,
        domain=DOMAIN,
    )
    app = create_app(settings)
    with TestClient(app, base_url=f"https://{DOMAIN}") as client:
        context: GatewayContext = app.state.context
        assert context.chain is not None
        assert context.regulator is not None
        bank = context.chain.new_account()
        context.regulator.add_bank(bank.address)
        reader_key = context.chain.new_account()
        context.regulator.add_relayer(reader_key.address)
        reader = context.ledger.with_account(reader_key)
        usccs = iter(context.bureau.usccs())
        yield Gateway(app, client, context, bank, reader, usccs)
