"""A document names the record versions it was built from: per category its source and every
record it shows (not those its window leaves out), each at the version the bureau holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consentledger.bureau.feeds import feed_source
from consentledger.bureau.importing import import_records
from consentledger.bureau.showcase import CATERING_CHAIN_USCC
from consentledger.bureau.store import BureauStore
from consentledger.categories import SEEDED_CATEGORIES

from .conftest import sqlite_url
from .test_feeds import ANNUAL_REPORT, AS_OF, REAL_USCC, REGISTRATION, lines, month


def _imported(tmp_path: Path) -> BureauStore:
    store = BureauStore.open(sqlite_url(tmp_path / "versions.db"))
    for source, records in (
        ("market_regulation", [REGISTRATION, ANNUAL_REPORT]),
        ("social_insurance", [month("2026-09", 40), month("2026-10", 41)]),
    ):
        report = import_records(
            store, feed_source(source), lines(*records), name=source, as_of=AS_OF
        )
        assert report.accepted, report.refusals
    return store


def test_versions_name_the_records_shown_at_their_versions(tmp_path: Path) -> None:
    store = _imported(tmp_path)
    document: Any = store.fetch(REAL_USCC, ["business_registration", "social_insurance"], 24)
    assert document["versions"] == {
        "business_registration": {
            "source": "market_regulation",
            "records": [[f"annual_report/{REAL_USCC}/2025", 1], [f"enterprise/{REAL_USCC}", 1]],
        },
        "social_insurance": {
            "source": "social_insurance",
            "records": [
                [f"social_insurance_month/{REAL_USCC}/2026-09", 1],
                [f"social_insurance_month/{REAL_USCC}/2026-10", 1],
            ],
        },
    }

    fixed = {**month("2026-10", 44, 2), "dispute": "SZCB-2026-0042"}
    import_records(store, feed_source("social_insurance"), lines(fixed), name="fix", as_of=AS_OF)
    latest: Any = store.fetch(REAL_USCC, ["social_insurance"], 0)  # the latest point only
    assert latest["versions"] == {
        "social_insurance": {
            "source": "social_insurance",
            "records": [[f"social_insurance_month/{REAL_USCC}/2026-10", 2]],
        }
    }


def test_seeded_records_are_at_their_first_version(seeded: BureauStore) -> None:
    document: Any = seeded.fetch(CATERING_CHAIN_USCC, SEEDED_CATEGORIES, 12)
    versions = document["versions"]
    assert set(versions) == set(document["categories"])
    for slug, listed in versions.items():
        assert all(version == 1 for _, version in listed["records"]), slug
        assert all(rid.split("/")[1] == CATERING_CHAIN_USCC for rid, _ in listed["records"])
    listed_si = [rid for rid, _ in versions["social_insurance"]["records"]]
    assert f"social_insurance_arrears/{CATERING_CHAIN_USCC}" in listed_si  # a month of arrears
    months = [rid for rid in listed_si if rid.startswith("social_insurance_month/")]
    shown = document["categories"]["social_insurance"]["insured_headcount"]
    assert months == [f"social_insurance_month/{CATERING_CHAIN_USCC}/{p['month']}" for p in shown]
    penalties = document["categories"]["administrative_penalties"]
    listed = {rid.split("/", 3)[3] for rid, _ in versions["administrative_penalties"]["records"]}
    assert {p["decision_no"] for p in penalties["penalties"]} <= listed
