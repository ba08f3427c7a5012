"""An enterprise's own view (accesses, consents, export), signed in with EIP-4361: every check."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from eth_account import Account
from eth_utils.crypto import keccak
from sqlalchemy import update

from consentledger.categories import SEEDED_CATEGORIES, Category, Purpose, mask_of
from consentledger.gateway.db import SignInNonce
from tests.harness.gateway import DOMAIN, Enterprise, Gateway, siwe_header


def _line(message: str, tag: str, value: str) -> str:
    """``message`` with the value of its ``tag`` line replaced."""
    changed, count = re.subn(rf"^{re.escape(tag)}.*$", tag + value, message, flags=re.MULTILINE)
    assert count == 1
    return changed


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_challenge_is_an_eip4361_message(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    address = enterprise.controllers[0].address
    response = gateway.http.post(
        "/v1/auth/challenge", json={"uscc": enterprise.uscc.lower(), "address": address.lower()}
    )
    assert response.status_code == 200
    body = response.json()
    lines = body["message"].split("\n")
    assert lines[0] == f"{DOMAIN} wants you to sign in with your Ethereum account:"
    assert lines[1] == address  # checksummed
    assert enterprise.uscc in lines[3]
    assert f"URI: https://{DOMAIN}/v1/enterprises/{enterprise.uscc}" in lines
    assert f"Chain ID: {gateway.context.deployment.chain_id}" in lines
    assert f"Nonce: {body['nonce']}" in lines
    assert lines[-2:] == ["Resources:", f"- urn:consentledger:enterprise:{enterprise.uscc}"]
    issued = datetime.fromisoformat(body["issued_at"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires - issued == timedelta(seconds=gateway.context.settings.siwe_ttl_seconds)
    assert body["authorization"].startswith("Authorization: SIWE ")


def test_accesses_show_every_read_granted_or_denied(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    other = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)
    others_consent = gateway.grant(other)
    bank = gateway.bank.address
    underwriting = int(Purpose.CREDIT_UNDERWRITING)
    registration = Category.BUSINESS_REGISTRATION.bit
    batch = gateway.record_reads(
        [
            (consent_id, bank, registration, underwriting),
            (consent_id, bank, Category.TAX.bit, underwriting),  # not consented
            (others_consent, bank, registration, underwriting),  # someone else's
            (consent_id, bank, registration, int(Purpose.POST_LOAN_MONITORING)),
        ]
    )

    response = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/accesses", headers=gateway.signed_in(enterprise)
    )
    assert response.status_code == 200, response.text
    log = response.json()
    assert log["uscc"] == enterprise.uscc
    assert (log["granted"], log["denied"]) == (1, 2)
    first, second, third = log["accesses"]
    assert first["outcome"] == "granted"
    assert first["reason"] is None
    assert first["bank"] == bank
    assert first["consent_id"] == consent_id
    assert first["categories"] == [{"code": 1, "name": "business_registration"}]
    assert first["purpose"] == {"code": 1, "name": "credit_underwriting"}
    assert first["tx_hash"] == "0x" + batch.mined.tx_hash.hex()
    assert first["block_number"] == batch.mined.block_number
    assert first["response_hash"].startswith("0x")
    # Every read shows the bank's signed request: its id, and that the bank signed it.
    assert all(a["bank_signed"] and a["signed_by"] == bank for a in log["accesses"])
    assert len({a["request_id"] for a in log["accesses"]}) == 3
    block_time = gateway.context.ledger.block_timestamp(batch.mined.block_number)
    assert datetime.fromisoformat(first["block_time"]) == datetime.fromtimestamp(block_time, UTC)
    assert (second["outcome"], second["reason"]) == ("denied", "CATEGORY_NOT_CONSENTED")
    assert second["response_hash"] is None
    assert third["reason"] == "PURPOSE_MISMATCH"
    assert log["exports"] == []


def test_consents_view_lists_every_consent_with_its_status(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    kept = gateway.grant(enterprise)
    revoked = gateway.grant(
        enterprise, purpose="account_opening_due_diligence", categories=[1, 7], duration_days=5
    )
    assert gateway.act(revoked, "revoke", enterprise.controllers).status == "REVOKED"
    gateway.record_reads([(kept, gateway.bank.address, Category.SOCIAL_INSURANCE.bit, 1)])

    response = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/consents", headers=gateway.signed_in(enterprise)
    )
    assert response.status_code == 200, response.text
    consents = response.json()["consents"]
    assert [c["consent_id"] for c in consents] == [kept, revoked]
    assert [c["status"] for c in consents] == ["ACTIVE", "REVOKED"]
    assert (consents[0]["reads_used"], consents[0]["reads_left"]) == (1, 49)
    assert [e["event"] for e in consents[1]["events"]] == ["granted", "revoked"]
    assert consents[1]["purpose"]["name"] == "account_opening_due_diligence"


def test_export_records_its_hash_on_the_chain(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    response = gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/export", headers=gateway.signed_in(enterprise)
    )
    assert response.status_code == 200, response.text
    export = response.json()
    data = export["data"]
    assert data["uscc"] == enterprise.uscc
    assert sorted(data["categories"]) == sorted(c.slug for c in SEEDED_CATEGORIES)
    assert data["history_months"] == export["history_months"] > 0
    salt = bytes.fromhex(export["salt"][2:])
    assert export["export_hash"] == "0x" + keccak(salt + rfc8785.dumps(data)).hex()
    # The whole record: nothing a smaller window would show is missing.
    everything = gateway.context.bureau.fetch(enterprise.uscc, SEEDED_CATEGORIES, 1200)
    assert data["categories"] == everything["categories"]

    log = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/accesses", headers=gateway.signed_in(enterprise)
    ).json()
    (recorded,) = log["exports"]
    assert recorded["export_hash"] == export["export_hash"]
    assert recorded["tx_hash"] == export["tx_hash"]
    assert recorded["categories_mask"] == str(mask_of(SEEDED_CATEGORIES))


def test_a_two_of_two_enterprise_signs_in_with_either_controller(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=2)
    for controller in enterprise.controllers:
        response = gateway.http.get(
            f"/v1/enterprises/{enterprise.uscc}/consents",
            headers=gateway.signed_in(enterprise, controller),
        )
        assert response.status_code == 200, response.text


# ------------------------------------------------------------------------ sign-in failures


def _expired(message: str) -> str:
    past = datetime.now(UTC) - timedelta(minutes=10)
    message = _line(message, "Issued At: ", _stamp(past))
    return _line(message, "Expiration Time: ", _stamp(past + timedelta(minutes=5)))


def _future(message: str) -> str:
    return _line(message, "Issued At: ", _stamp(datetime.now(UTC) + timedelta(hours=1)))


def _not_before(message: str) -> str:
    later = _stamp(datetime.now(UTC) + timedelta(hours=1))
    return message.replace("\nResources:", f"\nNot Before: {later}\nResources:")


def _no_expiry(message: str) -> str:
    return re.sub(r"\nExpiration Time: [^\n]*", "", message)


MESSAGE_FAILURES: list[tuple[str, Callable[[str], str], int, str]] = [
    ("expired", _expired, 401, "siwe_expired"),
    ("issued in the future", _future, 401, "siwe_not_yet_valid"),
    ("not before later", _not_before, 401, "siwe_not_yet_valid"),
    ("no expiration", _no_expiry, 401, "siwe_malformed"),
    ("wrong domain", lambda m: m.replace(DOMAIN, "evil.test", 1), 401, "siwe_wrong_domain"),
    (
        "wrong URI",
        lambda m: _line(m, "URI: ", "https://evil.test/v1/enterprises"),
        401,
        "siwe_wrong_uri",
    ),
    ("wrong chain", lambda m: _line(m, "Chain ID: ", "1"), 401, "siwe_wrong_chain"),
    ("unknown nonce", lambda m: _line(m, "Nonce: ", "abcdefgh12345678"), 401, "siwe_unknown_nonce"),
    ("not EIP-4361", lambda m: m.replace("Version: 1", "Version: 2"), 401, "siwe_malformed"),
    (
        "no resource",
        lambda m: m[: m.index("\nResources:")],
        403,
        "siwe_wrong_enterprise",
    ),
]


@pytest.mark.parametrize(
    ("mangle", "status", "code"),
    [f[1:] for f in MESSAGE_FAILURES],
    ids=[f[0] for f in MESSAGE_FAILURES],
)
def test_sign_in_failures(
    gateway: Gateway, mangle: Callable[[str], str], status: int, code: str
) -> None:
    enterprise = gateway.new_enterprise()
    controller = enterprise.controllers[0]
    message = mangle(gateway.challenge(enterprise.uscc, controller.address))
    response = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/accesses", headers=siwe_header(message, controller)
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def _view(gateway: Gateway, enterprise: Enterprise, headers: dict[str, str]) -> tuple[int, str]:
    response = gateway.http.get(f"/v1/enterprises/{enterprise.uscc}/consents", headers=headers)
    return response.status_code, response.json().get("code", "")


def test_a_nonce_is_used_once(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    headers = gateway.signed_in(enterprise)
    assert _view(gateway, enterprise, headers) == (200, "")
    assert _view(gateway, enterprise, headers) == (401, "siwe_nonce_used")


def test_an_expired_challenge_is_refused_even_if_the_message_says_otherwise(
    gateway: Gateway,
) -> None:
    enterprise = gateway.new_enterprise()
    controller = enterprise.controllers[0]
    message = gateway.challenge(enterprise.uscc, controller.address)
    nonce = re.search(r"Nonce: (\w+)", message)
    assert nonce is not None
    with gateway.context.db.session() as session, session.begin():
        session.execute(
            update(SignInNonce)
            .where(SignInNonce.nonce == nonce[1])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    headers = siwe_header(message, controller)
    assert _view(gateway, enterprise, headers) == (401, "siwe_nonce_expired")


def test_signed_by_another_key(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    message = gateway.challenge(enterprise.uscc, enterprise.controllers[0].address)
    headers = siwe_header(message, Account.create())
    assert _view(gateway, enterprise, headers) == (401, "siwe_bad_signature")


def test_signer_not_a_controller(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    stranger = Account.create()
    headers = siwe_header(gateway.challenge(enterprise.uscc, stranger.address), stranger)
    assert _view(gateway, enterprise, headers) == (403, "siwe_not_controller")


def test_a_nonce_issued_for_another_address(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=1)
    first, second = enterprise.controllers
    message = gateway.challenge(enterprise.uscc, first.address)
    message = message.replace(first.address, second.address)
    headers = siwe_header(message, second)
    assert _view(gateway, enterprise, headers) == (401, "siwe_nonce_mismatch")


def test_another_enterprises_view_is_forbidden(gateway: Gateway) -> None:
    mine = gateway.new_enterprise()
    theirs = gateway.new_enterprise()
    # A's sign-in on B's view.
    assert _view(gateway, theirs, gateway.signed_in(mine))[0] == 403
    assert _view(gateway, theirs, gateway.signed_in(mine)) == (403, "siwe_wrong_enterprise")
    # A's controller asking a challenge for B: signed in as nobody B knows.
    controller = mine.controllers[0]
    headers = siwe_header(gateway.challenge(theirs.uscc, controller.address), controller)
    assert _view(gateway, theirs, headers) == (403, "siwe_not_controller")


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "siwe_required"),
        ({"Authorization": "Bearer abc"}, "siwe_required"),
        ({"Authorization": "SIWE nodot"}, "siwe_malformed"),
        ({"Authorization": "SIWE !!!.0x" + "11" * 65}, "siwe_malformed"),
        ({"Authorization": "SIWE aGVsbG8.0x" + "11" * 65}, "siwe_malformed"),
        ({"Authorization": "SIWE aGVsbG8.0x11"}, "siwe_malformed"),
        ({"Authorization": "SIWE _w.0x" + "11" * 65}, "siwe_malformed"),
    ],
    ids=["none", "bearer", "no dot", "not base64", "not a message", "short signature", "not utf-8"],
)
def test_missing_or_garbled_credentials(
    gateway: Gateway, headers: dict[str, str], code: str
) -> None:
    response = gateway.http.get("/v1/enterprises/91440305MA5DKW7Q1B/accesses", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code


@pytest.mark.parametrize("path", ["accesses", "consents"])
def test_bad_uscc_in_the_path_is_422(gateway: Gateway, path: str) -> None:
    response = gateway.http.get(f"/v1/enterprises/91440305MA5DKW7Q1C/{path}")
    assert response.status_code == 422
    assert response.json()["code"].startswith("invalid_uscc")
    export = gateway.http.post("/v1/enterprises/NOT-A-USCC/export")
    assert export.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"uscc": "91440305MA5DKW7Q1C", "address": "0x" + "12" * 20},
        {"uscc": "91440305MA5DKW7Q1B", "address": "0x12"},
        {"uscc": "91440305MA5DKW7Q1B"},
        {"uscc": "91440305MA5DKW7Q1B", "address": "0x" + "12" * 20, "scope": "all"},
    ],
    ids=["bad USCC", "bad address", "no address", "extra field"],
)
def test_bad_challenge_requests_are_422(gateway: Gateway, body: dict[str, str]) -> None:
    response = gateway.http.post("/v1/auth/challenge", json=body)
    assert response.status_code == 422
