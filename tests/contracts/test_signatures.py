"""Signed actions: every way a signature can be wrong is refused, and the right ones pass.

Where the refusal is decided by the signer set (not by the bytes of the signature), the state
model predicts the same error; malformed signatures are OpenZeppelin ECDSA's own errors.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account

from consentledger.chain import typed_data
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import ConsentStatus, nonce_account
from consentledger.testing.world import DAY, World

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

#: Errors only these tests reach (test_reverts checks that the two files cover the ABI).
SIGNATURE_ERRORS = {
    "InvalidAccountNonce",
    "MembershipSignatureExpired",
    "MembershipSignerNotController",
    "MembershipThresholdNotMet",
    "MembershipDuplicateSigner",
    "ECDSAInvalidSignatureS",
    "ECDSAInvalidSignatureLength",
    "ECDSAInvalidSignature",
}


def _error(exc: pytest.ExceptionInfo[LedgerRevertError]) -> tuple[str, tuple[object, ...]]:
    return exc.value.error, exc.value.error_args


def test_replayed_nonce_is_refused(world: World) -> None:
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0], key=5)
    world.grant(terms)
    replay = replace(terms, receipt_hash=b"\x01" * 32)  # another consent, same nonce
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(replay)
    account = nonce_account(solo.subject)
    assert _error(raised) == ("InvalidAccountNonce", (account, (5 << 64) | 1))


def test_the_same_signed_consent_cannot_be_granted_twice(world: World) -> None:
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0])
    signatures = solo.sign(world.bureau.consent_document(terms))
    world.grant(terms, signatures)
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(terms, signatures)
    assert raised.value.error == "InvalidAccountNonce"


def test_nonce_keys_are_independent_and_sequential(world: World) -> None:
    solo = world.enterprises["solo"]
    world.grant(world.terms(solo, world.banks[0], key=1))
    world.grant(world.terms(solo, world.banks[0], key=2))
    world.grant(world.terms(solo, world.banks[0], key=1))
    assert world.bureau.nonce(solo.subject, 1) == (1 << 64) | 2
    assert world.bureau.nonce(solo.subject, 2) == (2 << 64) | 1
    assert world.bureau.nonce(solo.subject, 3) == 3 << 64
    skipped = world.terms(solo, world.banks[0], nonce=(1 << 64) | 5)
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(skipped)
    assert raised.value.error == "InvalidAccountNonce"


@pytest.mark.parametrize(
    "domain_change",
    [{"chain_id": 1}, {"verifying_contract": "0x000000000000000000000000000000000000dEaD"}],
    ids=["wrong_chain_id", "wrong_verifying_contract"],
)
def test_signature_for_another_domain_is_refused(
    world: World, domain_change: dict[str, object]
) -> None:
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0])
    foreign = replace(world.bureau.domain, **domain_change)  # type: ignore[arg-type]
    signature = typed_data.sign(
        solo.controllers[0], typed_data.typed_data(foreign, "Consent", terms.message())
    )
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(terms, [signature])
    # The contract recovers some other address from the signature over its own domain.
    recovered = typed_data.recover(world.bureau.consent_document(terms), signature)
    assert _error(raised) == ("MembershipSignerNotController", (solo.subject, recovered))


def test_expired_deadline_is_refused(world: World) -> None:
    solo = world.enterprises["solo"]
    now = world.now()
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(world.terms(solo, world.banks[0], deadline=now - 1))
    assert _error(raised) == ("MembershipSignatureExpired", (now - 1, now))


def test_deadline_equal_to_block_time_is_accepted(world: World) -> None:
    solo = world.enterprises["solo"]
    world.grant(world.terms(solo, world.banks[0], deadline=world.now()))


def test_signer_not_a_controller_is_refused(world: World) -> None:
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0])
    signature = typed_data.sign(world.stranger, world.bureau.consent_document(terms))
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(terms, [signature])
    assert _error(raised) == (
        "MembershipSignerNotController",
        (solo.subject, world.stranger.address),
    )


def test_threshold_not_met_is_refused(world: World) -> None:
    board = world.enterprises["board"]
    terms = world.terms(board, world.banks[0])
    one = board.sign(world.bureau.consent_document(terms), board.controllers[:1])
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(terms, one)
    assert _error(raised) == ("MembershipThresholdNotMet", (1, 2))


def test_the_same_controller_twice_is_refused(world: World) -> None:
    board = world.enterprises["board"]
    terms = world.terms(board, world.banks[0])
    twice = board.sign(world.bureau.consent_document(terms), [board.controllers[0]] * 2)
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(terms, twice)
    assert _error(raised) == ("MembershipDuplicateSigner", (board.controllers[0].address,))


def test_any_k_distinct_controllers_grant(world: World) -> None:
    board = world.enterprises["board"]
    terms = world.terms(board, world.banks[0])
    last_two = board.sign(world.bureau.consent_document(terms), board.controllers[1:])
    consent_id = world.grant(terms, last_two)
    assert world.bureau.consent(consent_id).status is ConsentStatus.ACTIVE


def test_more_than_k_signatures_are_accepted_when_all_are_controllers(world: World) -> None:
    board = world.enterprises["board"]
    terms = world.terms(board, world.banks[0])
    world.grant(terms, board.sign(world.bureau.consent_document(terms), board.controllers))


def _malleable(signature: bytes) -> bytes:
    """The other valid (r, n - s, v ^ 1) encoding of the same signature: high s."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


def test_high_s_malleable_signature_is_refused(world: World) -> None:
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0])
    signature = solo.sign(world.bureau.consent_document(terms))[0]
    high_s = _malleable(signature)
    with pytest.raises(LedgerRevertError) as raised:
        world.bureau.grant_consent(terms, [high_s])
    assert _error(raised) == ("ECDSAInvalidSignatureS", (high_s[32:64],))


def test_signature_of_wrong_length_is_refused(world: World) -> None:
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0])
    signature = solo.sign(world.bureau.consent_document(terms))[0]
    with pytest.raises(LedgerRevertError) as raised:
        world.bureau.grant_consent(terms, [signature[:64]])
    assert _error(raised) == ("ECDSAInvalidSignatureLength", (64,))


def test_signature_with_invalid_v_is_refused(world: World) -> None:
    solo = world.enterprises["solo"]
    terms = world.terms(solo, world.banks[0])
    signature = solo.sign(world.bureau.consent_document(terms))[0]
    with pytest.raises(LedgerRevertError) as raised:
        world.bureau.grant_consent(terms, [signature[:64] + bytes([29])])
    assert raised.value.error == "ECDSAInvalidSignature"


def test_revocation_signed_by_someone_else_is_refused(world: World) -> None:
    solo, board = world.enterprises["solo"], world.enterprises["board"]
    consent = world.grant(world.terms(solo, world.banks[0]))
    for outsider in (world.stranger, board.controllers[0]):
        with pytest.raises(LedgerRevertError) as raised:
            world.consent_action("Revocation", consent, solo, signers=[outsider])
        assert _error(raised) == ("MembershipSignerNotController", (solo.subject, outsider.address))
    assert world.bureau.consent(consent).status is ConsentStatus.ACTIVE


def test_a_pause_signature_cannot_be_used_as_a_revocation(world: World) -> None:
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0]))
    nonce, deadline = world.model.nonce(solo.subject, 9), world.now() + DAY
    pause = solo.sign(world.bureau.action_document("Pause", consent, nonce, deadline))
    with pytest.raises(LedgerRevertError) as raised:
        world.bureau.revoke_consent(consent, nonce, deadline, pause)
    assert raised.value.error == "MembershipSignerNotController"


def test_board_replaces_its_controllers_by_threshold_signature(world: World) -> None:
    board = world.enterprises["board"]
    newcomer = Account.create()
    controllers = [board.controllers[0].address, newcomer.address]
    nonce, deadline = world.model.nonce(board.subject, 11), world.now() + DAY
    document = typed_data.typed_data(
        world.bureau.domain,
        "ChangeControllers",
        {
            "subject": board.subject,
            "controllers": controllers,
            "threshold": 2,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    signers = board.controllers[1:]
    signatures = board.sign(document, signers)
    world.both(
        lambda: world.bureau.change_controllers(
            board.subject, controllers, 2, nonce, deadline, signatures
        ),
        lambda now: world.model.change_controllers(
            board.subject, controllers, 2, nonce, deadline, [s.address for s in signers], now
        ),
    )
    assert world.bureau.enterprise(board.subject) == (tuple(controllers), 2)
    kept, retired = board.controllers[0], board.controllers[2]
    board.controllers = [kept, newcomer]
    world.grant(world.terms(board, world.banks[0]))  # the new pair signs
    terms = world.terms(board, world.banks[0])
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(terms, board.sign(world.bureau.consent_document(terms), [kept, retired]))
    assert _error(raised) == ("MembershipSignerNotController", (board.subject, retired.address))


def test_controller_change_needs_the_threshold(world: World) -> None:
    board = world.enterprises["board"]
    nonce, deadline = world.model.nonce(board.subject, 12), world.now() + DAY
    controllers = [world.stranger.address]
    document = typed_data.typed_data(
        world.bureau.domain,
        "ChangeControllers",
        {
            "subject": board.subject,
            "controllers": controllers,
            "threshold": 1,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    one = board.sign(document, board.controllers[:1])
    with pytest.raises(LedgerRevertError) as raised:
        world.bureau.change_controllers(board.subject, controllers, 1, nonce, deadline, one)
    assert _error(raised) == ("MembershipThresholdNotMet", (1, 2))


def test_a_refused_grant_does_not_use_its_nonce(world: World) -> None:
    solo = world.enterprises["solo"]
    refused = world.terms(solo, world.stranger, key=21)  # not a bank: refused after the nonce check
    with pytest.raises(LedgerRevertError) as raised:
        world.grant(refused)
    assert raised.value.error == "ConsentsBankNotActive"
    assert world.bureau.nonce(solo.subject, 21) == world.model.nonce(solo.subject, 21) == 21 << 64
    world.grant(world.terms(solo, world.banks[0], nonce=21 << 64))


def test_a_refused_pause_does_not_use_its_nonce(world: World) -> None:
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0]))
    with pytest.raises(LedgerRevertError) as raised:
        world.consent_action("Resume", consent, solo, nonce=22 << 64)  # active: cannot resume
    assert raised.value.error == "ConsentsInvalidTransition"
    assert world.bureau.nonce(solo.subject, 22) == world.model.nonce(solo.subject, 22) == 22 << 64
    world.consent_action("Pause", consent, solo, nonce=22 << 64)
