"""Tests a project writes on ConsentLedger with its pytest plugin: the ledger on eth-tester, and a
bank reading through the gateway. The installed package alone gives every fixture used here."""

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from consentledger.categories import Category
from consentledger.client import AccessDeniedError
from consentledger.ledger.types import DenialReason
from consentledger.testing import (
    GrantConsent,
    NewEnterprise,
    RecordRead,
    RunAudit,
    TestGateway,
    World,
)

DAY = 86_400


def test_a_consent_allows_its_reads_until_it_expires(
    ledger: World,
    bank: LocalAccount,
    new_enterprise: NewEnterprise,
    consent: GrantConsent,
    read: RecordRead,
    time_travel: Callable[[int], None],
    audit: RunAudit,
) -> None:
    board = new_enterprise(controllers=3, threshold=2)  # two of its three controllers sign
    consent_id = consent(board, bank, categories=[Category.TAX], days=30, max_reads=2)

    assert read(consent_id, bank, categories=[Category.TAX]).granted
    other = read(consent_id, bank, categories=[Category.JUDICIAL])
    assert other.reason is DenialReason.CATEGORY_NOT_CONSENTED

    time_travel(31 * DAY)
    assert read(consent_id, bank, categories=[Category.TAX]).reason is DenialReason.EXPIRED
    audit(ledger)  # the auditor replays the chain: every read judged as the rules say


def test_a_revoked_consent_is_denied_through_the_gateway(
    ledger_gateway: TestGateway, audit: RunAudit
) -> None:
    gateway = ledger_gateway
    bank = gateway.add_bank("Shenzhen SME Bank")  # by the operator, through the API
    enterprise = gateway.register(controllers=2, threshold=2)
    consent_id = gateway.grant(enterprise, bank, categories=["tax"], purpose="credit_underwriting")

    client = gateway.client_of(bank)  # the typed client: it signs each read with the bank's key
    granted = client.read(enterprise.uscc, consent_id, ["tax"], "credit_underwriting")
    assert granted.receipt.consent_id == consent_id

    gateway.act(consent_id, "revoke", enterprise.controllers)
    with pytest.raises(AccessDeniedError) as denied:
        client.read(enterprise.uscc, consent_id, ["tax"], "credit_underwriting")
    assert denied.value.reason == "REVOKED"
    audit(gateway)
