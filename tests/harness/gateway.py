"""The tests' gateway: embedded chain, SQLite, a seeded bureau; the typed client over it; and
handles on its chain for the test's own moves.

Whatever a client does is done the way a client would: through :mod:`consentledger.client`, or
through the raw ``http`` (Starlette's ``TestClient``) for the tests of the API's wire format.
Consents a test signs itself are signed with eth-account from the contract's types, never with
the gateway's own helpers, and relayed by a separate funded account (``relay``).
"""

from __future__ import annotations

import functools
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner, Result
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.categories import mask_of, parse_category, parse_purpose
from consentledger.chain import typed_data
from consentledger.chain.anvil import free_port
from consentledger.chain.client import BatchResult, LedgerClient
from consentledger.chain.read_signer import BankReadSigner
from consentledger.cli import main
from consentledger.client import Bank as ClientBank
from consentledger.client import Enterprise as ClientEnterprise
from consentledger.client import Gateway as ClientGateway
from consentledger.client import GatewayProblemError, Operator, sign_typed_data, siwe_authorization
from consentledger.client.http import SyncRunner
from consentledger.client.models import (
    ActionResult,
    ConsentAction,
    ConsentDraft,
    QueryResult,
    ReadRequest,
)
from consentledger.gateway.app import create_app
from consentledger.gateway.banks import create_bank
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN, Settings
from consentledger.ledger.types import AccessEntry, ConsentTerms, first_query_id

#: The operator's headers, for the tests that send raw requests.
ADMIN = {"Authorization": f"Bearer {DEVELOPMENT_ADMIN_TOKEN}"}
DAY = 86_400
#: The domain the gateway signs in at (SIWE messages name it).
DOMAIN = "gateway.test:8443"

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


def licence_number() -> str:
    """A fresh financial licence number of the licence's shape (B, 4 digits, H, 9 digits)."""
    return f"B{secrets.randbelow(10**4):04d}H{secrets.randbelow(10**9):09d}"


def seeded_bureau(directory: Path, enterprises: int) -> str:
    """A bureau database in ``directory``: the showcase and ``enterprises`` synthetic ones."""
    url = f"sqlite:///{directory / 'bureau.db'}"
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=enterprises, progress=False)
    return url


@dataclass
class Bank:
    """A bank the operator admitted through the API."""

    name: str
    address: str
    api_key: str
    key: LocalAccount | None = None  # signs the bank's read requests

    @property
    def headers(self) -> dict[str, str]:
        """For the tests that send raw requests."""
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


def siwe_header(message: str, signer: LocalAccount) -> dict[str, str]:
    """``Authorization: SIWE <base64url(message)>.<0x signature>`` for ``message``."""
    return {"Authorization": siwe_authorization(message, signer)}


def signed_read(
    ledger: LedgerClient,
    reader: Bank,
    consent_id: bytes | str,
    categories: Sequence[int | str],
    purpose: int | str,
    **overrides: Any,
) -> dict[str, Any]:
    """The bank's signed ReadRequest fields of a read on ``ledger``'s chain, made by hand to send
    as they are or changed: its whole consented history window, a deadline ten minutes ahead of
    the chain, a fresh request id (``overrides`` replace any of them, the ``bank`` named in the
    request, the signing ``account`` or the EIP-712 ``domain``)."""
    assert reader.key is not None, "a bank made without a key cannot sign its reads"
    raw = consent_id if isinstance(consent_id, bytes) else bytes.fromhex(consent_id[2:])
    view = ledger.consent(raw)
    fields: dict[str, Any] = {
        "consent_id": raw,
        "categories": mask_of(parse_category(c) for c in categories),
        "purpose": int(parse_purpose(purpose)),
        "history_months": view.history_months,
        "deadline": ledger.block_timestamp() + 1 + 600,
        "bank": reader.address,
    }
    account = overrides.pop("account", reader.key)
    domain = overrides.pop("domain", ledger.domain)
    fields.update(overrides)
    return typed_data.signed_read_fields(account, domain, **fields)


@dataclass
class Gateway:
    """A running gateway, the typed client over it, and handles on its chain."""

    app: FastAPI
    http: TestClient
    relay: LedgerClient  # a separate funded account that relays signed consents
    reader: LedgerClient  # a second bureau relayer, recording test reads with its own query ids
    bank: LocalAccount  # a bank admitted on the chain, for the consent tests
    usccs: Iterator[str]  # USCCs the bureau holds, for fresh enterprises
    api: ClientGateway = field(init=False)
    operator: Operator[SyncRunner] = field(init=False)
    _sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _signers: dict[str, BankReadSigner] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.api = ClientGateway.over(self.http)
        self.operator = self.api.operator(DEVELOPMENT_ADMIN_TOKEN)

    @functools.cached_property
    def bank_headers(self) -> dict[str, str]:
        """An API key for :attr:`bank` (made when first asked for), as a Bearer token: the bank
        asks for drafts with it."""
        _stored, api_key = create_bank(self.context.db, "Test Bank", self.bank.address)
        return {"Authorization": f"Bearer {api_key}"}

    @property
    def context(self) -> GatewayContext:
        context: GatewayContext = self.app.state.context
        return context

    def now(self) -> int:
        """The next block's time."""
        return self.context.ledger.block_timestamp() + 1

    def domain(self) -> dict[str, Any]:
        return {
            "name": "ConsentLedger",
            "version": "1",
            "chainId": self.context.deployment.chain_id,
            "verifyingContract": self.context.deployment.address,
        }

    # ------------------------------------------------------------------ parties

    def add_bank(self, name: str | None = None) -> Bank:
        """A bank admitted through the operator's API, with its API key."""
        name = name or f"bank-{secrets.token_hex(4)}"
        created = self.operator.add_bank(
            name, name_zh=f"{name}（中文名）", licence_number=licence_number()
        )
        key = Account.from_key(created.private_key) if created.private_key else None
        return Bank(created.name, created.address, created.api_key, key)

    def register(self, uscc: str, controllers: int = 1, threshold: int = 1) -> Enterprise:
        """Register ``uscc`` through the operator's API with new controller keys."""
        keys = [Account.create() for _ in range(controllers)]
        registered = self.operator.register_enterprise(uscc, [k.address for k in keys], threshold)
        return Enterprise(uscc, bytes.fromhex(registered.subject[2:]), keys, threshold)

    def new_enterprise(self, controllers: int = 1, threshold: int = 1) -> Enterprise:
        """Register a fresh enterprise (a USCC the bureau holds) on the chain directly."""
        keys = [Account.create() for _ in range(controllers)]
        uscc = next(self.usccs)
        subject = self.context.subject_of(uscc)
        self.context.ledger.register_enterprise(subject, [k.address for k in keys], threshold)
        return Enterprise(uscc, subject, keys, threshold)

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

    # ------------------------------------------------------------------ consents, by the API

    def draft(self, enterprise: Enterprise, **overrides: Any) -> ConsentDraft:
        """A consent draft for the chain-admitted bank (underwriting, two categories, 30 days)."""
        terms: dict[str, Any] = {
            "bank": self.bank.address,
            "categories": ["business_registration", 2],
            "purpose": "credit_underwriting",
            "duration_days": 30,
            "history_months": 12,
            **overrides,
        }
        return self.enterprise_client(enterprise).draft(**terms)

    def grant(self, enterprise: Enterprise, **overrides: Any) -> str:
        """Draft, sign with the first k controllers, grant through the API; the consent id."""
        draft = self.draft(enterprise, **overrides)
        return self.enterprise_client(enterprise).grant_draft(draft).consent_id

    def act(
        self,
        consent_id: str,
        action: ConsentAction,
        signers: Sequence[LocalAccount],
        edit: Callable[[dict[str, Any]], None] | None = None,
    ) -> ActionResult:
        """Draft an action, sign it (after ``edit`` of its message), send it through the API."""
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
        return self.enterprise_client(enterprise).sign_in(signer)

    # ------------------------------------------------------------------ consents, on the chain

    def grant_on_chain(
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
        """Sign a consent with eth-account and relay it straight to the chain; its id."""
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

    def act_on_chain(self, name: str, consent_id: bytes, enterprise: Enterprise) -> None:
        """Pause, Resume or Revocation, signed with eth-account and relayed to the chain."""
        nonce, deadline = secrets.randbits(64) << 64, self.now() + DAY
        document = {
            "types": {"EIP712Domain": DOMAIN_TYPE, name: ACTION_TYPE},
            "primaryType": name,
            "domain": self.domain(),
            "message": {"consentId": consent_id, "nonce": nonce, "deadline": deadline},
        }
        signable = encode_typed_data(full_message=document)
        signature = bytes(Account.sign_message(signable, enterprise.controller.key).signature)
        send = {
            "Pause": self.relay.pause_consent,
            "Resume": self.relay.resume_consent,
            "Revocation": self.relay.revoke_consent,
        }[name]
        send(consent_id, nonce, deadline, [signature])

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
        address = self.context.ledger.account.address
        return int(self.context.w3.eth.get_transaction_count(address))

    # ------------------------------------------------------------------ reads

    def signed(
        self,
        reader: Bank,
        consent_id: bytes | str,
        categories: Sequence[int | str],
        purpose: int | str,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The bank's signed ReadRequest fields of a read, made by hand (:func:`signed_read`)."""
        return signed_read(
            self.context.ledger, reader, consent_id, categories, purpose, **overrides
        )

    def sign_ahead(
        self,
        bank: Bank,
        enterprise: Enterprise,
        consent_id: bytes | str,
        categories: list[int | str],
        purpose: int | str,
        keys: Sequence[str],
    ) -> None:
        """Sign the bank's reads with these Idempotency-Keys now (a test that reads from many
        threads keeps its own chain calls on its thread)."""
        signer = self.signer_of(bank)
        assert signer is not None, "a bank made without a key cannot sign its reads"
        hex_id = consent_id if isinstance(consent_id, str) else "0x" + consent_id.hex()
        read = ReadRequest(enterprise.uscc, hex_id, categories, purpose)
        signer.sign_ahead((read, key) for key in keys)

    def post_read(
        self,
        bank: Bank,
        enterprise: Enterprise,
        consent_id: bytes | str,
        categories: list[int | str],
        *,
        purpose: int | str = 1,
        key: str | None = None,
        fields: dict[str, Any] | None = None,
        **signing: Any,
    ) -> Any:
        """The raw answer of ``POST /v1/queries`` with signed fields made by hand (see
        :meth:`signed`; ``fields``: signed fields made before, e.g. to send the same request
        again), for the tests of what the gateway does with a request's signature."""
        hex_id = consent_id if isinstance(consent_id, str) else "0x" + consent_id.hex()
        return self.http.post(
            "/v1/queries",
            json={
                "uscc": enterprise.uscc,
                "consent_id": hex_id,
                "categories": categories,
                "purpose": purpose,
                **(fields or self.signed(bank, consent_id, categories, purpose, **signing)),
            },
            headers={**bank.headers, "Idempotency-Key": key or secrets.token_hex(8)},
        )

    def size_class(self, bank: Bank, enterprise: Enterprise, consent_id: bytes | str) -> Any:
        """The raw answer of ``GET .../size-class``, signed by the bank's read signer."""
        hex_id = consent_id if isinstance(consent_id, str) else "0x" + consent_id.hex()
        signer = self.signer_of(bank)
        assert signer is not None, "a bank made without a key cannot sign its reads"
        return self.http.get(
            f"/v1/enterprises/{enterprise.uscc}/size-class",
            params={"consent_id": hex_id, **signer.sign_size_class(hex_id)},
            headers=bank.headers,
        )

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
        """A read the chain grants (anything else raises the client's named exception)."""
        return self.client_of(bank).read(
            enterprise.uscc, consent_id, categories, purpose, idempotency_key=key
        )

    def refused(
        self,
        bank: Bank,
        enterprise: Enterprise,
        consent_id: bytes | str,
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
def running_gateway(
    tmp: Path, bureau_url: str, *, domain: str = DOMAIN, **settings: Any
) -> Iterator[Gateway]:
    """A gateway on a fresh embedded chain (``settings`` are :class:`Settings` fields), a bank
    admitted on its chain, a funded relay and a second relayer; stopped when the block exits."""
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
        context: GatewayContext = app.state.context
        assert context.chain is not None
        assert context.regulator is not None
        bank = context.chain.new_account()
        context.regulator.add_bank(bank.address)
        reader_key = context.chain.new_account()
        context.regulator.add_relayer(reader_key.address)
        relay = LedgerClient(context.w3, context.deployment.address, context.chain.new_account())
        reader = context.ledger.with_account(reader_key)
        usccs = iter(context.bureau.usccs())
        yield Gateway(app, http, relay, reader, bank, usccs)


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
    assert server.started, "uvicorn did not start within a minute"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def admin_cli(live_url: str, *args: str) -> Result:
    """``consentledger admin ARGS`` against the gateway at ``live_url``, with the operator
    token in the environment."""
    env = {"CONSENTLEDGER_ADMIN_TOKEN": DEVELOPMENT_ADMIN_TOKEN, "COLUMNS": "200"}
    return CliRunner().invoke(main, ["admin", "--gateway", live_url, *args], env=env)
