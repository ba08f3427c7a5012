"""A deployed ledger on the embedded chain, its actors, and the state model kept in step.

Every action goes to the chain through the real client and to the model with the block time the
chain will use, so a test can compare the two at any point.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount

from consentledger.categories import (
    Category,
    Purpose,
    seed_registries,
)
from consentledger.chain import typed_data
from consentledger.chain.client import BatchResult, LedgerClient, Mined
from consentledger.chain.deploy import Deployment, deploy_ledger
from consentledger.chain.devchain import DevChain
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import (
    ROLE_BANK,
    ROLE_BUREAU,
    AccessEntry,
    ConsentTerms,
    Decision,
    first_query_id,
)

DAY = 24 * 60 * 60
T = TypeVar("T")


@dataclass
class Enterprise:
    """A registered enterprise and the keys that sign for it."""

    name: str
    subject: bytes
    controllers: list[LocalAccount]
    threshold: int

    def sign(
        self, document: dict[str, Any], signers: Sequence[LocalAccount] | None = None
    ) -> list[bytes]:
        """Signatures of ``document`` by ``signers`` (default: the first k controllers)."""
        chosen = self.controllers[: self.threshold] if signers is None else signers
        return [typed_data.sign(account, document) for account in chosen]


@dataclass
class World:
    """The chain, the deployment, the actors and the model."""

    chain: DevChain
    deployment: Deployment
    regulator: LedgerClient
    bureau: LedgerClient
    banks: list[LocalAccount]
    stranger: LocalAccount
    enterprises: dict[str, Enterprise]
    model: LedgerModel
    _next_sequence: int = field(default=1)

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        """The timestamp of the next block (the embedded chain adds one second per block)."""
        return self.chain.now()

    def travel(self, seconds: int) -> None:
        """Mine an empty block ``seconds`` after the next block's time (``now()``)."""
        self.chain.time_travel(self.chain.now() + seconds)

    @contextmanager
    def isolated(self) -> Iterator[World]:
        """This world, returned to its state of now when the block exits: the chain reverted to a
        snapshot, the model, the actors and the query sequence restored, the clients' cached
        nonces forgotten. Deploy once, then run each test inside one of these."""
        snapshot = self.chain.snapshot()
        model = copy.deepcopy(self.model)
        enterprises, banks, sequence = dict(self.enterprises), list(self.banks), self._next_sequence
        try:
            yield self
        finally:
            self.chain.revert(snapshot)
            self.model = model
            self.enterprises, self.banks, self._next_sequence = enterprises, banks, sequence
            self.regulator.forget_nonce()
            self.bureau.forget_nonce()

    # --------------------------------------------------------------- helpers

    def both(self, on_chain: Callable[[], T], in_model: Callable[[int], object]) -> T:
        """Run an action on the chain and in the model with the same time; both must agree on
        whether (and with which error) it fails."""
        now = self.now()
        predicted: LedgerRevertError | None = None
        try:
            in_model(now)
        except LedgerRevertError as exc:
            predicted = exc
        try:
            result = on_chain()
        except LedgerRevertError as actual:
            if predicted != actual:
                raise AssertionError(
                    f"model predicted {predicted!r}, chain said {actual!r}"
                ) from None
            raise
        assert predicted is None, f"model predicted {predicted!r}, chain accepted"
        return result

    def terms(
        self,
        enterprise: Enterprise,
        bank: LocalAccount | str,
        *,
        categories: Sequence[Category] = (
            Category.BUSINESS_REGISTRATION,
            Category.SOCIAL_INSURANCE,
        ),
        purpose: Purpose = Purpose.CREDIT_UNDERWRITING,
        not_before: int | None = None,
        expires_at: int | None = None,
        max_reads: int = 0,
        history_months: int = 12,
        nonce: int | None = None,
        deadline: int | None = None,
        key: int | None = None,
    ) -> ConsentTerms:
        """Consent terms with sensible defaults: valid now for 30 days, a fresh keyed nonce."""
        now = self.now()
        mask = 0
        for category in categories:
            mask |= category.bit
        if nonce is None:
            nonce = self.model.nonce(
                enterprise.subject, secrets.randbits(64) if key is None else key
            )
        return ConsentTerms(
            subject=enterprise.subject,
            bank=bank if isinstance(bank, str) else bank.address,
            categories=mask,
            purpose=int(purpose),
            not_before=now - 1 if not_before is None else not_before,
            expires_at=now + 30 * DAY if expires_at is None else expires_at,
            max_reads=max_reads,
            history_months=history_months,
            receipt_hash=secrets.token_bytes(32),
            nonce=nonce,
            deadline=now + DAY if deadline is None else deadline,
        )

    def grant(
        self,
        terms: ConsentTerms,
        signatures: Sequence[bytes] | None = None,
        enterprise: Enterprise | None = None,
    ) -> bytes:
        """Grant on chain and in the model; returns the consent id."""
        document = self.bureau.consent_document(terms)
        owner = enterprise or self.enterprise_of(terms.subject)
        sigs = owner.sign(document) if signatures is None else list(signatures)
        consent_id = typed_data.digest(document)
        signers = [typed_data.recover(document, s) for s in sigs]
        self.both(
            lambda: self.bureau.grant_consent(terms, sigs),
            lambda now: self.model.grant_consent(terms, consent_id, signers, now),
        )
        return consent_id

    def consent_action(
        self,
        action: typed_data.PrimaryType,
        consent_id: bytes,
        enterprise: Enterprise,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
        signers: Sequence[LocalAccount] | None = None,
    ) -> Mined:
        """Pause, Resume or Revocation of a consent, signed by ``signers``."""
        if nonce is None:
            nonce = self.model.nonce(enterprise.subject, secrets.randbits(64))
        if deadline is None:
            deadline = self.now() + DAY
        document = self.bureau.action_document(action, consent_id, nonce, deadline)
        sigs = enterprise.sign(document, signers)
        recovered = [typed_data.recover(document, s) for s in sigs]
        send = {
            "Pause": (self.bureau.pause_consent, self.model.pause_consent),
            "Resume": (self.bureau.resume_consent, self.model.resume_consent),
            "Revocation": (self.bureau.revoke_consent, self.model.revoke_consent),
        }[action]
        return self.both(
            lambda: send[0](consent_id, nonce, deadline, sigs),
            lambda now: send[1](consent_id, nonce, deadline, recovered, now),
        )

    def entry(
        self,
        consent_id: bytes,
        bank: LocalAccount | str,
        *,
        categories: Sequence[Category] = (Category.BUSINESS_REGISTRATION,),
        purpose: Purpose = Purpose.CREDIT_UNDERWRITING,
        history_months: int = 12,
        request_id: int | None = None,
        deadline: int | None = None,
        signer: LocalAccount | None = None,
        unsigned: bool = False,
    ) -> AccessEntry:
        """A read to record, with the next query id of the bureau's relayer, signed as the bank's
        ``ReadRequest`` by ``signer`` (default: the bank's own key, also for a bank given by its
        address; a read of an address with no key here, or ``unsigned``, carries no signature).
        The deadline defaults to ten minutes ahead."""
        mask = 0
        for category in categories:
            mask |= category.bit
        query_id = first_query_id(self.bureau.account.address) + self._next_sequence
        self._next_sequence += 1
        entry = AccessEntry(
            query_id=query_id,
            consent_id=consent_id,
            bank=bank if isinstance(bank, str) else bank.address,
            categories=mask,
            purpose=int(purpose),
            response_hash=secrets.token_bytes(32),
            history_months=history_months,
            request_id=secrets.randbits(64) if request_id is None else request_id,
            deadline=self.now() + 600 if deadline is None else deadline,
        )
        key = signer if signer is not None else self.key_of(entry.bank)
        if key is None or unsigned:
            return entry
        return typed_data.sign_read_request(key, self.bureau.domain, entry)

    def record(self, entries: Sequence[AccessEntry]) -> BatchResult:
        """Record a batch; the chain's decisions must equal the model's."""
        model_decisions: list[Decision] = []

        def in_model(now: int) -> None:
            model_decisions.extend(
                self.model.record_accesses(self.bureau.account.address, entries, now)
            )

        result = self.both(lambda: self.bureau.record_accesses(entries), in_model)
        assert list(result.decisions) == model_decisions
        return result

    def key_of(self, address: str) -> LocalAccount | None:
        """The key of a bank (or the stranger) of this world, by address."""
        wanted = address.lower()
        return next((k for k in [*self.banks, self.stranger] if k.address.lower() == wanted), None)

    def enterprise_of(self, subject: bytes) -> Enterprise:
        return next(e for e in self.enterprises.values() if e.subject == subject)

    def new_bank(self) -> LocalAccount:
        """A fresh funded key admitted as a bank (BANK role) on chain and in the model; it signs
        its own reads (:meth:`entry`)."""
        key = self.chain.new_account()
        regulator = self.regulator.account.address
        self.both(
            lambda: self.regulator.add_bank(key.address),
            lambda _now: self.model.grant_role(regulator, ROLE_BANK, key.address),
        )
        self.banks.append(key)
        return key

    def new_enterprise(self, name: str, controllers: int = 1, threshold: int = 1) -> Enterprise:
        """Register a fresh enterprise on chain and in the model."""
        keys = [Account.create() for _ in range(controllers)]
        enterprise = Enterprise(name, secrets.token_bytes(32), keys, threshold)
        addresses = [k.address for k in keys]
        self.both(
            lambda: self.bureau.register_enterprise(enterprise.subject, addresses, threshold),
            lambda now: self.model.register_enterprise(
                self.bureau.account.address, enterprise.subject, addresses, threshold
            ),
        )
        self.enterprises[name] = enterprise
        return enterprise


def bind(world: World, chain: DevChain) -> None:
    """Point the world at ``chain`` (the same ledger, reopened): its clients send there now."""
    world.chain = chain
    world.regulator = LedgerClient(chain.w3, world.deployment.address, world.regulator.account)
    world.bureau = LedgerClient(chain.w3, world.deployment.address, world.bureau.account)


def build_world(chain: DevChain) -> World:
    """Deploy, seed, admit two banks and the bureau, and register two enterprises: ``solo``
    (1-of-1) and ``board`` (2-of-3)."""
    regulator_key = chain.new_account()
    relayer_key = chain.new_account()
    deployment, regulator = deploy_ledger(chain.w3, regulator_key, relayers=[relayer_key.address])
    model = LedgerModel.deployed(regulator_key.address)
    seed_registries(
        partial(model.register_category, regulator_key.address),
        partial(model.define_purpose, regulator_key.address),
    )
    model.grant_role(regulator_key.address, ROLE_BUREAU, relayer_key.address)
    banks = [chain.new_account(), chain.new_account()]
    for bank in banks:
        regulator.add_bank(bank.address)
        model.grant_role(regulator_key.address, ROLE_BANK, bank.address)
    world = World(
        chain=chain,
        deployment=deployment,
        regulator=regulator,
        bureau=regulator.with_account(relayer_key),
        banks=banks,
        stranger=chain.new_account(),
        enterprises={},
        model=model,
    )
    world.new_enterprise("solo", controllers=1, threshold=1)
    world.new_enterprise("board", controllers=3, threshold=2)
    return world
