"""The contract against the state model, driven by Hypothesis.

Random registrations, grants (good and bad), pauses, resumes, revocations, bank suspensions, role
changes, time travel and read batches run on the chain and in the model; every revert must name
the same error, every read the same decision, and every consent the same status and read count.

``CONSENTLEDGER_STATE_EXAMPLES`` (default 200) and ``CONSENTLEDGER_STATE_STEPS`` (default 20) set
the size of the run; e.g. ``CONSENTLEDGER_STATE_EXAMPLES=5000 pytest tests/test_state_machine.py``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
from collections import Counter
from dataclasses import replace
from pathlib import Path

from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import (
    MAX_READ_REQUEST_LIFETIME,
    ROLE_BANK,
    ZERO_ADDRESS,
    AccessEntry,
    ConsentTerms,
    PurposeCaps,
)
from consentledger.testing.world import DAY, Enterprise, World

EXAMPLES = int(os.environ.get("CONSENTLEDGER_STATE_EXAMPLES", "200"))
#: What the runs did, by outcome ("grant accepted", "read REVOKED", ...).
OUTCOMES: Counter[str] = Counter()
STEPS = int(os.environ.get("CONSENTLEDGER_STATE_STEPS", "20"))

category_sets = st.sets(st.sampled_from(list(Category)), max_size=4)
signer_modes = st.sampled_from(["ok", "ok", "ok", "short", "outsider", "duplicate"])
pauses = st.sampled_from([1, 30, 3600, DAY, 10 * DAY, 45 * DAY])
FLAWS = [
    "bank",
    "purpose",
    "categories",
    "unregistered_category",
    "window",
    "expired",
    "too_long",
    "too_far",
    "reads",
    "history",
    "deadline",
    "signers_short",
    "signers_outsider",
    "signers_dup",
    "nonce_replay",
]
flaws = st.one_of(st.just("none"), st.sampled_from(FLAWS))
CONSENTS: Bundle[bytes] = Bundle("consents")
#: The rule decorator of both grant rules (drawn twice as often as other rules).
GRANT_RULE = rule(
    target=CONSENTS,
    which=st.integers(0, 50),
    bank=st.sampled_from([0, 0, 0, 1]),
    purpose=st.sampled_from(list(Purpose)),
    flaw=flaws,
    data=st.data(),
)
#: What may be wrong with a bank's signed read request (mostly nothing).
REQUEST_FLAWS = ["expired", "too_long", "other_signer", "unsigned"]
request_flaws = st.one_of(st.just("none"), st.just("none"), st.sampled_from(REQUEST_FLAWS))
#: Batches of reads: (consent index, bank index, categories, purpose, 0 = unknown consent,
#: request flaw).
READS = st.lists(
    st.tuples(
        st.integers(0, 1000),
        st.integers(0, 2),
        category_sets,
        st.sampled_from([*Purpose]),
        st.integers(0, 9),
        request_flaws,
    ),
    min_size=1,
    max_size=6,
)


def _with_flaw(
    terms: ConsentTerms, flaw: str, world: World, caps: PurposeCaps | None, now: int
) -> ConsentTerms:
    """``terms`` with one thing wrong (or unchanged for "none" and the signer flaws)."""
    max_duration = caps.max_duration if caps else DAY
    if flaw == "bank":
        return replace(terms, bank=world.stranger.address)
    if flaw == "purpose":
        return replace(terms, purpose=77)
    if flaw == "categories":
        return replace(terms, categories=0)
    if flaw == "unregistered_category":
        return replace(terms, categories=terms.categories | (1 << 40))
    if flaw == "window":
        return replace(terms, not_before=terms.expires_at)
    if flaw == "expired":
        return replace(terms, not_before=now - 100, expires_at=now)
    if flaw == "too_long":
        return replace(terms, not_before=now - max_duration, expires_at=now + 10)
    if flaw == "too_far":
        return replace(terms, not_before=now + 10, expires_at=now + max_duration + 20)
    if flaw == "reads":
        return replace(terms, max_reads=(caps.max_reads if caps else 0) + 1)
    if flaw == "history":
        return replace(terms, history_months=(caps.max_history_months if caps else 0) + 1)
    if flaw == "deadline":
        return replace(terms, deadline=now - 1)
    if flaw == "nonce_replay":
        sequence = world.model.nonce(terms.subject, 0)
        return replace(terms, nonce=sequence - 1 if sequence else sequence + 1)
    return terms


def _outcome(name: str) -> None:
    event(name)
    OUTCOMES[name] += 1


def _signers(enterprise: Enterprise, mode: str, outsider: LocalAccount) -> list[LocalAccount]:
    k = enterprise.threshold
    if mode == "short" and k > 1:
        return enterprise.controllers[: k - 1]
    if mode == "outsider":
        return [outsider, *enterprise.controllers[: k - 1]]
    if mode == "duplicate" and k > 1:
        return [enterprise.controllers[0]] * k
    return enterprise.controllers[:k]


class LedgerMachine(RuleBasedStateMachine):
    consents = CONSENTS

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.snapshot = world.chain.snapshot()
        self.model_before = copy.deepcopy(world.model)
        self.enterprises_before = dict(world.enterprises)
        self.granted: list[bytes] = []
        self.readers = [*world.banks, world.stranger]
        #: The read signer each bank registered (absent: the bank's own key).
        self.read_keys: dict[str, LocalAccount] = {}

    def teardown(self) -> None:
        try:
            self._check_all_consents()
        finally:
            self.world.chain.revert(self.snapshot)
            self.world.model = self.model_before
            self.world.enterprises = self.enterprises_before
            self.world.regulator.forget_nonce()
            self.world.bureau.forget_nonce()

    # -------------------------------------------------------------- helpers

    def _attempt(self, action: object, label: str = "action") -> bool:
        """Run a chain+model action; a refusal is fine as long as both refused alike."""
        try:
            action()  # type: ignore[operator]
        except LedgerRevertError as exc:
            _outcome(f"{label} refused: {exc.error}")
            return False
        _outcome(f"{label} accepted")
        return True

    def _check(self, consent_id: bytes) -> None:
        view = self.world.bureau.consent(consent_id)
        model = self.world.model.consents[consent_id]
        now = self.world.chain.now() - 1  # eth_call runs on the latest block
        assert view.status == model.status(now), "status differs"
        assert view.reads_used == model.reads_used, "reads used differ"
        assert view.max_reads == model.max_reads

    def _check_all_consents(self) -> None:
        for consent_id in self.granted:
            self._check(consent_id)

    def _enterprise(self, index: int) -> Enterprise:
        names = sorted(self.world.enterprises)
        return self.world.enterprises[names[index % len(names)]]

    # ---------------------------------------------------------------- rules

    @rule(controllers=st.integers(1, 3), data=st.data())
    def register_enterprise(self, controllers: int, data: st.DataObject) -> None:
        threshold = data.draw(st.integers(1, controllers))
        self.world.new_enterprise(f"e{len(self.world.enterprises)}", controllers, threshold)

    @GRANT_RULE
    def grant(
        self, which: int, bank: int, purpose: Purpose, flaw: str, data: st.DataObject
    ) -> bytes:
        return self._grant(which, bank, purpose, flaw, data)

    def _grant(
        self, which: int, bank: int, purpose: Purpose, flaw: str, data: st.DataObject
    ) -> bytes:
        """A consent that satisfies the purpose's caps as the model holds them now, with at most
        one flaw, so that most grants pass and each refusal has one cause."""
        world = self.world
        enterprise = self._enterprise(which)
        now = world.now()
        caps = world.model.purposes.get(int(purpose))
        allowed = caps.allowed_categories & world.model.categories if caps else Category.TAX.bit
        pool = [c for c in Category if c.bit & allowed] or [Category.TAX]
        categories = data.draw(st.sets(st.sampled_from(pool), min_size=1, max_size=3))
        max_duration = caps.max_duration if caps else DAY
        start = data.draw(st.sampled_from([-DAY, -1, 0, 50]))
        longest = max(2, max_duration - max(start, 0))
        length = min(longest, data.draw(st.sampled_from([100, 3600, 7 * DAY, 30 * DAY, longest])))
        max_reads = data.draw(st.sampled_from([0, 1, 2, 3]))
        history = data.draw(st.integers(0, caps.max_history_months if caps else 0))
        terms = world.terms(
            enterprise,
            self.readers[bank],
            categories=sorted(categories),
            purpose=purpose,
            not_before=now + start,
            expires_at=now + start + length,
            max_reads=max_reads,
            history_months=history,
        )
        terms = _with_flaw(terms, flaw, world, caps, now)
        document = world.bureau.consent_document(terms)
        mode = {
            "signers_short": "short",
            "signers_outsider": "outsider",
            "signers_dup": "duplicate",
        }
        signers = _signers(enterprise, mode.get(flaw, "ok"), world.stranger)
        signatures = enterprise.sign(document, signers)
        consent_id = typed_data.digest(document)
        if self._attempt(lambda: world.grant(terms, signatures, enterprise), "grant"):
            self.granted.append(consent_id)
            self._check(consent_id)
        return consent_id

    @rule(
        consent=consents,
        action=st.sampled_from(["Pause", "Resume", "Revocation"]),
        signers=signer_modes,
        nonce_mode=st.sampled_from(["fresh_key", "sequential", "sequential", "replayed"]),
        pick=st.integers(0, 1000),
    )
    def consent_action(
        self, consent: bytes, action: str, signers: str, nonce_mode: str, pick: int
    ) -> None:
        world = self.world
        if self.granted and pick % 4:
            consent = self.granted[pick % len(self.granted)]  # mostly a consent that exists
        state = world.model.consents.get(consent)
        enterprise = self._enterprise(0) if state is None else world.enterprise_of(state.subject)
        nonce = None  # fresh_key: a random key, sequence 0
        if nonce_mode == "sequential":
            nonce = world.model.nonce(enterprise.subject, 0)
        elif nonce_mode == "replayed":
            next_nonce = world.model.nonce(enterprise.subject, 0)
            nonce = next_nonce - 1 if next_nonce > 0 else next_nonce + 1
        self._attempt(
            lambda: world.consent_action(
                action,  # type: ignore[arg-type]
                consent,
                enterprise,
                nonce=nonce,
                signers=_signers(enterprise, signers, world.stranger),
            ),
            action,
        )
        if state is not None:
            self._check(consent)

    @GRANT_RULE
    def grant_more(
        self, which: int, bank: int, purpose: Purpose, flaw: str, data: st.DataObject
    ) -> bytes:
        """The same as :meth:`grant`: a second rule doubles how often grants are drawn."""
        return self._grant(which, bank, purpose, flaw, data)

    @rule(
        kind=st.sampled_from(["suspension", "bank_role", "category", "purpose"]),
        bank=st.integers(0, 2),
        flag=st.booleans(),
        purpose=st.sampled_from([*Purpose, 77]),
        categories=category_sets,
    )
    def govern(
        self, kind: str, bank: int, flag: bool, purpose: int, categories: set[Category]
    ) -> None:
        """The regulator's moves, one rule so that they are a small share of the steps."""
        if kind == "suspension":
            self.suspension(bank, flag)
        elif kind == "bank_role":
            # Mostly (re)admit: a revoked bank makes every later grant to it fail.
            self.bank_role(bank, admit=flag or bank == 2)
        elif kind == "category":
            self.register_category(12 if flag else 13)
        else:
            self.govern_purpose(purpose, flag, categories)

    @rule(seconds=pauses)
    def travel(self, seconds: int) -> None:
        self.world.travel(seconds)

    def suspension(self, bank: int, suspend: bool) -> None:
        world = self.world
        address = self.readers[bank].address
        caller = world.regulator.account.address
        if suspend:
            self._attempt(
                lambda: world.both(
                    lambda: world.regulator.suspend_bank(address),
                    lambda _n: world.model.suspend_bank(caller, address),
                ),
                "suspend",
            )
        else:
            self._attempt(
                lambda: world.both(
                    lambda: world.regulator.reinstate_bank(address),
                    lambda _n: world.model.reinstate_bank(caller, address),
                ),
                "reinstate",
            )

    def bank_role(self, bank: int, admit: bool) -> None:
        world = self.world
        address = self.readers[bank].address
        caller = world.regulator.account.address
        if admit:
            world.both(
                lambda: world.regulator.grant_role(ROLE_BANK, address),
                lambda _n: world.model.grant_role(caller, ROLE_BANK, address),
            )
        else:
            world.both(
                lambda: world.regulator.revoke_role(ROLE_BANK, address),
                lambda _n: world.model.revoke_role(caller, ROLE_BANK, address),
            )

    @rule(bank=st.integers(0, 2), own_key=st.booleans())
    def rotate_read_signer(self, bank: int, own_key: bool) -> None:
        """A bank registers a fresh read signer, or goes back to signing with its own key."""
        world = self.world
        reader = self.readers[bank]
        key = reader if own_key else world.chain.new_account()
        signer = ZERO_ADDRESS if own_key else key.address
        client = world.bureau.with_account(reader)
        if self._attempt(
            lambda: world.both(
                lambda: client.set_read_signer(signer),
                lambda _n: world.model.set_read_signer(reader.address, signer),
            ),
            "read signer",
        ):
            self.read_keys[reader.address] = key

    def _signed(self, entry: AccessEntry, flaw: str) -> AccessEntry:
        """``entry`` (unsigned) as its bank would sign it, with ``flaw``."""
        world = self.world
        reader = next((r for r in self.readers if r.address == entry.bank), None)
        if reader is None or flaw == "unsigned":
            return entry
        key = self.read_keys.get(reader.address, reader)
        now = world.now()
        if flaw == "expired":
            entry = replace(entry, deadline=now - 1)
        elif flaw == "too_long":
            entry = replace(entry, deadline=now + MAX_READ_REQUEST_LIFETIME + 5)
        elif flaw == "other_signer":
            key = world.stranger if reader is not world.stranger else world.banks[0]
        return typed_data.sign_read_request(key, world.bureau.domain, entry)

    @precondition(lambda self: bool(self.granted))
    @rule(reads=READS)
    def record(self, reads: list[tuple[int, int, set[Category], Purpose, int, str]]) -> None:
        self._record(reads)

    def _record(self, reads: list[tuple[int, int, set[Category], Purpose, int, str]]) -> None:
        world = self.world
        entries = []
        for index, bank, categories, purpose, unknown, flaw in reads:
            consent = (
                secrets.token_bytes(32) if unknown == 0 else self.granted[index % len(self.granted)]
            )
            state = world.model.consents.get(consent)
            if state is not None and unknown > 3:
                # Mostly ask within the consent, so that grants and read limits are exercised.
                entry = world.entry(
                    consent,
                    state.bank,
                    categories=[c for c in Category if c.bit & state.categories][:2],
                    purpose=Purpose(state.purpose) if state.purpose in set(Purpose) else purpose,
                    unsigned=True,
                )
            else:
                entry = world.entry(
                    consent,
                    self.readers[bank],
                    categories=sorted(categories),
                    purpose=purpose,
                    unsigned=True,
                )
            entries.append(self._signed(entry, flaw))
        for decision in world.record(entries).decisions:
            _outcome(f"read {decision.reason.name}")
        for consent in {e.consent_id for e in entries} & set(self.granted):
            self._check(consent)

    @precondition(lambda self: bool(self.granted))
    @rule(reads=READS)
    def record_more(self, reads: list[tuple[int, int, set[Category], Purpose, int, str]]) -> None:
        """The same as :meth:`record`, drawn as often again."""
        self._record(reads)

    def register_category(self, code: int) -> None:
        world = self.world
        caller = world.regulator.account.address
        self._attempt(
            lambda: world.both(
                lambda: world.regulator.register_category(code, Category(code).slug),
                lambda _n: world.model.register_category(caller, code, Category(code).slug),
            )
        )

    def govern_purpose(self, purpose: int, retire: bool, categories: set[Category]) -> None:
        world = self.world
        caller = world.regulator.account.address
        code = int(purpose)
        if retire:
            self._attempt(
                lambda: world.both(
                    lambda: world.regulator.retire_purpose(code),
                    lambda _n: world.model.retire_purpose(caller, code),
                )
            )
            return
        mask = sum(c.bit for c in categories)
        self._attempt(
            lambda: world.both(
                lambda: world.regulator.define_purpose(
                    code, f"purpose-{code}", mask, 60 * DAY, 3, 24
                ),
                lambda _n: world.model.define_purpose(
                    caller, code, f"purpose-{code}", mask, 60 * DAY, 3, 24
                ),
            )
        )


def test_contract_matches_state_model(embedded_world: World) -> None:
    world = embedded_world

    class BoundMachine(LedgerMachine):
        def __init__(self) -> None:
            super().__init__(world)

    run_state_machine_as_test(
        BoundMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

    # The run must have exercised the ledger, not just been refused everywhere.
    report = Path(__file__).resolve().parents[2] / "out" / "state-machine-outcomes.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(dict(sorted(OUTCOMES.items())), indent=2) + "\n")
    logging.getLogger(__name__).warning("state machine outcomes: %s", dict(OUTCOMES))
    assert OUTCOMES["grant accepted"] > 0
    assert OUTCOMES["read NONE"] > 0
    assert OUTCOMES["read SIGNATURE_INVALID"] > 0
    assert OUTCOMES["read REQUEST_EXPIRED"] > 0
    assert OUTCOMES["Pause accepted"] + OUTCOMES["Revocation accepted"] > 0
    read_reasons = {name for name in OUTCOMES if name.startswith("read ")}
    assert len(read_reasons) >= (8 if EXAMPLES >= 100 else 3)
