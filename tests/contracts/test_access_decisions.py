"""Every read decision the access ledger makes, granted and each denial reason, named.

Each case records a batch through the real client and compares the chain's decision with the
state model's (``World.record`` asserts they are equal) and with the expected reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace

import pytest
from eth_account.signers.local import LocalAccount

from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.ledger.types import (
    MAX_READ_REQUEST_LIFETIME,
    ZERO_ADDRESS,
    AccessEntry,
    ConsentStatus,
    DenialReason,
    record_accesses_args,
)
from consentledger.testing.world import DAY, World


def _consent(world: World, **overrides: object) -> bytes:
    solo = world.enterprises["solo"]
    return world.grant(world.terms(solo, world.banks[0], **overrides))  # type: ignore[arg-type]


def granted(world: World) -> list[AccessEntry]:
    return [world.entry(_consent(world), world.banks[0])]


def no_consent(world: World) -> list[AccessEntry]:
    return [world.entry(secrets.token_bytes(32), world.banks[0])]


def not_yet_valid(world: World) -> list[AccessEntry]:
    now = world.now()
    consent = _consent(world, not_before=now + DAY, expires_at=now + 10 * DAY)
    return [world.entry(consent, world.banks[0])]


def expired(world: World) -> list[AccessEntry]:
    consent = _consent(world, expires_at=world.now() + 100)
    world.travel(200)
    return [world.entry(consent, world.banks[0])]


def revoked(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    world.consent_action("Revocation", consent, world.enterprises["solo"])
    return [world.entry(consent, world.banks[0])]


def revoked_after_expiry(world: World) -> list[AccessEntry]:
    consent = _consent(world, expires_at=world.now() + 100)
    world.consent_action("Revocation", consent, world.enterprises["solo"])
    world.travel(200)
    return [world.entry(consent, world.banks[0])]


def paused(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    world.consent_action("Pause", consent, world.enterprises["solo"])
    return [world.entry(consent, world.banks[0])]


def bank_mismatch(world: World) -> list[AccessEntry]:
    return [world.entry(_consent(world), world.banks[1])]


def bank_never_admitted(world: World) -> list[AccessEntry]:
    return [world.entry(_consent(world), world.stranger)]


def category_not_consented(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    return [world.entry(consent, world.banks[0], categories=[Category.TAX])]


def no_category_asked(world: World) -> list[AccessEntry]:
    return [world.entry(_consent(world), world.banks[0], categories=[])]


def purpose_mismatch(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    return [world.entry(consent, world.banks[0], purpose=Purpose.CREDIT_LIMIT_REVIEW)]


def reads_exhausted(world: World) -> list[AccessEntry]:
    consent = _consent(world, max_reads=2)
    return [world.entry(consent, world.banks[0]) for _ in range(3)]


def bank_suspended(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    world.both(
        lambda: world.regulator.suspend_bank(world.banks[0].address),
        lambda _now: world.model.suspend_bank(
            world.regulator.account.address, world.banks[0].address
        ),
    )
    return [world.entry(consent, world.banks[0])]


def bank_role_revoked(world: World) -> list[AccessEntry]:
    from consentledger.ledger.types import ROLE_BANK

    consent = _consent(world)
    world.both(
        lambda: world.regulator.revoke_role(ROLE_BANK, world.banks[0].address),
        lambda _now: world.model.revoke_role(
            world.regulator.account.address, ROLE_BANK, world.banks[0].address
        ),
    )
    return [world.entry(consent, world.banks[0])]


def request_expired(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    return [world.entry(consent, world.banks[0], deadline=world.now() - 1)]


def request_deadline_is_now(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    return [world.entry(consent, world.banks[0], deadline=world.now())]


def request_lifetime_too_long(world: World) -> list[AccessEntry]:
    consent = _consent(world)
    deadline = world.now() + MAX_READ_REQUEST_LIFETIME + 1
    return [world.entry(consent, world.banks[0], deadline=deadline)]


def unsigned(world: World) -> list[AccessEntry]:
    return [world.entry(_consent(world), world.banks[0], unsigned=True)]


def signed_by_another_bank(world: World) -> list[AccessEntry]:
    return [world.entry(_consent(world), world.banks[0], signer=world.banks[1])]


def _resigned(world: World, entry: AccessEntry, **changes: object) -> AccessEntry:
    """``entry`` with fields changed after the bank signed, and the signer the ledger recovers."""
    changed = replace(entry, **changes)  # type: ignore[arg-type]
    return replace(changed, signer=typed_data.read_request_signer(world.bureau.domain, changed))


def categories_widened_after_signing(world: World) -> list[AccessEntry]:
    consent = _consent(world, categories=[Category.BUSINESS_REGISTRATION, Category.TAX])
    entry = world.entry(consent, world.banks[0])
    return [_resigned(world, entry, categories=entry.categories | Category.TAX.bit)]


def history_widened_after_signing(world: World) -> list[AccessEntry]:
    entry = world.entry(_consent(world), world.banks[0], history_months=3)
    return [_resigned(world, entry, history_months=12)]


def request_id_changed_after_signing(world: World) -> list[AccessEntry]:
    entry = world.entry(_consent(world), world.banks[0])
    return [_resigned(world, entry, request_id=entry.request_id ^ 1)]


def high_s_signature(world: World) -> list[AccessEntry]:
    entry = world.entry(_consent(world), world.banks[0])
    r, s, v = (
        entry.signature[:32],
        int.from_bytes(entry.signature[32:64], "big"),
        entry.signature[64],
    )
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    malleated = r + (order - s).to_bytes(32, "big") + bytes([55 - v])
    flipped = _resigned(world, entry, signature=malleated)
    assert flipped.signer == ZERO_ADDRESS
    return [flipped]


def _register_signer(world: World, bank: LocalAccount, key: str) -> None:
    client = world.bureau.with_account(bank)
    world.both(
        lambda: client.set_read_signer(key),
        lambda _now: world.model.set_read_signer(bank.address, key),
    )


def registered_key_signs(world: World) -> list[AccessEntry]:
    key = world.chain.new_account()
    _register_signer(world, world.banks[0], key.address)
    return [world.entry(_consent(world), world.banks[0], signer=key)]


def bank_key_after_registering_another(world: World) -> list[AccessEntry]:
    _register_signer(world, world.banks[0], world.chain.new_account().address)
    return [world.entry(_consent(world), world.banks[0])]


def rotated_back_to_bank_key(world: World) -> list[AccessEntry]:
    _register_signer(world, world.banks[0], world.chain.new_account().address)
    _register_signer(world, world.banks[0], ZERO_ADDRESS)
    return [world.entry(_consent(world), world.banks[0])]


def signature_checked_before_consent(world: World) -> list[AccessEntry]:
    return [world.entry(secrets.token_bytes(32), world.banks[0], signer=world.banks[1])]


Case = Callable[[World], list[AccessEntry]]
CASES: list[tuple[Case, DenialReason]] = [
    (granted, DenialReason.NONE),
    (no_consent, DenialReason.NO_CONSENT),
    (not_yet_valid, DenialReason.NOT_YET_VALID),
    (expired, DenialReason.EXPIRED),
    (revoked, DenialReason.REVOKED),
    (revoked_after_expiry, DenialReason.REVOKED),
    (paused, DenialReason.PAUSED),
    (bank_mismatch, DenialReason.BANK_MISMATCH),
    (bank_never_admitted, DenialReason.BANK_MISMATCH),
    (category_not_consented, DenialReason.CATEGORY_NOT_CONSENTED),
    (no_category_asked, DenialReason.CATEGORY_NOT_CONSENTED),
    (purpose_mismatch, DenialReason.PURPOSE_MISMATCH),
    (reads_exhausted, DenialReason.READS_EXHAUSTED),
    (bank_suspended, DenialReason.BANK_SUSPENDED),
    (bank_role_revoked, DenialReason.BANK_SUSPENDED),
    (request_expired, DenialReason.REQUEST_EXPIRED),
    (request_deadline_is_now, DenialReason.NONE),
    (request_lifetime_too_long, DenialReason.REQUEST_LIFETIME_TOO_LONG),
    (unsigned, DenialReason.SIGNATURE_INVALID),
    (signed_by_another_bank, DenialReason.SIGNATURE_INVALID),
    (categories_widened_after_signing, DenialReason.SIGNATURE_INVALID),
    (history_widened_after_signing, DenialReason.SIGNATURE_INVALID),
    (request_id_changed_after_signing, DenialReason.SIGNATURE_INVALID),
    (high_s_signature, DenialReason.SIGNATURE_INVALID),
    (registered_key_signs, DenialReason.NONE),
    (bank_key_after_registering_another, DenialReason.SIGNATURE_INVALID),
    (rotated_back_to_bank_key, DenialReason.NONE),
    (signature_checked_before_consent, DenialReason.SIGNATURE_INVALID),
]


@pytest.mark.parametrize(("case", "reason"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_decision(world: World, case: Case, reason: DenialReason) -> None:
    entries = case(world)
    result = world.record(entries)
    assert result.decisions[-1].reason is reason
    events = [e.event for e in result.mined.events]
    assert events[-1] == ("DataAccessed" if reason is DenialReason.NONE else "AccessDenied")


def test_every_reason_is_covered() -> None:
    assert {reason for _, reason in CASES} == set(DenialReason)


def test_granted_reads_count_and_denied_do_not(world: World) -> None:
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0], max_reads=5))
    bank = world.banks[0]
    entries = [
        world.entry(consent, bank),
        world.entry(consent, bank, categories=[Category.CUSTOMS]),
        world.entry(consent, bank),
    ]
    result = world.record(entries)
    assert [d.reason for d in result.decisions] == [
        DenialReason.NONE,
        DenialReason.CATEGORY_NOT_CONSENTED,
        DenialReason.NONE,
    ]
    view = world.bureau.consent(consent)
    assert (view.reads_used, view.reads_left, view.status) == (2, 3, ConsentStatus.ACTIVE)


def test_one_denial_does_not_revert_the_batch(world: World) -> None:
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0]))
    entries = [
        world.entry(secrets.token_bytes(32), world.banks[0]),
        world.entry(consent, world.banks[0]),
        world.entry(consent, world.banks[1]),
    ]
    result = world.record(entries)
    assert [d.granted for d in result.decisions] == [False, True, False]


def test_revocation_applies_to_reads_later_in_the_same_block(world: World) -> None:
    solo = world.enterprises["solo"]
    bank: LocalAccount = world.banks[0]
    consent = world.grant(world.terms(solo, bank))
    nonce = world.model.nonce(solo.subject, 7)
    deadline = world.now() + DAY
    document = world.bureau.action_document("Revocation", consent, nonce, deadline)
    entry = world.entry(consent, bank)
    world.chain.set_automine(False)
    try:
        # Anyone may relay a signed revocation; a second sender lets eth-tester queue both.
        revoker = world.bureau.with_account(world.stranger)
        revoke_hash = revoker.send("revokeConsent", consent, nonce, deadline, solo.sign(document))
        # The simulation of the batch runs before the revocation is mined, so it would pass;
        # the chain must still judge the entry after the revocation in the same block.
        batch_hash = world.bureau.send("recordAccesses", *record_accesses_args([entry]))
        world.chain.mine()
    finally:
        world.chain.set_automine(True)
    revoke = revoker.wait(revoke_hash)
    batch = world.bureau.batch_decisions([entry], world.bureau.wait(batch_hash))
    assert revoke.block_number == batch.mined.block_number
    assert [d.reason for d in batch.decisions] == [DenialReason.REVOKED]
