"""Drafting and granting consents: typed data, receipts, signatures, caps, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from consentledger.categories import Category, Purpose
from consentledger.client import GatewayProblemError, sign_typed_data
from tests.harness.gateway import Enterprise, Gateway

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _digest(document: dict[str, Any]) -> str:
    signable = encode_typed_data(full_message=document)
    return "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()


def _grant(gateway: Gateway, message: dict[str, Any], signatures: list[str], **extra: Any) -> Any:
    return gateway.http.post(
        "/v1/consents", json={"message": message, "signatures": signatures, **extra}
    )


def test_draft_is_complete_typed_data_with_receipt(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise, categories=["business_registration", "2", 4])
    document = draft.typed_data.document()
    message = document["message"]

    assert document["primaryType"] == "Consent"
    assert document["domain"]["chainId"] == gateway.context.deployment.chain_id
    assert document["domain"]["verifyingContract"] == gateway.context.deployment.address
    assert [f["name"] for f in document["types"]["Consent"]][-2:] == ["nonce", "deadline"]
    # Wide integers are decimal strings; narrow ones are numbers.
    for name in ("categories", "notBefore", "expiresAt", "nonce", "deadline"):
        assert isinstance(message[name], str), name
    for name in ("purpose", "maxReads", "historyMonths"):
        assert isinstance(message[name], int), name
    mask = Category.BUSINESS_REGISTRATION.bit | Category.SOCIAL_INSURANCE.bit | Category.TAX.bit
    assert int(message["categories"]) == mask
    assert int(message["expiresAt"]) - int(message["notBefore"]) == 30 * 86400
    # A fresh keyed nonce: a random key, sequence 0 on that key.
    nonce = int(message["nonce"])
    assert nonce >> 64 != 0
    assert nonce & (2**64 - 1) == 0
    assert message["subject"] == "0x" + gateway.context.subject_of(enterprise.uscc).hex()

    # The receipt is what receiptHash commits to (with the salt), and it describes the terms.
    receipt = draft.receipt
    salt = bytes.fromhex(draft.receipt_salt[2:])
    assert message["receiptHash"] == "0x" + keccak(salt + rfc8785.dumps(receipt)).hex()
    assert draft.receipt_hash == message["receiptHash"]
    assert receipt["data_subject"]["uscc"] == enterprise.uscc
    assert receipt["recipients"][0]["address"] == gateway.bank.address
    assert receipt["purpose"] == {
        "code": 1,
        "name": "credit_underwriting",
        "name_zh": "贷前审查",
        "name_en": "pre-loan review",
    }
    assert [c["name_zh"] for c in receipt["data"]["categories"]] == ["工商登记", "社会保险", "纳税"]
    # The human-readable receipt is a written authorisation (授权书, 征信业务管理办法): the
    # bank's name, the purpose, the scope, the term, how to revoke, and what may follow.
    form = receipt["authorisation"]["text"]
    assert form.startswith("授权书\n致：")
    assert enterprise.uscc in form
    assert "仅用于贷前审查" in form
    assert "工商登记、社会保险、纳税" in form
    assert "授权期限" in form
    assert "撤销方式" in form
    assert "可能的后果" in form
    assert "第十七条、第二十五条" in form
    assert "征信业管理条例" in receipt["legal_basis"]["credit_reporting"]
    assert "PIPL" in receipt["legal_basis"]["personal_information"]
    assert [c["name"] for c in receipt["data"]["categories"]] == [
        "business_registration",
        "social_insurance",
        "tax",
    ]
    assert receipt["reads"]["effective_max_reads"] == 50
    assert receipt["withdrawal"]["typed_data"]["primaryType"] == "Revocation"
    assert receipt["terms"]["nonce"] == message["nonce"]
    assert draft.consent_id == _digest(document)


def test_post_loan_authorisation_runs_until_the_credit_is_settled(gateway: Gateway) -> None:
    """贷后管理: the authorisation runs until the credit is settled, bounded by the consent's
    expiry and the purpose's cap (five years: 1,826 days, the contract's MAX_CONSENT_DURATION), so
    a three-year working-capital loan is followed by one authorisation."""
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise, purpose="post_loan_monitoring", duration_days=3 * 365)
    form = draft.receipt["authorisation"]["text"]
    assert "仅用于贷后管理" in form
    assert "授信业务全部结清之日止，最迟不超过" in form
    assert "每份授权最长 1826 日" in form
    signatures = sign_typed_data(draft.typed_data.document(), enterprise.controllers)
    granted = _grant(gateway, draft.typed_data.message, signatures, receipt=draft.receipt)
    assert granted.status_code == 201, granted.text
    with pytest.raises(GatewayProblemError) as too_long:
        gateway.draft(enterprise, purpose="post_loan_monitoring", duration_days=1827)
    assert (too_long.value.status, too_long.value.code) == (422, "invalid_request")
    guarantor = gateway.draft(
        enterprise, purpose="guarantor_review", categories=["business_registration", "judicial"]
    )
    assert "仅用于担保资格审查" in guarantor.receipt["authorisation"]["text"]


def test_grant_one_of_one(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise)
    signatures = sign_typed_data(draft.typed_data.document(), enterprise.controllers)
    response = _grant(gateway, draft.typed_data.message, signatures, receipt=draft.receipt)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["consent_id"] == draft.consent_id
    assert response.headers["location"] == f"/v1/consents/{draft.consent_id}"
    assert body["status"] == "ACTIVE"
    assert body["tx_hash"].startswith("0x")
    assert body["block_number"] > 0
    assert body["consent"]["max_reads"] == 50  # 0 signed: the purpose's cap
    assert body["consent"]["receipt_hash"] == draft.receipt_hash
    assert [e["event"] for e in body["consent"]["events"]] == ["granted"]

    shown = gateway.http.get(f"/v1/consents/{body['consent_id']}")
    assert shown.status_code == 200
    consent = shown.json()
    assert consent["status"] == "ACTIVE"
    assert (consent["reads_used"], consent["reads_left"]) == (0, 50)
    assert consent["bank"] == gateway.bank.address
    assert consent["purpose"] == {"code": 1, "name": "credit_underwriting"}
    assert [c["code"] for c in consent["categories"]] == [1, 2]
    assert consent["history_months"] == 12
    assert consent["events"][0]["tx_hash"] == body["tx_hash"]


def test_grant_two_of_two_with_both_signatures(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=2)
    draft = gateway.draft(enterprise, purpose=2, categories=[2, 4], duration_days=365)
    signatures = sign_typed_data(draft.typed_data.document(), enterprise.controllers)
    response = _grant(gateway, draft.typed_data.message, signatures)
    assert response.status_code == 201, response.text
    assert response.json()["consent"]["purpose"]["name"] == "post_loan_monitoring"


def test_edited_message_without_receipt_is_granted_as_signed(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise)
    document = draft.typed_data.document()
    document["message"]["maxReads"] = 10
    response = _grant(
        gateway, document["message"], sign_typed_data(document, enterprise.controllers)
    )
    assert response.status_code == 201, response.text
    assert response.json()["consent"]["max_reads"] == 10


def _sign_with(
    pick: Callable[[Enterprise], list[Any]],
) -> Callable[[Gateway, Enterprise, dict[str, Any]], list[str]]:
    def sign(_gateway: Gateway, enterprise: Enterprise, document: dict[str, Any]) -> list[str]:
        return sign_typed_data(document, pick(enterprise))

    return sign


def _stranger(e: Enterprise) -> list[Any]:
    return [e.controllers[0], Account.create()]


def _first_only(e: Enterprise) -> list[Any]:
    return e.controllers[:1]


def _first_twice(e: Enterprise) -> list[Any]:
    return [e.controllers[0], e.controllers[0]]


SIGNATURE_FAILURES = [
    ("wrong signer", _sign_with(_stranger), 422, "membership_signer_not_controller"),
    ("threshold not met", _sign_with(_first_only), 422, "membership_threshold_not_met"),
    ("same controller twice", _sign_with(_first_twice), 422, "membership_duplicate_signer"),
]


@pytest.mark.parametrize(
    ("sign", "status", "code"),
    [case[1:] for case in SIGNATURE_FAILURES],
    ids=[case[0] for case in SIGNATURE_FAILURES],
)
def test_signature_failures_are_refused_before_sending(
    gateway: Gateway,
    sign: Callable[[Gateway, Enterprise, dict[str, Any]], list[str]],
    status: int,
    code: str,
) -> None:
    enterprise = gateway.new_enterprise(controllers=2, threshold=2)
    draft = gateway.draft(enterprise)
    sent_before = gateway.relayer_nonce()
    response = _grant(
        gateway, draft.typed_data.message, sign(gateway, enterprise, draft.typed_data.document())
    )
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == code
    assert problem["prechecked"] is True
    assert gateway.relayer_nonce() == sent_before


def test_expired_deadline(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    document = gateway.draft(enterprise).typed_data.document()
    document["message"]["deadline"] = str(gateway.context.chain.now() - 10)  # type: ignore[union-attr]
    response = _grant(
        gateway, document["message"], sign_typed_data(document, enterprise.controllers)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "membership_signature_expired"


def test_replayed_nonce(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise)
    body = {
        "message": draft.typed_data.message,
        "signatures": sign_typed_data(draft.typed_data.document(), enterprise.controllers),
    }
    assert gateway.http.post("/v1/consents", json=body).status_code == 201
    replay = gateway.http.post("/v1/consents", json=body)
    assert replay.status_code == 422
    assert replay.json()["code"] == "invalid_account_nonce"
    assert replay.json()["contract_error"] == "InvalidAccountNonce"


def _high_s(signature: str) -> str:
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    flipped = (SECP256K1_N - s).to_bytes(32, "big")
    v = 55 - raw[64]  # 27 <-> 28: the same signer, the other s
    return "0x" + (raw[:32] + flipped + bytes([v])).hex()


MALFORMED = [
    ("not hex", lambda sig: "0xzz" + sig[4:], "malformed_signature"),
    ("no 0x", lambda sig: sig[2:], "malformed_signature"),
    ("64 bytes", lambda sig: sig[:-2], "malformed_signature"),
    ("66 bytes", lambda sig: sig + "00", "malformed_signature"),
    ("odd length", lambda sig: sig[:-1], "malformed_signature"),
    ("v = 0", lambda sig: sig[:-2] + "00", "invalid_signature"),
    ("r = 0", lambda sig: "0x" + "00" * 32 + sig[66:], "invalid_signature"),
    ("high s", _high_s, "invalid_signature"),
    ("not on the curve", lambda sig: "0x" + "ff" * 31 + "fe" + sig[66:], "invalid_signature"),
]


@pytest.mark.parametrize(
    ("mangle", "code"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_signatures(gateway: Gateway, mangle: Callable[[str], str], code: str) -> None:
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise)
    (signature,) = sign_typed_data(draft.typed_data.document(), enterprise.controllers)
    response = _grant(gateway, draft.typed_data.message, [mangle(signature)])
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert response.json()["index"] == 0


CAPS = [
    ("reads", {"max_reads": 51}, "consents_reads_exceed_cap"),
    ("history", {"history_months": 37}, "consents_history_exceeds_cap"),
    ("duration", {"duration_days": 91}, "consents_duration_exceeds_cap"),
    (
        "categories",
        {"purpose": "account_opening_due_diligence", "categories": ["tax"]},
        "consents_categories_not_allowed",
    ),
    ("unknown bank", {"bank": "0x" + "12" * 20}, "consents_bank_not_active"),
]


@pytest.mark.parametrize(("overrides", "code"), [c[1:] for c in CAPS], ids=[c[0] for c in CAPS])
def test_draft_refuses_what_the_caps_forbid(
    gateway: Gateway, overrides: dict[str, Any], code: str
) -> None:
    enterprise = gateway.new_enterprise()
    body = {
        "uscc": enterprise.uscc,
        "bank": gateway.bank.address,
        "categories": [1],
        "purpose": int(Purpose.CREDIT_UNDERWRITING),
        "duration_days": 30,
        "history_months": 12,
        **overrides,
    }
    # Asked by the enterprise's signed-in controller: a bank drafts consents to itself only.
    signed_in = gateway.signed_in(enterprise)
    response = gateway.http.post("/v1/consents/draft", json=body, headers=signed_in)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert response.json()["prechecked"] is True


def test_grant_refuses_edited_terms_over_the_caps(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    document = gateway.draft(enterprise).typed_data.document()
    document["message"]["historyMonths"] = 48
    sent_before = gateway.relayer_nonce()
    response = _grant(
        gateway, document["message"], sign_typed_data(document, enterprise.controllers)
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "consents_history_exceeds_cap"
    assert problem["contract_error"] == "ConsentsHistoryExceedsCap"
    assert problem["arguments"] == [48, 36]
    assert gateway.relayer_nonce() == sent_before


def test_receipt_must_match_the_signed_terms(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise)
    document = draft.typed_data.document()
    signatures = sign_typed_data(document, enterprise.controllers)

    tampered = {**draft.receipt, "language": "fr"}
    response = _grant(gateway, document["message"], signatures, receipt=tampered)
    assert response.status_code == 422
    assert response.json()["code"] == "receipt_hash_mismatch"

    document["message"]["maxReads"] = 5  # the receipt still says 0
    edited = sign_typed_data(document, enterprise.controllers)
    response = _grant(gateway, document["message"], edited, receipt=draft.receipt)
    assert response.status_code == 422
    assert response.json()["code"] == "receipt_terms_mismatch"


def test_unregistered_enterprise_is_404(gateway: Gateway) -> None:
    response = gateway.http.post(
        "/v1/consents/draft",
        json={
            "uscc": next(gateway.usccs),
            "bank": gateway.bank.address,
            "categories": [1],
            "purpose": 1,
            "duration_days": 1,
            "history_months": 0,
        },
        headers=gateway.bank_headers,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "membership_unknown_enterprise"


BAD_DRAFTS = [
    ("bad USCC", {"uscc": "91440305MA5DKW7Q1C"}, "invalid_uscc_check_character"),
    ("short USCC", {"uscc": "9144"}, "invalid_uscc_length"),
    ("unknown category", {"categories": ["astrology"]}, "unknown_category"),
    ("category 99", {"categories": [99]}, "unknown_category"),
    ("unknown purpose", {"purpose": "speculation"}, "unknown_purpose"),
    ("bank not an address", {"bank": "the bank"}, "invalid_address"),
    ("bad checksum", {"bank": "0x52908400098527886e0F7030069857D2E4169EE7"}, "invalid_address"),
    ("both ends", {"expires_at": "2030-01-01T00:00:00Z"}, "invalid_request"),
    ("naive time", {"duration_days": None, "expires_at": "2030-01-01T00:00:00"}, "invalid_request"),
    ("negative reads", {"max_reads": -1}, "invalid_request"),
    ("no categories", {"categories": []}, "invalid_request"),
    ("extra field", {"colour": "blue"}, "invalid_request"),
]


@pytest.mark.parametrize(
    ("overrides", "code"), [b[1:] for b in BAD_DRAFTS], ids=[b[0] for b in BAD_DRAFTS]
)
def test_bad_drafts_are_4xx(gateway: Gateway, overrides: dict[str, Any], code: str) -> None:
    body: dict[str, Any] = {
        "uscc": "91440305MA5DKW7Q1B",
        "bank": gateway.bank.address,
        "categories": [1],
        "purpose": 1,
        "duration_days": 30,
        "history_months": 12,
    }
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    response = gateway.http.post("/v1/consents/draft", json=body, headers=gateway.bank_headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code


def _message_with(gateway: Gateway, **changes: Any) -> dict[str, Any]:
    enterprise = gateway.new_enterprise()
    message: dict[str, Any] = gateway.draft(enterprise).typed_data.message
    message.update(changes)
    return {k: v for k, v in message.items() if v is not None}


BAD_MESSAGES = [
    ("short subject", {"subject": "0x1234"}, "invalid_typed_data"),
    ("nonce not decimal", {"nonce": "0x10"}, "invalid_typed_data"),
    ("purpose too wide", {"purpose": 70000}, "invalid_typed_data"),
    ("negative deadline", {"deadline": -1}, "invalid_typed_data"),
    ("bool", {"maxReads": True}, "invalid_request"),
    ("bank", {"bank": "0x1234"}, "invalid_address"),
    ("missing field", {"deadline": None}, "invalid_request"),
    ("extra field", {"salt": "0x00"}, "invalid_request"),
]


@pytest.mark.parametrize(
    ("changes", "code"), [b[1:] for b in BAD_MESSAGES], ids=[b[0] for b in BAD_MESSAGES]
)
def test_bad_messages_are_422(gateway: Gateway, changes: dict[str, Any], code: str) -> None:
    message = _message_with(gateway, **changes)
    response = _grant(gateway, message, ["0x" + "11" * 65])
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"message": {}, "signatures": []}',
        b'{"message": 1, "signatures": ["0x"]}',
        b'{"message": {}, "signatures": [' + b",".join([b'"0x00"'] * 17) + b"]}",
    ],
    ids=["not json", "array", "empty", "wrong types", "too many signatures"],
)
def test_malformed_bodies_are_4xx(gateway: Gateway, body: bytes) -> None:
    response = gateway.http.post(
        "/v1/consents", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"]


def test_unknown_consent_is_404(gateway: Gateway) -> None:
    response = gateway.http.get("/v1/consents/0x" + "ab" * 32)
    assert response.status_code == 404
    assert response.json()["code"] == "consents_unknown_consent"


def test_bad_consent_id_is_422(gateway: Gateway) -> None:
    assert gateway.http.get("/v1/consents/0x1234").status_code == 422
