"""Publication periods and credit repair for administrative penalties, applied at read time.

Expected values follow 市场监督管理行政处罚信息公示规定 (SAMR Order 2021 No. 45: 3 years, minor
penalties 3 months) and 失信行为纠正后的信用信息修复管理办法（试行） (NDRC Order 2023 No. 58:
credit repair ends publication early).
"""

from __future__ import annotations

from datetime import date

import pytest

from consentledger.bureau.documents import JSONObject
from consentledger.bureau.publication import (
    add_months,
    penalty_published,
    penalty_published_until,
)
from consentledger.bureau.rows import BatchBuilder
from consentledger.bureau.store import BureauStore
from consentledger.bureau.uscc import make_uscc
from consentledger.categories import Category

DECIDED = date(2022, 3, 15)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2022, 3, 15), 3, date(2022, 6, 15)),
        (date(2025, 5, 31), 3, date(2025, 8, 31)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2024, 2, 29), 36, date(2027, 2, 28)),
        (date(2022, 10, 1), 3, date(2023, 1, 1)),
    ],
    ids=["plain", "31st", "to-february", "leap-day-3y", "over-new-year"],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("as_of", "minor", "repaired", "published"),
    [
        pytest.param(date(2025, 3, 14), False, None, True, id="3y-last-day"),
        pytest.param(date(2025, 3, 15), False, None, False, id="3y-ended"),
        pytest.param(date(2022, 6, 14), True, None, True, id="minor-last-day"),
        pytest.param(date(2022, 6, 15), True, None, False, id="minor-3-months-ended"),
        pytest.param(date(2023, 1, 9), False, date(2023, 1, 10), True, id="before-repair"),
        pytest.param(date(2023, 1, 10), False, date(2023, 1, 10), False, id="repaired"),
        pytest.param(date(2022, 3, 14), False, None, False, id="not-yet-decided"),
    ],
)
def test_publication_window(
    as_of: date, minor: bool, repaired: date | None, published: bool
) -> None:
    assert penalty_published(DECIDED, as_of, minor=minor, repaired_on=repaired) is published


def test_published_until() -> None:
    assert penalty_published_until(DECIDED, minor=False, repaired_on=None) == date(2025, 3, 15)
    assert penalty_published_until(DECIDED, minor=True, repaired_on=None) == date(2022, 6, 15)
    repaired = date(2023, 1, 10)
    assert penalty_published_until(DECIDED, minor=False, repaired_on=repaired) == repaired


def test_the_document_leaves_out_what_is_no_longer_published(empty_store: BureauStore) -> None:
    empty_store.create_schema()
    builder = BatchBuilder()
    uscc = make_uscc("440300", "MA5H8REU")
    eid = builder.enterprise(
        uscc=uscc,
        name="深圳市某某贸易有限公司",
        legal_representative="张三",
        registered_capital_fen=100_000_000,
        founded=date(2015, 5, 4),
        status="in_operation",
        industry_code="F5179",
        district_code="440304",
        address="深圳市福田区",
    )
    records = [
        ("old", date(2021, 6, 1), False, None),  # 3 years ended 2024-06-01
        ("recent", date(2024, 1, 10), False, None),  # published until 2027-01-10
        ("minor-old", date(2025, 1, 10), True, None),  # 3 months ended 2025-04-10
        ("minor-new", date(2025, 5, 2), True, None),  # published until 2025-08-02
        ("repaired", date(2023, 8, 1), False, date(2024, 8, 1)),  # credit repair
        ("repair-later", date(2023, 9, 1), False, date(2025, 9, 1)),  # repair after as-of
    ]
    for reference, decided, minor, repaired in records:
        builder.administrative_record(
            enterprise=eid,
            kind="penalty",
            reference=reference,
            authority="深圳市市场监督管理局福田监管局",
            reason="r",
            amount_fen=500_000,
            dated_on=decided,
            minor=minor,
            removed_on=repaired,
        )
    empty_store.bulk_insert([builder.take()])
    document = empty_store.fetch(
        uscc, [Category.ADMINISTRATIVE_PENALTIES], 0, as_of=date(2025, 6, 30)
    )
    categories = document["categories"]
    assert isinstance(categories, dict)
    section = categories["administrative_penalties"]
    assert isinstance(section, dict)
    penalties = section["penalties"]
    assert isinstance(penalties, list)
    shown = {str(p["decision_no"]): p for p in penalties if isinstance(p, dict)}
    assert sorted(shown) == ["minor-new", "recent", "repair-later"]
    assert shown["minor-new"]["published_until"] == "2025-08-02"
    assert shown["recent"]["published_until"] == "2027-01-10"
    publication = section["publication"]
    assert isinstance(publication, dict)
    expected: JSONObject = {"penalty_years": 3, "minor_penalty_months": 3}
    assert {k: publication[k] for k in expected} == expected
    assert "SAMR Order 2021 No. 45" in str(publication["rule"])
