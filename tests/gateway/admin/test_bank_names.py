"""Banks have names: admitted with their legal names and licence number (its shape checked),
listed by ``GET /v1/banks``, and named beside their address in the views and the receipt. A bank
from a database before names is shown by its address, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from consentledger.gateway.banks import (
    bank_names,
    create_bank,
    list_banks,
    name_of,
    parse_licence_number,
)
from consentledger.gateway.db import Database
from consentledger.gateway.errors import InvalidLicenceNumberError
from tests.harness.gateway import ADMIN, Bank, Gateway
from tests.harness.legacy_schemas import create_legacy_schema, insert_rows


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("B0011H144030001", "B0011H144030001"),
        (" b0011h144030001 ", "B0011H144030001"),
        # full width, from an input method
        ("".join(chr(ord(c) + 0xFEE0) for c in "B0011H144030001"), "B0011H144030001"),
    ],
    ids=["canonical", "lower case and spaces", "full width"],
)
def test_licence_numbers_are_normalised(given: str, canonical: str) -> None:
    assert parse_licence_number(given) == canonical


@pytest.mark.parametrize(
    "given",
    ["", "B0011H14403000", "B0011H1440300011", "10011H144030001", "B001XH144030001", "银行"],
    ids=["empty", "short", "long", "digit first", "letter in the code", "words"],
)
def test_a_licence_number_of_another_shape_is_refused(gateway: Gateway, given: str) -> None:
    with pytest.raises(InvalidLicenceNumberError):
        parse_licence_number(given)
    body = {"name": "Shaped Bank", "name_zh": "形状银行", "licence_number": given or "x"}
    answer = gateway.http.post("/v1/admin/banks", json=body, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["code"] in {"invalid_licence_number", "invalid_request"}


def test_banks_are_listed_by_name_and_an_unnamed_one_by_address(
    gateway: Gateway, bank: Bank
) -> None:
    _stored, _key = create_bank(gateway.context.db, "from before names", "0x" + "ab" * 20)
    listed = gateway.api.banks().banks
    named = next(b for b in listed if b.address == bank.address)
    assert named.name is not None
    assert named.name.name_en == bank.name
    assert named.name.name_zh == f"{bank.name}（中文名）"
    unnamed = next(b for b in listed if b.address.lower() == "0x" + "ab" * 20)
    assert unnamed.name is None


def test_views_and_receipts_name_the_bank(gateway: Gateway, bank: Bank) -> None:
    enterprise = gateway.new_enterprise()
    draft = gateway.draft(enterprise, bank=bank.address)
    recipient = draft.receipt["recipients"][0]
    assert recipient["address"] == bank.address
    assert recipient["name_en"] == bank.name
    assert recipient["licence_number"] is not None
    assert f"致：{bank.name}（中文名）" in draft.receipt["authorisation"]["text"]
    granted = gateway.enterprise_client(enterprise).grant_draft(draft)
    assert granted.consent.bank_name is not None
    assert granted.consent.bank_name.name_en == bank.name
    gateway.read(bank, enterprise, granted.consent_id, ["business_registration"])

    client = gateway.enterprise_client(enterprise)
    read = client.accesses().accesses[0]
    assert (read.bank, read.bank_name and read.bank_name.name_en) == (bank.address, bank.name)
    consent = client.consents().consents[0]
    assert consent.bank_name is not None
    assert consent.bank_name.licence_number
    assert gateway.api.consent(granted.consent_id).bank_name == consent.bank_name


def test_a_bank_without_names_is_shown_by_its_address(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = gateway.grant(enterprise)  # to the chain's bank, which has no legal names
    consent = gateway.enterprise_client(enterprise).consents().consents[0]
    assert consent.consent_id == consent_id
    assert (consent.bank, consent.bank_name) == (gateway.bank.address, None)


def test_an_old_database_gains_the_name_columns(tmp_path: Path) -> None:
    """A gateway database as the last version without legal names left it (revision j0003, no
    version table) is upgraded in place; its bank keeps NULL names and is shown by address."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    create_legacy_schema(url, "journal-j0003")
    old_bank = {
        "name": "Old Bank",
        "address": "0x" + "cd" * 20,
        "key_id": "k1",
        "key_hash": "",
        "created_at": datetime.now(UTC),
    }
    insert_rows(url, {"banks": [old_bank]})
    db = Database(url)
    try:
        (old,) = list_banks(db)
        assert (old.name, old.name_zh, old.licence_number) == ("Old Bank", None, None)
        assert bank_names(db) == {}
        assert name_of(old) is None
    finally:
        db.close()
