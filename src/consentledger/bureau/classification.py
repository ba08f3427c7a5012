"""Enterprise size classification under the 2011 SME rules (MIIT and others, Qiye [2011] No. 300).

Inputs are the sector (from the industry code), employees ``E`` (insured headcount of the latest
social-insurance month), revenue ``R`` in 10,000 yuan (the latest tax year's taxable revenue or the
latest audited revenue, whichever year is later; the tax figure on a tie) and total assets ``A`` in
10,000 yuan (latest audited statement) where the sector's rule needs them.

For every sector the rule is read the same way, with Decimal arithmetic only:

* **large**: every SME-ceiling figure is reached (an enterprise is an SME when it is below *either*
  ceiling figure);
* **medium**: otherwise, when *both* medium figures are reached;
* **small**: otherwise, when *both* small figures are reached;
* **micro**: everything below small.

Nothing is guessed: when the sector or a figure the sector's rule needs is missing, the result has
``size=None`` and lists each missing input with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from consentledger.bureau.documents import (
    JSONArray,
    JSONObject,
    JSONValue,
    format_decimal,
    month_end,
    month_label,
    parse_amount,
    parse_month_label,
)
from consentledger.bureau.industry import (
    IndustryCodeTooCoarseError,
    InvalidIndustryCodeError,
    Sector,
    sector_of,
)
from consentledger.categories import Category
from consentledger.errors import ConsentLedgerError

TEN_THOUSAND = Decimal(10000)


class SizeClass(StrEnum):
    """Enterprise size classes, largest first."""

    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


class Measure(StrEnum):
    """The figures the size rules use."""

    EMPLOYEES = "employees"
    REVENUE = "revenue"
    TOTAL_ASSETS = "total_assets"

    @property
    def symbol(self) -> str:
        """The rules' letter: E, R or A."""
        return {"employees": "E", "revenue": "R", "total_assets": "A"}[self.value]

    @property
    def unit(self) -> str:
        """``persons`` for E, ``10k CNY`` (10,000 yuan) for R and A."""
        return "persons" if self is Measure.EMPLOYEES else "10k CNY"


_E, _R, _A = Measure.EMPLOYEES, Measure.REVENUE, Measure.TOTAL_ASSETS


@dataclass(frozen=True, slots=True)
class SizeRule:
    """One sector's row of the rules table: ceiling, medium and small thresholds per measure."""

    sector: Sector
    ceiling: Mapping[Measure, Decimal]
    medium: Mapping[Measure, Decimal]
    small: Mapping[Measure, Decimal]

    @property
    def measures(self) -> tuple[Measure, ...]:
        """The measures this sector's rule uses, in E, R, A order."""
        return tuple(m for m in Measure if m in self.ceiling)


def _rule(
    sector: Sector,
    ceiling: dict[Measure, int],
    medium: dict[Measure, int],
    small: dict[Measure, int],
) -> SizeRule:
    def frozen(thresholds: dict[Measure, int]) -> Mapping[Measure, Decimal]:
        return MappingProxyType({m: Decimal(v) for m, v in thresholds.items()})

    if not set(ceiling) == set(medium) == set(small):
        raise AssertionError(f"{sector}: every tier must use the same measures")
    return SizeRule(sector, frozen(ceiling), frozen(medium), frozen(small))


#: The 2011 rules table (domain.md): R and A in 10,000 yuan.
SIZE_RULES: Mapping[Sector, SizeRule] = MappingProxyType(
    {
        r.sector: r
        for r in (
            _rule(Sector.AGRICULTURE, {_R: 20000}, {_R: 500}, {_R: 50}),
            _rule(Sector.INDUSTRY, {_E: 1000, _R: 40000}, {_E: 300, _R: 2000}, {_E: 20, _R: 300}),
            _rule(
                Sector.CONSTRUCTION,
                {_R: 80000, _A: 80000},
                {_R: 6000, _A: 5000},
                {_R: 300, _A: 300},
            ),
            _rule(Sector.WHOLESALE, {_E: 200, _R: 40000}, {_E: 20, _R: 5000}, {_E: 5, _R: 1000}),
            _rule(Sector.RETAIL, {_E: 300, _R: 20000}, {_E: 50, _R: 500}, {_E: 10, _R: 100}),
            _rule(Sector.TRANSPORT, {_E: 1000, _R: 30000}, {_E: 300, _R: 3000}, {_E: 20, _R: 200}),
            _rule(Sector.WAREHOUSING, {_E: 200, _R: 30000}, {_E: 100, _R: 1000}, {_E: 20, _R: 100}),
            _rule(Sector.POSTAL, {_E: 1000, _R: 30000}, {_E: 300, _R: 2000}, {_E: 20, _R: 100}),
            _rule(
                Sector.ACCOMMODATION, {_E: 300, _R: 10000}, {_E: 100, _R: 2000}, {_E: 10, _R: 100}
            ),
            _rule(Sector.CATERING, {_E: 300, _R: 10000}, {_E: 100, _R: 2000}, {_E: 10, _R: 100}),
            _rule(
                Sector.INFORMATION_TRANSMISSION,
                {_E: 2000, _R: 100000},
                {_E: 100, _R: 1000},
                {_E: 10, _R: 100},
            ),
            _rule(
                Sector.SOFTWARE_IT_SERVICES,
                {_E: 300, _R: 10000},
                {_E: 100, _R: 1000},
                {_E: 10, _R: 50},
            ),
            _rule(
                Sector.REAL_ESTATE_DEVELOPMENT,
                {_R: 200000, _A: 10000},
                {_R: 1000, _A: 5000},
                {_R: 100, _A: 2000},
            ),
            _rule(
                Sector.PROPERTY_MANAGEMENT,
                {_E: 1000, _R: 5000},
                {_E: 300, _R: 1000},
                {_E: 100, _R: 500},
            ),
            _rule(
                Sector.LEASING_BUSINESS_SERVICES,
                {_E: 300, _A: 120000},
                {_E: 100, _A: 8000},
                {_E: 10, _A: 100},
            ),
            _rule(Sector.OTHER, {_E: 300}, {_E: 100}, {_E: 10}),
        )
    }
)


class MissingFigureError(ConsentLedgerError, LookupError):
    """A figure the sector's rule needs was not given."""

    code = "missing_size_figure"

    def __init__(self, sector: Sector, missing: Iterable[Measure]) -> None:
        self.sector = sector
        self.missing = tuple(missing)
        names = ", ".join(f"{m.value} ({m.symbol})" for m in self.missing)
        super().__init__(f"classifying a {sector.value} enterprise needs {names}")


def _fmt(value: Decimal) -> str:
    return (
        format_decimal(value.normalize()) if value == value.to_integral() else format_decimal(value)
    )


def _compare(values: Mapping[Measure, Decimal], thresholds: Mapping[Measure, Decimal]) -> str:
    parts = []
    for measure, threshold in thresholds.items():
        op = ">=" if values[measure] >= threshold else "<"
        parts.append(f"{measure.symbol} {_fmt(values[measure])} {op} {_fmt(threshold)}")
    return ", ".join(parts)


def size_class_with_basis(
    sector: Sector, values: Mapping[Measure, Decimal]
) -> tuple[SizeClass, str]:
    """The size class for the sector and figures, and a one-line explanation of why.

    ``values`` maps measures to Decimals (R and A in 10,000 yuan). Raises
    :class:`MissingFigureError` if the sector's rule needs a measure that is absent.
    """
    rule = SIZE_RULES[sector]
    missing = [m for m in rule.measures if m not in values]
    if missing:
        raise MissingFigureError(sector, missing)

    def reaches(thresholds: Mapping[Measure, Decimal]) -> bool:
        return all(values[m] >= t for m, t in thresholds.items())

    if reaches(rule.ceiling):
        return (
            SizeClass.LARGE,
            f"reaches every SME-ceiling figure ({_compare(values, rule.ceiling)})",
        )
    below = f"below the SME ceiling ({_compare(values, rule.ceiling)})"
    if reaches(rule.medium):
        return (
            SizeClass.MEDIUM,
            f"{below}; meets the medium figures ({_compare(values, rule.medium)})",
        )
    not_medium = f"{below}; not medium ({_compare(values, rule.medium)})"
    if reaches(rule.small):
        return (
            SizeClass.SMALL,
            f"{not_medium}; meets the small figures ({_compare(values, rule.small)})",
        )
    return SizeClass.MICRO, f"{not_medium}; not small ({_compare(values, rule.small)})"


def size_class(sector: Sector, values: Mapping[Measure, Decimal]) -> SizeClass:
    """The size class for the sector and figures (see :func:`size_class_with_basis`)."""
    return size_class_with_basis(sector, values)[0]


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure used for classification, with where it came from and how old it is."""

    measure: Measure
    value: Decimal
    category: Category
    source: str
    period: str
    as_of: date

    def to_json(self) -> JSONObject:
        """The figure as JSON-ready data (value as a decimal string)."""
        return {
            "measure": self.measure.value,
            "symbol": self.measure.symbol,
            "value": format_decimal(self.value),
            "unit": self.measure.unit,
            "category": self.category.slug,
            "source": self.source,
            "period": self.period,
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class MissingInput:
    """An input the classification needed and did not have."""

    input: str
    reason: str

    def to_json(self) -> JSONObject:
        """The missing input as JSON-ready data."""
        return {"input": self.input, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class SizeClassification:
    """The outcome: a size class, or ``size=None`` with the missing inputs listed."""

    size: SizeClass | None
    sector: Sector | None
    industry_code: str | None
    figures: tuple[Figure, ...]
    missing: tuple[MissingInput, ...]
    basis: str
    uscc: str | None = None
    name: str | None = None
    as_of: date | None = None
    rule: SizeRule | None = field(default=None, repr=False)

    def to_json(self) -> JSONObject:
        """The classification as JSON-ready data (Decimals as strings, dates ISO 8601)."""
        figures: JSONArray = [f.to_json() for f in self.figures]
        missing: JSONArray = [m.to_json() for m in self.missing]
        return {
            "uscc": self.uscc,
            "name": self.name,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "size": self.size.value if self.size else None,
            "sector": self.sector.value if self.sector else None,
            "industry_code": self.industry_code,
            "figures": figures,
            "missing": missing,
            "basis": self.basis,
        }


def classify_figures(
    sector: Sector,
    figures: Iterable[Figure],
    *,
    industry_code: str | None = None,
    missing_reasons: Mapping[Measure, str] | None = None,
    uscc: str | None = None,
    name: str | None = None,
    as_of: date | None = None,
) -> SizeClassification:
    """Classify from sourced figures; a figure the rule needs and lacks makes ``size=None``.

    ``missing_reasons`` may explain, per measure, why a figure is absent; figures for measures the
    sector's rule does not use are dropped from the result.
    """
    rule = SIZE_RULES[sector]
    by_measure = {f.measure: f for f in figures if f.measure in rule.measures}
    reasons = missing_reasons or {}
    missing = tuple(
        MissingInput(m.value, reasons.get(m, f"no {m.value} figure given"))
        for m in rule.measures
        if m not in by_measure
    )
    used = tuple(by_measure[m] for m in rule.measures if m in by_measure)
    if missing:
        needs = ", ".join(f"{m.value} ({m.symbol})" for m in rule.measures)
        basis = f"cannot classify: a {sector.value} enterprise is classified by {needs}"
        size: SizeClass | None = None
    else:
        size, basis = size_class_with_basis(sector, {m: f.value for m, f in by_measure.items()})
    return SizeClassification(
        size=size,
        sector=sector,
        industry_code=industry_code,
        figures=used,
        missing=missing,
        basis=basis,
        uscc=uscc,
        name=name,
        as_of=as_of,
        rule=rule,
    )


class MalformedDocumentError(ConsentLedgerError, ValueError):
    """A bureau document that does not have the expected shape."""

    code = "malformed_document"

    def __init__(self, path: str, expected: str) -> None:
        self.path = path
        super().__init__(f"bureau document: expected {expected} at {path}")


def _obj(value: JSONValue, path: str) -> JSONObject:
    if not isinstance(value, dict):
        raise MalformedDocumentError(path, "an object")
    return value


def _arr(value: JSONValue, path: str) -> JSONArray:
    if not isinstance(value, list):
        raise MalformedDocumentError(path, "an array")
    return value


def _str(value: JSONValue, path: str) -> str:
    if not isinstance(value, str):
        raise MalformedDocumentError(path, "a string")
    return value


def _int(value: JSONValue, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedDocumentError(path, "an integer")
    return value


def _amount(value: JSONValue, path: str) -> Decimal:
    try:
        return parse_amount(_str(value, path))
    except ValueError:
        raise MalformedDocumentError(path, "a decimal amount string") from None


def _year_end(year: int) -> date:
    return date(year, 12, 31)


def _employees(section: JSONObject, path: str) -> Figure | None:
    latest: tuple[int, int] | None = None
    for i, point in enumerate(_arr(section.get("insured_headcount"), f"{path}.insured_headcount")):
        p = _obj(point, f"{path}.insured_headcount[{i}]")
        month = _str(p.get("month"), f"{path}.insured_headcount[{i}].month")
        try:
            index = parse_month_label(month)
        except ValueError:
            raise MalformedDocumentError(
                f"{path}.insured_headcount[{i}].month", "YYYY-MM"
            ) from None
        count = _int(p.get("headcount"), f"{path}.insured_headcount[{i}].headcount")
        if latest is None or index > latest[0]:
            latest = (index, count)
    if latest is None:
        return None
    index, count = latest
    return Figure(
        _E,
        Decimal(count),
        Category.SOCIAL_INSURANCE,
        _str(section.get("source"), f"{path}.source"),
        month_label(index),
        month_end(index),
    )


def _latest_yearly(
    section: JSONObject, path: str, list_key: str, year_key: str, value_key: str
) -> tuple[int, Decimal] | None:
    latest: tuple[int, Decimal] | None = None
    for i, entry in enumerate(_arr(section.get(list_key), f"{path}.{list_key}")):
        e = _obj(entry, f"{path}.{list_key}[{i}]")
        year = _int(e.get(year_key), f"{path}.{list_key}[{i}].{year_key}")
        amount = _amount(e.get(value_key), f"{path}.{list_key}[{i}].{value_key}")
        if latest is None or year > latest[0]:
            latest = (year, amount)
    return latest


def _yearly_figure(
    measure: Measure, category: Category, section: JSONObject, path: str, year: int, yuan: Decimal
) -> Figure:
    return Figure(
        measure,
        yuan / TEN_THOUSAND,
        category,
        _str(section.get("source"), f"{path}.source"),
        str(year),
        _year_end(year),
    )


def classify_document(document: JSONValue) -> SizeClassification:
    """Classify the enterprise a bureau document describes, from that document alone.

    Uses the sections the document holds (so a bank sees the class its consent supports):
    ``business_registration`` for the sector, ``social_insurance`` for E, ``tax`` and
    ``audited_financial_statements`` for R, ``audited_financial_statements`` for A. A section that
    is absent or empty shows up in ``missing`` with the reason.
    """
    doc = _obj(document, "$")
    sections = _obj(doc.get("categories"), "$.categories")
    uscc = doc.get("uscc")
    as_of_text = doc.get("as_of")
    as_of = date.fromisoformat(as_of_text) if isinstance(as_of_text, str) else None
    uscc_text = uscc if isinstance(uscc, str) else None

    def section(category: Category) -> tuple[JSONObject, str] | None:
        path = f"$.categories.{category.slug}"
        value = sections.get(category.slug)
        return None if value is None else (_obj(value, path), path)

    registration = section(Category.BUSINESS_REGISTRATION)
    if registration is None:
        return SizeClassification(
            size=None,
            sector=None,
            industry_code=None,
            figures=(),
            missing=(MissingInput("sector", "business_registration is not in the document"),),
            basis="cannot classify without the industry code",
            uscc=uscc_text,
            as_of=as_of,
        )
    reg, reg_path = registration
    industry_code = _str(reg.get("industry_code"), f"{reg_path}.industry_code")
    name = _str(reg.get("name"), f"{reg_path}.name")
    try:
        sector = sector_of(industry_code)
    except (IndustryCodeTooCoarseError, InvalidIndustryCodeError) as exc:
        return SizeClassification(
            size=None,
            sector=None,
            industry_code=industry_code,
            figures=(),
            missing=(MissingInput("sector", str(exc)),),
            basis="cannot classify without a sector",
            uscc=uscc_text,
            name=name,
            as_of=as_of,
        )

    figures: list[Figure] = []
    reasons: dict[Measure, str] = {}

    social = section(Category.SOCIAL_INSURANCE)
    if social is None:
        reasons[_E] = "social_insurance is not in the document"
    else:
        employees = _employees(*social)
        if employees is None:
            reasons[_E] = "no social-insurance month on record"
        else:
            figures.append(employees)

    tax = section(Category.TAX)
    audited = section(Category.AUDITED_FINANCIAL_STATEMENTS)
    tax_revenue = _latest_yearly(*tax, "annual", "year", "taxable_revenue") if tax else None
    audited_revenue = (
        _latest_yearly(*audited, "statements", "fiscal_year", "revenue") if audited else None
    )
    if (
        tax is not None
        and tax_revenue is not None
        and (audited_revenue is None or tax_revenue[0] >= audited_revenue[0])
    ):
        figures.append(_yearly_figure(_R, Category.TAX, *tax, *tax_revenue))
    elif audited is not None and audited_revenue is not None:
        figures.append(
            _yearly_figure(_R, Category.AUDITED_FINANCIAL_STATEMENTS, *audited, *audited_revenue)
        )
    else:
        held = [
            c.slug
            for c, s in ((Category.TAX, tax), (Category.AUDITED_FINANCIAL_STATEMENTS, audited))
            if s
        ]
        reasons[_R] = (
            f"no annual revenue on record in {' or '.join(held)}"
            if held
            else "neither tax nor audited_financial_statements is in the document"
        )

    if audited is None:
        reasons[_A] = "audited_financial_statements is not in the document"
    else:
        assets = _latest_yearly(*audited, "statements", "fiscal_year", "total_assets")
        if assets is None:
            reasons[_A] = "no audited statement on record"
        else:
            figures.append(
                _yearly_figure(_A, Category.AUDITED_FINANCIAL_STATEMENTS, *audited, *assets)
            )

    return classify_figures(
        sector,
        figures,
        industry_code=industry_code,
        missing_reasons=reasons,
        uscc=uscc_text,
        name=name,
        as_of=as_of,
    )
