"""Consent receipts: what the enterprise keeps, in words and in terms, committed to on the chain.

A receipt follows the structure of an ISO/IEC TS 27560 consent record (and the Kantara consent
receipt it grew from): who the data subject is, who the controller is, who receives the data, for
which purpose, which data, for how long, and how to withdraw. It also carries ``terms``: the
signed EIP-712 message itself (JSON form, without ``receiptHash``), so the words and the signed
terms can be checked against each other.

The Consent message's ``receiptHash`` is ``keccak256`` of the receipt's RFC 8785 canonical bytes.
A receipt cannot name the consent id: the id is the digest of a message that contains the
receipt's hash. The withdrawal section therefore names the endpoint with a ``{consent_id}``
placeholder and says how the id is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils.crypto import keccak

from consentledger.bureau.documents import JSONObject, JSONValue, canonical_bytes
from consentledger.bureau.sources import SOURCE_DEPARTMENTS
from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.gateway import eip712_json
from consentledger.gateway.errors import ReceiptHashMismatchError, ReceiptTermsMismatchError
from consentledger.ledger.types import ConsentTerms, PurposeCaps

#: Version tag of the receipt layout.
RECEIPT_SCHEMA = "consentledger.consent-receipt/1"

DAY = 24 * 60 * 60


def iso(timestamp: int) -> str:
    """A Unix time as RFC 3339 UTC (``2025-06-30T08:00:00Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def known_category(code: int) -> Category | None:
    """The category of a code, or None for a code governance registered after this release."""
    try:
        return Category(code)
    except ValueError:
        return None


def category_refs(mask: int) -> list[dict[str, Any]]:
    """The categories of a mask, by code, with their names where the table knows them."""
    refs: list[dict[str, Any]] = []
    for code in range(mask.bit_length()):
        if mask >> code & 1:
            category = known_category(code)
            refs.append({"code": code, "name": category.slug if category else None})
    return refs


def purpose_name(code: int) -> str | None:
    """A purpose's name, where the table knows the code."""
    try:
        return Purpose(code).slug
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    """What a receipt says beyond the terms: names, the purpose's caps, where the ledger is."""

    uscc: str
    bank_name: str | None
    caps: PurposeCaps
    domain: typed_data.Domain
    gateway: str
    issued_at: int


def terms_json(terms: ConsentTerms) -> dict[str, Any]:
    """The signed message's JSON form without ``receiptHash``: the receipt's ``terms``."""
    message = eip712_json.as_json("Consent", terms.message())
    message.pop("receiptHash")
    return message


def build_receipt(terms: ConsentTerms, facts: ReceiptFacts) -> JSONObject:
    """The receipt of ``terms`` (their ``receipt_hash`` is ignored: it is what this hashes to)."""
    categories: list[JSONValue] = []
    for ref in category_refs(terms.categories):
        category = known_category(ref["code"])
        source = SOURCE_DEPARTMENTS.get(category) if category else None
        categories.append({**ref, "source": source})
    domain = facts.domain.as_dict()
    revocation = typed_data.typed_data(
        facts.domain, "Revocation", {"consentId": "{consent_id}", "nonce": "{nonce}"}
    )
    revocation["message"]["deadline"] = "{deadline}"
    receipt: JSONObject = {
        "schema": RECEIPT_SCHEMA,
        "framework": "ISO/IEC TS 27560:2023 consent record; Kantara Consent Receipt",
        "language": "en",
        "issued_at": iso(facts.issued_at),
        "consent_type": "explicit: signed by the enterprise's controllers (EIP-712)",
        "data_subject": {
            "kind": "enterprise",
            "uscc": facts.uscc,
            "subject_id": "0x" + terms.subject.hex(),
        },
        "controller": {
            "role": "city credit bureau (local credit platform): holds the government data "
            "and releases it only after the ledger has recorded the read",
            "gateway": facts.gateway,
            "ledger": {"chain_id": domain["chainId"], "contract": domain["verifyingContract"]},
        },
        "recipients": [{"role": "bank", "address": terms.bank, "name": facts.bank_name}],
        "purpose": {"code": terms.purpose, "name": purpose_name(terms.purpose)},
        "data": {"categories": categories, "categories_mask": str(terms.categories)},
        "period": {"not_before": iso(terms.not_before), "expires_at": iso(terms.expires_at)},
        "history_window": {
            "months": terms.history_months,
            "meaning": "each time series shows the points of the last "
            f"{terms.history_months} complete months, and always its latest point",
        },
        "reads": {
            "max_reads": terms.max_reads,
            "effective_max_reads": terms.max_reads or facts.caps.max_reads,
            "meaning": "granted reads the bank may make; 0 means the purpose's cap",
        },
        "purpose_caps": {
            "max_duration_days": facts.caps.max_duration // DAY,
            "max_reads": facts.caps.max_reads,
            "max_history_months": facts.caps.max_history_months,
        },
        "retention": "The consent and every read of the data (bank, categories, purpose, time, "
        "granted or denied) are recorded on the ledger for good; the data itself never is, only "
        "a salted hash of each release.",
        "withdrawal": {
            "how": "Sign a Revocation of this consent with the enterprise's controllers (the "
            "same threshold as for granting) and send it. It takes effect from the next block: "
            "reads recorded after it are denied (REVOKED). Pausing and resuming work the same way.",
            "endpoint": "POST /v1/consents/{consent_id}/revoke",
            "draft_endpoint": 'POST /v1/consents/{consent_id}/actions/draft {"action": "revoke"}',
            "consent_id": "the EIP-712 digest of the signed Consent message",
            "typed_data": revocation,
        },
        "transparency": {
            "accesses": "GET /v1/enterprises/{uscc}/accesses",
            "consents": "GET /v1/enterprises/{uscc}/consents",
            "export": "POST /v1/enterprises/{uscc}/export",
            "sign_in": "POST /v1/auth/challenge (EIP-4361), then Authorization: SIWE",
        },
        "terms": terms_json(terms),
    }
    return receipt


def receipt_hash(receipt: JSONValue) -> bytes:
    """keccak256 of the receipt's RFC 8785 canonical bytes (the Consent's ``receiptHash``)."""
    return keccak(canonical_bytes(receipt))


def check_receipt(
    receipt: Mapping[str, Any], terms: ConsentTerms, subject_of: Callable[[str], bytes]
) -> None:
    """Refuse (422) a receipt that is not the one ``terms`` commit to, or that describes other
    terms or another enterprise than the signed message."""
    given = dict(receipt)
    if receipt_hash(given) != terms.receipt_hash:
        raise ReceiptHashMismatchError(
            "keccak256 of the receipt's RFC 8785 bytes is not the message's receiptHash",
            expected="0x" + terms.receipt_hash.hex(),
            calculated="0x" + receipt_hash(given).hex(),
        )
    if given.get("terms") != terms_json(terms):
        raise ReceiptTermsMismatchError(
            "the receipt's terms are not the signed message's",
        )
    subject = given.get("data_subject")
    uscc = subject.get("uscc") if isinstance(subject, dict) else None
    if not isinstance(uscc, str) or subject_of(uscc) != terms.subject:
        raise ReceiptTermsMismatchError(
            "the receipt's data subject (USCC) is not the signed message's subject",
        )
