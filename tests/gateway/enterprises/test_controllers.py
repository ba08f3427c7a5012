"""An enterprise changes its controllers through the API with k of its current controllers'
signatures (the contract checks them), and each new controller of a registration proves its key."""

from __future__ import annotations

from typing import Any

from eth_account import Account

from consentledger.client.signing import sign_typed_data
from consentledger.gateway.ledger_views import latest_block
from tests.harness.gateway import ADMIN, Gateway


def test_k_controllers_change_the_controllers(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=3, threshold=2)
    new = [Account.create(), Account.create()]
    wanted: dict[str, Any] = {"controllers": [k.address for k in new], "threshold": 1}
    path = f"/v1/enterprises/{enterprise.uscc}/controllers"
    drafted = gateway.http.post(f"{path}/draft", json=wanted, headers=gateway.signed_in(enterprise))
    assert drafted.status_code == 200, drafted.text
    document = drafted.json()["typed_data"]
    assert document["primaryType"] == "ChangeControllers"
    body = wanted | {
        "nonce": document["message"]["nonce"],
        "deadline": document["message"]["deadline"],
    }
    one = body | {"signatures": sign_typed_data(document, enterprise.controllers[:1])}
    refused = gateway.http.post(path, json=one, headers=gateway.signed_in(enterprise))
    assert refused.json()["code"] == "membership_threshold_not_met"
    two = body | {"signatures": sign_typed_data(document, enterprise.controllers[:2])}
    changed = gateway.http.post(path, json=two, headers=gateway.signed_in(enterprise))
    assert changed.status_code == 200, changed.text
    assert changed.json()["controllers"] == [k.address for k in new]
    assert gateway.context.ledger.enterprise(enterprise.subject) == (
        tuple(k.address for k in new),
        1,
    )
    # The old controllers no longer sign in; a new one does.
    old = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/consents", headers=gateway.signed_in(enterprise)
    )
    assert old.status_code == 403
    enterprise.controllers = new
    now = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/consents", headers=gateway.signed_in(enterprise)
    )
    assert now.status_code == 200, now.text


def test_the_bureau_cannot_register_a_key_it_does_not_hold(gateway: Gateway) -> None:
    """The operator names a controller address whose holder never signed the Registration."""
    uscc = next(gateway.usccs)
    victim, own = Account.create(), Account.create()
    draft = gateway.operator.draft_enterprise(uscc, [victim.address], 1)
    forged = sign_typed_data(draft.typed_data, [own])
    deadline = draft.typed_data.message["deadline"]
    head = latest_block(gateway.context.ledger)
    response = gateway.http.post(
        "/v1/admin/enterprises",
        json={
            "uscc": uscc,
            "controllers": [victim.address],
            "threshold": 1,
            "deadline": deadline,
            "signatures": forged,
        },
        headers=ADMIN,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "membership_controller_not_proven"
    assert latest_block(gateway.context.ledger) == head
    assert gateway.context.ledger.enterprise(gateway.context.subject_of(uscc))[1] == 0
    registered = gateway.operator.register_signed(
        uscc, [victim.address], 1, deadline, sign_typed_data(draft.typed_data, [victim])
    )
    assert registered.controllers == [victim.address]


def test_the_controllers_cancel_the_regulators_recovery(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=2)
    started = gateway.operator.start_recovery(enterprise.uscc, [Account.create()], 1)
    ledger = gateway.context.ledger
    assert ledger.recovery(enterprise.subject)[1] == int(started.effective_at.timestamp())
    client = gateway.enterprise_client(enterprise)
    kept = client.cancel_recovery()
    assert kept.controllers == [k.address for k in enterprise.controllers]
    assert ledger.recovery(enterprise.subject) == (bytes(32), 0)
    again = gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/recovery/cancel/draft",
        json={},
        headers=gateway.signed_in(enterprise),
    )
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "recovery_not_pending"
