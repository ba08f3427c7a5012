"""The receipt hash on the chain is salted: the receipt alone (and so a guessed USCC, filled into
a receipt of known terms) does not reproduce it; the salt the draft hands over does."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from consentledger.bureau.documents import canonical_bytes
from consentledger.subject import receipt_salt
from tests.gateway.security.test_oracles import draft_body
from tests.harness.gateway import Bank, Enterprise, Gateway


def _draft(gateway: Gateway, bank: Bank, enterprise: Enterprise) -> dict[str, Any]:
    response = gateway.http.post(
        "/v1/consents/draft", json=draft_body(enterprise.uscc, bank), headers=bank.headers
    )
    assert response.status_code == 200, response.text
    draft: dict[str, Any] = response.json()
    return draft


def test_the_receipt_hash_needs_the_salt(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    draft = _draft(gateway, bank, chip)
    on_chain = bytes.fromhex(draft["typed_data"]["message"]["receiptHash"][2:])
    receipt = canonical_bytes(draft["receipt"])
    assert keccak(receipt) != on_chain  # what a guess without the salt computes
    salt = bytes.fromhex(draft["receipt_salt"][2:])
    assert keccak(salt + receipt) == on_chain
    nonce = int(draft["typed_data"]["message"]["nonce"])
    assert salt == receipt_salt(chip.subject, nonce, gateway.context.subject_key)
    # A fresh draft, a fresh nonce, a fresh salt.
    assert _draft(gateway, bank, chip)["receipt_salt"] != draft["receipt_salt"]
