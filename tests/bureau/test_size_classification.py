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


def _document(uscc: str = "91440305MA5DKW7Q1B", **sections: JSONObject) -> JSONObject:
    return {"uscc": uscc, "as_of": "2025-06-30", "categories": dict(sections)}


def _registration(code: str, *reports: JSONObject) -> JSONObject:
    return {"source": "AMR", "name": "X", "industry_code": code, "annual_reports": list(reports)}


REGISTRATION = _registration("I6513")
SOCIAL: JSONObject = {
    "source": "SI",
    "insured_headcount": [
        {"month": "2024-12", "headcount": 11},
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
    result = classify_document(_document(business_registration=_registration("K70")))
    assert result.size is None
    assert result.missing[0].input == "sector"
    assert "4-digit class" in result.missing[0].reason


def test_document_without_tax_or_statements_misses_revenue() -> None:
    result = classify_document(
        _document(business_registration=REGISTRATION, social_insurance=SOCIAL)
    )
    assert result.size is None
    assert [(m.input, m.reason) for m in result.missing] == [
        ("revenue", "no yearly revenue figure on record in business_registration")
    ]


def test_e_and_r_come_from_one_year() -> None:
    """统计上大中小微型企业划分办法(2017): E, R (and A) of the same year; E is the December 2024
    insured headcount, not the later 2025-06 month."""
    result = classify_document(
        _document(business_registration=REGISTRATION, social_insurance=SOCIAL, tax=TAX)
    )
    assert result.size is SizeClass.SMALL  # software: E 11 >= 10, R 300 >= 50; medium needs E 100
    assert result.reference_year == 2024
    assert result.periods == {"E": "2024-12", "R": "2024"}
    employees, revenue = result.figures
    assert (employees.value, employees.period, employees.as_of) == (
        Decimal(11),
        "2024-12",
        date(2024, 12, 31),
    )
    assert (revenue.value, revenue.category, revenue.as_of) == (
        Decimal(300),
        Category.TAX,
        date(2024, 12, 31),
    )
    as_json = result.to_json()
    assert as_json["rule"] == "中小企业划型标准规定 (工信部联企业〔2011〕300号)"
    assert as_json["mapping"] == "统计上大中小微型企业划分办法(2017) (国统字〔2017〕213号)"
    assert as_json["scope"] == "in_rule"
    assert as_json["periods"] == {"E": "2024-12", "R": "2024"}


def test_the_tax_figure_wins_a_tie_and_a_later_year_wins_over_an_older_one() -> None:
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


def test_assets_and_headcount_from_the_tax_return_and_the_annual_report() -> None:
    """Construction (art. 4 (三)) needs R and A; without audited statements A comes from the
    income tax annual return (A000000) and E is not needed; leasing (art. 4 (十五)) needs E and A:
    E from the annual report to the market regulator when no December headcount is held."""
    tax: JSONObject = {
        "source": "Tax",
        "annual": [
            {
                "year": 2024,
                "credit_grade": "B",
                "taxable_revenue": "5000000.00",
                "employees": 30,
                "total_assets": "4000000.00",
            }
        ],
    }
    building = classify_document(_document(business_registration=_registration("E4710"), tax=tax))
    assert building.size is SizeClass.SMALL  # R 500 >= 300, A 400 >= 300; medium needs A 5000
    assert building.periods == {"R": "2024", "A": "2024"}
    assert "income tax annual return" in building.figures[1].source

    report: JSONObject = {
        "year": 2024,
        "employees": 120,
        "total_assets": "90000000.00",
        "revenue": "20000000.00",
    }
    leasing = classify_document(_document(business_registration=_registration("L7111", report)))
    assert leasing.size is SizeClass.MEDIUM  # E 120 >= 100, A 9000 >= 8000
    assert [f.category for f in leasing.figures] == [Category.BUSINESS_REGISTRATION] * 2
    assert leasing.periods == {"E": "2024", "A": "2024"}


def test_figures_too_old_are_refused_with_the_reason() -> None:
    """A reference year before the last two closed tax years (2024, 2023 on 2025-06-30)."""
    old: JSONObject = {
        "source": "Tax",
        "annual": [
            {"year": 2022, "credit_grade": "B", "taxable_revenue": "3000000.00", "employees": 12}
        ],
    }
    result = classify_document(_document(business_registration=REGISTRATION, tax=old))
    assert result.size is None
    assert result.reference_year == 2022
    assert "years before 2023 are too old" in result.missing[0].reason
    assert [m.input for m in result.missing] == ["employees", "revenue"]


def test_a_stale_headcount_month_is_refused() -> None:
    social: JSONObject = {
        "source": "SI",
        "insured_headcount": [{"month": "2024-10", "headcount": 12}],
    }
    result = classify_document(
        _document(business_registration=_registration("M7310"), social_insurance=social)
    )
    assert result.size is None
    assert "more than 6 months before 2025-06-30: too old" in result.missing[0].reason


SCOPES = [
    # (industry code, sector, scope): the 2017 mapping (国统字〔2017〕213号) and art. 6.
    pytest.param("G5910", Sector.TRANSPORT, "in_rule", id="G5910-loading-is-transport"),
    pytest.param("G5920", Sector.WAREHOUSING, "in_rule", id="G5920-warehousing"),
    pytest.param("G5412", Sector.TRANSPORT, "in_rule", id="G54-road-transport"),
    pytest.param("G5311", Sector.OTHER, "by_reference", id="G53-railway-excluded"),
    pytest.param("P8391", Sector.OTHER, "by_reference", id="P-education"),
    pytest.param("Q8411", Sector.OTHER, "by_reference", id="Q84-health"),
    pytest.param("Q8510", Sector.OTHER, "in_rule", id="Q85-social-work"),
    pytest.param("S9221", Sector.OTHER, "by_reference", id="S-public-administration"),
    pytest.param("K7040", Sector.OTHER, "by_reference", id="K7040-own-property"),
    pytest.param("K7030", Sector.OTHER, "in_rule", id="K7030-agency"),
    pytest.param("M7310", Sector.OTHER, "in_rule", id="M-unlisted-other"),
]


@pytest.mark.parametrize(("code", "sector", "scope"), SCOPES)
def test_scope_of_the_rule(code: str, sector: Sector, scope: str) -> None:
    social: JSONObject = {
        "source": "SI",
        "insured_headcount": [{"month": "2024-12", "headcount": 5}],
    }
    tax: JSONObject = {
        "source": "Tax",
        "annual": [{"year": 2024, "credit_grade": "B", "taxable_revenue": "1000000.00"}],
    }
    doc = _document(business_registration=_registration(code), social_insurance=social, tax=tax)
    result = classify_document(doc)
    assert result.sector is sector
    assert result.to_json()["scope"] == scope
    assert result.size is SizeClass.MICRO
    assert result.basis.startswith("by reference (art. 6)") == (scope == "by_reference")


def test_finance_is_outside_the_2011_rules() -> None:
    """Section J is classified under 银发〔2015〕309号 by average quarter-end total assets,
    which the bureau does not hold: no class, the rule named."""
    result = classify_document(
        _document(business_registration=_registration("J6635"), social_insurance=SOCIAL, tax=TAX)
    )
    assert result.size is None
    as_json = result.to_json()
    assert as_json["scope"] == "outside_rule"
    assert as_json["rule"] == "金融业企业划型标准规定 (银发〔2015〕309号)"
    assert "outside the 2011 rules" in result.basis


def test_individual_business_is_classified_by_reference() -> None:
    """个体工商户 (USCC 92...) are classified by reference (art. 6 of the 2011 rules)."""
    from consentledger.bureau.uscc import make_uscc

    uscc = make_uscc("440300", "MA5H8REU", entity_type="2")
    result = classify_document(
        _document(uscc, business_registration=REGISTRATION, social_insurance=SOCIAL, tax=TAX)
    )
    assert result.size is SizeClass.SMALL
    assert result.to_json()["scope"] == "by_reference"
    assert "个体工商户" in (result.scope_note or "")
