"""A gateway in process for tests: embedded chain, SQLite, a seeded bureau, and the typed client
over it (Starlette's ``TestClient``, no sockets).

Whatever a test does through it is done the way a client would: an operator admits banks and
registers enterprises through the API, an enterprise's controllers sign drafts and relay them,
a bank signs each read (EIP-712 ``ReadRequest``) and reads through :mod:`consentledger.client`.
The pytest plugin (:mod:`consentledger.testing.plugin`) hands one out as ``ledger_gateway``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.chain.anvil import free_port
from consentledger.chain.read_signer import BankReadSigner
from consentledger.client import Bank as ClientBank
from consentledger.client import Enterprise as ClientEnterprise
from consentledger.client import Gateway as ClientGateway
from consentledger.client import Operator, sign_typed_data
from consentledger.client.http import SyncRunner
from consentledger.client.models import ActionResult, ConsentAction, ConsentDraft, QueryResult
from consentledger.gateway.app import create_app
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN, Settings

#: The domain the test gateway signs in at (SIWE messages name it).
DOMAIN = "gateway.test:8443"


def licence_number() -> str:
    """A fresh financial licence number of the licence's shape (B, 4 digits, H, 9 digits)."""
    return f"B{secrets.randbelow(10**4):04d}H{secrets.randbelow(10**9):09d}"


def seeded_bureau(directory: Path, enterprises: int = 5) -> str:
    """A bureau database in ``directory``: the showcase and ``enterprises`` synthetic ones."""
    url = f"sqlite:///{directory / 'bureau.db'}"
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=enterprises, progress=False)
    return url


@dataclass
class Bank:
    """A bank the operator admitted through the API: its API key and the key that signs its
    reads."""

    name: str
    address: str
    api_key: str
    key: LocalAccount | None = None  # signs the bank's read requests

    @property
    def headers(self) -> dict[str, str]:
        """For requests sent by hand."""
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Enterprise:
    """A registered enterprise: its USCC, subject id and the keys that sign for it (k of n)."""

    uscc: str
    subject: bytes
    controllers: list[LocalAccount]
    threshold: int = 1

    @property
    def controller(self) -> LocalAccount:
        return self.controllers[0]


@dataclass
class TestGateway:
    """A started gateway app, the typed client over it, and its parties."""

    __test__ = False  # not a test class, whatever its name says

    app: FastAPI
    http: TestClient
    usccs: Iterator[str]  # USCCs the bureau holds, for fresh enterprises
    api: ClientGateway = field(init=False)
    operator: Operator[SyncRunner] = field(init=False)
    _signers: dict[str, BankReadSigner] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.api = ClientGateway.over(self.http)
        self.operator = self.api.operator(DEVELOPMENT_ADMIN_TOKEN)

    @property
    def context(self) -> GatewayContext:
        context: GatewayContext = self.app.state.context
        return context

    def now(self) -> int:
        """The next block's time."""
        return self.context.ledger.block_timestamp() + 1

    def time_travel(self, seconds: int) -> None:
        """Mine an empty block ``seconds`` after the next block's time."""
        chain = self.context.chain
        assert chain is not None, "time travel needs the embedded chain"
        chain.time_travel(self.now() + seconds)

    # ------------------------------------------------------------------ parties

    def next_uscc(self) -> str:
        """A USCC the bureau holds that no test of this gateway took yet."""
        return next(self.usccs)

    def add_bank(
        self, name: str | None = None, *, name_zh: str | None = None, licence: str | None = None
    ) -> Bank:
        """A bank admitted through the operator's API, with its API key, its read key and its
        legal names (default: a Chinese name made from ``name``, a fresh licence number)."""
        name = name or f"bank-{secrets.token_hex(4)}"
        created = self.operator.add_bank(
            name,
            name_zh=name_zh or f"{name}（中文名）",
            licence_number=licence or licence_number(),
        )
        key = Account.from_key(created.private_key) if created.private_key else None
        return Bank(created.name, created.address, created.api_key, key)

    def register(
        self, uscc: str | None = None, controllers: int = 1, threshold: int = 1
    ) -> Enterprise:
        """Register ``uscc`` (default: the next one the bureau holds) through the operator's API,
        with ``controllers`` new keys of which ``threshold`` must sign."""
        keys = [Account.create() for _ in range(controllers)]
        uscc = uscc or self.next_uscc()
        registered = self.operator.register_enterprise(uscc, [k.address for k in keys], threshold)
        return Enterprise(uscc, bytes.fromhex(registered.subject[2:]), keys, threshold)

    def signer_of(self, party: Bank) -> BankReadSigner | None:
        """The bank's read signer (one per bank: a retry with the same Idempotency-Key sends the
        same signed request); None for a bank made without a key."""
        if party.key is None:
            return None
        signer = self._signers.get(party.address)
        if signer is None:
            signer = self._signers[party.address] = BankReadSigner(party.key, self.context.ledger)
        return signer

    def client_of(self, party: Bank) -> ClientBank[SyncRunner]:
        """The typed client of a bank on this gateway, signing its reads with the bank's key."""
        return self.api.bank(party.api_key, party.address, signer=self.signer_of(party))

    def enterprise_client(self, enterprise: Enterprise) -> ClientEnterprise[SyncRunner]:
        """The typed client of an enterprise (its first k controllers sign)."""
        return self.api.enterprise(enterprise.uscc, enterprise.controllers, enterprise.threshold)

    # ------------------------------------------------------------------ consents

    def draft(self, enterprise: Enterprise, bank: Bank | str, **overrides: Any) -> ConsentDraft:
        """A consent draft of ``enterprise`` for ``bank`` (default terms: credit underwriting,
        business registration and social insurance, 30 days, 12 months of history)."""
        terms: dict[str, Any] = {
            "bank": bank if isinstance(bank, str) else bank.address,
            "categories": ["business_registration", "social_insurance"],
            "purpose": "credit_underwriting",
            "duration_days": 30,
            "history_months": 12,
            **overrides,
        }
        return self.enterprise_client(enterprise).draft(**terms)

    def grant(self, enterprise: Enterprise, bank: Bank | str, **overrides: Any) -> str:
        """Draft, sign with the first k controllers, grant through the API; the consent id."""
        draft = self.draft(enterprise, bank, **overrides)
        return self.enterprise_client(enterprise).grant_draft(draft).consent_id

    def act(
        self, consent_id: str, action: ConsentAction, signers: Sequence[LocalAccount]
    ) -> ActionResult:
        """Draft a Revocation, Pause or Resume, sign it by ``signers``, send it through the API."""
        # A consent action names the consent, not the enterprise: no USCC is needed.
        enterprise = self.api.enterprise("", signers)
        document = enterprise.draft_action(consent_id, action).typed_data.document()
        message = document["message"]
        signatures = sign_typed_data(document, signers)
        return enterprise.relay_action(
            consent_id, action, message["nonce"], message["deadline"], signatures
        )

    # ------------------------------------------------------------------ reads

    def read(
        self,
        bank: Bank,
        enterprise: Enterprise,
        consent_id: bytes | str,
        categories: list[int | str],
        *,
        purpose: int | str = 1,
        key: str | None = None,
    ) -> QueryResult:
        """A signed read the chain grants (anything else raises the client's named exception)."""
        return self.client_of(bank).read(
            enterprise.uscc, consent_id, categories, purpose, idempotency_key=key
        )


@contextmanager
def started_app(
    tmp: Path, bureau_url: str, *, domain: str = DOMAIN, **settings: Any
) -> Iterator[tuple[FastAPI, TestClient]]:
    """A gateway app on a fresh embedded chain, its journal in ``tmp`` (``settings`` are
    :class:`Settings` fields), started, with a ``TestClient`` over it; stopped when the block
    exits."""
    app = create_app(
        Settings(
            chain="embedded",
            database_url=settings.pop("database_url", f"sqlite:///{tmp / 'gateway.db'}"),
            bureau_database_url=bureau_url,
            domain=domain,
            batch_max_wait_ms=settings.pop("batch_max_wait_ms", 2.0),
            # Every test client is one address.
            challenges_per_minute=settings.pop("challenges_per_minute", 10_000),
            settle_heap=settings.pop("settle_heap", False),  # many gateways in one process
            **settings,
        )
    )
    with TestClient(app, base_url=f"https://{domain}") as http:
        yield app, http


@contextmanager
def running_gateway(tmp: Path, bureau_url: str, **settings: Any) -> Iterator[TestGateway]:
    """A :class:`TestGateway` on a fresh embedded chain (see :func:`started_app`)."""
    with started_app(tmp, bureau_url, **settings) as (app, http):
        context: GatewayContext = app.state.context
        yield TestGateway(app, http, iter(context.bureau.usccs()))


@contextmanager
def serve_live(app: FastAPI) -> Iterator[str]:
    """Serve a started gateway's app over real HTTP (uvicorn in a thread); yields its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        raise TimeoutError("uvicorn did not start within a minute")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
