"""Rotating and revoking a bank's API key: the operator's endpoints and CLI commands."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from consentledger.gateway.banks import VerifiedKeys, authenticate, revoke_key
from tests.harness.gateway import ADMIN, Bank, Gateway, admin_cli


def _keys(gateway: Gateway, bank: Bank, method: str = "POST", key_id: str = "") -> Any:
    path = f"/v1/admin/banks/{bank.address}/keys" + (f"/{key_id}" if key_id else "")
    return gateway.http.request(method, path, headers=ADMIN)


LET_IN = "unknown_query"


def _answer(gateway: Gateway, bank: Bank) -> str:
    """The problem code of a call that needs the bank's API key: a query id never recorded is
    ``unknown_query`` for a bank let in, ``invalid_api_key`` otherwise."""
    code: str = gateway.http.get("/v1/queries/0x01", headers=bank.headers).json()["code"]
    return code


def _with_key(bank: Bank, api_key: str) -> Bank:
    return Bank(bank.name, bank.address, api_key, bank.key)


def test_a_rotated_out_key_is_refused_and_the_new_one_works(gateway: Gateway) -> None:
    bank = gateway.add_bank()
    assert _answer(gateway, bank) == LET_IN  # verified, and kept by the cache
    shown = _keys(gateway, bank, "GET").json()
    assert shown["active"] is True

    rotated = _keys(gateway, bank)
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert body["key_id"] != shown["key_id"]
    assert body["api_key"].startswith(f"clk_{body['key_id']}_")
    stored = gateway.context.db.engine.connect().exec_driver_sql(
        "SELECT key_hash FROM banks WHERE address = ?", (bank.address,)
    )
    assert body["api_key"].split("_", 2)[2] not in str(stored.all())  # only its hash is kept

    assert _answer(gateway, bank) == "invalid_api_key"
    assert _answer(gateway, _with_key(bank, body["api_key"])) == LET_IN


def test_a_revoked_key_is_refused_right_after_it_was_used(gateway: Gateway) -> None:
    bank = gateway.add_bank()
    assert _answer(gateway, bank) == LET_IN
    key_id = _keys(gateway, bank, "GET").json()["key_id"]

    revoked = _keys(gateway, bank, "DELETE", key_id)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"address": bank.address, "key_id": key_id, "active": False}
    assert _answer(gateway, bank) == "invalid_api_key"
    assert _keys(gateway, bank, "GET").json()["active"] is False

    again = _keys(gateway, bank)  # the bank gets a key back by a rotation only
    assert _answer(gateway, _with_key(bank, again.json()["api_key"])) == LET_IN


def test_a_revoked_key_stops_working_in_another_process_cache(gateway: Gateway) -> None:
    """Another worker's cache of verified keys holds a key only for a bounded time."""
    bank = gateway.add_bank()
    api_key = bank.headers["Authorization"].removeprefix("Bearer ")
    other = VerifiedKeys(max_age_s=0.0)
    found = authenticate(gateway.context.db, api_key)
    assert found is not None
    other.remember(api_key, found)
    revoke_key(gateway.context.db, bank.address, api_key.split("_")[1])
    assert other.get(api_key) is None
    assert authenticate(gateway.context.db, api_key) is None


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_an_unknown_bank_is_a_problem(gateway: Gateway, method: str) -> None:
    stranger = Bank("nobody", Account.create().address, "")
    response = _keys(gateway, stranger, method, "00" * 8 if method == "DELETE" else "")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_bank"


def test_an_unknown_or_rotated_out_key_id_is_a_problem(gateway: Gateway) -> None:
    bank = gateway.add_bank()
    old = _keys(gateway, bank, "GET").json()["key_id"]
    new = _keys(gateway, bank).json()
    for key_id in (old, "not-a-key-id", "ключ"):
        response = _keys(gateway, bank, "DELETE", key_id)
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_key_id"
    assert _answer(gateway, _with_key(bank, new["api_key"])) == LET_IN


def test_not_an_address_is_a_problem(gateway: Gateway) -> None:
    response = gateway.http.post("/v1/admin/banks/0x1234/keys", headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_address"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_key_operations_need_the_operator_token(gateway: Gateway, bank: Bank, method: str) -> None:
    path = f"/v1/admin/banks/{bank.address}/keys" + ("/abc" if method == "DELETE" else "")
    for headers, code in (
        ({}, "missing_admin_token"),
        (bank.headers, "invalid_admin_token"),  # a bank cannot rotate its own key
    ):
        response = gateway.http.request(method, path, headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == code
    assert _answer(gateway, bank) == LET_IN


def test_admin_cli_rotates_and_revokes_keys(gateway: Gateway, live_url: str) -> None:
    bank = gateway.add_bank()
    rotated = admin_cli(live_url, "--json", "rotate-key", bank.address)
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.output)
    assert _answer(gateway, bank) == "invalid_api_key"
    assert _answer(gateway, _with_key(bank, new["api_key"])) == LET_IN

    shown = admin_cli(live_url, "rotate-key", bank.address)
    assert shown.exit_code == 0, shown.output
    assert "API key: clk_" in shown.output

    unknown = admin_cli(live_url, "revoke-key", bank.address, new["key_id"])
    assert unknown.exit_code == 2
    assert "unknown_key_id" in unknown.output
    current = gateway.http.get(f"/v1/admin/banks/{bank.address}/keys", headers=ADMIN).json()
    revoked = admin_cli(live_url, "--json", "revoke-key", bank.address, current["key_id"])
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.output)["active"] is False
