"""Disputes on the chain, with the state model predicting every outcome: filed once by the bureau
for a registered enterprise, answered once, corrected or upheld; each refusal named."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from consentledger.categories import Category
from consentledger.chain.client import LedgerClient
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import (
    DISPUTE_ANSWER_PERIOD,
    DisputeKind,
    DisputeOutcome,
    DisputeState,
)
from consentledger.testing.world import World


def _dispute(world: World, **changes: object) -> DisputeState:
    dispute = DisputeState(
        dispute_id=secrets.token_bytes(32),
        subject=world.enterprises["solo"].subject,
        kind=DisputeKind.ITEM,
        target=secrets.token_bytes(32),
        categories=Category.TAX.bit,
        reason_hash=secrets.token_bytes(32),
        filed_at=0,
    )
    return replace(dispute, **changes)  # type: ignore[arg-type]


def _file(world: World, dispute: DisputeState) -> None:
    caller = world.bureau.account.address
    world.both(
        lambda: world.bureau.file_dispute(dispute),
        lambda now: world.model.file_dispute(caller, replace(dispute, filed_at=now)),
    )


def _answer(
    world: World, dispute_id: bytes, outcome: int, client: LedgerClient | None = None
) -> None:
    bureau = world.bureau if client is None else client
    caller = bureau.account.address
    answer = secrets.token_bytes(32)
    world.both(
        lambda: bureau.answer_dispute(dispute_id, outcome, answer),
        lambda now: world.model.answer_dispute(caller, dispute_id, outcome, answer, now),
    )


def test_a_dispute_is_filed_and_answered_once(world: World) -> None:
    dispute = _dispute(world)
    _file(world, dispute)
    filed = world.model.disputes[dispute.dispute_id]
    assert filed.open()
    assert filed.answer_due == filed.filed_at + DISPUTE_ANSWER_PERIOD
    _answer(world, dispute.dispute_id, DisputeOutcome.CORRECTED)
    assert world.model.disputes[dispute.dispute_id].outcome is DisputeOutcome.CORRECTED
    with pytest.raises(LedgerRevertError) as refused:
        _answer(world, dispute.dispute_id, DisputeOutcome.UPHELD)
    assert refused.value.error == "DisputesAlreadyAnswered"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"subject": b"\x01" * 32}, "MembershipUnknownEnterprise"),
        ({"kind": 0}, "DisputesInvalidKind"),
        ({"kind": 3}, "DisputesInvalidKind"),
        ({"categories": 0}, "RegistriesInvalidCategoryMask"),
        ({"categories": 1 << 40}, "RegistriesInvalidCategoryMask"),
    ],
    ids=["unregistered", "kind-0", "kind-3", "no-category", "unknown-category"],
)
def test_a_filing_the_rules_refuse(world: World, change: dict[str, object], error: str) -> None:
    with pytest.raises(LedgerRevertError) as refused:
        _file(world, _dispute(world, **change))
    assert refused.value.error == error


def test_an_id_is_filed_once(world: World) -> None:
    dispute = _dispute(world)
    _file(world, dispute)
    with pytest.raises(LedgerRevertError) as refused:
        _file(world, _dispute(world, dispute_id=dispute.dispute_id))
    assert refused.value.error == "DisputesAlreadyFiled"


@pytest.mark.parametrize("outcome", [0, 3], ids=["outcome-0", "outcome-3"])
def test_an_answer_the_rules_refuse(world: World, outcome: int) -> None:
    dispute = _dispute(world)
    _file(world, dispute)
    with pytest.raises(LedgerRevertError) as refused:
        _answer(world, dispute.dispute_id, outcome)
    assert refused.value.error == "DisputesInvalidOutcome"
    with pytest.raises(LedgerRevertError) as unknown:
        _answer(world, secrets.token_bytes(32), DisputeOutcome.UPHELD)
    assert unknown.value.error == "DisputesUnknownDispute"


def test_only_the_bureau_records_disputes(world: World) -> None:
    stranger = world.bureau.with_account(world.stranger)
    dispute = _dispute(world)
    with pytest.raises(LedgerRevertError) as refused:
        world.both(
            lambda: stranger.file_dispute(dispute),
            lambda now: world.model.file_dispute(world.stranger.address, dispute),
        )
    assert refused.value.error == "AccessControlUnauthorizedAccount"
    _file(world, dispute)
    with pytest.raises(LedgerRevertError):
        _answer(world, dispute.dispute_id, DisputeOutcome.UPHELD, client=stranger)
