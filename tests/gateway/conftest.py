"""One gateway for the enterprise-facing tests: embedded chain, SQLite, a seeded bureau.

The app is session-scoped (one deployment, about a second); each test registers its own
enterprises under fresh USCCs that the bureau holds, so tests never see each other's consents.
Everything a client does is done here the way a client would: typed data signed with eth-account
directly, sign-in messages signed with ``personal_sign``; never with the gateway's own helpers.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.chain.client import BatchResult, LedgerClient
from consentledger.client import Enterprise as ClientEnterprise
from consentledger.client import Gateway as ClientGateway
from consentledger.client import sign_typed_data, siwe_authorization
from consentledger.client.http import SyncRunner
from consentledger.client.models import ActionResult, ConsentAction, ConsentDraft
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


def siwe_header(message: str, signer: LocalAccount) -> dict[str, str]:
    """``Authorization: SIWE <base64url(message)>.<0x signature>`` for ``message``."""
    return {"Authorization": siwe_authorization(message, signer)}


@dataclass
class Gateway:
    """The running app, the typed client over it, and what tests need around them. ``client``
    is the raw ``TestClient``, for the tests of the API's wire format."""

    app: FastAPI
    client: TestClient
    context: GatewayContext
    bank: LocalAccount
    reader: LedgerClient  # a second bureau relayer, recording test reads with its own query ids
    usccs: Iterator[str]
    _sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    api: ClientGateway = field(init=False)

    def __post_init__(self) -> None:
        self.api = ClientGateway.over(self.client)

    def client_of(self, enterprise: Enterprise) -> ClientEnterprise[SyncRunner]:
        """The typed client of ``enterprise`` (its first k controllers sign)."""
        return self.api.enterprise(enterprise.uscc, enterprise.controllers, enterprise.threshold)

    def new_enterprise(self, controllers: int = 1, threshold: int = 1) -> Enterprise:
        """Register a fresh enterprise (a USCC the bureau holds) with new controller keys."""
        keys = [Account.create() for _ in range(controllers)]
        uscc = next(self.usccs)
        self.context.ledger.register_enterprise(
            self.context.subject_of(uscc), [k.address for k in keys], threshold
        )
        return Enterprise(uscc, keys, threshold)

    def draft(self, enterprise: Enterprise, **overrides: Any) -> ConsentDraft:
        """A consent draft for the test bank (underwriting, two categories, 30 days)."""
        terms: dict[str, Any] = {
            "bank": self.bank.address,
            "categories": ["business_registration", 2],
            "purpose": "credit_underwriting",
            "duration_days": 30,
            "history_months": 12,
            **overrides,
        }
        return self.client_of(enterprise).draft(**terms)

    def grant(self, enterprise: Enterprise, **overrides: Any) -> str:
        """Draft, sign with the first k controllers, grant; the consent id."""
        draft = self.draft(enterprise, **overrides)
        return self.client_of(enterprise).grant_draft(draft).consent_id

    def act(
        self,
        consent_id: str,
        action: ConsentAction,
        signers: Sequence[LocalAccount],
        edit: Callable[[dict[str, Any]], None] | None = None,
    ) -> ActionResult:
        """Draft an action, sign it (after ``edit`` of its message), send it."""
        # A consent action names the consent, not the enterprise: no USCC is needed.
        enterprise = self.api.enterprise("", signers)
        document = enterprise.draft_action(consent_id, action).typed_data.document()
        if edit is not None:
            edit(document["message"])
        message = document["message"]
        signatures = sign_typed_data(document, signers)
        return enterprise.relay_action(
            consent_id, action, message["nonce"], message["deadline"], signatures
        )

    def challenge(self, uscc: str, address: str) -> str:
        """A fresh sign-in message for ``address`` as a controller of ``uscc``."""
        return self.api.enterprise(uscc, []).challenge(address).message

    def signed_in(
        self, enterprise: Enterprise, signer: LocalAccount | None = None
    ) -> dict[str, str]:
        """A fresh sign-in header for ``enterprise`` by its first controller (or ``signer``)."""
        return self.client_of(enterprise).sign_in(signer)

    def record_reads(self, entries: Sequence[tuple[str, str, int, int]]) -> BatchResult:
        """Record reads (consent id, bank, category mask, purpose) as the bureau does."""
        batch = [
            AccessEntry(
                query_id=first_query_id(self.reader.account.address) + next(self._sequence),
                consent_id=bytes.fromhex(consent_id[2:]),
                bank=bank,
                categories=categories,
                purpose=purpose,
                response_hash=secrets.token_bytes(32),
            )
            for consent_id, bank, categories, purpose in entries
        ]
        return self.reader.record_accesses(batch)

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
