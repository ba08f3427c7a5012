"""An export needs the enterprise's threshold of controllers, as a consent does, and the contract
checks it: one controller of a 2-of-2 enterprise could export all its data alone, and the
contract's ``recordExport`` trusted the bureau for the count."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from consentledger.client.signing import sign_typed_data
from consentledger.gateway.ledger_views import latest_block
from tests.harness.gateway import Enterprise, Gateway


def _draft(gateway: Gateway, enterprise: Enterprise) -> dict[str, Any]:
    response = gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/export/draft",
        json={},
        headers=gateway.signed_in(enterprise),
    )
    assert response.status_code == 200, response.text
    draft: dict[str, Any] = response.json()
    assert draft["typed_data"]["primaryType"] == "Export"
    return draft


def _export(
    gateway: Gateway, enterprise: Enterprise, draft: dict[str, Any], signers: list[LocalAccount]
) -> Any:
    message = draft["typed_data"]["message"]
    body = {
        "nonce": message["nonce"],
        "deadline": message["deadline"],
        "signatures": sign_typed_data(draft["typed_data"], signers),
    }
    return gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/export",
        json=body,
        headers=gateway.signed_in(enterprise),
    )


def test_an_export_needs_the_threshold_of_controllers(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=2)
    first, second = enterprise.controllers
    draft = _draft(gateway, enterprise)
    head = latest_block(gateway.context.ledger)
    alone = _export(gateway, enterprise, draft, [first])
    assert alone.status_code == 422, alone.text
    assert alone.json()["code"] == "membership_threshold_not_met"
    twice = _export(gateway, enterprise, draft, [first, first])
    assert twice.json()["code"] == "membership_duplicate_signer"
    assert latest_block(gateway.context.ledger) == head  # nothing was sent
    both = _export(gateway, enterprise, draft, [first, second])
    assert both.status_code == 200, both.text
    assert both.json()["data"]
    replayed = _export(gateway, enterprise, draft, [first, second])
    assert replayed.json()["code"] == "invalid_account_nonce"


def test_a_one_of_n_enterprise_exports_with_one_controller(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=1)
    exported = gateway.api.enterprise(enterprise.uscc, enterprise.controllers, 1).export()
    assert exported.data
