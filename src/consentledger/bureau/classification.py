"""Enterprise size classification under the 2011 SME rules (工信部联企业〔2011〕300号).

The sector comes from the industry code through the statistics bureau's 2017 mapping
(国统字〔2017〕213号, see :mod:`consentledger.bureau.industry`); every result names the rule, the
mapping, whether the rule covers the industry or applies only by reference (art. 6), and the
period of each figure.

Figures: employees ``E``, revenue ``R`` and total assets ``A`` (R and A in 10,000 yuan), only the
ones the sector's rule uses. As the statistics rule measures them over one year, R and A come from
one **reference year**, the latest year for which every figure the rule needs is on record, and
E is the headcount of that year: the December insured headcount (social insurance), else the
annual report to the market regulator, else the income tax annual return. R is the taxable
revenue of the tax year, else the audited revenue, else the annual report's; A the audited total
assets, else the income tax annual return's, else the annual report's. A rule that uses E alone
takes the latest social-insurance month (the point of the bureau's headcount interface).

Staleness: a reference year before the last two closed tax years, or a latest headcount month more
than :data:`MAX_HEADCOUNT_AGE_MONTHS` before the document's as-of date, is too old: the result
has ``size=None`` and says so.

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
from consentledger.bureau.filings import TAX_YEAR_CLOSE, latest_closed_year
from consentledger.bureau.industry import (
    FINANCE_RULE,
    SIZE_RULE,
    SIZE_RULE_MAPPING,
    IndustryCodeTooCoarseError,
    InvalidIndustryCodeError,
    Scope,
    Sector,
    SectorScope,
    sector_scope,
)
from consentledger.categories import Category
from consentledger.errors import ConsentLedgerError

TEN_THOUSAND = Decimal(10000)

#: A reference year may be at most this many years before the latest closed tax year.
MAX_REFERENCE_YEAR_LAG = 1
#: The latest headcount month may be at most this many months before the as-of date.
MAX_HEADCOUNT_AGE_MONTHS = 6

_INDIVIDUAL_BUSINESS_NOTE = (
    "an individual business (个体工商户, USCC type 92) is classified by reference only "
    "(art. 6 of the 2011 rules)"
)


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
    rule_name: str = SIZE_RULE
    mapping: str | None = SIZE_RULE_MAPPING
    scope: Scope | None = None
    scope_note: str | None = None
    reference_year: int | None = None

    @property
    def periods(self) -> dict[str, str]:
        """The period of each figure used, by letter: ``{"E": "2024-12", "R": "2024"}``."""
        return {f.measure.symbol: f.period for f in self.figures}

    def to_json(self) -> JSONObject:
        """The classification as JSON-ready data (Decimals as strings, dates ISO 8601)."""
        figures: JSONArray = [f.to_json() for f in self.figures]
        missing: JSONArray = [m.to_json() for m in self.missing]
        periods: JSONObject = dict(self.periods)
        return {
            "uscc": self.uscc,
            "name": self.name,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "size": self.size.value if self.size else None,
            "sector": self.sector.value if self.sector else None,
            "industry_code": self.industry_code,
            "rule": self.rule_name,
            "mapping": self.mapping,
            "scope": self.scope.value if self.scope else None,
            "scope_note": self.scope_note,
            "reference_year": self.reference_year,
            "periods": periods,
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
    scope: SectorScope | None = None,
    reference_year: int | None = None,
) -> SizeClassification:
    """Classify from sourced figures; a figure the rule needs and lacks makes ``size=None``.

    ``missing_reasons`` may explain, per measure, why a figure is absent; figures for measures the
    sector's rule does not use are dropped from the result.
    """
    if scope is None:
        scope = SectorScope(sector, Scope.IN_RULE, SIZE_RULE_MAPPING)
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
        if scope.scope is Scope.BY_REFERENCE:
            basis = f"by reference (art. 6): {basis}"
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
        scope=scope.scope,
        scope_note=scope.note,
        reference_year=reference_year,
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


def _month_index(value: JSONValue, path: str) -> int:
    try:
        return parse_month_label(_str(value, path))
    except ValueError:
        raise MalformedDocumentError(path, "YYYY-MM") from None


def _headcount_months(section: JSONObject, path: str) -> dict[int, int]:
    """The insured headcount by month index."""
    months: dict[int, int] = {}
    for i, point in enumerate(_arr(section.get("insured_headcount"), f"{path}.insured_headcount")):
        p = _obj(point, f"{path}.insured_headcount[{i}]")
        index = _month_index(p.get("month"), f"{path}.insured_headcount[{i}].month")
        months[index] = _int(p.get("headcount"), f"{path}.insured_headcount[{i}].headcount")
    return months


def _yearly_values(
    section: JSONObject, path: str, list_key: str, year_key: str, value_key: str, *, amount: bool
) -> dict[int, Decimal]:
    """``value_key`` of each entry of ``list_key`` by year; entries without the value are skipped
    (an income tax return without the headcount, say)."""
    values: dict[int, Decimal] = {}
    for i, entry in enumerate(_arr(section.get(list_key, []), f"{path}.{list_key}")):
        e = _obj(entry, f"{path}.{list_key}[{i}]")
        raw = e.get(value_key)
        if raw is None:
            continue
        year = _int(e.get(year_key), f"{path}.{list_key}[{i}].{year_key}")
        where = f"{path}.{list_key}[{i}].{value_key}"
        values[year] = _amount(raw, where) / TEN_THOUSAND if amount else Decimal(_int(raw, where))
    return values


@dataclass(frozen=True, slots=True)
class _Series:
    """One source's yearly values of one measure."""

    measure: Measure
    category: Category
    source: str
    label: str
    by_year: Mapping[int, Decimal]

    def figure(self, year: int) -> Figure:
        return Figure(
            self.measure,
            self.by_year[year],
            self.category,
            f"{self.source} ({self.label})",
            str(year),
            _year_end(year),
        )


def _series(
    sections: Mapping[Category, tuple[JSONObject, str]],
) -> dict[Measure, list[_Series]]:
    """Every yearly source of E, R and A the document holds, in order of preference."""
    found: dict[Measure, list[_Series]] = {_E: [], _R: [], _A: []}

    def add(
        measure: Measure,
        category: Category,
        label: str,
        list_key: str,
        year_key: str,
        value_key: str,
    ) -> None:
        held = sections.get(category)
        if held is None:
            return
        section, path = held
        values = _yearly_values(
            section, path, list_key, year_key, value_key, amount=measure is not _E
        )
        if values:
            source = _str(section.get("source"), f"{path}.source")
            found[measure].append(_Series(measure, category, source, label, values))

    reg, tax, audited = (
        Category.BUSINESS_REGISTRATION,
        Category.TAX,
        Category.AUDITED_FINANCIAL_STATEMENTS,
    )
    add(_E, reg, "annual report", "annual_reports", "year", "employees")
    add(_E, tax, "income tax annual return", "annual", "year", "employees")
    add(_R, tax, "taxable revenue", "annual", "year", "taxable_revenue")
    add(_R, audited, "audited statement", "statements", "fiscal_year", "revenue")
    add(_R, reg, "annual report", "annual_reports", "year", "revenue")
    add(_A, audited, "audited statement", "statements", "fiscal_year", "total_assets")
    add(_A, tax, "income tax annual return", "annual", "year", "total_assets")
    add(_A, reg, "annual report", "annual_reports", "year", "total_assets")
    return found


def classify_document(document: JSONValue) -> SizeClassification:
    """Classify the enterprise a bureau document describes, from that document alone.

    Uses the sections the document holds (so a bank sees the class its consent supports):
    ``business_registration`` for the sector and the annual reports, ``social_insurance`` for E,
    ``tax`` (taxable revenue and the income tax annual return) and
    ``audited_financial_statements`` for R and A. A section or figure that is absent or too old
    shows up in ``missing`` with the reason (see the module docstring for the choice of year and
    source).
    """
    doc = _obj(document, "$")
    categories = _obj(doc.get("categories"), "$.categories")
    uscc = doc.get("uscc")
    as_of_text = doc.get("as_of")
    as_of = date.fromisoformat(as_of_text) if isinstance(as_of_text, str) else None
    uscc_text = uscc if isinstance(uscc, str) else None

    sections: dict[Category, tuple[JSONObject, str]] = {}
    for category in Category:
        value = categories.get(category.slug)
        if value is not None:
            path = f"$.categories.{category.slug}"
            sections[category] = (_obj(value, path), path)

    def unclassified(
        missing: MissingInput,
        basis: str,
        *,
        industry_code: str | None = None,
        name: str | None = None,
        scope: SectorScope | None = None,
    ) -> SizeClassification:
        return SizeClassification(
            size=None,
            sector=None,
            industry_code=industry_code,
            figures=(),
            missing=(missing,),
            basis=basis,
            uscc=uscc_text,
            name=name,
            as_of=as_of,
            rule_name=FINANCE_RULE if scope and scope.scope is Scope.OUTSIDE_RULE else SIZE_RULE,
            mapping=SIZE_RULE_MAPPING,
            scope=scope.scope if scope else None,
            scope_note=scope.note if scope else None,
        )

    registration = sections.get(Category.BUSINESS_REGISTRATION)
    if registration is None:
        return unclassified(
            MissingInput("sector", "business_registration is not in the document"),
            "cannot classify without the industry code",
        )
    reg, reg_path = registration
    industry_code = _str(reg.get("industry_code"), f"{reg_path}.industry_code")
    name = _str(reg.get("name"), f"{reg_path}.name")
    try:
        scope = sector_scope(industry_code)
    except (IndustryCodeTooCoarseError, InvalidIndustryCodeError) as exc:
        return unclassified(
            MissingInput("sector", str(exc)),
            "cannot classify without a sector",
            industry_code=industry_code,
            name=name,
        )
    if scope.sector is None:
        return unclassified(
            MissingInput("sector", scope.note),
            f"outside the 2011 rules: {scope.note}",
            industry_code=industry_code,
            name=name,
            scope=scope,
        )
    sector = scope.sector
    if uscc_text is not None and uscc_text.startswith("92") and scope.scope is Scope.IN_RULE:
        scope = SectorScope(sector, Scope.BY_REFERENCE, _INDIVIDUAL_BUSINESS_NOTE)
    measures = SIZE_RULES[sector].measures

    social = sections.get(Category.SOCIAL_INSURANCE)
    headcounts = _headcount_months(*social) if social else {}
    social_source = _str(social[0].get("source"), f"{social[1]}.source") if social else ""
    yearly = _series(sections)
    reasons: dict[Measure, str] = {}
    figures: list[Figure] = []
    reference_year: int | None = None

    if measures == (_E,):
        if headcounts:
            index = max(headcounts)
            figures.append(
                Figure(
                    _E,
                    Decimal(headcounts[index]),
                    Category.SOCIAL_INSURANCE,
                    social_source,
                    month_label(index),
                    month_end(index),
                )
            )
            if as_of is not None and _months_before(index, as_of) > MAX_HEADCOUNT_AGE_MONTHS:
                figures.clear()
                reasons[_E] = (
                    f"the latest insured headcount is of {month_label(index)}, more than "
                    f"{MAX_HEADCOUNT_AGE_MONTHS} months before {as_of.isoformat()}: too old"
                )
        elif yearly[_E]:
            best = max(yearly[_E], key=lambda s: max(s.by_year))
            reference_year = max(best.by_year)
            figures.append(best.figure(reference_year))
        else:
            reasons[_E] = (
                "no social-insurance month, annual report or income tax return headcount on record"
            )
    else:

        def years_of(measure: Measure) -> set[int]:
            held = {y for s in yearly[measure] for y in s.by_year}
            if measure is _E:
                held |= {i // 12 for i in headcounts if i % 12 == 11}
            return held

        def figure_for(measure: Measure, year: int) -> Figure:
            december = year * 12 + 11
            if measure is _E and december in headcounts:
                return Figure(
                    _E,
                    Decimal(headcounts[december]),
                    Category.SOCIAL_INSURANCE,
                    social_source,
                    month_label(december),
                    month_end(december),
                )
            series = next(s for s in yearly[measure] if year in s.by_year)
            return series.figure(year)

        common = set.intersection(*(years_of(m) for m in measures))
        if common:
            reference_year = max(common)
            figures.extend(figure_for(m, reference_year) for m in measures)
            if as_of is not None:
                oldest = latest_closed_year(as_of, TAX_YEAR_CLOSE) - MAX_REFERENCE_YEAR_LAG
                if reference_year < oldest:
                    figures.clear()
                    reason = (
                        f"the latest year with every figure is {reference_year}; years before "
                        f"{oldest} are too old on {as_of.isoformat()}"
                    )
                    reasons.update(dict.fromkeys(measures, reason))
        elif all(years_of(m) for m in measures):
            spans = "; ".join(
                f"{m.symbol}: {', '.join(str(y) for y in sorted(years_of(m)))}" for m in measures
            )
            reasons.update(dict.fromkeys(measures, f"no year has every figure ({spans})"))
        else:
            # Show what is held (its latest year) and name what is not.
            for measure in measures:
                held = years_of(measure)
                if held:
                    figures.append(figure_for(measure, max(held)))
                else:
                    reasons[measure] = _absent_reason(measure, sections, bool(social))

    return classify_figures(
        sector,
        figures,
        industry_code=industry_code,
        missing_reasons=reasons,
        uscc=uscc_text,
        name=name,
        as_of=as_of,
        scope=scope,
        reference_year=reference_year,
    )


def _months_before(index: int, as_of: date) -> int:
    return (as_of.year * 12 + as_of.month - 1) - index


def _absent_reason(
    measure: Measure, sections: Mapping[Category, tuple[JSONObject, str]], social: bool
) -> str:
    sources = {
        _E: (Category.SOCIAL_INSURANCE, Category.BUSINESS_REGISTRATION, Category.TAX),
        _R: (Category.TAX, Category.AUDITED_FINANCIAL_STATEMENTS, Category.BUSINESS_REGISTRATION),
        _A: (Category.AUDITED_FINANCIAL_STATEMENTS, Category.TAX, Category.BUSINESS_REGISTRATION),
    }[measure]
    held = [c.slug for c in sources if c in sections or (c is Category.SOCIAL_INSURANCE and social)]
    if held:
        return f"no yearly {measure.value} figure on record in {' or '.join(held)}"
    return f"none of {', '.join(c.slug for c in sources)} is in the document"
