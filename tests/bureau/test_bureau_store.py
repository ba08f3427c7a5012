"""The store: consented categories only, history windows, canonical bytes, errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from consentledger.bureau.classification import SizeClass, classify_document
from consentledger.bureau.documents import JSONObject, JSONValue, canonicalize
from consentledger.bureau.history import InvalidHistoryWindowError
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import (
    CATERING_CHAIN_USCC,
    CHIP_DISTRIBUTOR_USCC,
    CONSTRUCTION_FIRM_USCC,
    SOFTWARE_STARTUP_USCC,
)
from consentledger.bureau.sources import UnsuppliedCategoryError
from consentledger.bureau.store import (
    BureauAlreadySeededError,
    BureauDatabaseError,
    BureauNotSeededError,
    BureauStore,
    MissingAsOfError,
    UnknownEnterpriseError,
)
from consentledger.bureau.synthetic import DEFAULT_AS_OF
from consentledger.bureau.uscc import InvalidUSCCError, make_uscc
from consentledger.categories import SEEDED_CATEGORIES, Category, UnknownCategoryError

from .conftest import sqlite_url

ALL = list(SEEDED_CATEGORIES)
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _section(document: JSONObject, category: Category) -> JSONObject:
    sections = document["categories"]
    assert isinstance(sections, dict)
    section = sections[category.slug]
    assert isinstance(section, dict)
    return section


def _list(section: JSONObject, key: str) -> list[JSONValue]:
    value = section[key]
    assert isinstance(value, list)
    return value


def _walk(value: JSONValue, path: str = "$") -> list[tuple[str, JSONValue]]:
    found: list[tuple[str, JSONValue]] = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _walk(item, f"{path}[{index}]")
    return found


def test_fetch_returns_the_consented_categories_only(seeded: BureauStore) -> None:
    document = seeded.fetch(CHIP_DISTRIBUTOR_USCC, ["social_insurance", 4, "7"], 12)
    sections = document["categories"]
    assert isinstance(sections, dict)
    assert list(sections) == ["social_insurance", "tax", "judicial"]
    assert "business_registration" not in sections
    assert document["uscc"] == CHIP_DISTRIBUTOR_USCC
    assert document["as_of"] == DEFAULT_AS_OF.isoformat()
    for category in (Category.SOCIAL_INSURANCE, Category.TAX, Category.JUDICIAL):
        section = _section(document, category)
        assert section["category"] == category.value
        assert isinstance(section["source"], str)
        assert section["as_of"] == DEFAULT_AS_OF.isoformat()


def test_every_category_has_its_fields(seeded: BureauStore) -> None:
    document = seeded.fetch(CHIP_DISTRIBUTOR_USCC, ALL, 36)
    expected = {
        Category.BUSINESS_REGISTRATION: {
            "name", "uscc", "legal_representative", "registered_capital", "founded", "status",
            "industry_code", "address", "shareholders",
        },
        Category.SOCIAL_INSURANCE: {"insured_headcount", "arrears"},
        Category.HIGH_TECH_QUALIFICATION: {"certificates"},
        Category.TAX: {"annual", "monthly_tax_paid", "arrears"},
        Category.HOUSING_PROVIDENT_FUND: {"covered_headcount", "arrears"},
        Category.INTELLECTUAL_PROPERTY: {"patents", "trademarks", "software_copyrights"},
        Category.JUDICIAL: {"lawsuits", "enforcements", "dishonest_debtor_listings"},
        Category.ADMINISTRATIVE_PENALTIES: {"penalties", "abnormal_operation_listings"},
        Category.UTILITIES: {"water", "power", "gas"},
        Category.CUSTOMS: {"registration", "annual"},
        Category.AUDITED_FINANCIAL_STATEMENTS: {"statements"},
    }  # fmt: skip
    for category, fields in expected.items():
        assert fields <= set(_section(document, category)), category
    certificate = _list(_section(document, Category.HIGH_TECH_QUALIFICATION), "certificates")[-1]
    assert isinstance(certificate, dict)
    assert {"certificate_no", "valid_from", "valid_to", "issuing_body"} <= set(certificate)
    assert certificate["valid_on_as_of"] is True
    grade = _list(_section(document, Category.TAX), "annual")[-1]
    assert isinstance(grade, dict)
    assert grade["credit_grade"] in {"A", "B", "M", "C", "D"}
    customs = _section(document, Category.CUSTOMS)["registration"]
    assert isinstance(customs, dict)
    assert customs["credit_grade"] == "advanced_certified"


def test_no_floats_and_exact_formats_in_any_document(seeded: BureauStore) -> None:
    for uscc in seeded.usccs(limit=60):
        document = seeded.fetch(uscc, ALL, 36)
        for path, value in _walk(document):
            assert not isinstance(value, float), path
            key = path.rsplit(".", 1)[-1]
            if isinstance(value, str) and key in {"amount", "registered_capital", "revenue"}:
                assert AMOUNT.match(value), (path, value)
            if isinstance(value, str) and key.endswith(("_on", "valid_from", "valid_to", "since")):
                assert ISO_DATE.match(value), (path, value)
        canonicalize(document)


SERIES = {
    "headcount": (Category.SOCIAL_INSURANCE, "insured_headcount"),
    "housing": (Category.HOUSING_PROVIDENT_FUND, "covered_headcount"),
    "tax_paid": (Category.TAX, "monthly_tax_paid"),
    "power": (Category.UTILITIES, "power"),
    "tax_years": (Category.TAX, "annual"),
    "statements": (Category.AUDITED_FINANCIAL_STATEMENTS, "statements"),
    "customs_years": (Category.CUSTOMS, "annual"),
}
MONTHLY = ("headcount", "housing", "tax_paid", "power")
YEARLY = ("tax_years", "statements", "customs_years")


@pytest.mark.parametrize(
    ("months", "monthly_points", "yearly_points"),
    [(0, 1, 1), (6, 6, 1), (12, 12, 1), (18, 18, 1), (19, 19, 2), (36, 24, 3)],
    ids=["latest-only", "6", "12", "18-stops-before-december", "19-reaches-december", "36"],
)
def test_history_window_applies_to_every_series(
    seeded: BureauStore, months: int, monthly_points: int, yearly_points: int
) -> None:
    # As of 2025-06-30 with 24 months seeded: a yearly point counts from 31 December.
    document = seeded.fetch(CHIP_DISTRIBUTOR_USCC, ALL, months)
    lengths = {name: len(_list(_section(document, c), key)) for name, (c, key) in SERIES.items()}
    assert lengths == {
        **dict.fromkeys(MONTHLY, monthly_points),
        **dict.fromkeys(YEARLY, yearly_points),
    }


def test_window_is_the_last_n_months_before_as_of(seeded: BureauStore) -> None:
    as_of = date(2025, 3, 20)
    document = seeded.fetch(CHIP_DISTRIBUTOR_USCC, [Category.SOCIAL_INSURANCE], 3, as_of=as_of)
    points = _list(_section(document, Category.SOCIAL_INSURANCE), "insured_headcount")
    assert [p["month"] for p in points if isinstance(p, dict)] == ["2024-12", "2025-01", "2025-02"]
    assert document["last_complete_month"] == "2025-02"


def test_a_datetime_as_of_counts_by_its_date(seeded: BureauStore) -> None:
    moment = datetime(2025, 3, 20, 23, 59, tzinfo=UTC)
    by_moment = seeded.fetch(CHIP_DISTRIBUTOR_USCC, ALL, 3, as_of=moment)
    by_day = seeded.fetch(CHIP_DISTRIBUTOR_USCC, ALL, 3, as_of=date(2025, 3, 20))
    assert by_moment == by_day


def test_records_after_as_of_are_left_out(seeded: BureauStore) -> None:
    recent = seeded.fetch(CHIP_DISTRIBUTOR_USCC, [Category.JUDICIAL], 0)
    earlier = seeded.fetch(
        CHIP_DISTRIBUTOR_USCC, [Category.JUDICIAL], 0, as_of=DEFAULT_AS_OF - timedelta(days=200)
    )
    assert len(_list(_section(recent, Category.JUDICIAL), "lawsuits")) == 2
    assert len(_list(_section(earlier, Category.JUDICIAL), "lawsuits")) == 1


def test_showcase_classes(seeded: BureauStore) -> None:
    expected = {
        CHIP_DISTRIBUTOR_USCC: SizeClass.MEDIUM,
        CATERING_CHAIN_USCC: SizeClass.MEDIUM,
        CONSTRUCTION_FIRM_USCC: SizeClass.SMALL,
    }
    for uscc, size in expected.items():
        result = seeded.classify(uscc)
        assert result.size is size, result.basis
        assert not result.missing
        for figure in result.figures:
            assert figure.source
            assert figure.period
            assert figure.as_of <= DEFAULT_AS_OF
    startup = seeded.classify(SOFTWARE_STARTUP_USCC)
    assert startup.size is None
    # Founded this year: no closed year has a December headcount, a return or a report.
    assert [m.input for m in startup.missing] == ["employees", "revenue"]
    assert startup.to_json()["missing"] == [
        {
            "input": "employees",
            "reason": "no yearly employees figure on record in social_insurance or "
            "business_registration or tax",
        },
        {
            "input": "revenue",
            "reason": "no yearly revenue figure on record in tax or audited_financial_statements "
            "or business_registration",
        },
    ]


def test_classification_follows_the_consent(seeded: BureauStore) -> None:
    # Registration and tax suffice: E and R of one year from the income tax annual return.
    narrow = seeded.fetch(CHIP_DISTRIBUTOR_USCC, [Category.BUSINESS_REGISTRATION, Category.TAX], 0)
    result = classify_document(narrow)
    assert result.size is SizeClass.MEDIUM
    assert [f.category for f in result.figures] == [Category.TAX, Category.TAX]
    assert "income tax annual return" in result.figures[0].source
    registration_only = seeded.fetch(CHIP_DISTRIBUTOR_USCC, [Category.BUSINESS_REGISTRATION], 0)
    result = classify_document(registration_only)
    assert result.size is None
    assert [m.input for m in result.missing] == ["employees", "revenue"]


def test_unknown_enterprise(seeded: BureauStore) -> None:
    stranger = make_uscc("440305", "MA5ZZZZ0".replace("Z", "Y"))
    with pytest.raises(UnknownEnterpriseError, match=stranger) as caught:
        seeded.fetch(stranger, ALL, 12)
    assert isinstance(caught.value, LookupError)
    assert caught.value.code == "unknown_enterprise"


@pytest.mark.parametrize(
    ("uscc", "categories", "months", "error"),
    [
        ("91440305MA5DKW7Q1C", ALL, 12, InvalidUSCCError),
        (CHIP_DISTRIBUTOR_USCC, ["salary"], 12, UnknownCategoryError),
        (CHIP_DISTRIBUTOR_USCC, [Category.GOVERNMENT_PROCUREMENT], 12, UnsuppliedCategoryError),
        (CHIP_DISTRIBUTOR_USCC, ALL, -1, InvalidHistoryWindowError),
    ],
    ids=["bad-uscc", "unknown-category", "unsupplied-category", "negative-window"],
)
def test_bad_requests(
    seeded: BureauStore, uscc: str, categories: list[object], months: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        seeded.fetch(uscc, categories, months)  # type: ignore[arg-type]


def test_canonical_bytes_equal_across_processes(seeded: BureauStore, seeded_url: str) -> None:
    here = seeded.fetch_canonical(CHIP_DISTRIBUTOR_USCC, ALL, 24)
    program = (
        "from consentledger.bureau import BureauStore\n"
        "from consentledger.categories import SEEDED_CATEGORIES\n"
        "import sys\n"
        f"with BureauStore.open({seeded_url!r}, must_exist=True) as store:\n"
        f"    doc = store.fetch_canonical({CHIP_DISTRIBUTOR_USCC!r}, SEEDED_CATEGORIES, 24)\n"
        "sys.stdout.write(doc.sha256_hex + ' ' + doc.data.hex())\n"
    )
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        completed = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env
        )
        digest, data = completed.stdout.split()
        assert digest == here.sha256_hex
        assert bytes.fromhex(data) == here.data


def test_same_seed_same_bytes_in_separate_databases(tmp_path: Path) -> None:
    documents = []
    digests = []
    for name in ("first.db", "second.db"):
        with BureauStore.open(sqlite_url(tmp_path / name)) as store:
            seed_store(store, enterprises=40, seed=99, progress=False)
            synthetic = store.usccs()[-1]
            documents.append(store.fetch_canonical(synthetic, ALL, 24).data)
            digests.append(store.content_digest())
    assert documents[0] == documents[1]
    assert digests[0] == digests[1]


def test_as_of_defaults_to_the_dataset(empty_store: BureauStore) -> None:
    empty_store.create_schema()
    with pytest.raises(MissingAsOfError):
        empty_store.fetch(CHIP_DISTRIBUTOR_USCC, ALL, 12)


def test_seeding_twice_needs_replace(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "twice.db")
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=5, progress=False)
        with pytest.raises(BureauAlreadySeededError, match="--replace"):
            seed_store(store, enterprises=5, progress=False)
        report = seed_store(store, enterprises=7, replace=True, progress=False)
        assert report.enterprises == 11
        assert store.enterprise_count() == 11


def test_opening_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(BureauNotSeededError, match="bureau seed"):
        BureauStore.open(sqlite_url(path), must_exist=True)
    assert not path.exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "not a valid SQLAlchemy database URL"),
        ("nosuchdialect://host/db", "not a usable database URL"),
        ("sqlite:////nonexistent-dir/sub/x.db", "unable to open database file"),
    ],
    ids=["malformed", "unknown-dialect", "unreachable-path"],
)
def test_unusable_database_urls(url: str, reason: str) -> None:
    with pytest.raises(BureauDatabaseError, match=reason) as caught:
        BureauStore.open(url)
    assert isinstance(caught.value, ConnectionError)


def test_password_is_hidden_in_errors() -> None:
    with pytest.raises(BureauDatabaseError) as caught:
        BureauStore.open("nosuchdialect://user:secret@host/db")
    assert "secret" not in str(caught.value)
