"""Pause, resume and revoke: signed actions, drafted by the gateway, relayed after the checks."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from consentledger.client import InvalidRequestError, sign_typed_data
from consentledger.client.models import ConsentAction
from tests.harness.gateway import Gateway


def test_pause_resume_revoke(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)

    steps: list[tuple[ConsentAction, str]] = [
        ("pause", "PAUSED"),
        ("resume", "ACTIVE"),
        ("revoke", "REVOKED"),
    ]
    for action, status in steps:
        result = gateway.act(consent_id, action, enterprise.controllers)
        assert (result.consent_id, result.action, result.status) == (consent_id, action, status)
        assert result.tx_hash.startswith("0x")

    consent = gateway.api.consent(consent_id)
    assert consent.status == "REVOKED"
    assert [e.event for e in consent.events] == ["granted", "paused", "resumed", "revoked"]
    times = [e.block_time for e in consent.events]
    assert times == sorted(times)


def test_action_draft_is_typed_data(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)
    response = gateway.http.post(
        f"/v1/consents/{consent_id}/actions/draft", json={"action": "revoke"}
    )
    assert response.status_code == 200
    draft = response.json()
    document = draft["typed_data"]
    assert document["primaryType"] == "Revocation"
    assert document["message"]["consentId"] == consent_id
    assert isinstance(document["message"]["nonce"], str)
    assert int(document["message"]["nonce"]) >> 64 != 0
    assert draft["endpoint"] == f"/v1/consents/{consent_id}/revoke"


def test_two_of_two_revocation_needs_both(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=2)
    consent_id = gateway.grant(enterprise)
    with pytest.raises(InvalidRequestError) as one:
        gateway.act(consent_id, "revoke", enterprise.controllers[:1])
    assert (one.value.status, one.value.code) == (422, "membership_threshold_not_met")
    assert gateway.act(consent_id, "revoke", enterprise.controllers).status == "REVOKED"


def test_invalid_transitions_are_409(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)

    drafted = gateway.http.post(
        f"/v1/consents/{consent_id}/actions/draft", json={"action": "resume"}
    )
    assert drafted.status_code == 409
    assert drafted.json()["code"] == "consents_invalid_transition"

    assert gateway.act(consent_id, "revoke", enterprise.controllers).status == "REVOKED"
    # A revocation drafted earlier and signed, sent after the consent was revoked.
    draft = gateway.http.post(f"/v1/consents/{consent_id}/actions/draft", json={"action": "revoke"})
    assert draft.status_code == 409
    problem = draft.json()
    assert problem["contract_error"] == "ConsentsInvalidTransition"
    assert problem["arguments"] == [consent_id, 3]  # REVOKED


def test_action_sent_in_a_state_that_forbids_it(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)
    pause = gateway.http.post(
        f"/v1/consents/{consent_id}/actions/draft", json={"action": "pause"}
    ).json()["typed_data"]
    resume_document: dict[str, Any] = {
        **pause,
        "primaryType": "Resume",
        "types": {
            "EIP712Domain": pause["types"]["EIP712Domain"],
            "Resume": pause["types"]["Pause"],
        },
    }
    body = {
        "nonce": resume_document["message"]["nonce"],
        "deadline": resume_document["message"]["deadline"],
        "signatures": sign_typed_data(resume_document, enterprise.controllers),
    }
    response = gateway.http.post(f"/v1/consents/{consent_id}/resume", json=body)
    assert response.status_code == 409
    assert response.json()["code"] == "consents_invalid_transition"


def test_action_by_a_stranger(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)
    with pytest.raises(InvalidRequestError) as refused:
        gateway.act(consent_id, "pause", [Account.create()])
    assert (refused.value.status, refused.value.code) == (422, "membership_signer_not_controller")


def test_action_signed_for_another_consent(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    first = gateway.grant(enterprise)
    second = gateway.grant(enterprise)

    def retarget(message: dict[str, Any]) -> None:
        message["consentId"] = second

    # Signed for `second`, sent for `first`: the signer recovered is someone else.
    with pytest.raises(InvalidRequestError) as refused:
        gateway.act(first, "revoke", enterprise.controllers, edit=retarget)
    assert (refused.value.status, refused.value.code) == (422, "membership_signer_not_controller")


def test_expired_action_deadline(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)

    def expire(message: dict[str, Any]) -> None:
        message["deadline"] = "1"

    with pytest.raises(InvalidRequestError) as refused:
        gateway.act(consent_id, "pause", enterprise.controllers, edit=expire)
    assert (refused.value.status, refused.value.code) == (422, "membership_signature_expired")


def test_replayed_action_nonce(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)
    document = gateway.http.post(
        f"/v1/consents/{consent_id}/actions/draft", json={"action": "pause"}
    ).json()["typed_data"]
    body = {
        "nonce": document["message"]["nonce"],
        "deadline": document["message"]["deadline"],
        "signatures": sign_typed_data(document, enterprise.controllers),
    }
    assert gateway.http.post(f"/v1/consents/{consent_id}/pause", json=body).status_code == 200
    assert gateway.act(consent_id, "resume", enterprise.controllers).status == "ACTIVE"
    replay = gateway.http.post(f"/v1/consents/{consent_id}/pause", json=body)
    assert replay.status_code == 422
    assert replay.json()["code"] == "invalid_account_nonce"


@pytest.mark.parametrize("action", ["revoke", "pause", "resume"])
def test_drafting_for_an_unknown_consent_is_404(gateway: Gateway, action: str) -> None:
    unknown = "0x" + "cd" * 32
    drafted = gateway.http.post(f"/v1/consents/{unknown}/actions/draft", json={"action": action})
    assert drafted.status_code == 404
    assert drafted.json()["code"] == "consents_unknown_consent"


def test_unknown_consent_with_a_valid_signature_is_404(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)
    document = gateway.http.post(
        f"/v1/consents/{consent_id}/actions/draft", json={"action": "revoke"}
    ).json()["typed_data"]
    unknown = "0x" + "ef" * 32
    document["message"]["consentId"] = unknown
    body = {
        "nonce": document["message"]["nonce"],
        "deadline": document["message"]["deadline"],
        "signatures": sign_typed_data(document, enterprise.controllers),
    }
    response = gateway.http.post(f"/v1/consents/{unknown}/revoke", json=body)
    assert response.status_code == 404
    assert response.json()["code"] == "consents_unknown_consent"


@pytest.mark.parametrize(
    "body",
    [
        {"nonce": "x", "deadline": "1", "signatures": ["0x" + "11" * 65]},
        {"nonce": "1", "deadline": "1", "signatures": []},
        {"nonce": "1", "deadline": "1"},
        {"action": "explode"},
    ],
    ids=["bad nonce", "no signatures", "no signatures field", "wrong body"],
)
def test_bad_action_bodies_are_422(gateway: Gateway, body: dict[str, Any]) -> None:
    response = gateway.http.post("/v1/consents/0x" + "ab" * 32 + "/pause", json=body)
    assert response.status_code == 422
    drafted = gateway.http.post(
        "/v1/consents/0x" + "ab" * 32 + "/actions/draft", json={"action": "explode"}
    )
    assert drafted.status_code == 422
