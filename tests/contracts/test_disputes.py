"""Disputes on the chain, with the state model predicting every outcome: filed once by the bureau
for a registered enterprise, answered once, corrected or upheld (each refusal is a case of
``test_reverts``)."""

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


def new_dispute(world: World, **changes: object) -> DisputeState:
    """A dispute of the ``solo`` enterprise (an item, in the tax category), with ``changes``."""
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


def file_dispute(world: World, dispute: DisputeState) -> None:
    """File on the chain and in the model; both must agree."""
    caller = world.bureau.account.address
    world.both(
        lambda: world.bureau.file_dispute(dispute),
        lambda now: world.model.file_dispute(caller, replace(dispute, filed_at=now)),
    )


def answer_dispute(
    world: World, dispute_id: bytes, outcome: int, client: LedgerClient | None = None
) -> None:
    """Answer on the chain and in the model (by the bureau, or ``client``); both must agree."""
    bureau = world.bureau if client is None else client
    caller = bureau.account.address
    answer = secrets.token_bytes(32)
    world.both(
        lambda: bureau.answer_dispute(dispute_id, outcome, answer),
        lambda now: world.model.answer_dispute(caller, dispute_id, outcome, answer, now),
    )


def test_a_dispute_is_filed_and_answered_once(world: World) -> None:
    dispute = new_dispute(world)
    file_dispute(world, dispute)
    filed = world.model.disputes[dispute.dispute_id]
    assert filed.open()
    assert filed.answer_due == filed.filed_at + DISPUTE_ANSWER_PERIOD
    answer_dispute(world, dispute.dispute_id, DisputeOutcome.CORRECTED)
    assert world.model.disputes[dispute.dispute_id].outcome is DisputeOutcome.CORRECTED
    with pytest.raises(LedgerRevertError) as refused:
        answer_dispute(world, dispute.dispute_id, DisputeOutcome.UPHELD)
    assert refused.value.error == "DisputesAlreadyAnswered"


def test_only_the_bureau_records_disputes(world: World) -> None:
    stranger = world.bureau.with_account(world.stranger)
    dispute = new_dispute(world)
    with pytest.raises(LedgerRevertError) as refused:
        world.both(
            lambda: stranger.file_dispute(dispute),
            lambda now: world.model.file_dispute(world.stranger.address, dispute),
        )
    assert refused.value.error == "AccessControlUnauthorizedAccount"
    file_dispute(world, dispute)
    with pytest.raises(LedgerRevertError):
        answer_dispute(world, dispute.dispute_id, DisputeOutcome.UPHELD, client=stranger)
