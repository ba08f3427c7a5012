"""Source feeds: published schemas, and the file import's checks, transactions and idempotence."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from consentledger.bureau.feeds import (
    FEED_SOURCES,
    RECORD_KINDS,
    RECORD_MODELS,
    UnknownSourceError,
    feed_schema,
    feed_source,
)
from consentledger.bureau.importing import FeedFileError, import_records, read_feed
from consentledger.bureau.models import TABLES, Base, DatasetMeta, DataSource, FeedRecordVersion
from consentledger.bureau.showcase import SOFTWARE_STARTUP_USCC
from consentledger.bureau.store import BureauStore
from consentledger.cli import main

from .conftest import sqlite_url

REAL_USCC = "9144030071526726XG"
AS_OF = date(2026, 11, 30)

REGISTRATION: dict[str, Any] = {
    "record": "enterprise",
    "uscc": REAL_USCC,
    "version": 1,
    "name": "深圳市示例电子有限公司",
    "legal_representative": "王芳",
    "registered_capital_fen": 500_000_000,
    "founded": "2012-05-18",
    "status": "in_business",
    "industry_code": "C3971",
    "district_code": "440305",
    "address": "深圳市南山区粤海街道科技南十二路 8 号",
}
ANNUAL_REPORT: dict[str, Any] = {
    "record": "annual_report",
    "uscc": REAL_USCC,
    "version": 1,
    "year": 2025,
    "employees": 86,
    "total_assets_fen": 4_200_000_000,
    "revenue_fen": 9_100_000_000,
}


def month(label: str, headcount: int, version: int = 1) -> dict[str, Any]:
    return {
        "record": "social_insurance_month",
        "uscc": REAL_USCC,
        "version": version,
        "month": label,
        "insured_headcount": headcount,
    }


def lines(*records: dict[str, Any]) -> list[tuple[int, bytes]]:
    return [(n, json.dumps(r, ensure_ascii=False).encode()) for n, r in enumerate(records, 1)]


def write_jsonl(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> BureauStore:
    return BureauStore.open(sqlite_url(tmp_path / "feeds.db"))


def register(store: BureauStore) -> None:
    report = import_records(
        store,
        feed_source("market_regulation"),
        lines(REGISTRATION, ANNUAL_REPORT),
        name="registration",
        as_of=AS_OF,
    )
    assert report.accepted, report.refusals
    assert (report.written, report.enterprises_added) == (2, 1)


def row_counts(store: BureauStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (*TABLES, Base.metadata.tables[FeedRecordVersion.__tablename__])
        }


# -- schemas ----------------------------------------------------------------------------------


def test_every_data_column_is_sent_by_some_record_kind() -> None:
    sent = {
        (kind.table.__tablename__, column)
        for kind in RECORD_KINDS.values()
        for column in (*kind.fields, *kind.fixed)
    }
    internal = {"id", "enterprise_id"}
    outside = {DatasetMeta.__tablename__, DataSource.__tablename__}
    wanted = {
        (t.name, c.name)
        for t in TABLES
        if t.name not in outside
        for c in t.columns
        if c.name not in internal and not (t.name == "bureau_enterprise" and c.name == "uscc")
    }
    assert wanted <= sent


def test_every_source_supplies_one_category_and_every_category_has_a_source() -> None:
    categories = [c for source in FEED_SOURCES.values() for c in source.categories]
    assert sorted(categories) == sorted({kind.category for kind in RECORD_KINDS.values()})
    assert len(categories) == 11


@pytest.mark.parametrize("name", list(RECORD_KINDS))
def test_the_published_schema_is_valid_and_matches_the_validator(name: str) -> None:
    schema = feed_schema(name)
    jsonschema_rs.meta.validate(schema)
    assert schema["$id"].endswith(f"/feed/1/{name}.json")
    assert schema["required"][:3] == ["record", "uscc", "version"]
    assert schema["additionalProperties"] is False


def test_a_record_valid_by_the_schema_is_valid_for_the_importer() -> None:
    validator = jsonschema_rs.Draft202012Validator(feed_schema("annual_report"))
    validator.validate(ANNUAL_REPORT)
    RECORD_MODELS["annual_report"].model_validate(ANNUAL_REPORT)
    bad = {**ANNUAL_REPORT, "employees": -1}
    assert not validator.is_valid(bad)


# -- importing --------------------------------------------------------------------------------


def test_a_real_enterprise_imported_from_files_is_read_out(store: BureauStore) -> None:
    register(store)
    si = import_records(
        store,
        feed_source("social_insurance"),
        lines(month("2026-10", 84), month("2026-11", 86)),
        name="si",
        as_of=AS_OF,
    )
    assert si.accepted
    assert si.written == 2
    document: Any = store.fetch(REAL_USCC, [1, 2], 12)
    registration = document["categories"]["business_registration"]
    assert registration["name"] == REGISTRATION["name"]
    assert registration["annual_reports"][0]["employees"] == 86
    series = document["categories"]["social_insurance"]["insured_headcount"]
    assert series == [{"month": "2026-10", "headcount": 84}, {"month": "2026-11", "headcount": 86}]
    assert document["as_of"] == AS_OF.isoformat()


def test_importing_the_same_records_again_changes_nothing(store: BureauStore) -> None:
    register(store)
    before = row_counts(store)
    again = import_records(
        store,
        feed_source("market_regulation"),
        lines(REGISTRATION, ANNUAL_REPORT),
        name="again",
        as_of=AS_OF,
    )
    assert again.accepted
    assert (again.written, again.unchanged, again.enterprises_added) == (0, 2, 0)
    assert row_counts(store) == before


def test_a_correction_replaces_the_row_and_the_log_keeps_both_versions(
    store: BureauStore,
) -> None:
    register(store)
    corrected = {**ANNUAL_REPORT, "version": 2, "employees": 91}
    report = import_records(
        store, feed_source("market_regulation"), lines(corrected), name="fix", as_of=AS_OF
    )
    assert report.accepted
    assert report.written == 1
    document: Any = store.fetch(REAL_USCC, [1], 12)
    assert document["categories"]["business_registration"]["annual_reports"][0]["employees"] == 91
    with store.engine.connect() as conn:
        log = FeedRecordVersion.__table__
        versions = conn.execute(
            select(log.c.version, log.c.payload)
            .where(log.c.record_id == f"annual_report/{REAL_USCC}/2025")
            .order_by(log.c.version)
        ).all()
    assert [v for v, _ in versions] == [1, 2]
    assert json.loads(versions[0][1])["employees"] == 86


def test_monthly_figures_of_two_sources_share_a_row(store: BureauStore) -> None:
    register(store)
    import_records(
        store, feed_source("social_insurance"), lines(month("2026-11", 86)), name="a", as_of=AS_OF
    )
    tax = {
        "record": "tax_month",
        "uscc": REAL_USCC,
        "version": 1,
        "month": "2026-11",
        "tax_paid_fen": 1_234_500,
    }
    assert import_records(store, feed_source("tax"), lines(tax), name="b", as_of=AS_OF).accepted
    document = store.fetch(REAL_USCC, [2, 4], 0)
    categories: Any = document["categories"]
    assert categories["social_insurance"]["insured_headcount"][-1]["headcount"] == 86
    assert categories["tax"]["monthly_tax_paid"][-1]["amount"] == "12345.00"


REFUSALS = [
    ("malformed_record", b'{"record": "enterprise", '),
    ("malformed_record", b"[1, 2]"),
    ("unknown_record_kind", json.dumps({**ANNUAL_REPORT, "record": "gossip"}).encode()),
    ("invalid_record", json.dumps({**ANNUAL_REPORT, "employees": "many"}).encode()),
    ("invalid_record", json.dumps({**ANNUAL_REPORT, "colour": "red"}).encode()),
    (
        "invalid_record",
        json.dumps({k: v for k, v in ANNUAL_REPORT.items() if k != "year"}).encode(),
    ),
    (
        "invalid_uscc_check_character",
        json.dumps({**ANNUAL_REPORT, "uscc": REAL_USCC[:-1] + "Y"}).encode(),
    ),
    ("unknown_enterprise", json.dumps({**ANNUAL_REPORT, "uscc": SOFTWARE_STARTUP_USCC}).encode()),
    ("category_not_permitted", json.dumps(month("2026-11", 3)).encode()),
]


@pytest.mark.parametrize(
    ("code", "line"), REFUSALS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(REFUSALS)]
)
def test_a_refused_record_is_named_and_nothing_of_the_batch_is_written(
    store: BureauStore, code: str, line: bytes
) -> None:
    register(store)
    before = row_counts(store)
    good = json.dumps({**ANNUAL_REPORT, "year": 2024}).encode()
    report = import_records(
        store, feed_source("market_regulation"), [(1, good), (2, line)], name="bad", as_of=AS_OF
    )
    assert not report.accepted
    assert [(r.line, r.code) for r in report.refusals] == [(2, code)]
    assert row_counts(store) == before


def test_duplicates_and_versions_out_of_order_are_refused(store: BureauStore) -> None:
    register(store)
    source = feed_source("market_regulation")
    v3 = {**ANNUAL_REPORT, "version": 3}
    v2 = {**ANNUAL_REPORT, "version": 2}
    in_batch = import_records(store, source, lines(v3, v3, v2), name="x", as_of=AS_OF)
    assert [(r.line, r.code) for r in in_batch.refusals] == [
        (2, "duplicate_record"),
        (3, "out_of_order_version"),
    ]
    assert import_records(store, source, lines(v3), name="v3", as_of=AS_OF).accepted
    older = import_records(store, source, lines(v2), name="v2", as_of=AS_OF)
    assert [r.code for r in older.refusals] == ["out_of_order_version"]
    changed = {**v3, "employees": 1}
    conflict = import_records(store, source, lines(changed), name="v3'", as_of=AS_OF)
    assert [r.code for r in conflict.refusals] == ["version_conflict"]


def test_the_import_moves_the_sources_as_of_date_forward_only(store: BureauStore) -> None:
    register(store)
    later = date(2026, 12, 31)
    import_records(store, feed_source("market_regulation"), [], name="empty", as_of=later)
    import_records(store, feed_source("market_regulation"), [], name="old", as_of=AS_OF)
    with store.engine.connect() as conn:
        held = conn.execute(select(DataSource.as_of).where(DataSource.category == 1)).scalar_one()
    assert held == later
    assert store.dataset_as_of() == AS_OF


def test_csv_feeds_are_read_with_their_header(tmp_path: Path, store: BureauStore) -> None:
    register(store)
    path = tmp_path / "si.csv"
    path.write_text(
        "record,uscc,version,month,insured_headcount\n"
        f"social_insurance_month,{REAL_USCC},1,2026-11,86\n"
        f"social_insurance_month,{REAL_USCC},1,2026-12,\n"
        f"social_insurance_month,{REAL_USCC},1,2027-01,many\n"
        f"social_insurance_month,{REAL_USCC},1,2027-02,80,extra\n",
        encoding="utf-8",
    )
    report = import_records(
        store, feed_source("social_insurance"), read_feed(path), name="si", as_of=AS_OF
    )
    assert [(r.line, r.code) for r in report.refusals] == [
        (4, "invalid_record"),
        (5, "malformed_record"),
    ]
    assert report.records == 4
    path.write_text("uscc,version\n", encoding="utf-8")
    with pytest.raises(FeedFileError, match="header"):
        read_feed(path)


def test_an_unknown_source_is_named() -> None:
    with pytest.raises(UnknownSourceError, match="market_regulation"):
        feed_source("gossip_bureau")


# -- command line -----------------------------------------------------------------------------


def test_the_import_command_reports_and_refuses_in_one_line(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "cli.db")
    good = write_jsonl(tmp_path / "registration.jsonl", REGISTRATION, ANNUAL_REPORT)
    bad = write_jsonl(tmp_path / "si.jsonl", month("2026-11", 86), month("2026-11", 87))
    runner = CliRunner()
    base = ["bureau", "import", "--db", url, "--as-of", "2026-11-30", "--no-progress"]
    first = runner.invoke(main, [*base, "--source", "market_regulation", str(good)])
    assert first.exit_code == 0, first.output
    assert "2 records written" in first.output
    report_path = tmp_path / "report.json"
    refused = runner.invoke(
        main, [*base, "--source", "social_insurance", str(bad), "--report", str(report_path)]
    )
    assert refused.exit_code == 2
    assert "(feed_rejected)" in refused.output
    reports = json.loads(report_path.read_text(encoding="utf-8"))
    assert reports[0]["refusals"][0]["code"] == "duplicate_record"
    missing = runner.invoke(main, [*base, "--source", "tax", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2
    assert "(malformed_feed)" in missing.output
    shown = runner.invoke(main, ["bureau", "show", REAL_USCC, "-c", "1", "--db", url])
    assert json.loads(shown.output)["uscc"] == REAL_USCC


def test_the_schema_command_prints_the_published_schema() -> None:
    result = CliRunner().invoke(main, ["bureau", "schema", "court_record"])
    assert result.exit_code == 0
    assert json.loads(result.output) == feed_schema("court_record")


def test_written_feeds_import_through_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    written = runner.invoke(main, ["bureau", "write-feeds", str(tmp_path / "f"), "-n", "3"])
    assert written.exit_code == 0, written.output
    url = sqlite_url(tmp_path / "cli.db")
    for source in ("market_regulation", "social_insurance"):
        path = tmp_path / "f" / f"{source}.jsonl"
        result = runner.invoke(
            main, ["bureau", "import", "--db", url, "--source", source, str(path), "--no-progress"]
        )
        assert result.exit_code == 0, result.output
    with BureauStore.open(url, must_exist=True) as store:
        assert SOFTWARE_STARTUP_USCC in store.usccs()
