"""Bank reads through HTTP: granted with a checkable receipt, each denial reason, idempotency,
bad input, concurrency. The chain decides; nothing is released without its record."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import rfc8785
from eth_utils.crypto import keccak

from consentledger.categories import Category, Purpose
from consentledger.client import (
    AccessDeniedError,
    ForbiddenError,
    GatewayProblemError,
    InvalidRequestError,
    NotFoundError,
    NotRecordedError,
    OutcomePendingError,
)
from consentledger.client.models import QueryResult
from consentledger.gateway.banks import VerifiedKeys
from consentledger.gateway.db import Bank as DbBank
from consentledger.journal.schema import JournalEntry, ReadStatus
from consentledger.ledger.types import AccessEntry, first_query_id
from tests.harness.gateway import DAY, Bank, Enterprise, Gateway, running_gateway
from tests.harness.signed_requests import SIGNED_REQUEST_REFUSALS, Change

REGISTRATION_AND_STAFF = Category.BUSINESS_REGISTRATION.bit | Category.SOCIAL_INSURANCE.bit


def _assert_on_chain(gateway: Gateway, receipt: dict[str, object], event: str) -> None:
    """The receipt names a transaction whose log at log_index is this read."""
    mined = gateway.context.ledger.receipt(bytes.fromhex(str(receipt["tx_hash"])[2:]))
    assert mined is not None
    assert mined.block_number == receipt["block_number"]
    logs = [e for e in mined.events if e.log_index == receipt["log_index"]]
    assert len(logs) == 1
    assert logs[0].event == event
    assert logs[0].args["queryId"] == int(str(receipt["query_id"]), 16)
    assert "0x" + logs[0].args["consentId"].hex() == receipt["consent_id"]
    if event == "DataAccessed":
        assert "0x" + logs[0].args["responseHash"].hex() == receipt["response_hash"]


def test_granted_read_releases_the_data_with_a_checkable_receipt(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    result = gateway.read(bank, chip, consent, ["business_registration", 2])
    assert set(result.data["categories"]) == {"business_registration", "social_insurance"}
    assert result.data["uscc"] == chip.uscc
    receipt = result.receipt
    salt = bytes.fromhex(receipt.salt[2:])
    assert "0x" + keccak(salt + rfc8785.dumps(result.data)).hex() == receipt.response_hash
    assert receipt.matches(result.data)
    assert not receipt.matches({**result.data, "uscc": "someone else"})
    _assert_on_chain(gateway, receipt.model_dump(), "DataAccessed")
    view = gateway.context.ledger.consent(consent)
    assert view.reads_used == 1


def test_the_history_window_of_the_consent_applies(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    short = gateway.grant_on_chain(chip, bank, Category.SOCIAL_INSURANCE.bit, history_months=0)
    long = gateway.grant_on_chain(chip, bank, Category.SOCIAL_INSURANCE.bit, history_months=24)
    latest = gateway.read(bank, chip, short, [2]).data
    everything = gateway.read(bank, chip, long, [2]).data
    assert latest["history_months"] == 0
    assert everything["history_months"] == 24
    assert len(str(latest)) < len(str(everything))


def _denied(gateway: Gateway, answer: object, reason: str) -> None:
    """``answer`` is the chain's denial of a read, for ``reason``, with its receipt."""
    assert isinstance(answer, AccessDeniedError), answer
    assert (answer.status, answer.code, answer.reason) == (403, "access_denied", reason)
    assert "data" not in answer.problem
    _assert_on_chain(gateway, answer.receipt, "AccessDenied")


def test_no_consent(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    _denied(gateway, gateway.refused(bank, chip, secrets.token_bytes(32), [1]), "NO_CONSENT")


def test_bank_mismatch(gateway: Gateway, bank: Bank, other_bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    _denied(gateway, gateway.refused(other_bank, chip, consent, [1]), "BANK_MISMATCH")


def test_category_not_consented(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    _denied(gateway, gateway.refused(bank, chip, consent, ["tax"]), "CATEGORY_NOT_CONSENTED")


def test_purpose_mismatch(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    refused = gateway.refused(bank, chip, consent, [1], purpose="credit_limit_review")
    _denied(gateway, refused, "PURPOSE_MISMATCH")


def test_reads_exhausted(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF, max_reads=1)
    assert gateway.read(bank, chip, consent, [1]).status == "granted"
    _denied(gateway, gateway.refused(bank, chip, consent, [1]), "READS_EXHAUSTED")


def test_revoked(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    gateway.act_on_chain("Revocation", consent, chip)
    _denied(gateway, gateway.refused(bank, chip, consent, [1]), "REVOKED")


def test_paused_then_resumed(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    gateway.act_on_chain("Pause", consent, chip)
    _denied(gateway, gateway.refused(bank, chip, consent, [1]), "PAUSED")
    gateway.act_on_chain("Resume", consent, chip)
    assert gateway.read(bank, chip, consent, [1]).status == "granted"


def test_not_yet_valid(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    now = gateway.now()
    consent = gateway.grant_on_chain(
        chip, bank, REGISTRATION_AND_STAFF, not_before=now + DAY, expires_at=now + 2 * DAY
    )
    _denied(gateway, gateway.refused(bank, chip, consent, [1]), "NOT_YET_VALID")


def test_expired(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(
        chip, bank, REGISTRATION_AND_STAFF, expires_at=gateway.now() + 60
    )
    chain = gateway.context.chain
    assert chain is not None
    chain.time_travel(chain.now() + 120)
    _denied(gateway, gateway.refused(bank, chip, consent, [1]), "EXPIRED")


def test_bank_suspended_then_reinstated(gateway: Gateway, chip: Enterprise) -> None:
    bank = gateway.add_bank()
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    suspended = gateway.operator.suspend_bank(bank.address)
    assert suspended.active_on_chain is False
    _denied(gateway, gateway.refused(bank, chip, consent, [1]), "BANK_SUSPENDED")
    assert gateway.operator.reinstate_bank(bank.address).active_on_chain
    assert gateway.read(bank, chip, consent, [1]).status == "granted"


def test_consent_of_another_enterprise_is_refused_before_anything(
    gateway: Gateway, bank: Bank, chip: Enterprise, catering: Enterprise
) -> None:
    consent = gateway.grant_on_chain(catering, bank, REGISTRATION_AND_STAFF)
    sent_before = gateway.context.relayer.batches_sent
    refused = gateway.refused(bank, chip, consent, [1])
    assert isinstance(refused, ForbiddenError)
    assert (refused.status, refused.code) == (403, "consent_not_for_this_enterprise")
    assert gateway.context.relayer.batches_sent == sent_before


def test_idempotent_replay_returns_the_stored_outcome(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    first = gateway.read(bank, chip, consent, [1], key="read-42")
    again = gateway.read(bank, chip, consent, [1], key="read-42")
    assert first == again
    assert gateway.context.ledger.consent(consent).reads_used == 1
    conflict = gateway.refused(bank, chip, consent, [2], key="read-42")
    assert isinstance(conflict, InvalidRequestError)
    assert (conflict.status, conflict.code) == (422, "idempotency_key_reused")


def test_concurrent_requests_with_one_idempotency_key_make_one_read(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    start = threading.Barrier(16)
    # Signed here: the test's own chain calls stay on this thread.
    gateway.sign_ahead(bank, chip, consent, [1], 1, ["same-key"])

    def read(_: int) -> QueryResult | GatewayProblemError:
        start.wait()
        try:
            return gateway.read(bank, chip, consent, [1], key="same-key")
        except GatewayProblemError as problem:
            return problem

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(read, range(16)))
    granted = [answer for answer in answers if isinstance(answer, QueryResult)]
    assert granted, answers
    assert all(answer == granted[0] for answer in granted)
    # The others came while the first was on its way to the chain: ask again later.
    others = [answer for answer in answers if not isinstance(answer, QueryResult)]
    assert all(isinstance(answer, OutcomePendingError) for answer in others), others
    assert gateway.context.ledger.consent(consent).reads_used == 1
    with gateway.context.db.session() as session:
        entries = session.query(JournalEntry).filter_by(idempotency_key="same-key").all()
    assert len(entries) == 1
    assert entries[0].status == ReadStatus.GRANTED
    assert gateway.read(bank, chip, consent, [1], key="same-key") == granted[0]


def test_stored_outcome_is_for_the_asking_bank_only(
    gateway: Gateway, bank: Bank, other_bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    read = gateway.read(bank, chip, consent, [1])
    query_id = read.receipt.query_id
    assert gateway.client_of(bank).stored(query_id) == read
    assert gateway.client_of(bank).receipt(query_id) == read.receipt
    with pytest.raises(NotFoundError) as theirs:
        gateway.client_of(other_bank).stored(query_id)
    assert (theirs.value.status, theirs.value.code) == (404, "unknown_query")


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_api_key"), ({"Authorization": "Bearer clk_nope_nope"}, "invalid_api_key")],
    ids=["missing", "wrong"],
)
def test_bank_key_is_required(
    gateway: Gateway, chip: Enterprise, headers: dict[str, str], code: str
) -> None:
    response = gateway.http.post(
        "/v1/queries",
        json={"uscc": chip.uscc, "consent_id": "0x" + "00" * 32, "categories": [1], "purpose": 1},
        headers={**headers, "Idempotency-Key": "k"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"uscc": "91440305MA5DKW7Q1A", "categories": [1], "purpose": 1},
            "invalid_uscc_check_character",
        ),
        ({"uscc": "123", "categories": [1], "purpose": 1}, "invalid_uscc_length"),
        ({"uscc": "91440305MA5DKW7QIB", "categories": [1], "purpose": 1}, "invalid_uscc_character"),
        ({"categories": ["gossip"], "purpose": 1}, "unknown_category"),
        ({"categories": [1], "purpose": "fun"}, "unknown_purpose"),
        ({"categories": [], "purpose": 1}, "invalid_request"),
        ({"consent_id": "0x12", "categories": [1], "purpose": 1}, "invalid_request"),
    ],
    ids=[
        "bad_check_character",
        "bad_length",
        "bad_character",
        "unknown_category",
        "unknown_purpose",
        "no_category",
        "short_consent_id",
    ],
)
def test_bad_input_is_a_named_problem(
    gateway: Gateway, bank: Bank, chip: Enterprise, body: dict[str, object], code: str
) -> None:
    signed = gateway.signed(bank, bytes.fromhex("11" * 32), [1], 1)
    payload = {"uscc": chip.uscc, "consent_id": "0x" + "11" * 32, **signed, **body}
    response = gateway.http.post(
        "/v1/queries",
        json=payload,
        headers={**bank.headers, "Idempotency-Key": secrets.token_hex(4)},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_missing_idempotency_key_is_a_problem(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    response = gateway.http.post(
        "/v1/queries",
        json={"uscc": chip.uscc, "consent_id": "0x" + "11" * 32, "categories": [1], "purpose": 1},
        headers=bank.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{" + b'"a":' * 1 + b"1}" + b" " * 70_000, 413, "body_too_large"),
        (b"[" * 5000 + b"]" * 5000, 400, "body_too_deep"),
        (b"{not json", 422, "invalid_request"),
    ],
    ids=["oversized", "deeply_nested", "malformed_json"],
)
def test_hostile_bodies_are_refused(
    gateway: Gateway, bank: Bank, content: bytes, status: int, code: str
) -> None:
    response = gateway.http.post(
        "/v1/queries",
        content=content,
        headers={**bank.headers, "Idempotency-Key": "x", "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_size_class_is_a_recorded_read(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    categories = (
        Category.BUSINESS_REGISTRATION.bit
        | Category.SOCIAL_INSURANCE.bit
        | Category.TAX.bit
        | Category.AUDITED_FINANCIAL_STATEMENTS.bit
    )
    consent = gateway.grant_on_chain(chip, bank, categories)
    result = gateway.client_of(bank).size_class(chip.uscc, consent)
    assert result.data["size"] == "medium"
    _assert_on_chain(gateway, result.receipt.model_dump(), "DataAccessed")
    assert gateway.context.ledger.consent(consent).reads_used == 1


def test_size_class_without_the_categories_is_denied(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, Category.JUDICIAL.bit)
    with pytest.raises(AccessDeniedError) as denied:
        gateway.client_of(bank).size_class(chip.uscc, consent)
    _denied(gateway, denied.value, "CATEGORY_NOT_CONSENTED")
    # A denied read's receipt is stored too.
    receipt = gateway.client_of(bank).receipt(denied.value.receipt["query_id"])
    assert receipt.model_dump() == denied.value.receipt


def test_concurrent_reads_share_transactions(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    consents = [
        gateway.grant_on_chain(
            chip, bank, REGISTRATION_AND_STAFF, purpose=int(Purpose.POST_LOAN_MONITORING)
        )
        for _ in range(4)
    ]
    sent_before = gateway.context.relayer.batches_sent
    # Signed here: the test's own chain calls stay on this thread.
    for i in range(4):
        keys = [f"share-{n}" for n in range(i, 200, 4)]
        gateway.sign_ahead(bank, chip, consents[i], [1], "post_loan_monitoring", keys)

    def read(i: int) -> str:
        result = gateway.read(
            bank, chip, consents[i % 4], [1], purpose="post_loan_monitoring", key=f"share-{i}"
        )
        return result.status

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(read, range(200)))
    assert statuses == ["granted"] * 200
    batches = gateway.context.relayer.batches_sent - sent_before
    assert batches < 50, f"{batches} transactions for 200 reads"
    assert sum(gateway.context.ledger.consent(c).reads_used for c in consents) == 200


def test_revocation_between_pre_check_and_batch_releases_nothing(
    tmp_path_factory: pytest.TempPathFactory, bureau_url: str
) -> None:
    """The batch waits a full second; the consent is revoked meanwhile; the chain denies."""
    with running_gateway(
        tmp_path_factory.mktemp("slow"), bureau_url, batch_max_wait_ms=1000
    ) as slow:
        bank = slow.add_bank("patient bank")
        chip = slow.register("91440305MA5DKW7Q1B")
        consent = slow.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
        result: dict[str, object] = {}

        def read() -> None:
            try:
                result["answer"] = slow.read(bank, chip, consent, [1])
            except GatewayProblemError as problem:
                result["answer"] = problem

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 60
        while slow.context.journal.open_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the read is journaled: its pre-check passed, its batch is open
        assert slow.context.journal.open_count() == 1
        slow.act_on_chain("Revocation", consent, chip)
        reader.join(timeout=10)
        _denied(slow, result["answer"], "REVOKED")
        with slow.context.db.session() as session:
            entry = session.query(JournalEntry).one()
            assert entry.status == ReadStatus.DENIED
            assert entry.document != b"{}"  # the data was fetched but never released


def test_relayer_recovers_when_another_writer_moved_its_query_ids(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    relayer = gateway.context.ledger.account.address
    ahead = first_query_id(relayer) + 10**9
    outside = AccessEntry(ahead, consent, bank.address, 2, 1, secrets.token_bytes(32))
    gateway.context.ledger.record_accesses([outside])  # as a second process with the same key
    refused = gateway.refused(bank, chip, consent, [1])
    assert isinstance(refused, NotRecordedError)
    assert (refused.status, refused.code) == (503, "not_recorded")
    recovered = gateway.read(bank, chip, consent, [1])
    assert int(recovered.receipt.query_id, 16) > ahead


def test_a_verified_key_does_not_vouch_for_another_secret(gateway: Gateway, bank: Bank) -> None:
    """The gateway remembers verified keys: a wrong secret with the same key id is still refused,
    and the right key still works after it."""
    key = bank.headers["Authorization"].removeprefix("Bearer ")
    key_id = key.rsplit("_", 1)[0]
    wrong = {"Authorization": f"Bearer {key_id}_{'x' * 43}"}
    # A known bank asking for a read it never made: 404; a wrong key: 401.
    for headers, code in [(bank.headers, "unknown_query"), (wrong, "invalid_api_key")] * 2:
        response = gateway.http.get("/v1/queries/0x1", headers=headers)
        assert response.json()["code"] == code


def test_verified_keys_keep_at_most_their_capacity() -> None:
    keys = VerifiedKeys(capacity=2)
    banks = [
        DbBank(name=f"b{i}", address=f"0x{i:040x}", key_id=f"{i}", key_hash="") for i in range(3)
    ]
    for i, b in enumerate(banks):
        keys.remember(f"clk_{i}_secret", b)
    assert keys.get("clk_0_secret") is None  # the oldest went first
    assert keys.get("clk_1_secret") is banks[1]
    assert keys.get("clk_2_secret") is banks[2]
    assert keys.get("clk_2_other") is None


def _journal_size(gateway: Gateway) -> int:
    with gateway.context.db.session() as session:
        return session.query(JournalEntry).count()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [c[1:] for c in SIGNED_REQUEST_REFUSALS],
    ids=[c[0] for c in SIGNED_REQUEST_REFUSALS],
)
def test_a_bad_signed_request_is_refused_before_anything_is_written(
    gateway: Gateway,
    bank: Bank,
    chip: Enterprise,
    change: Change,
    status: int,
    code: str,
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    journaled, sent = _journal_size(gateway), gateway.context.relayer.batches_sent
    response = gateway.post_read(
        bank, chip, consent, [1], **change(gateway.context.ledger, bank, consent)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert _journal_size(gateway) == journaled
    assert gateway.context.relayer.batches_sent == sent
    assert gateway.context.ledger.consent(consent).reads_used == 0


@pytest.mark.parametrize("r", [2**256 - 1, 0], ids=["r-above-the-group-order", "r-zero"])
def test_a_signature_outside_the_curve_is_refused_as_invalid(
    gateway: Gateway, bank: Bank, chip: Enterprise, r: int
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    signed = gateway.signed(bank, consent, [1], 1)
    signature = bytes.fromhex(signed["signature"][2:])
    signed["signature"] = "0x" + (r.to_bytes(32, "big") + signature[32:]).hex()
    journaled = _journal_size(gateway)
    response = gateway.post_read(bank, chip, consent, [1], fields=signed)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "request_signature_invalid"
    assert _journal_size(gateway) == journaled


def test_a_read_without_a_signature_is_refused(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    signed = gateway.signed(bank, consent, [1], 1)
    del signed["signature"]
    journaled = _journal_size(gateway)
    response = gateway.http.post(
        "/v1/queries",
        json={
            "uscc": chip.uscc,
            "consent_id": "0x" + consent.hex(),
            "categories": [1],
            "purpose": 1,
            **signed,
        },
        headers={**bank.headers, "Idempotency-Key": secrets.token_hex(8)},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert _journal_size(gateway) == journaled


def test_a_replayed_request_id_is_refused(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    signed = gateway.signed(bank, consent, [1], 1)
    first = gateway.post_read(bank, chip, consent, [1], fields=signed)
    assert first.status_code == 200, first.text
    journaled = _journal_size(gateway)
    replay = gateway.post_read(bank, chip, consent, [1], fields=signed)  # a new Idempotency-Key
    assert replay.status_code == 409
    assert replay.json()["code"] == "request_replayed"
    assert _journal_size(gateway) == journaled
    assert gateway.context.ledger.consent(consent).reads_used == 1


@pytest.mark.parametrize("action", ["Revocation", "Pause"])
def test_after_the_consent_ends_a_stored_read_gives_its_receipt_not_its_data(
    gateway: Gateway, bank: Bank, chip: Enterprise, action: str
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
    signed = gateway.signed(bank, consent, [1], 1)
    key = secrets.token_hex(8)
    first = gateway.post_read(bank, chip, consent, [1], key=key, fields=signed)
    assert first.status_code == 200, first.text
    receipt = first.json()["receipt"]
    stored = gateway.http.get(f"/v1/queries/{receipt['query_id']}", headers=bank.headers)
    assert stored.status_code == 200
    assert stored.json()["data"] == first.json()["data"]
    gateway.act_on_chain(action, consent, chip)
    again = gateway.http.get(f"/v1/queries/{receipt['query_id']}", headers=bank.headers)
    retried = gateway.post_read(bank, chip, consent, [1], key=key, fields=signed)
    for answer in (again, retried):
        assert answer.status_code == 403, answer.text
        body = answer.json()
        assert body["code"] == "delivery_ended"
        assert body["receipt"] == receipt
        assert "data" not in body
