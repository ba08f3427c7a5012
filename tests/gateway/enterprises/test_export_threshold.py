"""An export needs the enterprise's threshold of controllers, as a consent does: one controller
of a 2-of-2 enterprise could export all its data alone."""

from __future__ import annotations

import httpx
from eth_account.signers.local import LocalAccount

from tests.harness.gateway import Enterprise, Gateway, siwe_header


def _approval(gateway: Gateway, enterprise: Enterprise, signer: LocalAccount, action: str) -> str:
    """A controller's sign-in credential (``<base64url(message)>.<0x signature>``)."""
    message: str = gateway.http.post(
        "/v1/auth/challenge",
        json={"uscc": enterprise.uscc, "address": signer.address, "action": action},
    ).json()["message"]
    header = siwe_header(message, signer)["Authorization"]
    return header.removeprefix("SIWE ")


def _export(gateway: Gateway, enterprise: Enterprise, approvals: list[str]) -> httpx.Response:
    response: httpx.Response = gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/export",
        json={"approvals": approvals},
        headers=gateway.signed_in(enterprise),
    )
    return response


def test_an_export_needs_the_threshold_of_controllers(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=2)
    first, second = enterprise.controllers
    alone = gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/export", headers=gateway.signed_in(enterprise)
    )
    assert alone.status_code == 403, alone.text
    assert alone.json()["code"] == "export_needs_more_controllers"
    # The same controller twice is still one controller.
    twice = _export(gateway, enterprise, [_approval(gateway, enterprise, first, "export")])
    assert twice.status_code == 403
    # A plain sign-in of the other controller does not approve an export.
    viewing = _export(gateway, enterprise, [_approval(gateway, enterprise, second, "view")])
    assert viewing.status_code == 403
    assert viewing.json()["code"] == "siwe_not_an_export_approval"
    both = _export(gateway, enterprise, [_approval(gateway, enterprise, second, "export")])
    assert both.status_code == 200, both.text
    assert both.json()["data"]


def test_a_one_of_n_enterprise_exports_with_one_controller(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=1)
    alone = gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/export", headers=gateway.signed_in(enterprise)
    )
    assert alone.status_code == 200, alone.text
