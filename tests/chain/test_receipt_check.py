"""A bank's check of a read's receipt against the chain, and every mismatch it names."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from consentledger.categories import Category, Purpose
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc
from consentledger.chain.receipt_check import ReceiptMismatchError, response_hash, verify_receipt
from consentledger.testing.world import World

VERSIONS: dict[str, Any] = {
    "business_registration": {
        "source": "market_regulation",
        "records": [["enterprise/9144030071526726XG", 2]],
    }
}
DOCUMENT: dict[str, Any] = {
    "categories": ["business_registration"],
    "registration": {"a": 1},
    "versions": VERSIONS,
}


def _released(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A granted read and a denied one in one batch; the granted read's receipt as the gateway
    answers it, and what the bank asked."""
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0]))
    salt = secrets.token_bytes(32)
    granted = replace(
        world.entry(consent, world.banks[0]), response_hash=response_hash(DOCUMENT, salt)
    )
    denied = world.entry(consent, world.banks[0], categories=[Category.TAX])
    result = world.record([granted, denied])
    mined = result.mined
    logs = [e for e in mined.events if e.event == "DataAccessed"]
    receipt = {
        "query_id": hex(granted.query_id),
        "consent_id": "0x" + consent.hex(),
        "tx_hash": "0x" + mined.tx_hash.hex(),
        "block_number": mined.block_number,
        "log_index": logs[0].log_index,
        "response_hash": "0x" + granted.response_hash.hex(),
        "salt": "0x" + salt.hex(),
        "versions": VERSIONS,
    }
    asked = {
        "bank": world.banks[0].address,
        "categories": Category.BUSINESS_REGISTRATION.bit,
        "purpose": int(Purpose.CREDIT_UNDERWRITING),
    }
    return receipt, asked


def test_a_true_receipt_verifies(embedded_world: World) -> None:
    receipt, asked = _released(embedded_world)
    chain = embedded_world.chain
    assert isinstance(chain, EmbeddedChain)
    verified = verify_receipt(
        EmbeddedJsonRpc(chain), embedded_world.deployment.address, receipt, DOCUMENT, **asked
    )
    assert verified.read.query_id == int(receipt["query_id"], 16)
    assert verified.read.bank == embedded_world.banks[0].address


Tamper = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], None]


def _set(where: str, key: str, value: Any) -> Tamper:
    def tamper(receipt: dict[str, Any], asked: dict[str, Any], document: dict[str, Any]) -> None:
        {"receipt": receipt, "asked": asked, "document": document}[where][key] = value

    return tamper


CASES: list[tuple[str, Tamper, str]] = [
    ("document_changed", _set("document", "extra", "x"), "response hash"),
    ("other_salt", _set("receipt", "salt", "0x" + "11" * 32), "response hash"),
    ("other_query_id", _set("receipt", "query_id", hex(12345)), "query id"),
    ("other_consent", _set("receipt", "consent_id", "0x" + "22" * 32), "consent id"),
    ("other_bank", _set("asked", "bank", "0x" + "33" * 20), "bank"),
    ("other_categories", _set("asked", "categories", Category.TAX.bit), "categories"),
    ("other_purpose", _set("asked", "purpose", 2), "purpose"),
    ("the_denied_log", lambda r, a, d: r.update(log_index=r["log_index"] + 1), "event"),
    ("no_such_log", _set("receipt", "log_index", 99), "log index"),
    ("no_such_transaction", _set("receipt", "tx_hash", "0x" + "44" * 32), "transaction"),
    (
        "other_versions",
        _set("receipt", "versions", {"business_registration": {"records": []}}),
        "versions",
    ),
]


@pytest.mark.parametrize(("tamper", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_mismatch_is_named(embedded_world: World, tamper: Tamper, field: str) -> None:
    receipt, asked = _released(embedded_world)
    document = dict(DOCUMENT)
    tamper(receipt, asked, document)
    chain = embedded_world.chain
    assert isinstance(chain, EmbeddedChain)
    with pytest.raises(ReceiptMismatchError) as raised:
        verify_receipt(
            EmbeddedJsonRpc(chain), embedded_world.deployment.address, receipt, document, **asked
        )
    assert raised.value.field == field
    assert raised.value.expected != raised.value.observed
