"""Nobody learns from the gateway what the chain hides: which USCC a subject id stands for,
whether an enterprise is registered, which enterprise another bank's consent is for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from sqlalchemy import func, select

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC, SOFTWARE_STARTUP_USCC
from consentledger.categories import Category
from consentledger.gateway.db import SignInNonce
from tests.harness.gateway import Bank, Enterprise, Gateway, running_gateway, siwe_header


def draft_body(uscc: str, bank: Bank) -> dict[str, Any]:
    """The body of a 30-day underwriting consent draft for one category."""
    return {
        "uscc": uscc,
        "bank": bank.address,
        "categories": ["business_registration"],
        "purpose": "credit_underwriting",
        "duration_days": 30,
        "history_months": 12,
    }


def _without_instance(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("instance", None)
    return body


def test_an_anonymous_draft_names_no_subject_and_no_registration(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    registered = gateway.http.post("/v1/consents/draft", json=draft_body(chip.uscc, bank))
    unregistered = gateway.http.post(
        "/v1/consents/draft", json=draft_body(SOFTWARE_STARTUP_USCC, bank)
    )
    assert (registered.status_code, unregistered.status_code) == (401, 401)
    assert registered.json()["code"] == "draft_needs_authentication"
    assert _without_instance(registered) == _without_instance(unregistered)
    assert chip.subject.hex() not in registered.text


def test_the_bank_drafts_for_itself_and_a_controller_for_its_enterprise(
    gateway: Gateway, bank: Bank, other_bank: Bank, chip: Enterprise
) -> None:
    body = draft_body(chip.uscc, bank)
    by_bank = gateway.http.post("/v1/consents/draft", json=body, headers=bank.headers)
    assert by_bank.status_code == 200, by_bank.text
    assert by_bank.json()["typed_data"]["message"]["subject"] == "0x" + chip.subject.hex()
    for_another = gateway.http.post("/v1/consents/draft", json=body, headers=other_bank.headers)
    assert for_another.status_code == 403
    assert for_another.json()["code"] == "draft_for_another_bank"
    challenge = gateway.http.post(
        "/v1/auth/challenge", json={"uscc": chip.uscc, "address": chip.controller.address}
    ).json()["message"]
    by_controller = gateway.http.post(
        "/v1/consents/draft", json=body, headers=siwe_header(challenge, chip.controller)
    )
    assert by_controller.status_code == 200, by_controller.text
    stranger = Account.create()
    challenge = gateway.http.post(
        "/v1/auth/challenge", json={"uscc": chip.uscc, "address": stranger.address}
    ).json()["message"]
    by_stranger = gateway.http.post(
        "/v1/consents/draft", json=body, headers=siwe_header(challenge, stranger)
    )
    assert by_stranger.status_code == 403
    assert by_stranger.json()["code"] == "siwe_not_controller"


def _answer(response: httpx.Response) -> tuple[int, str | None, str | None]:
    body = response.json()
    return response.status_code, body.get("code"), body.get("reason")


def test_a_guess_at_another_banks_customer_is_answered_like_any_refusal(
    gateway: Gateway, bank: Bank, other_bank: Bank, chip: Enterprise, catering: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, Category.BUSINESS_REGISTRATION.bit)
    right_guess = gateway.post_read(other_bank, chip, consent, [1])
    wrong_guess = gateway.post_read(other_bank, catering, consent, [1])
    assert right_guess.status_code == 403, right_guess.text
    assert _answer(right_guess) == _answer(wrong_guess)
    # The bank's own consent with another enterprise's USCC is still refused before the chain.
    own = gateway.post_read(bank, catering, consent, [1])
    assert _answer(own)[:2] == (403, "consent_not_for_this_enterprise")


def test_sign_in_challenges_are_rate_limited_and_bounded(tmp_path: Path, bureau_url: str) -> None:
    with running_gateway(
        tmp_path, bureau_url, challenges_per_minute=5, max_open_challenges=3
    ) as gateway:
        asked = [
            gateway.http.post(
                "/v1/auth/challenge",
                json={"uscc": CHIP_DISTRIBUTOR_USCC, "address": Account.create().address},
            )
            for _ in range(6)
        ]
        assert [r.status_code for r in asked] == [200, 200, 200, 503, 503, 429]
        assert asked[3].json()["code"] == "too_many_open_challenges"
        assert asked[5].json()["code"] == "too_many_requests"
        assert int(asked[5].headers["retry-after"]) >= 1
        with gateway.context.db.session() as session:
            assert session.scalar(select(func.count()).select_from(SignInNonce)) == 3
