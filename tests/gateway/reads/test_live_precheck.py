"""The read pre-check on the gateway's live model of the ledger (``gateway/live_ledger.py``).

The model follows the chain's events; a read it grants goes to the chain without a view, anything
else is pre-checked on the chain's views as before. A model a moment behind the chain never makes
the gateway release what the chain denies, nor deny what the chain grants.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consentledger.bureau.showcase import CATERING_CHAIN_USCC, CHIP_DISTRIBUTOR_USCC
from consentledger.categories import Category
from consentledger.chain.anvil import free_port
from consentledger.chain.jsonrpc import EmbeddedJsonRpc, HttpJsonRpc
from consentledger.client import AccessDeniedError
from consentledger.gateway.live_ledger import LiveLedger
from consentledger.journal.schema import ReadStatus
from consentledger.ledger.types import ConsentStatus, DenialReason
from tests.harness.gateway import Bank, Enterprise, Gateway, running_gateway

REGISTRATION = Category.BUSINESS_REGISTRATION.bit


def _live(gateway: Gateway) -> LiveLedger:
    live = gateway.context.live
    assert live is not None
    return live


def _follow_now(gateway: Gateway) -> None:
    """One follower step now, on the chain thread (as the background task runs it)."""
    context = gateway.context
    gateway.http.portal.call(context.chain_read, _live(gateway).step)  # type: ignore[union-attr]


def _wait_followed(gateway: Gateway, timeout: float = 10.0) -> None:
    """Wait until the background follower has applied the chain's latest block."""
    head = gateway.context.w3.eth.block_number
    deadline = time.monotonic() + timeout
    while _live(gateway).followed_through < head or not _live(gateway).fresh:
        assert time.monotonic() < deadline, "the live ledger did not follow the chain"
        time.sleep(0.05)


def _counts(gateway: Gateway) -> tuple[int, int]:
    health = gateway.http.get("/v1/health").json()
    return health["reads_prechecked_live"], health["reads_prechecked_on_views"]


@pytest.fixture(scope="module")
def following(tmp_path_factory: pytest.TempPathFactory, bureau_url: str) -> Iterator[Gateway]:
    """A gateway whose follower polls every 50 ms."""
    with running_gateway(
        tmp_path_factory.mktemp("following"), bureau_url, live_poll_interval_s=0.05
    ) as running:
        yield running


@pytest.fixture
def held(tmp_path: Path, bureau_url: str) -> Iterator[Gateway]:
    """A gateway whose follower steps only when the test says (its own poll waits an hour)."""
    with running_gateway(
        tmp_path, bureau_url, live_poll_interval_s=3600, live_max_lag_s=3600
    ) as running:
        _follow_now(running)
        yield running


@pytest.fixture(scope="module")
def party(following: Gateway) -> tuple[Enterprise, Bank]:
    return following.register(CHIP_DISTRIBUTOR_USCC), following.add_bank()


def test_the_follower_catches_up_and_granted_reads_skip_the_views(
    following: Gateway, party: tuple[Enterprise, Bank]
) -> None:
    chip, bank = party
    consent = following.grant_on_chain(chip, bank, REGISTRATION, max_reads=5)
    _wait_followed(following)
    known = _live(following).consent(consent)
    assert known is not None
    assert (known.subject, known.categories, known.state) == (
        chip.subject,
        REGISTRATION,
        ConsentStatus.ACTIVE,
    )
    live_before, views_before = _counts(following)
    for _ in range(3):
        assert following.read(bank, chip, consent, [1]).data["uscc"] == chip.uscc
    assert _counts(following) == (live_before + 3, views_before)
    _wait_followed(following)
    # The recorded reads came back as events: the model counts them as the chain does.
    assert _live(following).consent(consent).reads_used == 3  # type: ignore[union-attr]
    health = following.api.health()
    assert health.live_ledger_fresh is True
    assert health.live_ledger_block == following.context.w3.eth.block_number


def test_a_read_right_after_the_grant_is_checked_on_the_views(held: Gateway) -> None:
    chip = held.register(CHIP_DISTRIBUTOR_USCC)
    bank = held.add_bank()
    consent = held.grant_on_chain(chip, bank, REGISTRATION)
    assert _live(held).consent(consent) is None  # not followed yet
    assert held.read(bank, chip, consent, [1]).data["uscc"] == chip.uscc
    assert _counts(held) == (0, 1)


def test_revoked_a_moment_ago_the_chain_denies_and_nothing_is_released(held: Gateway) -> None:
    chip = held.register(CHIP_DISTRIBUTOR_USCC)
    bank = held.add_bank()
    consent = held.grant_on_chain(chip, bank, REGISTRATION)
    _follow_now(held)
    assert held.read(bank, chip, consent, [1]).status == "granted"
    held.act_on_chain("Revocation", consent, chip)
    # The model has not seen the revocation: it grants, the data is fetched, the chain denies.
    denied = held.refused(bank, chip, consent, [1], key="after-revocation")
    assert isinstance(denied, AccessDeniedError)
    assert (denied.code, denied.reason) == ("access_denied", "REVOKED")
    assert "data" not in denied.problem
    assert denied.receipt["tx_hash"].startswith("0x")
    assert _counts(held) == (2, 0)
    entry = held.context.journal.find(bank.address, "after-revocation")
    assert entry is not None
    assert entry.status == ReadStatus.DENIED
    # Once followed, the model denies, and the denial is confirmed on the views.
    _follow_now(held)
    again = held.refused(bank, chip, consent, [1])
    assert isinstance(again, AccessDeniedError)
    assert again.reason == "REVOKED"
    assert _counts(held) == (2, 1)


def test_a_suspended_bank_is_denied_before_and_after_the_model_sees_it(held: Gateway) -> None:
    chip = held.register(CHIP_DISTRIBUTOR_USCC)
    bank = held.add_bank()
    consent = held.grant_on_chain(chip, bank, REGISTRATION)
    _follow_now(held)
    assert not held.operator.suspend_bank(bank.address).active_on_chain
    stale = held.refused(bank, chip, consent, [1])
    assert isinstance(stale, AccessDeniedError)
    assert stale.reason == "BANK_SUSPENDED"
    _follow_now(held)
    followed = held.refused(bank, chip, consent, [1])
    assert isinstance(followed, AccessDeniedError)
    assert followed.reason == "BANK_SUSPENDED"
    assert _counts(held) == (1, 1)
    assert held.operator.reinstate_bank(bank.address).active_on_chain
    # The model still holds the suspension: it predicts a denial, the views see the
    # reinstatement, and the read is granted with its data.
    assert held.read(bank, chip, consent, [1]).data["uscc"] == chip.uscc
    assert _counts(held) == (1, 2)


def test_another_enterprise_s_consent_is_refused_from_the_model(held: Gateway) -> None:
    chip = held.register(CHIP_DISTRIBUTOR_USCC)
    other = held.register(CATERING_CHAIN_USCC)
    bank = held.add_bank()
    consent = held.grant_on_chain(chip, bank, REGISTRATION)
    _follow_now(held)
    refused = held.refused(bank, other, consent, [1])
    assert (refused.status, refused.code) == (403, "consent_not_for_this_enterprise")


def test_the_size_class_uses_the_model_s_copy_of_the_consent(held: Gateway) -> None:
    chip = held.register(CHIP_DISTRIBUTOR_USCC)
    bank = held.add_bank()
    consent = held.grant_on_chain(chip, bank, REGISTRATION | Category.SOCIAL_INSURANCE.bit)
    _follow_now(held)
    assert held.client_of(bank).size_class(chip.uscc, consent).status == "granted"
    assert _counts(held) == (1, 0)


def test_a_follower_behind_its_bound_sends_reads_to_the_views(
    tmp_path: Path, bureau_url: str
) -> None:
    with running_gateway(
        tmp_path, bureau_url, live_poll_interval_s=3600, live_max_lag_s=0.2
    ) as gateway:
        chip = gateway.register(CHIP_DISTRIBUTOR_USCC)
        bank = gateway.add_bank()
        consent = gateway.grant_on_chain(chip, bank, REGISTRATION)
        _follow_now(gateway)
        assert gateway.read(bank, chip, consent, [1]).status == "granted"
        time.sleep(0.3)
        assert not _live(gateway).fresh
        assert gateway.read(bank, chip, consent, [1]).status == "granted"
        assert _counts(gateway) == (1, 1)


@pytest.mark.parametrize("webhooks", [False, True], ids=["no-follower", "follower-for-webhooks"])
def test_the_live_precheck_can_be_turned_off(
    tmp_path: Path, bureau_url: str, webhooks: bool
) -> None:
    """Off, reads are pre-checked on the chain's views; the model still follows the chain where
    webhooks need its events."""
    with running_gateway(tmp_path, bureau_url, live_precheck=False, webhooks=webhooks) as gateway:
        chip = gateway.register(CHIP_DISTRIBUTOR_USCC)
        bank = gateway.add_bank()
        consent = gateway.grant_on_chain(chip, bank, REGISTRATION)
        assert gateway.read(bank, chip, consent, [1]).status == "granted"
        health = gateway.api.health()
        assert (health.live_ledger_block is not None) is webhooks
        assert (health.reads_prechecked_live, health.reads_prechecked_on_views) == (0, 0)


def test_a_follower_without_its_node_is_not_fresh_and_judges_nothing(
    following: Gateway, party: tuple[Enterprise, Bank]
) -> None:
    chip, bank = party
    consent = following.grant_on_chain(chip, bank, REGISTRATION)
    nowhere = HttpJsonRpc(f"http://127.0.0.1:{free_port()}", timeout=2)
    live = LiveLedger(nowhere, following.context.deployment, poll_interval=1, max_lag=60)
    with pytest.raises(ConnectionError):
        live.step()
    assert not live.fresh
    assert live.judge(consent, bank.address, REGISTRATION, 1) is None


def test_a_chain_that_went_back_starts_the_model_again(held: Gateway) -> None:
    chain = held.context.chain
    assert chain is not None
    chip = held.register(CHIP_DISTRIBUTOR_USCC)
    bank = held.add_bank()
    _follow_now(held)
    snapshot = chain.snapshot()
    consent = held.grant_on_chain(chip, bank, REGISTRATION)
    _follow_now(held)
    assert _live(held).consent(consent) is not None
    chain.revert(snapshot)  # the grant's block is gone
    _follow_now(held)  # sees the chain went back: starts again
    assert not _live(held).fresh
    _follow_now(held)  # catches up from the deployment block
    assert _live(held).fresh
    assert _live(held).consent(consent) is None
    assert _live(held).followed_through == held.context.w3.eth.block_number


def test_a_long_catch_up_goes_in_slices(held: Gateway) -> None:
    chain = held.context.chain
    assert chain is not None
    chip = held.register(CHIP_DISTRIBUTOR_USCC)
    bank = held.add_bank()
    consent = held.grant_on_chain(chip, bank, REGISTRATION)
    head = held.context.w3.eth.block_number
    deploy_block = held.context.deployment.deploy_block
    sliced = LiveLedger(
        EmbeddedJsonRpc(chain), held.context.deployment, poll_interval=1, max_lag=60, max_blocks=2
    )
    reached: list[bool] = []
    while not reached or not reached[-1]:
        reached.append(held.http.portal.call(held.context.chain_read, sliced.step))  # type: ignore[union-attr]
        assert sliced.fresh is reached[-1]
    assert len(reached) == (head - deploy_block) // 2 + 1
    assert sliced.followed_through == head
    judged = sliced.judge(consent, bank.address, REGISTRATION, 1)
    assert judged is not None
    assert (judged.subject, judged.reason) == (chip.subject, DenialReason.NONE)
