"""Health, EIP-712, OpenAPI, the admin endpoints, and the admin CLI against a live HTTP server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from eth_account import Account

from consentledger.chain import typed_data
from consentledger.chain.anvil import free_port
from consentledger.cli import main
from consentledger.gateway.problems import snake_case
from tests.harness.gateway import ADMIN, Gateway, admin_cli


def test_health(gateway: Gateway) -> None:
    response = gateway.http.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    deployment = gateway.context.deployment
    assert (body["chain_id"], body["contract"]) == (deployment.chain_id, deployment.address)
    assert body["relayer"] == gateway.context.ledger.account.address
    assert body["latest_block"] >= deployment.deploy_block
    assert body["embedded_chain"] is True
    relayer = gateway.context.ledger.account.address
    assert body["relayer_nonce"] == gateway.context.w3.eth.get_transaction_count(relayer)


def test_eip712_describes_what_the_contract_verifies(gateway: Gateway) -> None:
    body = gateway.http.get("/v1/eip712").json()
    assert body["domain"] == gateway.domain()
    assert body["types"]["Consent"] == typed_data.TYPES["Consent"]
    assert set(body["primary_types"]) >= {"Consent", "Revocation", "Pause", "Resume"}


def test_openapi_describes_every_error_response(gateway: Gateway) -> None:
    spec = gateway.http.get("/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            codes = {int(c) for c in operation["responses"] if c.isdigit()}
            assert 500 in codes, name
            if "requestBody" in operation:
                assert {413, 422} <= codes, name
            if operation.get("security"):
                assert 401 in codes, name
            for code in codes - {200, 201, 204}:
                content = operation["responses"][str(code)].get("content", {})
                assert "application/problem+json" in content, f"{name} {code}"
    assert gateway.http.get("/docs").status_code == 200


def test_unknown_path_is_a_problem(gateway: Gateway) -> None:
    response = gateway.http.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_admin_token"),
        ({"Authorization": "Bearer wrong-token-wrong"}, "invalid_admin_token"),
    ],
    ids=["missing", "wrong"],
)
def test_admin_needs_the_operator_token(
    gateway: Gateway, headers: dict[str, str], code: str
) -> None:
    response = gateway.http.get("/v1/admin/banks", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code


def test_bank_with_a_given_address_and_duplicates(gateway: Gateway) -> None:
    address = Account.create().address
    names = {"name_zh": "给定地址银行", "licence_number": "B0042H144030001"}
    created = gateway.http.post(
        "/v1/admin/banks",
        json={"name": "Given Address Bank", "address": address, **names},
        headers=ADMIN,
    )
    assert created.status_code == 201
    assert created.json()["address"] == address
    assert created.json()["private_key"] is None
    assert gateway.context.ledger.is_bank_active(address)
    again = gateway.http.post(
        "/v1/admin/banks",
        json={"name": "Another Name", "address": address, **names},
        headers=ADMIN,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "bank_exists"
    listed = gateway.http.get("/v1/admin/banks", headers=ADMIN).json()
    assert {
        "name": "Given Address Bank",
        **names,
        "address": address,
        "active_on_chain": True,
    } in listed


def test_enterprise_registered_twice_is_the_contracts_error(gateway: Gateway) -> None:
    controller = Account.create().address
    body = {"uscc": "91440304MA5EU3R884", "controllers": [controller], "threshold": 1}
    assert gateway.http.post("/v1/admin/enterprises", json=body, headers=ADMIN).status_code == 201
    again = gateway.http.post("/v1/admin/enterprises", json=body, headers=ADMIN)
    assert again.status_code == 422
    assert again.json()["code"] == "membership_enterprise_already_registered"
    assert again.json()["contract_error"] == "MembershipEnterpriseAlreadyRegistered"


def test_suspending_a_non_bank_is_the_contracts_error(gateway: Gateway) -> None:
    response = gateway.http.post(
        f"/v1/admin/banks/{Account.create().address}/suspend", headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["code"] == "membership_not_a_bank"


def test_admin_cli_manages_banks_and_enterprises(live_url: str) -> None:
    added = admin_cli(
        live_url,
        "--json",
        "add-bank",
        "CLI Bank",
        "--name-zh",
        "命令行银行",
        "--licence-number",
        "B0099H144030001",
    )
    assert added.exit_code == 0, added.output

    bank = json.loads(added.output)
    assert bank["api_key"].startswith("clk_")
    listed = json.loads(admin_cli(live_url, "--json", "list-banks").output)
    assert any(b["name"] == "CLI Bank" and b["active_on_chain"] for b in listed)
    suspended = admin_cli(live_url, "--json", "suspend-bank", bank["address"])
    assert json.loads(suspended.output)["active_on_chain"] is False
    reinstated = admin_cli(live_url, "reinstate-bank", bank["address"])
    assert reinstated.exit_code == 0
    assert "yes" in reinstated.output
    registered = admin_cli(
        live_url,
        "register-enterprise",
        "91440307MA5G2LJP49",
        "--controller",
        Account.create().address,
        "--controller",
        Account.create().address,
        "--threshold",
        "2",
    )
    assert registered.exit_code == 0, registered.output
    assert "subject id" in registered.output


def test_admin_cli_errors_are_messages(live_url: str) -> None:
    refused = admin_cli(live_url, "suspend-bank", Account.create().address)
    assert refused.exit_code == 2
    assert "membership_not_a_bank" in refused.output
    assert "Traceback" not in refused.output
    unreachable = admin_cli(f"http://127.0.0.1:{free_port()}", "list-banks")
    assert unreachable.exit_code == 2
    assert "cannot reach the gateway" in " ".join(unreachable.output.split())
    no_token = CliRunner().invoke(
        main, ["admin", "list-banks"], env={"CONSENTLEDGER_ADMIN_TOKEN": ""}
    )
    assert no_token.exit_code == 2
    assert "CONSENTLEDGER_ADMIN_TOKEN" in " ".join(no_token.output.split())


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("ConsentsReadsExceedCap", "consents_reads_exceed_cap"),
        ("MembershipNotABank", "membership_not_a_bank"),
        ("ECDSAInvalidSignatureS", "ecdsa_invalid_signature_s"),
        ("InvalidAccountNonce", "invalid_account_nonce"),
    ],
)
def test_contract_error_names_become_codes(error: str, code: str) -> None:
    assert snake_case(error) == code
