"""Size classification: every sector just below, at and above every threshold, and missing data.

The expected thresholds come from the rules table as printed in domain.md, pasted below and
parsed here, so the test does not share the implementation's encoding of the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from consentledger.bureau.classification import (
    Figure,
    Measure,
    MissingFigureError,
    SizeClass,
    classify_document,
    classify_figures,
    size_class,
    size_class_with_basis,
)
from consentledger.bureau.documents import JSONObject
from consentledger.bureau.industry import Sector
from consentledger.categories import Category

RULES_TABLE = """
| agriculture, forestry, animal husbandry, fishery | R < 20000 | R >= 500 | R >= 50 | R < 50 |
| industry | E < 1000 or R < 40000 | E >= 300, R >= 2000 | E >= 20, R >= 300 | below small |
| construction | R < 80000 or A < 80000 | R >= 6000, A >= 5000 | R >= 300, A >= 300 | below small |
| wholesale | E < 200 or R < 40000 | E >= 20, R >= 5000 | E >= 5, R >= 1000 | below small |
| retail | E < 300 or R < 20000 | E >= 50, R >= 500 | E >= 10, R >= 100 | below small |
| transport | E < 1000 or R < 30000 | E >= 300, R >= 3000 | E >= 20, R >= 200 | below small |
| warehousing | E < 200 or R < 30000 | E >= 100, R >= 1000 | E >= 20, R >= 100 | below small |
| postal | E < 1000 or R < 30000 | E >= 300, R >= 2000 | E >= 20, R >= 100 | below small |
| accommodation | E < 300 or R < 10000 | E >= 100, R >= 2000 | E >= 10, R >= 100 | below small |
| catering | E < 300 or R < 10000 | E >= 100, R >= 2000 | E >= 10, R >= 100 | below small |
| information transmission | E < 2000 or R < 100000 | E >= 100, R >= 1000 | E >= 10, R >= 100 | below small |
| software and IT services | E < 300 or R < 10000 | E >= 100, R >= 1000 | E >= 10, R >= 50 | below small |
| real-estate development | R < 200000 or A < 10000 | R >= 1000, A >= 5000 | R >= 100, A >= 2000 | below small |
| property management | E < 1000 or R < 5000 | E >= 300, R >= 1000 | E >= 100, R >= 500 | below small |
| leasing and business services | E < 300 or A < 120000 | E >= 100, A >= 8000 | E >= 10, A >= 100 | below small |
| other sectors | E < 300 | E >= 100 | E >= 10 | E < 10 |
"""  # noqa: E501 (the table as domain.md prints it)

TABLE_NAMES = {
    "agriculture, forestry, animal husbandry, fishery": Sector.AGRICULTURE,
    "industry": Sector.INDUSTRY,
    "construction": Sector.CONSTRUCTION,
    "wholesale": Sector.WHOLESALE,
    "retail": Sector.RETAIL,
    "transport": Sector.TRANSPORT,
    "warehousing": Sector.WAREHOUSING,
    "postal": Sector.POSTAL,
    "accommodation": Sector.ACCOMMODATION,
    "catering": Sector.CATERING,
    "information transmission": Sector.INFORMATION_TRANSMISSION,
    "software and IT services": Sector.SOFTWARE_IT_SERVICES,
    "real-estate development": Sector.REAL_ESTATE_DEVELOPMENT,
    "property management": Sector.PROPERTY_MANAGEMENT,
    "leasing and business services": Sector.LEASING_BUSINESS_SERVICES,
    "other sectors": Sector.OTHER,
}
LETTERS = {"E": Measure.EMPLOYEES, "R": Measure.REVENUE, "A": Measure.TOTAL_ASSETS}
# The smallest step of each figure: a person; one fen is 0.000001 of 10,000 yuan.
STEP = {
    Measure.EMPLOYEES: Decimal(1),
    Measure.REVENUE: Decimal("0.000001"),
    Measure.TOTAL_ASSETS: Decimal("0.000001"),
}
LOWER = {SizeClass.LARGE: SizeClass.MEDIUM, SizeClass.MEDIUM: SizeClass.SMALL}


def _thresholds(cell: str) -> dict[Measure, Decimal]:
    return {LETTERS[m]: Decimal(v) for m, v in re.findall(r"([ERA]) (?:<|>=) (\d+)", cell)}


def _parse_table() -> dict[Sector, dict[SizeClass, dict[Measure, Decimal]]]:
    rules = {}
    for line in RULES_TABLE.strip().splitlines():
        name, ceiling, medium, small, _micro = (cell.strip() for cell in line.strip("|").split("|"))
        rules[TABLE_NAMES[name]] = {
            SizeClass.LARGE: _thresholds(ceiling),
            SizeClass.MEDIUM: _thresholds(medium),
            SizeClass.SMALL: _thresholds(small),
        }
    return rules


TABLE = _parse_table()


@dataclass(frozen=True)
class Case:
    sector: Sector
    values: dict[Measure, Decimal]
    expected: SizeClass
    label: str


def _cases() -> list[Case]:
    cases = []
    for sector, tiers in TABLE.items():
        for tier, thresholds in tiers.items():
            cases.append(Case(sector, dict(thresholds), tier, f"{sector}-{tier}-at"))
            above = {m: v + STEP[m] for m, v in thresholds.items()}
            cases.append(Case(sector, above, tier, f"{sector}-{tier}-above"))
            for measure in thresholds:
                below = dict(thresholds)
                below[measure] -= STEP[measure]
                lower = LOWER.get(tier, SizeClass.MICRO)
                cases.append(
                    Case(sector, below, lower, f"{sector}-{tier}-{LETTERS_BACK[measure]}-below")
                )
        zero = dict.fromkeys(tiers[SizeClass.SMALL], Decimal(0))
        cases.append(Case(sector, zero, SizeClass.MICRO, f"{sector}-zero"))
    return cases


LETTERS_BACK = {v: k for k, v in LETTERS.items()}
CASES = _cases()


def test_the_table_covers_all_sixteen_sectors() -> None:
    assert set(TABLE) == set(Sector)
    assert len(CASES) > 16 * 6


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_thresholds(case: Case) -> None:
    assert size_class(case.sector, case.values) is case.expected


def test_large_needs_every_ceiling_figure() -> None:
    # Far above the ceiling in headcount alone is not large: revenue below 40,000 keeps an SME.
    values = {Measure.EMPLOYEES: Decimal(50_000), Measure.REVENUE: Decimal(39_999)}
    assert size_class(Sector.INDUSTRY, values) is SizeClass.MEDIUM


def test_medium_and_small_need_both_figures() -> None:
    many_people_little_revenue = {Measure.EMPLOYEES: Decimal(900), Measure.REVENUE: Decimal(10)}
    assert size_class(Sector.INDUSTRY, many_people_little_revenue) is SizeClass.MICRO


def test_basis_explains_the_decision() -> None:
    values = {Measure.EMPLOYEES: Decimal(46), Measure.REVENUE: Decimal("32680.00")}
    size, basis = size_class_with_basis(Sector.WHOLESALE, values)
    assert size is SizeClass.MEDIUM
    assert "E 46 < 200" in basis
    assert "R 32680 >= 5000" in basis


# --- missing inputs -------------------------------------------------------------------------


def _figure(measure: Measure, value: str) -> Figure:
    category = Category.SOCIAL_INSURANCE if measure is Measure.EMPLOYEES else Category.TAX
    return Figure(measure, Decimal(value), category, "a department", "2024", date(2024, 12, 31))


MISSING = [
    pytest.param(sector, missing, id=f"{sector}-without-{LETTERS_BACK[missing]}")
    for sector, tiers in TABLE.items()
    for missing in tiers[SizeClass.SMALL]
]


@pytest.mark.parametrize(("sector", "missing"), MISSING)
def test_a_missing_figure_is_named_not_guessed(sector: Sector, missing: Measure) -> None:
    figures = [_figure(m, "1000000") for m in LETTERS.values() if m is not missing]
    result = classify_figures(sector, figures, missing_reasons={missing: "not on record"})
    assert result.size is None
    assert result.sector is sector
    assert [(m.input, m.reason) for m in result.missing] == [(missing.value, "not on record")]
    assert missing not in {f.measure for f in result.figures}
    with pytest.raises(MissingFigureError, match=missing.value):
        size_class(sector, {f.measure: f.value for f in figures})


def test_figures_the_rule_does_not_use_are_dropped() -> None:
    figures = [_figure(m, "50") for m in LETTERS.values()]
    result = classify_figures(Sector.OTHER, figures)
    assert result.size is SizeClass.SMALL
    assert [f.measure for f in result.figures] == [Measure.EMPLOYEES]
    assert result.to_json()["size"] == "small"


def _document(**sections: JSONObject) -> JSONObject:
    return {"uscc": "91440305MA5DKW7Q1B", "as_of": "2025-06-30", "categories": dict(sections)}


REGISTRATION: JSONObject = {"source": "AMR", "name": "X", "industry_code": "I6513"}
SOCIAL: JSONObject = {
    "source": "SI",
    "insured_headcount": [
        {"month": "2025-05", "headcount": 12},
        {"month": "2025-06", "headcount": 14},
    ],
}
TAX: JSONObject = {
    "source": "Tax",
    "annual": [{"year": 2024, "credit_grade": "B", "taxable_revenue": "3000000.00"}],
}


def test_document_without_registration_misses_the_sector() -> None:
    result = classify_document(_document(social_insurance=SOCIAL, tax=TAX))
    assert result.size is None
    assert [m.input for m in result.missing] == ["sector"]


def test_document_with_a_coarse_industry_code_misses_the_sector() -> None:
    registration: JSONObject = {**REGISTRATION, "industry_code": "K70"}
    result = classify_document(_document(business_registration=registration))
    assert result.size is None
    assert result.missing[0].input == "sector"
    assert "4-digit class" in result.missing[0].reason


def test_document_without_tax_or_statements_misses_revenue() -> None:
    result = classify_document(
        _document(business_registration=REGISTRATION, social_insurance=SOCIAL)
    )
    assert result.size is None
    assert [(m.input, m.reason) for m in result.missing] == [
        ("revenue", "neither tax nor audited_financial_statements is in the document")
    ]
    assert [f.value for f in result.figures] == [Decimal(14)]


def test_document_classifies_from_latest_month_and_latest_year() -> None:
    result = classify_document(
        _document(business_registration=REGISTRATION, social_insurance=SOCIAL, tax=TAX)
    )
    assert result.size is SizeClass.SMALL  # software: E 14 >= 10, R 300 >= 50; medium needs E 100
    employees, revenue = result.figures
    assert (employees.value, employees.period, employees.as_of) == (
        Decimal(14),
        "2025-06",
        date(2025, 6, 30),
    )
    assert (revenue.value, revenue.category, revenue.as_of) == (
        Decimal(300),
        Category.TAX,
        date(2024, 12, 31),
    )


def test_a_later_audited_year_wins_over_tax_and_tax_wins_a_tie() -> None:
    audited: JSONObject = {
        "source": "CPA",
        "statements": [
            {"fiscal_year": 2024, "revenue": "9000000.00", "total_assets": "1.00"},
        ],
    }
    tie = classify_document(
        _document(
            business_registration=REGISTRATION,
            social_insurance=SOCIAL,
            tax=TAX,
            audited_financial_statements=audited,
        )
    )
    assert tie.figures[1].category is Category.TAX
    old_tax: JSONObject = {
        "source": "Tax",
        "annual": [{"year": 2023, "credit_grade": "B", "taxable_revenue": "3000000.00"}],
    }
    later = classify_document(
        _document(
            business_registration=REGISTRATION,
            social_insurance=SOCIAL,
            tax=old_tax,
            audited_financial_statements=audited,
        )
    )
    assert later.figures[1].category is Category.AUDITED_FINANCIAL_STATEMENTS
    assert later.figures[1].value == Decimal(900)
