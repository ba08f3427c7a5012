"""Consent requests: a bank asks, the enterprise approves by signing (granted on the chain) or
declines; requests expire; both sides see every state; no USCC oracle; events published."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from consentledger.client import ConflictError, GatewayProblemError, sign_typed_data
from consentledger.journal.schema import ConsentRequestRecord, OutboxEvent
from consentledger.subject import subject_id
from tests.harness.gateway import Bank, Enterprise, Gateway

#: A valid USCC (Huawei's, public) that nobody registers on this module's chain.
UNREGISTERED_USCC = "914403001922038216"

REQUEST: dict[str, Any] = {
    "categories": ["business_registration", "social_insurance"],
    "purpose": "credit_underwriting",
    "duration_days": 30,
    "history_months": 12,
    "reason": "贷前审查: a working-capital loan application",
}


def _published(gateway: Gateway, request_id: str) -> list[OutboxEvent]:
    """The outbox's events of one request, in order."""
    with gateway.context.db.session() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
    return [r for r in rows if json.loads(r.body)["data"].get("request_id") == request_id]


def _ask(gateway: Gateway, bank: Bank, uscc: str, **overrides: Any) -> Any:
    return gateway.http.post(
        "/v1/consent-requests", json={"uscc": uscc, **REQUEST, **overrides}, headers=bank.headers
    )


def _request_id(gateway: Gateway, bank: Bank, enterprise: Enterprise, **overrides: Any) -> str:
    asked = _ask(gateway, bank, enterprise.uscc, **overrides)
    assert asked.status_code == 201, asked.text
    request_id: str = asked.json()["request_id"]
    return request_id


def test_a_request_approved_by_signing_is_granted_on_the_chain(
    gateway: Gateway, bank: Bank
) -> None:
    enterprise = gateway.new_enterprise()
    banker = gateway.client_of(bank)
    asked = banker.request_consent(
        enterprise.uscc,
        ["business_registration", "social_insurance"],
        "credit_underwriting",
        history_months=12,
        duration_days=30,
        reason="贷前审查",
    )
    assert asked.state == "pending"
    assert asked.bank_name is not None
    assert asked.bank_name.name_en == bank.name

    client = gateway.enterprise_client(enterprise)
    client.open_session()
    page = client.consent_requests(state="pending")
    assert [r.request_id for r in page.requests] == [asked.request_id]
    view = client.consent_request(asked.request_id)
    assert view.approval is not None
    assert view.approval.typed_data.message["bank"] == bank.address

    approved = client.approve_request(asked.request_id)
    assert approved.request.state == "approved"
    assert approved.request.consent_id == approved.grant.consent_id
    consent = gateway.context.ledger.consent(bytes.fromhex(approved.grant.consent_id[2:]))
    assert consent.bank == bank.address
    assert consent.expires_at - consent.not_before == 30 * 86_400
    assert banker.consent_request(asked.request_id).state == "approved"

    result = gateway.read(bank, enterprise, approved.grant.consent_id, ["business_registration"])
    assert result.status == "granted"
    published = _published(gateway, asked.request_id)
    assert [e.type for e in published] == ["consent.requested"]  # approval: consent.granted
    assert (
        published[0].subject
        == "0x" + subject_id(enterprise.uscc, gateway.context.subject_key).hex()
    )
    assert published[0].bank == bank.address

    again = gateway.http.post(
        f"/v1/consent-requests/{asked.request_id}/approve",
        json={
            "message": view.approval.typed_data.message,
            "signatures": sign_typed_data(view.approval.typed_data, enterprise.controllers),
        },
    )
    assert again.status_code == 409
    assert again.json()["code"] == "consent_request_not_pending"
    assert again.json()["state"] == "approved"


def test_a_declined_request_is_kept_with_its_reason(gateway: Gateway, bank: Bank) -> None:
    enterprise = gateway.new_enterprise()
    request_id = _request_id(gateway, bank, enterprise)
    client = gateway.enterprise_client(enterprise)
    declined = client.decline_request(request_id, "we bank elsewhere")
    assert declined.state == "declined"
    assert declined.decline_reason == "we bank elsewhere"
    seen = gateway.client_of(bank).consent_request(request_id)
    assert (seen.state, seen.decline_reason) == ("declined", "we bank elsewhere")
    assert gateway.client_of(bank).consent_requests(state="declined").requests[-1].request_id == (
        request_id
    )
    published = _published(gateway, request_id)
    assert [e.type for e in published] == ["consent.requested", "consent.request_declined"]
    assert json.loads(published[-1].body)["data"]["decline_reason"] == "we bank elsewhere"
    with pytest.raises(ConflictError) as twice:
        client.decline_request(request_id, "again")
    assert twice.value.code == "consent_request_not_pending"
    view = client.consent_request(request_id)
    assert view.approval is None  # nothing to sign any more


def test_signed_terms_other_than_the_requests_are_refused(gateway: Gateway, bank: Bank) -> None:
    enterprise = gateway.new_enterprise()
    request_id = _request_id(gateway, bank, enterprise)
    wider = gateway.draft(
        enterprise,
        bank=bank.address,
        categories=["business_registration", "social_insurance", "tax"],
    )
    answer = gateway.http.post(
        f"/v1/consent-requests/{request_id}/approve",
        json={
            "message": wider.typed_data.message,
            "signatures": sign_typed_data(wider.typed_data, enterprise.controllers),
        },
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "consent_request_terms_mismatch"
    assert answer.json()["field"] == "categories"
    assert gateway.client_of(bank).consent_request(request_id).state == "pending"


def test_an_unanswered_request_expires_once(gateway: Gateway, bank: Bank) -> None:
    enterprise = gateway.new_enterprise()
    request_id = _request_id(gateway, bank, enterprise, respond_within_days=1)
    with gateway.context.db.session() as session, session.begin():
        session.execute(
            update(ConsentRequestRecord)
            .where(ConsentRequestRecord.request_id == request_id)
            .values(respond_by=datetime.now(UTC) - timedelta(seconds=1))
        )
    seen = gateway.client_of(bank).consent_request(request_id)
    assert seen.state == "expired"
    assert gateway.client_of(bank).consent_request(request_id).state == "expired"
    published = [e.type for e in _published(gateway, request_id)]
    assert published == ["consent.requested", "consent.request_expired"]  # once
    client = gateway.enterprise_client(enterprise)
    assert client.consent_requests(state="expired").requests[0].request_id == request_id
    with pytest.raises(ConflictError):
        client.decline_request(request_id, "too late")


def test_a_request_is_seen_by_its_two_parties_only(
    gateway: Gateway, bank: Bank, other_bank: Bank
) -> None:
    enterprise, stranger = gateway.new_enterprise(), gateway.new_enterprise()
    request_id = _request_id(gateway, bank, enterprise)
    path = f"/v1/consent-requests/{request_id}"
    assert gateway.http.get(path, headers=other_bank.headers).json()["code"] == (
        "unknown_consent_request"
    )
    outsider = gateway.enterprise_client(stranger).open_session()
    assert gateway.http.get(path, headers=outsider.headers).status_code == 404
    declined = gateway.http.post(
        f"{path}/decline", json={"reason": "not mine"}, headers=outsider.headers
    )
    assert declined.status_code == 404
    assert gateway.http.get(path).json()["code"] == "consent_request_needs_authentication"
    theirs = gateway.client_of(other_bank).consent_requests(limit=500).requests
    assert all(r.request_id != request_id for r in theirs)


def test_an_unregistered_uscc_is_answered_like_a_registered_one(
    gateway: Gateway, bank: Bank
) -> None:
    registered = gateway.new_enterprise()
    known = _ask(gateway, bank, registered.uscc)
    unknown = _ask(gateway, bank, UNREGISTERED_USCC)
    assert (known.status_code, unknown.status_code) == (201, 201)
    left, right = known.json(), unknown.json()
    assert set(left) == set(right)
    different = {"request_id", "uscc", "created_at", "respond_by"}
    assert {k: v for k, v in left.items() if k not in different} == {
        k: v for k, v in right.items() if k not in different
    }
    # A refusal is the same too: the terms are judged, never the enterprise.
    too_long = {"duration_days": 365, "purpose": "credit_underwriting"}
    refused = [
        _ask(gateway, bank, uscc, **too_long).json()
        for uscc in (registered.uscc, UNREGISTERED_USCC)
    ]
    assert refused[0]["code"] == refused[1]["code"]
    assert refused[0]["code"].startswith("consents_")
    assert refused[0]["prechecked"] is True


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"respond_within_days": 31}, "consent_request_respond_by_out_of_range"),
        ({"uscc": "914403001922038217"}, "invalid_uscc_check_character"),
        ({"categories": ["no_such_category"]}, "unknown_category"),
        ({"reason": ""}, "invalid_request"),
        ({"duration_days": None}, "invalid_request"),
    ],
    ids=["answer-by too far", "bad check character", "unknown category", "no reason", "no end"],
)
def test_bad_requests_are_problems_and_store_nothing(
    gateway: Gateway, bank: Bank, overrides: dict[str, Any], code: str
) -> None:
    before = len(gateway.client_of(bank).consent_requests(limit=500).requests)
    body = {"uscc": UNREGISTERED_USCC, **REQUEST, **overrides}
    answer = gateway.http.post("/v1/consent-requests", json=body, headers=bank.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    assert len(gateway.client_of(bank).consent_requests(limit=500).requests) == before


def test_a_bank_pages_its_requests_with_a_cursor(gateway: Gateway, other_bank: Bank) -> None:
    enterprise = gateway.new_enterprise()
    made = [_request_id(gateway, other_bank, enterprise) for _ in range(3)]
    banker = gateway.client_of(other_bank)
    first = banker.consent_requests(uscc=enterprise.uscc, limit=2)
    assert [r.request_id for r in first.requests] == made[:2]
    assert first.next_cursor is not None
    second = banker.consent_requests(uscc=enterprise.uscc, limit=2, cursor=first.next_cursor)
    assert [r.request_id for r in second.requests] == made[2:]
    assert second.next_cursor is None
    with pytest.raises(GatewayProblemError) as other_filter:
        banker.consent_requests(limit=2, cursor=first.next_cursor)
    assert other_filter.value.code == "invalid_cursor"


def test_an_approval_the_chain_refuses_leaves_the_request_pending(
    gateway: Gateway, bank: Bank
) -> None:
    board = gateway.new_enterprise(controllers=2, threshold=2)
    request_id = _request_id(gateway, bank, board)
    client = gateway.enterprise_client(board)
    with pytest.raises(GatewayProblemError) as refused:
        client.approve_request(request_id, signers=board.controllers[:1])
    assert refused.value.code == "membership_threshold_not_met"
    assert gateway.client_of(bank).consent_request(request_id).state == "pending"
    approved = client.approve_request(request_id)  # both controllers
    assert approved.request.state == "approved"


def _abandon(gateway: Gateway, request_id: str, **values: Any) -> None:
    """Make the request look claimed by a gateway that stopped eleven minutes ago."""
    with gateway.context.db.session() as session, session.begin():
        session.execute(
            update(ConsentRequestRecord)
            .where(ConsentRequestRecord.request_id == request_id)
            .values(
                state="approving",
                decided_at=datetime.now(UTC) - timedelta(minutes=11),
                **values,
            )
        )


def test_an_abandoned_approval_is_finished_or_taken_over(gateway: Gateway, bank: Bank) -> None:
    enterprise = gateway.new_enterprise()
    client = gateway.enterprise_client(enterprise)
    # Granted on the chain before the gateway stopped: the next approval finds that grant.
    request_id = _request_id(gateway, bank, enterprise)
    view = client.consent_request(request_id)
    assert view.approval is not None
    body = {
        "message": view.approval.typed_data.message,
        "signatures": sign_typed_data(view.approval.typed_data, enterprise.controllers),
    }
    granted = gateway.http.post(f"/v1/consent-requests/{request_id}/approve", json=body).json()
    _abandon(gateway, request_id, tx_hash=None, block_number=None)
    again = gateway.http.post(f"/v1/consent-requests/{request_id}/approve", json=body)
    assert again.status_code == 200, again.text
    assert again.json()["grant"]["consent_id"] == granted["grant"]["consent_id"]
    assert again.json()["request"]["tx_hash"] == granted["grant"]["tx_hash"]

    # Never granted: the claim is taken over and the approval goes through.
    other = _request_id(gateway, bank, enterprise)
    _abandon(gateway, other, consent_id="0x" + "ee" * 32)
    assert client.approve_request(other).request.state == "approved"
    # A claim that is not stale is still on its way: 409.
    third = _request_id(gateway, bank, enterprise)
    with gateway.context.db.session() as session, session.begin():
        session.execute(
            update(ConsentRequestRecord)
            .where(ConsentRequestRecord.request_id == third)
            .values(state="approving", decided_at=datetime.now(UTC), consent_id="0x" + "ee" * 32)
        )
    view = client.consent_request(third)
    assert view.approval is None
    assert view.request.state == "approving"
