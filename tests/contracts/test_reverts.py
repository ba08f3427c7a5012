"""Every revert path of the contract, each named, with the state model predicting the same error.

A case performs one action that must be refused. ``World.both`` runs it in the model and on the
chain; the chain's error (decoded by the client) must equal the model's, arguments included.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.chain.client import LedgerClient
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import (
    MAX_CONSENT_DURATION,
    RECOVERY_DELAY,
    ROLE_BANK,
    DisputeOutcome,
)
from consentledger.testing.world import DAY, Enterprise, World
from tests.contracts.test_disputes import answer_dispute, file_dispute, new_dispute


def _regulator(world: World, fn: str, *args: object) -> None:
    """A governance call by the regulator, on chain and in the model."""
    caller = world.regulator.account.address
    world.both(
        lambda: getattr(world.regulator, fn)(*args),
        lambda _now: getattr(world.model, fn)(caller, *args),
    )


def _bureau(world: World, fn: str, *args: object) -> None:
    caller = world.bureau.account.address
    world.both(
        lambda: getattr(world.bureau, fn)(*args),
        lambda _now: getattr(world.model, fn)(caller, *args),
    )


# -------------------------------------------------------------------- access control


def stranger_suspends_a_bank(world: World) -> None:
    stranger = world.regulator.with_account(world.stranger)
    world.both(
        lambda: stranger.suspend_bank(world.banks[0].address),
        lambda _n: world.model.suspend_bank(world.stranger.address, world.banks[0].address),
    )


def stranger_records_reads(world: World) -> None:
    stranger = world.regulator.with_account(world.stranger)
    entries = [world.entry(secrets.token_bytes(32), world.banks[0])]
    world.both(
        lambda: stranger.record_accesses(entries),
        lambda now: world.model.record_accesses(world.stranger.address, entries, now),
    )


def _register(
    world: World,
    subject: bytes,
    controllers: Sequence[str],
    threshold: int,
    provers: Sequence[LocalAccount] | None = None,
    *,
    client: LedgerClient | None = None,
    deadline: int | None = None,
) -> None:
    """``registerEnterprise`` by ``client`` (default: the bureau), its ``Registration`` signed by
    ``provers`` (default: the stranger, as often as there are controllers)."""
    sender = client or world.bureau
    deadline = world.now() + DAY if deadline is None else deadline
    document = world.bureau.controller_set_document(
        "Registration", subject, controllers, threshold, deadline
    )
    keys = [world.stranger] * len(controllers) if provers is None else provers
    signatures = [typed_data.sign(k, document) for k in keys]
    recovered = [typed_data.recover(document, sig) for sig in signatures]
    world.both(
        lambda: sender.register_enterprise(subject, controllers, threshold, deadline, signatures),
        lambda now: world.model.register_enterprise(
            sender.account.address, subject, controllers, threshold, deadline, recovered, now
        ),
    )


def bank_registers_an_enterprise(world: World) -> None:
    bank = world.regulator.with_account(world.banks[0])
    _register(world, secrets.token_bytes(32), [world.stranger.address], 1, client=bank)


def bureau_grants_bank_role(world: World) -> None:
    world.both(
        lambda: world.bureau.grant_role(ROLE_BANK, world.stranger.address),
        lambda _n: world.model.grant_role(
            world.bureau.account.address, ROLE_BANK, world.stranger.address
        ),
    )


def bureau_registers_a_category(world: World) -> None:
    _bureau(world, "register_category", 12, "government_procurement")


def renounce_someone_elses_role(world: World) -> None:
    # renounceRole is OpenZeppelin's own and outside the model: chain only.
    stranger = world.regulator.with_account(world.stranger)
    stranger.transact("renounceRole", ROLE_BANK, world.banks[0].address)


# ---------------------------------------------------------------------- membership


def suspend_a_non_bank(world: World) -> None:
    _regulator(world, "suspend_bank", world.stranger.address)


def suspend_twice(world: World) -> None:
    _regulator(world, "suspend_bank", world.banks[0].address)
    _regulator(world, "suspend_bank", world.banks[0].address)


def reinstate_an_active_bank(world: World) -> None:
    _regulator(world, "reinstate_bank", world.banks[0].address)


def register_zero_subject(world: World) -> None:
    _register(world, bytes(32), [world.stranger.address], 1)


def register_twice(world: World) -> None:
    _register(world, world.enterprises["solo"].subject, [world.stranger.address], 1)


def register_past_the_deadline(world: World) -> None:
    _register(world, secrets.token_bytes(32), [world.stranger.address], 1, deadline=world.now() - 1)


def register_without_controllers(world: World) -> None:
    _register(world, secrets.token_bytes(32), [], 1)


def register_threshold_zero(world: World) -> None:
    _register(world, secrets.token_bytes(32), [world.stranger.address], 0)


def register_threshold_above_count(world: World) -> None:
    _register(world, secrets.token_bytes(32), [world.stranger.address], 2)


def register_seventeen_controllers(world: World) -> None:
    keys = [Account.create() for _ in range(17)]
    _register(world, secrets.token_bytes(32), [k.address for k in keys], 1, keys)


def register_zero_controller(world: World) -> None:
    zero = "0x0000000000000000000000000000000000000000"
    _register(world, secrets.token_bytes(32), [zero], 1)


def register_duplicate_controller(world: World) -> None:
    key = world.stranger.address
    _register(world, secrets.token_bytes(32), [key, key], 1)


def register_without_the_controllers_signatures(world: World) -> None:
    _register(world, secrets.token_bytes(32), [world.stranger.address], 1, [])


def register_someone_elses_key(world: World) -> None:
    """The bureau lists an address whose key it does not hold, and signs for it itself."""
    victim = Account.create().address
    _register(world, secrets.token_bytes(32), [victim], 1, [world.stranger])


def grant_for_unregistered_enterprise(world: World) -> None:
    solo = world.enterprises["solo"]
    terms = replace(world.terms(solo, world.banks[0]), subject=secrets.token_bytes(32))
    world.grant(terms, enterprise=solo)


def export_for_unregistered_enterprise(world: World) -> None:
    ghost = Enterprise("ghost", secrets.token_bytes(32), [world.stranger], 1)
    world.export(ghost, Category.TAX.bit, nonce=0)


def export_by_one_of_two_controllers(world: World) -> None:
    board = world.enterprises["board"]
    world.export(board, Category.TAX.bit, signers=board.controllers[:1])


def export_signed_by_a_stranger(world: World) -> None:
    solo = world.enterprises["solo"]
    world.export(solo, Category.TAX.bit, signers=[world.stranger])


# ------------------------------------------------------------------------ recovery


def stranger_starts_a_recovery(world: World) -> None:
    stranger = world.regulator.with_account(world.stranger)
    world.start_recovery(world.enterprises["solo"], [Account.create()], 1, caller=stranger)


def recovery_of_an_unregistered_enterprise(world: World) -> None:
    ghost = Enterprise("ghost", secrets.token_bytes(32), [world.stranger], 1)
    world.start_recovery(ghost, [Account.create()], 1)


def recovery_to_keys_nobody_proved(world: World) -> None:
    world.start_recovery(world.enterprises["solo"], [Account.create()], 1, provers=[world.stranger])


def cancel_without_a_recovery(world: World) -> None:
    world.cancel_recovery(world.enterprises["solo"])


def cancel_by_one_of_two_controllers(world: World) -> None:
    board = world.enterprises["board"]
    world.start_recovery(board, [Account.create()], 1)
    world.cancel_recovery(board, signers=board.controllers[:1])


def complete_without_a_recovery(world: World) -> None:
    world.complete_recovery(world.enterprises["solo"], [Account.create()], 1)


def complete_before_the_delay(world: World) -> None:
    solo, new = world.enterprises["solo"], [Account.create()]
    world.start_recovery(solo, new, 1)
    world.travel(RECOVERY_DELAY - 10)
    world.complete_recovery(solo, new, 1)


def complete_with_other_controllers(world: World) -> None:
    solo = world.enterprises["solo"]
    world.start_recovery(solo, [Account.create()], 1)
    world.travel(RECOVERY_DELAY)
    world.complete_recovery(solo, [Account.create()], 1)


# ---------------------------------------------------------------------- registries


def category_code_zero(world: World) -> None:
    _regulator(world, "register_category", 0, "nothing")


def category_code_sixty_four(world: World) -> None:
    _regulator(world, "register_category", 64, "too far")


def category_registered_twice(world: World) -> None:
    _regulator(world, "register_category", int(Category.TAX), "tax")


def category_without_name(world: World) -> None:
    _regulator(world, "register_category", 12, "")


def purpose_code_zero(world: World) -> None:
    _regulator(world, "define_purpose", 0, "x", Category.TAX.bit, DAY, 1, 1)


def purpose_without_name(world: World) -> None:
    _regulator(world, "define_purpose", 9, "", Category.TAX.bit, DAY, 1, 1)


def purpose_duration_zero(world: World) -> None:
    _regulator(world, "define_purpose", 9, "x", Category.TAX.bit, 0, 1, 1)


def purpose_duration_over_a_year(world: World) -> None:
    _regulator(world, "define_purpose", 9, "x", Category.TAX.bit, MAX_CONSENT_DURATION + 1, 1, 1)


def purpose_without_reads(world: World) -> None:
    _regulator(world, "define_purpose", 9, "x", Category.TAX.bit, DAY, 0, 1)


def purpose_with_unregistered_category(world: World) -> None:
    mask = Category.TAX.bit | Category.GOVERNMENT_PROCUREMENT.bit
    _regulator(world, "define_purpose", 9, "x", mask, DAY, 1, 1)


def purpose_without_categories(world: World) -> None:
    _regulator(world, "define_purpose", 9, "x", 0, DAY, 1, 1)


def retire_unknown_purpose(world: World) -> None:
    _regulator(world, "retire_purpose", 99)


def export_without_categories(world: World) -> None:
    world.export(world.enterprises["solo"], 0)


# ------------------------------------------------------------------------ consents


def _grant(world: World, **overrides: object) -> None:
    solo = world.enterprises["solo"]
    world.grant(world.terms(solo, world.banks[0], **overrides))  # type: ignore[arg-type]


def consent_to_a_non_bank(world: World) -> None:
    world.grant(world.terms(world.enterprises["solo"], world.stranger))


def consent_to_a_suspended_bank(world: World) -> None:
    _regulator(world, "suspend_bank", world.banks[0].address)
    _grant(world)


def consent_for_unknown_purpose(world: World) -> None:
    solo = world.enterprises["solo"]
    world.grant(replace(world.terms(solo, world.banks[0]), purpose=99))


def consent_for_retired_purpose(world: World) -> None:
    _regulator(world, "retire_purpose", int(Purpose.CREDIT_LIMIT_REVIEW))
    _grant(world, purpose=Purpose.CREDIT_LIMIT_REVIEW)


def consent_without_categories(world: World) -> None:
    _grant(world, categories=[])


def consent_for_unregistered_category(world: World) -> None:
    _grant(world, categories=[Category.GOVERNMENT_PROCUREMENT])


def consent_for_category_the_purpose_forbids(world: World) -> None:
    _grant(world, purpose=Purpose.ACCOUNT_OPENING_DUE_DILIGENCE, categories=[Category.TAX])


def consent_window_inverted(world: World) -> None:
    now = world.now()
    _grant(world, not_before=now + 10, expires_at=now + 10)


def consent_already_expired(world: World) -> None:
    now = world.now()
    _grant(world, not_before=now - 100, expires_at=now)


def consent_longer_than_purpose_cap(world: World) -> None:
    now = world.now()
    _grant(world, not_before=now - 91 * DAY, expires_at=now + DAY)


def consent_reaching_too_far(world: World) -> None:
    now = world.now()
    _grant(world, not_before=now + 60 * DAY, expires_at=now + 100 * DAY)


def consent_more_reads_than_cap(world: World) -> None:
    _grant(world, max_reads=51)


def consent_more_history_than_cap(world: World) -> None:
    _grant(world, history_months=37)


def pause_unknown_consent(world: World) -> None:
    world.consent_action("Pause", secrets.token_bytes(32), world.enterprises["solo"], nonce=0)


def _active_consent(world: World, **overrides: object) -> bytes:
    solo = world.enterprises["solo"]
    return world.grant(world.terms(solo, world.banks[0], **overrides))  # type: ignore[arg-type]


def resume_an_active_consent(world: World) -> None:
    world.consent_action("Resume", _active_consent(world), world.enterprises["solo"])


def pause_a_paused_consent(world: World) -> None:
    consent = _active_consent(world)
    world.consent_action("Pause", consent, world.enterprises["solo"])
    world.consent_action("Pause", consent, world.enterprises["solo"])


def revoke_a_revoked_consent(world: World) -> None:
    consent = _active_consent(world)
    world.consent_action("Revocation", consent, world.enterprises["solo"])
    world.consent_action("Revocation", consent, world.enterprises["solo"])


def resume_a_revoked_consent(world: World) -> None:
    consent = _active_consent(world)
    world.consent_action("Revocation", consent, world.enterprises["solo"])
    world.consent_action("Resume", consent, world.enterprises["solo"])


def pause_an_expired_consent(world: World) -> None:
    consent = _active_consent(world, expires_at=world.now() + 50)
    world.travel(100)
    world.consent_action("Pause", consent, world.enterprises["solo"])


# ------------------------------------------------------------------- access ledger


def empty_batch(world: World) -> None:
    world.record([])


def query_id_of_another_relayer(world: World) -> None:
    entry = world.entry(secrets.token_bytes(32), world.banks[0])
    world.record([replace(entry, query_id=entry.query_id ^ (1 << 200))])


def query_id_recorded_twice(world: World) -> None:
    entry = world.entry(secrets.token_bytes(32), world.banks[0])
    world.record([entry])
    world.record([entry])


def batch_overlapping_the_last(world: World) -> None:
    first = world.entry(secrets.token_bytes(32), world.banks[0])
    second = world.entry(secrets.token_bytes(32), world.banks[0])
    world.record([first, second])
    world.record([second, replace(second, query_id=second.query_id + 1)])


def batch_running_past_the_relayers_ids(world: World) -> None:
    """The batch's ids are consecutive from its first: the last would carry the next address."""
    entry = world.entry(secrets.token_bytes(32), world.banks[0])
    last_of_relayer = entry.query_id | (2**96 - 1)
    world.record(
        [
            replace(entry, query_id=last_of_relayer),
            replace(entry, query_id=last_of_relayer + 1),
        ]
    )


def dispute_for_unregistered_enterprise(world: World) -> None:
    file_dispute(world, new_dispute(world, subject=b"\x01" * 32))


def dispute_of_unknown_kind(world: World) -> None:
    file_dispute(world, new_dispute(world, kind=3))


def dispute_without_categories(world: World) -> None:
    file_dispute(world, new_dispute(world, categories=0))


def dispute_filed_twice(world: World) -> None:
    dispute = new_dispute(world)
    file_dispute(world, dispute)
    file_dispute(world, new_dispute(world, dispute_id=dispute.dispute_id))


def answer_of_unknown_dispute(world: World) -> None:
    answer_dispute(world, secrets.token_bytes(32), DisputeOutcome.UPHELD)


def answer_with_unknown_outcome(world: World) -> None:
    dispute = new_dispute(world)
    file_dispute(world, dispute)
    answer_dispute(world, dispute.dispute_id, 3)


def answer_given_twice(world: World) -> None:
    dispute = new_dispute(world)
    file_dispute(world, dispute)
    answer_dispute(world, dispute.dispute_id, DisputeOutcome.CORRECTED)
    answer_dispute(world, dispute.dispute_id, DisputeOutcome.UPHELD)


Case = Callable[[World], None]
CASES: list[tuple[Case, str]] = [
    (stranger_suspends_a_bank, "AccessControlUnauthorizedAccount"),
    (stranger_records_reads, "AccessControlUnauthorizedAccount"),
    (bank_registers_an_enterprise, "AccessControlUnauthorizedAccount"),
    (bureau_grants_bank_role, "AccessControlUnauthorizedAccount"),
    (bureau_registers_a_category, "AccessControlUnauthorizedAccount"),
    (renounce_someone_elses_role, "AccessControlBadConfirmation"),
    (suspend_a_non_bank, "MembershipNotABank"),
    (suspend_twice, "MembershipBankAlreadySuspended"),
    (reinstate_an_active_bank, "MembershipBankNotSuspended"),
    (register_zero_subject, "MembershipZeroSubject"),
    (register_twice, "MembershipEnterpriseAlreadyRegistered"),
    (register_past_the_deadline, "MembershipSignatureExpired"),
    (register_without_controllers, "MembershipInvalidControllerSet"),
    (register_threshold_zero, "MembershipInvalidControllerSet"),
    (register_threshold_above_count, "MembershipInvalidControllerSet"),
    (register_seventeen_controllers, "MembershipInvalidControllerSet"),
    (register_zero_controller, "MembershipZeroController"),
    (register_duplicate_controller, "MembershipDuplicateController"),
    (register_without_the_controllers_signatures, "MembershipProofsMismatch"),
    (register_someone_elses_key, "MembershipControllerNotProven"),
    (grant_for_unregistered_enterprise, "MembershipUnknownEnterprise"),
    (export_for_unregistered_enterprise, "MembershipUnknownEnterprise"),
    (export_by_one_of_two_controllers, "MembershipThresholdNotMet"),
    (export_signed_by_a_stranger, "MembershipSignerNotController"),
    (stranger_starts_a_recovery, "AccessControlUnauthorizedAccount"),
    (recovery_of_an_unregistered_enterprise, "MembershipUnknownEnterprise"),
    (recovery_to_keys_nobody_proved, "MembershipControllerNotProven"),
    (cancel_without_a_recovery, "RecoveryNotPending"),
    (cancel_by_one_of_two_controllers, "MembershipThresholdNotMet"),
    (complete_without_a_recovery, "RecoveryNotPending"),
    (complete_before_the_delay, "RecoveryNotYetEffective"),
    (complete_with_other_controllers, "RecoveryOtherControllers"),
    (category_code_zero, "RegistriesInvalidCategoryCode"),
    (category_code_sixty_four, "RegistriesInvalidCategoryCode"),
    (category_registered_twice, "RegistriesCategoryAlreadyRegistered"),
    (category_without_name, "RegistriesEmptyName"),
    (purpose_code_zero, "RegistriesInvalidPurposeCode"),
    (purpose_without_name, "RegistriesEmptyName"),
    (purpose_duration_zero, "RegistriesDurationCapOutOfRange"),
    (purpose_duration_over_a_year, "RegistriesDurationCapOutOfRange"),
    (purpose_without_reads, "RegistriesZeroReadCap"),
    (purpose_with_unregistered_category, "RegistriesInvalidCategoryMask"),
    (purpose_without_categories, "RegistriesInvalidCategoryMask"),
    (retire_unknown_purpose, "RegistriesUnknownPurpose"),
    (export_without_categories, "RegistriesInvalidCategoryMask"),
    (consent_to_a_non_bank, "ConsentsBankNotActive"),
    (consent_to_a_suspended_bank, "ConsentsBankNotActive"),
    (consent_for_unknown_purpose, "ConsentsUnknownPurpose"),
    (consent_for_retired_purpose, "ConsentsUnknownPurpose"),
    (consent_without_categories, "ConsentsInvalidCategories"),
    (consent_for_unregistered_category, "ConsentsInvalidCategories"),
    (consent_for_category_the_purpose_forbids, "ConsentsCategoriesNotAllowed"),
    (consent_window_inverted, "ConsentsInvalidWindow"),
    (consent_already_expired, "ConsentsExpiryInPast"),
    (consent_longer_than_purpose_cap, "ConsentsDurationExceedsCap"),
    (consent_reaching_too_far, "ConsentsExpiryTooFar"),
    (consent_more_reads_than_cap, "ConsentsReadsExceedCap"),
    (consent_more_history_than_cap, "ConsentsHistoryExceedsCap"),
    (pause_unknown_consent, "ConsentsUnknownConsent"),
    (resume_an_active_consent, "ConsentsInvalidTransition"),
    (pause_a_paused_consent, "ConsentsInvalidTransition"),
    (revoke_a_revoked_consent, "ConsentsInvalidTransition"),
    (resume_a_revoked_consent, "ConsentsInvalidTransition"),
    (pause_an_expired_consent, "ConsentsInvalidTransition"),
    (empty_batch, "AccessLedgerEmptyBatch"),
    (query_id_of_another_relayer, "AccessLedgerForeignQueryId"),
    (query_id_recorded_twice, "AccessLedgerStaleQueryId"),
    (batch_overlapping_the_last, "AccessLedgerStaleQueryId"),
    (batch_running_past_the_relayers_ids, "AccessLedgerForeignQueryId"),
    (dispute_for_unregistered_enterprise, "MembershipUnknownEnterprise"),
    (dispute_of_unknown_kind, "DisputesInvalidKind"),
    (dispute_without_categories, "RegistriesInvalidCategoryMask"),
    (dispute_filed_twice, "DisputesAlreadyFiled"),
    (answer_of_unknown_dispute, "DisputesUnknownDispute"),
    (answer_with_unknown_outcome, "DisputesInvalidOutcome"),
    (answer_given_twice, "DisputesAlreadyAnswered"),
]


@pytest.mark.parametrize(("case", "error"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_revert(world: World, case: Case, error: str) -> None:
    with pytest.raises(LedgerRevertError) as raised:
        case(world)
    assert raised.value.error == error


def test_every_custom_error_of_the_contract_is_exercised() -> None:
    """Each error in the ABI is covered here or by the signature tests."""
    from consentledger.chain.artifacts import load_artifact
    from tests.contracts.test_signatures import SIGNATURE_ERRORS

    declared = {e["name"] for e in load_artifact("ConsentLedger")["abi"] if e["type"] == "error"}
    # Errors OpenZeppelin declares that no path of ours can reach:
    unreachable = {"InvalidShortString", "StringTooLong"}  # EIP712 name/version are constants
    covered = {error for _, error in CASES} | SIGNATURE_ERRORS
    assert declared - unreachable == covered
