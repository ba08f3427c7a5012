"""Thresholds mean the same on the chain as at the gateway: an export needs k controllers'
signatures, a registration each controller's proof of its key, and a lost-key recovery waits in
the open for a delay during which the current controllers can cancel it.

Each action runs on the chain and in the state model (``World.both``), which must agree.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from eth_account import Account

from consentledger.categories import Category
from consentledger.chain.client import Mined
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import RECOVERY_DELAY, checksummed, nonce_account
from consentledger.testing.world import Enterprise, World


def _events(mined: Mined, name: str) -> list[dict[str, Any]]:
    return [dict(log.args) for log in mined.events if log.event == name]


def test_an_export_is_recorded_only_with_the_threshold_of_signatures(world: World) -> None:
    board = world.enterprises["board"]
    mined = world.export(board, Category.TAX.bit | Category.JUDICIAL.bit)
    assert _events(mined, "PortabilityExported")[0]["subject"] == board.subject


def test_a_recovery_waits_and_the_controllers_can_cancel_it(world: World) -> None:
    board = world.enterprises["board"]
    old = list(board.controllers)
    new = [Account.create() for _ in range(2)]
    started = world.start_recovery(board, new, 2)
    (event,) = _events(started, "RecoveryStarted")
    started_at = world.bureau.block_timestamp(started.block_number)
    assert event["effectiveAt"] == started_at + RECOVERY_DELAY
    assert world.bureau.recovery(board.subject)[1] == event["effectiveAt"]
    # Meanwhile the current controllers still act, and two of them cancel it.
    world.grant(world.terms(board, world.banks[0]))
    world.travel(RECOVERY_DELAY // 2)
    cancelled = world.cancel_recovery(board)
    assert _events(cancelled, "RecoveryCancelled")[0]["subject"] == board.subject
    assert world.bureau.recovery(board.subject) == (bytes(32), 0)
    # Started again and left alone, anyone completes it after the delay.
    world.start_recovery(board, new, 2)
    world.travel(RECOVERY_DELAY)
    completed = world.complete_recovery(board, new, 2)
    (changed,) = _events(completed, "ControllersChanged")
    assert [checksummed(c) for c in changed["controllers"]] == [k.address for k in new]
    assert world.bureau.enterprise(board.subject) == (tuple(k.address for k in new), 2)
    world.grant(world.terms(board, world.banks[0]))  # the new keys sign
    board.controllers = old
    with pytest.raises(LedgerRevertError) as refused:
        world.grant(world.terms(board, world.banks[0]))
    assert refused.value.error == "MembershipSignerNotController"


def test_subjects_alike_in_their_low_bits_keep_their_own_nonces(world: World) -> None:
    """A subject registered with the same low 160 bits as another used to share its nonce
    account, so its actions used up the other's nonces and voided its signed drafts."""
    solo = world.enterprises["solo"]
    twin_subject = bytes([solo.subject[0] ^ 0xFF]) + solo.subject[1:]
    assert nonce_account(twin_subject) != nonce_account(solo.subject)
    twin_key = Account.create()
    world.register(twin_subject, [twin_key], 1)
    twin = world.enterprises["twin"] = Enterprise("twin", twin_subject, [twin_key], 1)
    key = secrets.randbits(64)
    drafted = world.terms(solo, world.banks[0], key=key)  # solo's draft, nonce (key, 0)
    world.grant(world.terms(twin, world.banks[0], nonce=drafted.nonce))  # the twin's, same nonce
    world.grant(drafted)  # solo's draft still stands
