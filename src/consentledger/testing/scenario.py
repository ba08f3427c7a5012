"""A small, fully scripted ledger to audit: the same keys, times and values on every chain.

Every key, subject, receipt and response hash is derived from a name, every nonce is chosen, and
the clock is set (block 17 at 2030-01-01T00:00:00Z, one second per block after it, days apart by
time travel), so the embedded chain and anvil (started with the embedded chain's id) hold the same
contract address, consent ids, query ids, block numbers and block times. Only what each node
computes for itself differs: gas limits, fees, and so transaction and block hashes.

The story covers every decision the ledger makes (a grant and all ten denial reasons), pauses,
resumes, revocations, a suspension, a purpose defined and retired, a category registered, a
controller change, a bank admitted, removed, re-admitted and renouncing, and an export. Every
action runs on the chain and in the state model (``World.both``), so the chain's decisions are
also the model's; the tally of what was recorded is taken from the chain's answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from consentledger.categories import Category, Purpose, seed_registries
from consentledger.chain import typed_data
from consentledger.chain.deploy import deploy_ledger
from consentledger.chain.devchain import DevChain
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import (
    MAX_READ_REQUEST_LIFETIME,
    ROLE_BANK,
    ROLE_BUREAU,
    AccessEntry,
    ConsentTerms,
    DenialReason,
)
from consentledger.testing.world import DAY, Enterprise, World

#: Block time of the first scripted block: 2030-01-01T00:00:00Z.
START = 1_893_456_000
#: The block number the scripted clock starts at (after funding, on every chain).
START_BLOCK = 17
#: The USCC of the ``solo`` enterprise (its subject id is derived with :data:`SUBJECT_KEY`).
SOLO_USCC = "91440305MA5DKW7Q1B"
#: The bureau's subject key in this scenario (hex).
SUBJECT_KEY = "5c" * 32
#: Purpose code defined, used and retired by governance in the story.
SUPPLY_CHAIN_FINANCE = 5


def _bytes(label: str) -> bytes:
    return keccak(text=f"consentledger/audit-scenario/{label}")


def _account(label: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(_bytes(f"key/{label}"))
    return account


@dataclass
class Tally:
    """What the chain answered, counted as the auditor should count it."""

    reads_by_reason: Counter[DenialReason] = field(default_factory=Counter)
    reads_by_bank: Counter[tuple[str, bool]] = field(default_factory=Counter)
    subject_reads: Counter[bytes] = field(default_factory=Counter)
    consents: int = 0
    exports: int = 0

    @property
    def granted(self) -> int:
        return self.reads_by_reason[DenialReason.NONE]

    @property
    def denied(self) -> int:
        return sum(self.reads_by_reason.values()) - self.granted


@dataclass
class Scenario:
    """The world after the story, the consents by name and the tally."""

    world: World
    consents: dict[str, bytes]
    tally: Tally
    bank_c: LocalAccount


class _Story:
    def __init__(self, world: World, bank_c: LocalAccount) -> None:
        self.world = world
        self.bank_c = bank_c
        self.tally = Tally()
        self.consents: dict[str, bytes] = {}
        self._nonce_keys: Counter[bytes] = Counter()
        self._reads = 0

    def nonce(self, enterprise: Enterprise) -> int:
        key = self._nonce_keys[enterprise.subject] + 1
        self._nonce_keys[enterprise.subject] = key
        return self.world.model.nonce(enterprise.subject, key)

    def grant(self, name: str, enterprise: Enterprise, bank: str, **terms: object) -> bytes:
        base: ConsentTerms = self.world.terms(
            enterprise,
            bank,
            nonce=self.nonce(enterprise),
            **terms,  # type: ignore[arg-type]
        )
        consent_id = self.world.grant(replace(base, receipt_hash=_bytes(f"receipt/{name}")))
        self.consents[name] = consent_id
        self.tally.consents += 1
        return consent_id

    def action(self, action: typed_data.PrimaryType, name: str, enterprise: Enterprise) -> None:
        self.world.consent_action(
            action, self.consents[name], enterprise, nonce=self.nonce(enterprise)
        )

    def entry(self, consent: str | bytes, bank: str, **kwargs: object) -> AccessEntry:
        consent_id = self.consents[consent] if isinstance(consent, str) else consent
        self._reads += 1
        kwargs.setdefault("request_id", self._reads)
        entry: AccessEntry = self.world.entry(consent_id, bank, **kwargs)  # type: ignore[arg-type]
        return replace(entry, response_hash=_bytes(f"response/{self._reads}"))

    def record(self, *entries: AccessEntry) -> list[DenialReason]:
        result = self.world.record(list(entries))
        for decision in result.decisions:
            self.tally.reads_by_reason[decision.reason] += 1
            granted = decision.reason is DenialReason.NONE
            self.tally.reads_by_bank[(decision.entry.bank, granted)] += 1
            consent = self.world.model.consents.get(decision.entry.consent_id)
            if consent is not None:
                self.tally.subject_reads[consent.subject] += 1
        return [d.reason for d in result.decisions]

    def travel_to(self, timestamp: int) -> None:
        self.world.chain.time_travel(timestamp)


def _register(world: World, name: str, controllers: int, threshold: int) -> Enterprise:
    keys = [_account(f"{name}/{i}") for i in range(controllers)]
    subject = _bytes(f"subject/{name}")
    if name == "solo":
        from consentledger.subject import parse_subject_key, subject_id

        subject = subject_id(SOLO_USCC, parse_subject_key(SUBJECT_KEY, "the scenario"))
    enterprise = Enterprise(name, subject, keys, threshold)
    addresses = [k.address for k in keys]
    world.both(
        lambda: world.bureau.register_enterprise(subject, addresses, threshold),
        lambda _now: world.model.register_enterprise(
            world.bureau.account.address, subject, addresses, threshold
        ),
    )
    world.enterprises[name] = enterprise
    return enterprise


def build_world(chain: DevChain) -> tuple[World, LocalAccount]:
    """Fund the actors, set the clock, deploy and seed, admit two banks, register ``solo``
    (1-of-1) and ``board`` (2-of-3)."""
    regulator, relayer = _account("regulator"), _account("relayer")
    bank_a, bank_b, bank_c = _account("bank-a"), _account("bank-b"), _account("bank-c")
    for account in (regulator, relayer, bank_a, bank_b, bank_c):
        chain.fund(account.address)
    while int(chain.w3.eth.block_number) < START_BLOCK - 1:
        chain.mine()
    chain.time_travel(START)
    deployment, regulator_client = deploy_ledger(chain.w3, regulator, relayers=[relayer.address])
    model = LedgerModel.deployed(regulator.address)
    seed_registries(
        partial(model.register_category, regulator.address),
        partial(model.define_purpose, regulator.address),
    )
    model.grant_role(regulator.address, ROLE_BUREAU, relayer.address)
    world = World(
        chain=chain,
        deployment=deployment,
        regulator=regulator_client,
        bureau=regulator_client.with_account(relayer),
        banks=[bank_a, bank_b],
        stranger=bank_c,
        enterprises={},
        model=model,
    )
    for bank in (bank_a.address, bank_b.address):
        world.both(
            partial(world.regulator.add_bank, bank),
            partial(_ignore_time, partial(model.grant_role, regulator.address, ROLE_BANK, bank)),
        )
    _register(world, "solo", 1, 1)
    _register(world, "board", 3, 2)
    return world, bank_c


def build_ledger(chain: DevChain) -> Scenario:
    """The whole story on ``chain``."""
    world, bank_c = build_world(chain)
    story = _Story(world, bank_c)
    solo, board = world.enterprises["solo"], world.enterprises["board"]
    a, b = world.banks[0].address, world.banks[1].address
    regulator = world.regulator.account.address
    cat = Category

    # Day 1: four consents, a batch with a grant and most denial reasons, a pause.
    now = world.now()
    basics = [cat.BUSINESS_REGISTRATION, cat.SOCIAL_INSURANCE]
    story.grant("underwriting", solo, a, categories=basics, max_reads=3)
    story.grant("monitoring", board, b, categories=[cat.BUSINESS_REGISTRATION, cat.TAX],
                purpose=Purpose.POST_LOAN_MONITORING, expires_at=now + 60 * DAY)  # fmt: skip
    story.grant("kyc", solo, b, categories=[cat.BUSINESS_REGISTRATION, cat.JUDICIAL],
                purpose=Purpose.ACCOUNT_OPENING_DUE_DILIGENCE, expires_at=now + 3600)  # fmt: skip
    story.grant("review", board, a, purpose=Purpose.CREDIT_LIMIT_REVIEW,
                not_before=now + 2 * DAY, expires_at=now + 30 * DAY)  # fmt: skip
    story.record(
        story.entry("underwriting", a),
        story.entry("underwriting", a, categories=[cat.SOCIAL_INSURANCE]),
        story.entry("underwriting", b),
        story.entry("underwriting", a, categories=[cat.TAX]),
        story.entry("underwriting", a, purpose=Purpose.CREDIT_LIMIT_REVIEW),
        story.entry(_bytes("consent/unknown"), a),
        story.entry("monitoring", b, purpose=Purpose.POST_LOAN_MONITORING),
        story.entry("kyc", b, purpose=Purpose.ACCOUNT_OPENING_DUE_DILIGENCE),
        story.entry("review", a, purpose=Purpose.CREDIT_LIMIT_REVIEW),
        story.entry("underwriting", a, deadline=now - 1),
        story.entry("underwriting", a, deadline=now + MAX_READ_REQUEST_LIFETIME + 600),
        story.entry("underwriting", a, signer=world.banks[1]),
    )
    story.action("Pause", "monitoring", board)
    story.record(story.entry("monitoring", b, purpose=Purpose.POST_LOAN_MONITORING))

    # Day 2: an expired consent, a resume, reads used up, a revocation, a suspension.
    story.travel_to(START + DAY)
    story.record(story.entry("kyc", b, purpose=Purpose.ACCOUNT_OPENING_DUE_DILIGENCE))
    story.action("Resume", "monitoring", board)
    story.record(
        story.entry("monitoring", b, categories=[cat.TAX], purpose=Purpose.POST_LOAN_MONITORING),
        story.entry("underwriting", a),
        story.entry("underwriting", a),
    )
    story.grant("second-look", solo, a, purpose=Purpose.CREDIT_LIMIT_REVIEW,
                categories=[cat.TAX, cat.AUDITED_FINANCIAL_STATEMENTS])  # fmt: skip
    story.record(
        story.entry("second-look", a, categories=[cat.TAX], purpose=Purpose.CREDIT_LIMIT_REVIEW)
    )
    story.action("Revocation", "second-look", solo)
    story.record(
        story.entry("second-look", a, categories=[cat.TAX], purpose=Purpose.CREDIT_LIMIT_REVIEW)
    )
    world.both(
        lambda: world.regulator.suspend_bank(b),
        lambda _now: world.model.suspend_bank(regulator, b),
    )
    story.record(story.entry("monitoring", b, purpose=Purpose.POST_LOAN_MONITORING))
    world.both(
        lambda: world.regulator.reinstate_bank(b),
        lambda _now: world.model.reinstate_bank(regulator, b),
    )
    story.record(story.entry("monitoring", b, purpose=Purpose.POST_LOAN_MONITORING))

    # Day 3: a consent becomes valid, governance, a controller change, an export.
    story.travel_to(START + 2 * DAY + 3600)
    story.record(story.entry("review", a, purpose=Purpose.CREDIT_LIMIT_REVIEW))
    procurement = cat.GOVERNMENT_PROCUREMENT
    world.both(
        lambda: world.regulator.register_category(procurement.value, procurement.slug),
        lambda _now: world.model.register_category(regulator, procurement.value, procurement.slug),
    )
    caps = (SUPPLY_CHAIN_FINANCE, "supply_chain_finance", cat.BUSINESS_REGISTRATION.bit
            | procurement.bit, 30 * DAY, 10, 12)  # fmt: skip
    world.both(
        lambda: world.regulator.define_purpose(*caps),
        lambda _now: world.model.define_purpose(regulator, *caps),
    )
    story.grant("procurement", solo, a, categories=[procurement], expires_at=world.now() + 20 * DAY,
                purpose=SUPPLY_CHAIN_FINANCE)  # fmt: skip
    world.both(
        lambda: world.regulator.retire_purpose(SUPPLY_CHAIN_FINANCE),
        lambda _now: world.model.retire_purpose(regulator, SUPPLY_CHAIN_FINANCE),
    )
    # Retiring a purpose leaves granted consents as they were.
    story.record(story.entry("procurement", a, categories=[procurement],
                             purpose=SUPPLY_CHAIN_FINANCE))  # fmt: skip
    _change_controllers(story, board)
    story.action("Revocation", "monitoring", board)
    story.record(story.entry("monitoring", b, purpose=Purpose.POST_LOAN_MONITORING))
    _bank_c_comes_and_goes(story)
    export_categories = cat.BUSINESS_REGISTRATION.bit | cat.SOCIAL_INSURANCE.bit | cat.TAX.bit
    world.both(
        lambda: world.bureau.record_export(solo.subject, export_categories, _bytes("export/1")),
        lambda _now: world.model.record_export(
            world.bureau.account.address, solo.subject, export_categories
        ),
    )
    story.tally.exports += 1
    return Scenario(world, story.consents, story.tally, bank_c)


def _change_controllers(story: _Story, board: Enterprise) -> None:
    """``board`` drops its third controller: 2-of-2, signed by two of the three."""
    world = story.world
    keep = board.controllers[:2]
    addresses = [k.address for k in keep]
    nonce, deadline = story.nonce(board), world.now() + DAY
    document = typed_data.typed_data(
        world.bureau.domain,
        "ChangeControllers",
        {
            "subject": board.subject,
            "controllers": addresses,
            "threshold": 2,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    signatures = board.sign(document)
    signers = [typed_data.recover(document, s) for s in signatures]
    world.both(
        lambda: world.bureau.change_controllers(
            board.subject, addresses, 2, nonce, deadline, signatures
        ),
        lambda now: world.model.change_controllers(
            board.subject, addresses, 2, nonce, deadline, signers, now
        ),
    )
    board.controllers = list(keep)


def _ignore_time(action: Callable[[], object], _now: int) -> object:
    return action()


def _bank_c_comes_and_goes(story: _Story) -> None:
    """Bank C is admitted, removed by the regulator, admitted again, and renounces the role."""
    world, bank_c = story.world, story.bank_c
    regulator = world.regulator.account.address
    for admit in (True, False, True):
        call = world.regulator.grant_role if admit else world.regulator.revoke_role
        in_model = world.model.grant_role if admit else world.model.revoke_role
        world.both(
            partial(call, ROLE_BANK, bank_c.address),
            partial(_ignore_time, partial(in_model, regulator, ROLE_BANK, bank_c.address)),
        )
    as_bank = world.regulator.with_account(bank_c)
    world.both(
        lambda: as_bank.transact("renounceRole", ROLE_BANK, bank_c.address),
        lambda _now: world.model.renounce_role(bank_c.address, ROLE_BANK, bank_c.address),
    )
