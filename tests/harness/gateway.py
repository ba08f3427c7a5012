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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from consentledger.categories import mask_of, parse_category, parse_purpose
from consentledger.chain import typed_data
from consentledger.chain.client import BatchResult, LedgerClient
from consentledger.cli import main
from consentledger.client import GatewayProblemError, sign_typed_data, siwe_authorization
from consentledger.client.models import ActionResult, ConsentAction, ConsentDraft, ReadRequest
from consentledger.gateway.banks import create_bank
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from consentledger.ledger.types import AccessEntry, ConsentTerms, first_query_id
from consentledger.testing.gateway import (
    DOMAIN,
    Bank,
    Enterprise,
    TestGateway,
    licence_number,
    seeded_bureau,
    serve_live,
    started_app,
)

__all__ = [
    "DOMAIN",
    "Bank",
    "Enterprise",
    "Gateway",
    "licence_number",
    "running_gateway",
    "seeded_bureau",
    "serve_live",
]

#: The operator's headers, for the tests that send raw requests.
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


@dataclass(kw_only=True)
class Gateway(TestGateway):
    """The shipped test gateway, with handles on its chain for the tests' own moves."""

    relay: LedgerClient  # a separate funded account that relays signed consents
    reader: LedgerClient  # a second bureau relayer, recording test reads with its own query ids
    bank: LocalAccount  # a bank admitted on the chain, for the consent tests
    _sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @functools.cached_property
    def bank_headers(self) -> dict[str, str]:
        """An API key for :attr:`bank` (made when first asked for), as a Bearer token: the bank
        asks for drafts with it."""
        _stored, api_key = create_bank(self.context.db, "Test Bank", self.bank.address)
        return {"Authorization": f"Bearer {api_key}"}

    def domain(self) -> dict[str, Any]:
        return {
            "name": "ConsentLedger",
            "version": "1",
            "chainId": self.context.deployment.chain_id,
            "verifyingContract": self.context.deployment.address,
        }

    def new_enterprise(self, controllers: int = 1, threshold: int = 1) -> Enterprise:
        """Register a fresh enterprise (a USCC the bureau holds) on the chain directly."""
        keys = [Account.create() for _ in range(controllers)]
        uscc = self.next_uscc()
        subject = self.context.subject_of(uscc)
        self.context.ledger.register_enterprise(subject, [k.address for k in keys], threshold)
        return Enterprise(uscc, subject, keys, threshold)

    # ------------------------------------------------------------------ consents, by the API

    def draft(
        self, enterprise: Enterprise, bank: Bank | str | None = None, **overrides: Any
    ) -> ConsentDraft:
        """A consent draft (default: for the chain-admitted bank)."""
        return super().draft(enterprise, bank or self.bank.address, **overrides)

    def grant(
        self, enterprise: Enterprise, bank: Bank | str | None = None, **overrides: Any
    ) -> str:
        """Draft, sign with the first k controllers, grant through the API; the consent id."""
        return super().grant(enterprise, bank or self.bank.address, **overrides)

    def act(
        self,
        consent_id: str,
        action: ConsentAction,
        signers: Sequence[LocalAccount],
        edit: Callable[[dict[str, Any]], None] | None = None,
    ) -> ActionResult:
        """Draft an action, sign it (after ``edit`` of its message), send it through the API."""
        if edit is None:
            return super().act(consent_id, action, signers)
        enterprise = self.api.enterprise("", signers)
        document = enterprise.draft_action(consent_id, action).typed_data.document()
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
    with started_app(tmp, bureau_url, domain=domain, **settings) as (app, http):
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
        yield Gateway(app, http, usccs, relay=relay, reader=reader, bank=bank)


def admin_cli(live_url: str, *args: str) -> Result:
    """``consentledger admin ARGS`` against the gateway at ``live_url``, with the operator
    token in the environment."""
    env = {"CONSENTLEDGER_ADMIN_TOKEN": DEVELOPMENT_ADMIN_TOKEN, "COLUMNS": "200"}
    return CliRunner().invoke(main, ["admin", "--gateway", live_url, *args], env=env)
