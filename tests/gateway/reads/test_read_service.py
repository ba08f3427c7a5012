"""The read flow called as a service, without HTTP: the same answers the routes render.

The service runs on the gateway's own event loop (the TestClient's portal), where its relayer and
journal writer live; no request is parsed and no response rendered.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import rfc8785
from eth_utils.crypto import keccak

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.categories import Category, UnknownCategoryError
from consentledger.gateway.errors import (
    AccessDeniedError,
    ConsentNotForThisEnterpriseError,
    IdempotencyKeyReusedError,
    InvalidQueryIdError,
    UnknownQueryError,
)
from consentledger.gateway.services.reads import (
    AskedRead,
    QueryResult,
    ReadService,
    SignedRequest,
)
from consentledger.journal.schema import ReadStatus
from tests.harness.gateway import Bank, Enterprise, Gateway

T = TypeVar("T")

STAFF = Category.SOCIAL_INSURANCE


def _call(gateway: Gateway, fn: Callable[..., Awaitable[T]], *args: object) -> T:
    """Await ``fn(*args)`` on the gateway's event loop."""
    return gateway.http.portal.call(fn, *args)  # type: ignore[union-attr]


def _asked(enterprise: Enterprise, consent: bytes, *categories: Category) -> AskedRead:
    return AskedRead(enterprise.uscc, consent, categories, 1)


def _signed(gateway: Gateway, bank: Bank, asked: AskedRead) -> SignedRequest:
    """The bank's signed ReadRequest of ``asked``."""
    fields = gateway.signed(bank, asked.consent_id, list(asked.categories), asked.purpose)
    signature = bytes.fromhex(fields["signature"][2:])
    return SignedRequest(
        fields["request_id"], fields["deadline"], fields["history_months"], signature
    )


def test_a_granted_read_answers_the_data_and_a_receipt_that_matches_it(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    reads = ReadService(gateway.context)
    consent = gateway.grant_on_chain(chip, bank, STAFF.bit)
    asked = _asked(chip, consent, STAFF)
    result = _call(
        gateway, reads.query, bank.address, asked, _signed(gateway, bank, asked), "svc-1"
    )
    assert isinstance(result, QueryResult)
    assert set(result.data["categories"]) == {"social_insurance"}
    salt = bytes.fromhex(result.receipt.salt[2:])
    assert keccak(salt + rfc8785.dumps(result.data)).hex() == result.receipt.response_hash[2:]
    stored = gateway.context.journal.find(bank.address, "svc-1")
    assert stored is not None
    assert stored.status == ReadStatus.GRANTED
    assert gateway.context.ledger.consent(consent).reads_used == 1


def test_a_repeated_key_answers_the_first_outcome_and_refuses_another_request(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    reads = ReadService(gateway.context)
    consent = gateway.grant_on_chain(chip, bank, STAFF.bit)
    asked = _asked(chip, consent, STAFF)
    signed = _signed(gateway, bank, asked)
    first = _call(gateway, reads.query, bank.address, asked, signed, "svc-2")
    again = _call(gateway, reads.query, bank.address, asked, signed, "svc-2")
    assert again == first
    assert gateway.context.ledger.consent(consent).reads_used == 1
    other = AskedRead(chip.uscc, consent, (STAFF,), 2)
    with pytest.raises(IdempotencyKeyReusedError):
        _call(gateway, reads.query, bank.address, other, _signed(gateway, bank, other), "svc-2")


def test_a_denied_read_raises_with_the_reason_and_the_receipt_and_is_stored(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    reads = ReadService(gateway.context)
    consent = gateway.grant_on_chain(chip, bank, STAFF.bit)
    asked = _asked(chip, consent, Category.TAX)
    with pytest.raises(AccessDeniedError) as denied:
        _call(gateway, reads.query, bank.address, asked, _signed(gateway, bank, asked), "svc-3")
    assert denied.value.reason == "CATEGORY_NOT_CONSENTED"
    receipt = denied.value.extensions["receipt"]
    assert receipt["consent_id"] == "0x" + consent.hex()
    with pytest.raises(AccessDeniedError) as again:
        _call(gateway, reads.stored, bank.address, receipt["query_id"])
    assert again.value.extensions["receipt"] == receipt


def test_a_consent_of_another_enterprise_is_refused_before_anything_is_recorded(
    gateway: Gateway, bank: Bank, chip: Enterprise, catering: Enterprise
) -> None:
    reads = ReadService(gateway.context)
    consent = gateway.grant_on_chain(chip, bank, STAFF.bit)
    key = secrets.token_hex(8)
    asked = _asked(catering, consent, STAFF)
    signed = _signed(gateway, bank, asked)
    with pytest.raises(ConsentNotForThisEnterpriseError):
        _call(gateway, reads.query, bank.address, asked, signed, key)
    assert gateway.context.journal.find(bank.address, key) is None
    assert gateway.context.ledger.consent(consent).reads_used == 0


def test_a_stored_read_is_only_the_asking_banks(
    gateway: Gateway, bank: Bank, other_bank: Bank, chip: Enterprise
) -> None:
    reads = ReadService(gateway.context)
    consent = gateway.grant_on_chain(chip, bank, STAFF.bit)
    asked = _asked(chip, consent, STAFF)
    result = _call(
        gateway, reads.query, bank.address, asked, _signed(gateway, bank, asked), "svc-5"
    )
    query_id = result.receipt.query_id
    assert _call(gateway, reads.stored, bank.address, query_id) == result
    assert _call(gateway, reads.stored, bank.address, str(int(query_id, 16))) == result
    with pytest.raises(UnknownQueryError):
        _call(gateway, reads.stored, other_bank.address, query_id)
    with pytest.raises(InvalidQueryIdError):
        _call(gateway, reads.stored, bank.address, "0xnot-hex")


@pytest.mark.parametrize(
    ("uscc", "categories", "error"),
    [
        ("not a code", ["tax"], InvalidUSCCError),
        (CHIP_DISTRIBUTOR_USCC, ["no_such_category"], UnknownCategoryError),
    ],
    ids=["bad-uscc", "unknown-category"],
)
def test_a_read_is_validated_as_it_is_parsed(
    uscc: str, categories: list[int | str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        AskedRead.parse(uscc, "0x" + "ab" * 32, categories, 1)
