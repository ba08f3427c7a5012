"""Pushed batches and the sources' credentials in the bureau, on SQLite and on PostgreSQL: the
file import's path, all or nothing, once per Idempotency-Key (also when two pushes race)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from consentledger.bureau.feed_credentials import (
    KindNotOfSourceError,
    NoFeedCredentialError,
    UnknownFeedKeyIdError,
    authenticate_source,
    issue_credential,
    revoke_credential,
    source_credential,
)
from consentledger.bureau.feeds import feed_source
from consentledger.bureau.models import FeedBatch, FeedCredential, FeedRecordVersion
from consentledger.bureau.pushing import (
    BatchKeyReusedError,
    MalformedBatchError,
    UnsupportedBatchTypeError,
    push_batch,
)
from consentledger.bureau.store import BureauStore
from tests.harness.postgres import fresh_database

from .conftest import sqlite_url
from .test_feeds import REAL_USCC, REGISTRATION, month

AS_OF = date(2026, 11, 30)
NDJSON = "application/x-ndjson"


def ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BureauStore]:
    """A bureau that holds one enterprise, registered by a pushed batch."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "bureau.db")
    else:
        url = fresh_database(request.getfixturevalue("postgres_server_url"))
    with BureauStore.open(url) as opened:
        outcome = push_batch(
            opened,
            feed_source("market_regulation"),
            ndjson(REGISTRATION),
            NDJSON,
            idempotency_key="registration",
            as_of=AS_OF,
        )
        assert outcome.accepted
        yield opened


def _versions(store: BureauStore) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(FeedRecordVersion)).scalar_one()


def test_a_batch_is_imported_once_per_key(store: BureauStore) -> None:
    source = feed_source("social_insurance")
    body = ndjson(month("2026-10", 40), month("2026-11", 41))
    first = push_batch(store, source, body, NDJSON, idempotency_key="k1", as_of=AS_OF)
    assert (first.accepted, first.replayed, first.report["written"]) == (True, False, 2)

    again = push_batch(store, source, body, NDJSON, idempotency_key="k1", as_of=AS_OF)
    assert again.replayed
    assert again.report == first.report
    assert _versions(store) == 3  # the registration and two months, once

    with pytest.raises(BatchKeyReusedError):
        push_batch(
            store,
            source,
            ndjson(month("2026-11", 42, 2)),
            NDJSON,
            idempotency_key="k1",
            as_of=AS_OF,
        )
    with pytest.raises(BatchKeyReusedError):  # the as-of date is part of the request
        push_batch(store, source, body, NDJSON, idempotency_key="k1", as_of=date(2026, 12, 1))

    # Without an as-of date (today), a retry is the same request whichever day it comes.
    undated = push_batch(store, source, body, NDJSON, idempotency_key="k3", as_of=None)
    assert push_batch(store, source, body, NDJSON, idempotency_key="k3", as_of=None).replayed
    assert undated.report["unchanged"] == 2

    # The same records under another key: nothing new, every record unchanged.
    other = push_batch(store, source, body, NDJSON, idempotency_key="k2", as_of=AS_OF)
    assert (other.report["written"], other.report["unchanged"]) == (0, 2)


def test_a_correction_reports_the_version_it_supersedes(store: BureauStore) -> None:
    source = feed_source("social_insurance")
    push_batch(
        store, source, ndjson(month("2026-11", 41)), NDJSON, idempotency_key="a", as_of=AS_OF
    )
    array = json.dumps([month("2026-11", 43, 2), month("2026-11", 44, 3)]).encode()
    fixed = push_batch(store, source, array, "application/json", idempotency_key="b", as_of=AS_OF)
    record = f"social_insurance_month/{REAL_USCC}/2026-11"
    assert fixed.report["superseded"] == [
        {"record_id": record, "version": 1, "by_version": 2},
        {"record_id": record, "version": 2, "by_version": 3},
    ]
    document = store.fetch(REAL_USCC, ["social_insurance"], 0, as_of=AS_OF)
    assert document["categories"]["social_insurance"]["insured_headcount"] == [  # type: ignore[index,call-overload]
        {"month": "2026-11", "headcount": 44}
    ]


def test_a_refused_record_refuses_the_batch_and_spends_no_key(store: BureauStore) -> None:
    source = feed_source("social_insurance")
    tax_month = {
        "record": "tax_month",
        "uscc": REAL_USCC,
        "version": 1,
        "month": "2026-11",
        "tax_paid_fen": 100,
    }
    body = ndjson(month("2026-11", 41), tax_month)
    refused = push_batch(store, source, body, NDJSON, idempotency_key="k", as_of=AS_OF)
    assert not refused.accepted
    assert [(r["line"], r["code"]) for r in refused.report["refusals"]] == [  # type: ignore[attr-defined]
        (2, "category_not_permitted")
    ]
    assert _versions(store) == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(FeedBatch)).scalar_one() == 1

    fixed = push_batch(
        store, source, ndjson(month("2026-11", 41)), NDJSON, idempotency_key="k", as_of=AS_OF
    )
    assert fixed.accepted
    assert not fixed.replayed


def test_a_credential_narrowed_to_kinds_refuses_its_sources_other_kinds(store: BureauStore) -> None:
    source = feed_source("tax")
    year = {
        "record": "tax_year",
        "uscc": REAL_USCC,
        "version": 1,
        "year": 2025,
        "credit_grade": "A",
        "taxable_revenue_fen": 1,
    }
    taxed = {
        "record": "tax_month",
        "uscc": REAL_USCC,
        "version": 1,
        "month": "2026-11",
        "tax_paid_fen": 100,
    }
    outcome = push_batch(
        store,
        source,
        ndjson(taxed, year),
        NDJSON,
        idempotency_key="t",
        as_of=AS_OF,
        kinds=frozenset({"tax_month"}),
    )
    assert [r["code"] for r in outcome.report["refusals"]] == ["kind_not_permitted"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "media_type", "error"),
    [
        (b"", NDJSON, MalformedBatchError),
        (b"[", "application/json", MalformedBatchError),
        (b'{"record": "enterprise"}', "application/json", MalformedBatchError),
        (b"[]", "application/json", MalformedBatchError),
        (b"record,uscc\n", "text/csv", UnsupportedBatchTypeError),
    ],
    ids=["empty", "truncated-array", "object-not-array", "empty-array", "csv"],
)
def test_a_body_that_is_no_batch_is_refused(
    store: BureauStore, body: bytes, media_type: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        push_batch(
            store,
            feed_source("social_insurance"),
            body,
            media_type,
            idempotency_key="x",
            as_of=AS_OF,
        )


def _refusal(store: BureauStore, body: bytes, media_type: str) -> str:
    """The code a body is refused with: the batch's, or its one record's."""
    try:
        outcome = push_batch(
            store,
            feed_source("social_insurance"),
            body,
            media_type,
            idempotency_key=media_type,
            as_of=AS_OF,
        )
    except MalformedBatchError as exc:
        return exc.code
    assert not outcome.accepted
    refusals: list[dict[str, Any]] = outcome.report["refusals"]  # type: ignore[assignment]
    assert len(refusals) == 1
    return str(refusals[0]["code"])


def test_deep_nesting_is_refused_not_a_crash(store: BureauStore) -> None:
    """The push API leaves nesting to the parsers (no byte scan of a large batch): both refuse."""
    nested = b"[" * 5000 + b"]" * 5000
    assert _refusal(store, b"[" + nested + b"]", "application/json") in (
        "malformed_batch",
        "malformed_record",
    )
    assert _refusal(store, nested, NDJSON) == "malformed_record"


def test_racing_pushes_with_one_key_write_the_batch_once(store: BureauStore) -> None:
    source = feed_source("social_insurance")
    body = ndjson(*(month(f"2025-{m:02d}", 30 + m) for m in range(1, 13)))
    outcomes: list[Any] = []
    errors: list[BaseException] = []

    def push() -> None:
        try:
            outcomes.append(
                push_batch(store, source, body, NDJSON, idempotency_key="race", as_of=AS_OF)
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(o.report == outcomes[0].report for o in outcomes)
    assert sum(not o.replayed for o in outcomes) <= 1
    assert outcomes[0].report["written"] == 12
    assert _versions(store) == 13


def test_credentials_are_shown_once_rotated_and_revoked(store: BureauStore) -> None:
    with pytest.raises(NoFeedCredentialError):
        source_credential(store, "tax")
    first, secret = issue_credential(store, "tax")
    assert secret.startswith(f"cfs_{first.key_id}_")
    assert first.kinds == feed_source("tax").kinds
    with store.engine.connect() as conn:
        stored = conn.execute(select(FeedCredential.key_hash)).all()
    assert secret.split("_", 2)[2] not in str(stored)
    assert authenticate_source(store, secret) == first

    second, rotated = issue_credential(store, "tax", ["tax_month"])
    assert authenticate_source(store, secret) is None
    assert authenticate_source(store, rotated) == second
    assert second.kinds == ("tax_month",)

    with pytest.raises(UnknownFeedKeyIdError):
        revoke_credential(store, "tax", first.key_id)
    revoked = revoke_credential(store, "tax", second.key_id)
    assert not revoked.active
    assert authenticate_source(store, rotated) is None
    assert authenticate_source(store, "cfs_nothing_here") is None
    with pytest.raises(KindNotOfSourceError):
        issue_credential(store, "tax", ["social_insurance_month"])
