"""Document values, canonical bytes, month arithmetic and the history-window rule."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from consentledger.bureau.documents import (
    JSONValue,
    NotCanonicalizableError,
    canonical_bytes,
    canonicalize,
    format_fen,
    last_complete_month,
    month_end,
    month_index,
    month_label,
    parse_month_label,
)
from consentledger.bureau.history import (
    InvalidHistoryWindowError,
    points_outside_window,
    select_window,
)
from consentledger.bureau.store import BureauStore
from consentledger.categories import SEEDED_CATEGORIES


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (100, "1.00"), (123456, "1234.56"), (-1, "-0.01"), (-250, "-2.50")],
    ids=["zero", "fen", "yuan", "thousands", "minus-fen", "minus-yuan"],
)
def test_format_fen(fen: int, text: str) -> None:
    assert format_fen(fen) == text


def test_canonical_bytes_golden() -> None:
    document: JSONValue = {"b": [1, True, None], "a": "深圳", "c": {"y": "1.00", "x": 0}}
    expected = '{"a":"深圳","b":[1,true,null],"c":{"x":0,"y":"1.00"}}'.encode()
    assert canonical_bytes(document) == expected
    canonical = canonicalize(document)
    assert canonical.data == expected
    assert canonical.sha256_hex == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"amount": 1.5}, "$.amount"),
        ({"list": [1, 2, 0.1]}, "$.list[2]"),
        ({"big": 2**53}, "$.big"),
        ({"when": date(2025, 1, 1)}, "$.when"),
    ],
    ids=["float", "nested-float", "unsafe-int", "date-object"],
)
def test_non_canonical_values_are_refused(document: object, path: str) -> None:
    with pytest.raises(NotCanonicalizableError, match=path.replace("$", r"\$").replace("[", r"\[")):
        canonical_bytes(document)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("as_of", "label"),
    [
        (date(2025, 6, 30), "2025-06"),
        (date(2025, 6, 29), "2025-05"),
        (date(2025, 1, 1), "2024-12"),
        (date(2024, 2, 29), "2024-02"),
        (date(2023, 2, 28), "2023-02"),
    ],
    ids=["month-end", "day-before-month-end", "new-year", "leap-february", "february"],
)
def test_last_complete_month(as_of: date, label: str) -> None:
    assert month_label(last_complete_month(as_of)) == label


def test_month_helpers_round_trip() -> None:
    index = month_index(date(2024, 2, 10))
    assert month_label(index) == "2024-02"
    assert parse_month_label("2024-02") == index
    assert month_end(index) == date(2024, 2, 29)
    for bad in ("2024-2", "2024-13", "24-02", "2024-02-01", "\uff12\uff10\uff12\uff14-02"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_month_label(bad)


# A monthly series from 2023-07 to 2025-06, and yearly points 2022-2024 (end month December).
MONTHS = list(range(month_index(date(2023, 7, 1)), month_index(date(2025, 6, 1)) + 1))
YEARS = [2022, 2023, 2024]


def _labels(points: list[int]) -> list[str]:
    return [month_label(p) for p in points]


WINDOWS = [
    (date(2025, 6, 30), 0, ["2025-06"], [2024]),
    (date(2025, 6, 30), 1, ["2025-06"], [2024]),
    (date(2025, 6, 30), 3, ["2025-04", "2025-05", "2025-06"], [2024]),
    (date(2025, 6, 30), 12, [month_label(m) for m in MONTHS[-12:]], [2024]),
    (date(2025, 6, 30), 18, [month_label(m) for m in MONTHS[-18:]], [2024]),
    (date(2025, 6, 30), 24, [month_label(m) for m in MONTHS], [2023, 2024]),
    (date(2025, 6, 30), 100, [month_label(m) for m in MONTHS], [2022, 2023, 2024]),
    (date(2025, 6, 15), 2, ["2025-04", "2025-05"], [2024]),
    (date(2024, 12, 31), 0, ["2024-12"], [2024]),
    (date(2024, 12, 30), 0, ["2024-11"], [2023]),
    (date(2027, 1, 31), 6, ["2025-06"], [2024]),
    (date(2023, 6, 30), 12, [], [2022]),
]


@pytest.mark.parametrize(
    ("as_of", "months", "monthly", "yearly"),
    WINDOWS,
    ids=[
        "zero-is-latest-only",
        "one-month",
        "three-months",
        "twelve",
        "eighteen",
        "twenty-four",
        "wider-than-data",
        "mid-month-excludes-current",
        "year-end",
        "day-before-year-end",
        "stale-series-keeps-latest",
        "before-monthly-data",
    ],
)
def test_history_window(as_of: date, months: int, monthly: list[str], yearly: list[int]) -> None:
    assert _labels(select_window(MONTHS, lambda m: m, as_of, months)) == monthly
    assert select_window(YEARS, lambda y: y * 12 + 11, as_of, months) == yearly


@pytest.mark.parametrize("months", [-1, True, 1.5, "3"], ids=["negative", "bool", "float", "str"])
def test_history_window_must_be_whole_months(months: object) -> None:
    with pytest.raises(InvalidHistoryWindowError):
        select_window(MONTHS, lambda m: m, date(2025, 6, 30), months)  # type: ignore[arg-type]


@pytest.mark.parametrize("months", [0, 1, 12, 36])
def test_every_document_the_bureau_releases_holds_only_points_its_window_shows(
    seeded: BureauStore, months: int
) -> None:
    """The after-the-fact check (the auditor's) agrees with the cut the bureau makes."""
    for uscc in seeded.usccs()[:5]:
        document = seeded.fetch(uscc, list(SEEDED_CATEGORIES), months)
        as_of = date.fromisoformat(str(document["as_of"]))
        assert points_outside_window(document["categories"], as_of, months) == []  # type: ignore[arg-type]


def test_points_outside_the_window_are_named() -> None:
    sections = {
        "tax": {
            "monthly_tax_paid": [{"month": "2023-01", "amount": "1.00"}]
            + [{"month": f"2025-0{m}", "amount": "1.00"} for m in range(1, 7)],
            "annual": [{"year": 2021}, {"year": 2024}],
            "penalties": [{"decided_on": "2019-01-01"}],
        },
        "registration": {"shareholders": [{"name": "A"}], "annual_reports": []},
        "statements": {"statements": [{"fiscal_year": 2022}, {"fiscal_year": 2026}]},
    }
    outside = points_outside_window(sections, date(2025, 6, 30), 6)
    assert [str(p) for p in outside] == [
        "tax.monthly_tax_paid month 2023-01",
        "tax.annual year 2021",
        "statements.statements fiscal_year 2026",
    ]
    assert points_outside_window(sections, date(2025, 6, 30), 60) == outside[2:]


def test_an_unreadable_period_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        points_outside_window({"tax": {"monthly": [{"month": "June"}]}}, date(2025, 6, 30), 12)
