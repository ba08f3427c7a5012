"""The bureau as it stood at a past moment: documents rebuilt from the feed log's versions, for
imported records and for seeded ones corrected later (byte-identical to what was read then)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from consentledger.bureau.documents import canonicalize
from consentledger.bureau.feeds import feed_source
from consentledger.bureau.importing import import_records
from consentledger.bureau.known_at import fetch_known_at
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import CATERING_CHAIN_USCC
from consentledger.bureau.store import BureauStore, UnknownEnterpriseError
from consentledger.categories import SEEDED_CATEGORIES
from consentledger.cli import main

from .conftest import sqlite_url
from .test_feeds import AS_OF, REAL_USCC, REGISTRATION, lines, month


def _import(store: BureauStore, source: str, *records: dict[str, Any]) -> None:
    report = import_records(store, feed_source(source), lines(*records), name="t", as_of=AS_OF)
    assert report.accepted, report.refusals


def test_an_imported_record_is_shown_at_the_version_known_then(tmp_path: Path) -> None:
    store = BureauStore.open(sqlite_url(tmp_path / "known.db"))
    before_registration = datetime.now(UTC)
    _import(store, "market_regulation", REGISTRATION)
    _import(store, "social_insurance", month("2026-09", 40), month("2026-10", 41))
    first = datetime.now(UTC)
    then: Any = store.fetch(REAL_USCC, ["social_insurance"], 24)
    _import(store, "social_insurance", month("2026-10", 45, 2), month("2026-11", 46))

    past: Any = fetch_known_at(store, REAL_USCC, ["social_insurance"], 24, known_at=first)
    assert canonicalize(past).data == canonicalize(then).data
    assert [
        p["headcount"] for p in past["categories"]["social_insurance"]["insured_headcount"]
    ] == [
        40,
        41,
    ]
    now: Any = fetch_known_at(
        store, REAL_USCC, ["social_insurance"], 24, known_at=datetime.now(UTC)
    )
    assert now == store.fetch(REAL_USCC, ["social_insurance"], 24)
    assert [f"social_insurance_month/{REAL_USCC}/2026-10", 2] in now["versions"][
        "social_insurance"
    ]["records"]
    with pytest.raises(UnknownEnterpriseError):
        fetch_known_at(store, REAL_USCC, [1], 0, known_at=before_registration)


def test_a_seeded_record_corrected_later_is_shown_as_seeded_before(tmp_path: Path) -> None:
    store = BureauStore.open(sqlite_url(tmp_path / "seeded.db"))
    seed_store(store, enterprises=3, progress=False)
    categories = SEEDED_CATEGORIES
    then: Any = store.fetch(CATERING_CHAIN_USCC, categories, 12)
    seen = datetime.now(UTC)
    point = then["categories"]["social_insurance"]["insured_headcount"][-1]
    label, headcount = point["month"], point["headcount"]
    seeded = {**month(label, headcount), "uscc": CATERING_CHAIN_USCC}

    conflict = import_records(
        store,
        feed_source("social_insurance"),
        lines({**seeded, "insured_headcount": headcount + 1}),
        name="v1-other",
        as_of=date(2025, 6, 30),
    )
    assert [r.code for r in conflict.refusals] == ["version_conflict"]
    same = import_records(
        store, feed_source("social_insurance"), lines(seeded), name="v1", as_of=date(2025, 6, 30)
    )
    assert (same.unchanged, same.written) == (1, 0)

    fixed = {**seeded, "version": 2, "insured_headcount": headcount + 7, "dispute": "D-1"}
    report = import_records(
        store, feed_source("social_insurance"), lines(fixed), name="v2", as_of=date(2025, 6, 30)
    )
    assert [(s.version, s.by_version) for s in report.superseded] == [(1, 2)]
    current: Any = store.fetch(CATERING_CHAIN_USCC, categories, 12)
    assert current["categories"]["social_insurance"]["insured_headcount"][-1]["headcount"] == (
        headcount + 7
    )
    past = fetch_known_at(store, CATERING_CHAIN_USCC, categories, 12, known_at=seen)
    assert canonicalize(past).sha256 == canonicalize(then).sha256


def test_show_known_at_on_the_command_line(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "cli.db")
    store = BureauStore.open(url)
    _import(store, "market_regulation", REGISTRATION)
    _import(store, "social_insurance", month("2026-10", 41))
    between = datetime.now(UTC).isoformat()
    _import(store, "social_insurance", month("2026-10", 45, 2))
    store.close()

    def show(*args: str) -> Result:
        command = ["bureau", "show", REAL_USCC, "--db", url, "-c", "social_insurance", *args]
        return CliRunner().invoke(main, command)

    past = show("--known-at", between)
    assert past.exit_code == 0, past.output
    assert json.loads(past.output)["categories"]["social_insurance"]["insured_headcount"] == [
        {"month": "2026-10", "headcount": 41}
    ]
    bad = show("--known-at", "last week")
    assert bad.exit_code != 0
    assert "invalid_known_at" in bad.output
