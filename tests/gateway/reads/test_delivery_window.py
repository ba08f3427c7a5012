"""The delivery window: a released document is kept so long, then only its salt and hash.

A gateway with a one-second window deletes a read's document (its sweep); the read asked for again
answers ``delivery_window_passed`` with the same receipt, the bank's own copy still matches the
chain's hash, and the auditor's journal cross-check still finds the journal and the chain in
agreement. On a gateway with the default window, an entry made old answers the same even before a
sweep came, and the sweep deletes only settled entries past the window.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785
from eth_utils.crypto import keccak
from sqlalchemy import select, update

from consentledger.audit.journal_check import JournalCheck, JournalDatabase
from consentledger.audit.runner import Audit
from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.categories import mask_of, parse_category
from consentledger.chain.jsonrpc import EmbeddedJsonRpc
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.delivery_window import sweep
from consentledger.journal.schema import JournalEntry
from tests.harness.gateway import Bank, Enterprise, Gateway, running_gateway

CATEGORIES: list[int | str] = ["business_registration", "social_insurance"]


def _stored_document(context: GatewayContext, query_id: str) -> bytes:
    with context.db.session() as session:
        found = session.scalars(
            select(JournalEntry.document).where(JournalEntry.query_id == query_id)
        ).one()
    return bytes(found)


def _granted(gateway: Gateway, bank: Bank, chip: Enterprise) -> tuple[dict[str, Any], str, Any]:
    """A granted read: its body, its Idempotency-Key and its signed fields."""
    consent = gateway.grant_on_chain(chip, bank, mask_of(parse_category(c) for c in CATEGORIES))
    key = secrets.token_hex(8)
    fields = gateway.signed(bank, consent, CATEGORIES, 1)
    response = gateway.post_read(bank, chip, consent, CATEGORIES, key=key, fields=fields)
    assert response.status_code == 200, response.text
    return response.json(), key, (consent, fields)


def _asked_again(gateway: Gateway, bank: Bank, chip: Enterprise, read: Any) -> list[Any]:
    body, key, (consent, fields) = read
    stored = gateway.http.get(f"/v1/queries/{body['receipt']['query_id']}", headers=bank.headers)
    retried = gateway.post_read(bank, chip, consent, CATEGORIES, key=key, fields=fields)
    return [stored, retried]


def _assert_receipt_only(answers: list[Any], receipt: dict[str, Any]) -> None:
    for answer in answers:
        assert answer.status_code == 403, answer.text
        problem = answer.json()
        assert problem["code"] == "delivery_window_passed"
        assert problem["receipt"] == receipt
        assert "data" not in problem


def test_past_the_window_the_document_is_deleted_and_the_receipt_stands(
    tmp_path: Path, bureau_url: str
) -> None:
    with running_gateway(tmp_path, bureau_url, delivery_window_s=1.0) as gateway:
        bank, chip = gateway.add_bank(), gateway.register(CHIP_DISTRIBUTOR_USCC)
        read = _granted(gateway, bank, chip)
        body = read[0]
        receipt = body["receipt"]
        deadline = time.monotonic() + 120
        while _stored_document(gateway.context, receipt["query_id"]):
            assert time.monotonic() < deadline, "the sweep did not delete the document"
            time.sleep(0.05)
        _assert_receipt_only(_asked_again(gateway, bank, chip, read), receipt)
        with gateway.context.db.session() as session:
            entry = session.scalars(
                select(JournalEntry).where(JournalEntry.query_id == receipt["query_id"])
            ).one()
        assert "0x" + entry.salt.hex() == receipt["salt"]
        assert entry.response_hash == receipt["response_hash"]
        chain, deployment = gateway.context.chain, gateway.context.deployment
        assert chain is not None

    # The bank's own copy still checks against the chain's hash.
    released = bytes.fromhex(receipt["salt"][2:]) + rfc8785.dumps(body["data"])
    assert "0x" + keccak(released).hex() == receipt["response_hash"]
    journal = JournalDatabase(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        check = JournalCheck(journal, deployment.relayers)
        result = Audit(EmbeddedJsonRpc(chain), deployment, journal=check).run()
    finally:
        journal.close()
    assert result.findings == []
    assert result.journal is not None
    assert result.journal.figures.releases_matched == 1


def test_an_old_read_answers_its_receipt_before_any_sweep(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    read = _granted(gateway, bank, chip)
    receipt = read[0]["receipt"]
    assert [a.status_code for a in _asked_again(gateway, bank, chip, read)] == [200, 200]

    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    with gateway.context.db.session() as session, session.begin():
        session.execute(
            update(JournalEntry)
            .where(JournalEntry.query_id == receipt["query_id"])
            .values(created_at=two_days_ago)
        )
    assert _stored_document(gateway.context, receipt["query_id"])  # not swept yet
    _assert_receipt_only(_asked_again(gateway, bank, chip, read), receipt)


def test_the_sweep_deletes_only_settled_documents_past_the_window(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    fresh = _granted(gateway, bank, chip)[0]["receipt"]["query_id"]
    window = gateway.context.settings.delivery_window_s
    db = gateway.context.db
    with db.session() as session, session.begin():
        pending = JournalEntry(
            idempotency_key=secrets.token_hex(8),
            request_hash="00" * 32,
            bank_address=bank.address,
            uscc=chip.uscc,
            subject="0x" + chip.subject.hex(),
            consent_id="0x" + "11" * 32,
            categories=1,
            purpose=1,
            history_months=12,
            document=b"{}",
            salt=b"\x00" * 32,
            response_hash="0x" + "22" * 32,
            created_at=datetime.now(UTC) - timedelta(days=2),
        )
        session.add(pending)
    try:
        sweep(db, window, datetime.now(UTC))
        assert _stored_document(gateway.context, fresh)  # inside its window
        later = datetime.now(UTC) + timedelta(seconds=window + 60)
        assert sweep(db, window, later) >= 1
        assert _stored_document(gateway.context, fresh) == b""
        with db.session() as session:
            assert session.get(JournalEntry, pending.id).document == b"{}"  # type: ignore[union-attr]
    finally:
        with db.session() as session, session.begin():
            session.delete(session.get(JournalEntry, pending.id))
