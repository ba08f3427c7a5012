"""The contract against the state model, driven by Hypothesis.

Random registrations, grants (good and bad), pauses, resumes, revocations, bank suspensions, role
changes, time travel and read batches run on the chain and in the model; every revert must name
the same error, every read the same decision, and every consent the same status and read count.

``CONSENTLEDGER_STATE_EXAMPLES`` (default 200) and ``CONSENTLEDGER_STATE_STEPS`` (default 20) set
the size of the run; e.g. ``CONSENTLEDGER_STATE_EXAMPLES=5000 pytest tests/test_state_machine.py``.
"""

from __future__ import annotations

import copy
import os
import secrets

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

from consentledger.audit.model import ROLE_BANK, LedgerRevertError
from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from tests.support import DAY, Enterprise, World

EXAMPLES = int(os.environ.get("CONSENTLEDGER_STATE_EXAMPLES", "200"))
STEPS = int(os.environ.get("CONSENTLEDGER_STATE_STEPS", "20"))

category_sets = st.sets(st.sampled_from(list(Category)), max_size=4)
purposes = st.sampled_from([*Purpose, 77])
signer_modes = st.sampled_from(["ok", "ok", "ok", "short", "outsider", "duplicate"])
start_offsets = st.sampled_from([-DAY, -1, 0, 50, DAY])
durations = st.sampled_from([1, 100, DAY, 30 * DAY, 89 * DAY, 200 * DAY, 400 * DAY])
pauses = st.sampled_from([1, 30, 3600, DAY, 10 * DAY, 45 * DAY])


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
    consents = Bundle("consents")

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.snapshot = world.chain.snapshot()
        self.model_before = copy.deepcopy(world.model)
        self.enterprises_before = dict(world.enterprises)
        self.granted: list[bytes] = []
        self.readers = [*world.banks, world.stranger]

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
            event(f"{label} refused: {exc.error}")
            return False
        event(f"{label} accepted")
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

    @rule(
        target=consents,
        which=st.integers(0, 50),
        bank=st.integers(0, 2),
        categories=category_sets,
        purpose=purposes,
        start=start_offsets,
        duration=durations,
        max_reads=st.sampled_from([0, 1, 2, 3, 60]),
        history=st.sampled_from([0, 12, 40]),
        signers=signer_modes,
        deadline=st.sampled_from([DAY, DAY, -5]),
    )
    def grant(
        self,
        which: int,
        bank: int,
        categories: set[Category],
        purpose: int,
        start: int,
        duration: int,
        max_reads: int,
        history: int,
        signers: str,
        deadline: int,
    ) -> bytes:
        world = self.world
        enterprise = self._enterprise(which)
        now = world.now()
        terms = world.terms(
            enterprise,
            self.readers[bank],
            categories=sorted(categories),
            purpose=Purpose.CREDIT_UNDERWRITING,
            not_before=now + start,
            expires_at=now + start + duration,
            max_reads=max_reads,
            history_months=history,
            deadline=now + deadline,
        )
        from dataclasses import replace

        terms = replace(terms, purpose=int(purpose))
        document = world.bureau.consent_document(terms)
        signatures = enterprise.sign(document, _signers(enterprise, signers, world.stranger))
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
    )
    def consent_action(self, consent: bytes, action: str, signers: str, nonce_mode: str) -> None:
        world = self.world
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

    @rule(seconds=pauses)
    def travel(self, seconds: int) -> None:
        self.world.travel(seconds)

    @rule(bank=st.integers(0, 2), suspend=st.booleans())
    def suspension(self, bank: int, suspend: bool) -> None:
        world = self.world
        address = self.readers[bank].address
        caller = world.regulator.account.address
        if suspend:
            self._attempt(
                lambda: world.both(
                    lambda: world.regulator.suspend_bank(address),
                    lambda _n: world.model.suspend_bank(caller, address),
                )
            )
        else:
            self._attempt(
                lambda: world.both(
                    lambda: world.regulator.reinstate_bank(address),
                    lambda _n: world.model.reinstate_bank(caller, address),
                )
            )

    @rule(bank=st.integers(0, 2), admit=st.booleans())
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

    @precondition(lambda self: bool(self.granted))
    @rule(
        reads=st.lists(
            st.tuples(
                st.integers(0, 1000),
                st.integers(0, 2),
                category_sets,
                st.sampled_from([*Purpose]),
                st.integers(0, 9),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def record(self, reads: list[tuple[int, int, set[Category], Purpose, int]]) -> None:
        world = self.world
        entries = []
        for index, bank, categories, purpose, unknown in reads:
            consent = (
                secrets.token_bytes(32) if unknown == 0 else self.granted[index % len(self.granted)]
            )
            state = world.model.consents.get(consent)
            if state is not None and unknown > 3:
                # Mostly ask within the consent, so that grants and read limits are exercised.
                entries.append(
                    world.entry(
                        consent,
                        state.bank,
                        categories=[c for c in Category if c.bit & state.categories][:2],
                        purpose=Purpose(state.purpose)
                        if state.purpose in set(Purpose)
                        else purpose,
                    )
                )
            else:
                entries.append(
                    world.entry(
                        consent, self.readers[bank], categories=sorted(categories), purpose=purpose
                    )
                )
        for decision in world.record(entries).decisions:
            event(f"read {decision.reason.name}")
        for consent in {e.consent_id for e in entries} & set(self.granted):
            self._check(consent)

    @rule(code=st.sampled_from([12, 13]))
    def register_category(self, code: int) -> None:
        world = self.world
        caller = world.regulator.account.address
        self._attempt(
            lambda: world.both(
                lambda: world.regulator.register_category(code, Category(code).slug),
                lambda _n: world.model.register_category(caller, code, Category(code).slug),
            )
        )

    @rule(purpose=st.sampled_from([*Purpose, 77]), retire=st.booleans(), categories=category_sets)
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
