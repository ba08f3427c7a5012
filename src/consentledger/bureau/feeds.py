"""Source feeds: the record kinds each department sends, their JSON Schemas, and who may send them.

A feed is a file (JSON Lines, or CSV: every kind is flat) of records. Each record names its kind
(``record``), the enterprise's ``uscc``, its ``version`` (1, 2, ...: a correction is a higher
version of the same record) and the fields of one row of a bureau table. The record kinds are
generated from the bureau's tables (:mod:`consentledger.bureau.models`): a column is a field with
the column's type (amounts in integer fen, dates ISO 8601, months ``YYYY-MM``), a nullable column an
optional field. A record's id is its kind, USCC and key fields
(``court_record/9144030071526726XG/lawsuit/(2024)粤0305民初1号``), so the same fact sent twice is
the same record.

Each kind belongs to one category, and each source (a department, :data:`FEED_SOURCES`) may send
the kinds of its own categories only. :func:`feed_schema` gives the published JSON Schema of a
kind (version :data:`FEED_SCHEMA_VERSION`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model
from sqlalchemy import BigInteger, Boolean, Date, Integer, SmallInteger, String
from sqlalchemy.orm import DeclarativeBase

from consentledger.bureau.models import (
    AdministrativeRecord,
    AnnualReport,
    Arrears,
    CourtRecord,
    CustomsRegistration,
    CustomsYear,
    Enterprise,
    FinancialStatement,
    HighTechCertificate,
    IntellectualProperty,
    MonthlyFigures,
    Shareholder,
    TaxYear,
)
from consentledger.bureau.sources import SOURCE_DEPARTMENTS
from consentledger.categories import Category
from consentledger.errors import ConsentLedgerError

#: Version tag of the feed record layout; a change that refuses records valid before is a new
#: version.
FEED_SCHEMA_VERSION = "consentledger.bureau.feed/1"
#: Where the published schemas live (their ``$id`` is below it).
SCHEMA_BASE = "https://consentledger.example/schemas/feed/1"

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
#: The largest version a record can carry (a 32-bit column).
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True, slots=True)
class RecordKind:
    """One kind of feed record: the table it writes, its category and its key fields."""

    name: str
    table: type[DeclarativeBase]
    category: Category
    #: The fields that identify the record within its enterprise (the row's key).
    key: tuple[str, ...]
    #: The table columns the record carries (besides the key), in order.
    columns: tuple[str, ...]
    #: Columns fixed by the kind rather than sent (arrears: the category).
    fixed: Mapping[str, object]
    description: str

    @property
    def fields(self) -> tuple[str, ...]:
        """Every data field of the record: key fields, then the others."""
        return self.key + self.columns


def _kind(
    name: str,
    table: type[DeclarativeBase],
    category: Category,
    key: tuple[str, ...],
    columns: tuple[str, ...] | None = None,
    fixed: Mapping[str, object] | None = None,
    description: str | None = None,
) -> RecordKind:
    if columns is None:
        skip = {"enterprise_id", "id", "uscc", *key, *(fixed or {})}
        columns = tuple(c.name for c in table.__table__.columns if c.name not in skip)
    doc = " ".join((description or table.__doc__ or name).split())
    return RecordKind(name, table, category, key, columns, MappingProxyType(dict(fixed or {})), doc)


_C = Category
#: Every record kind, by name.
RECORD_KINDS: Mapping[str, RecordKind] = MappingProxyType(
    {
        k.name: k
        for k in (
            _kind("enterprise", Enterprise, _C.BUSINESS_REGISTRATION, ()),
            _kind("shareholder", Shareholder, _C.BUSINESS_REGISTRATION, ("seq",)),
            _kind("annual_report", AnnualReport, _C.BUSINESS_REGISTRATION, ("year",)),
            _kind(
                "social_insurance_month",
                MonthlyFigures,
                _C.SOCIAL_INSURANCE,
                ("month",),
                ("insured_headcount",),
                description="An enterprise-month's insured headcount (social insurance).",
            ),
            _kind(
                "social_insurance_arrears",
                Arrears,
                _C.SOCIAL_INSURANCE,
                (),
                fixed={"category": _C.SOCIAL_INSURANCE.value},
                description="Outstanding social insurance arrears.",
            ),
            _kind(
                "high_tech_certificate",
                HighTechCertificate,
                _C.HIGH_TECH_QUALIFICATION,
                ("certificate_no",),
            ),
            _kind(
                "tax_month",
                MonthlyFigures,
                _C.TAX,
                ("month",),
                ("tax_paid_fen",),
                description="An enterprise-month's tax paid.",
            ),
            _kind("tax_year", TaxYear, _C.TAX, ("year",)),
            _kind(
                "tax_arrears",
                Arrears,
                _C.TAX,
                (),
                fixed={"category": _C.TAX.value},
                description="Outstanding tax arrears.",
            ),
            _kind(
                "housing_fund_month",
                MonthlyFigures,
                _C.HOUSING_PROVIDENT_FUND,
                ("month",),
                ("housing_fund_headcount",),
                description="An enterprise-month's housing provident fund headcount.",
            ),
            _kind(
                "housing_fund_arrears",
                Arrears,
                _C.HOUSING_PROVIDENT_FUND,
                (),
                fixed={"category": _C.HOUSING_PROVIDENT_FUND.value},
                description="Outstanding housing provident fund arrears.",
            ),
            _kind(
                "intellectual_property",
                IntellectualProperty,
                _C.INTELLECTUAL_PROPERTY,
                ("kind", "number"),
            ),
            _kind("court_record", CourtRecord, _C.JUDICIAL, ("kind", "case_no")),
            _kind(
                "administrative_record",
                AdministrativeRecord,
                _C.ADMINISTRATIVE_PENALTIES,
                ("kind", "reference"),
            ),
            _kind(
                "utilities_month",
                MonthlyFigures,
                _C.UTILITIES,
                ("month",),
                (
                    "water_fen",
                    "water_on_time",
                    "power_fen",
                    "power_on_time",
                    "gas_fen",
                    "gas_on_time",
                ),
                description="An enterprise-month's water, power and gas bills, and whether "
                "each was paid on time.",
            ),
            _kind("customs_registration", CustomsRegistration, _C.CUSTOMS, ()),
            _kind("customs_year", CustomsYear, _C.CUSTOMS, ("year",)),
            _kind(
                "financial_statement",
                FinancialStatement,
                _C.AUDITED_FINANCIAL_STATEMENTS,
                ("fiscal_year",),
            ),
        )
    }
)


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A department that sends feeds, and the categories it may write."""

    name: str
    categories: frozenset[Category]

    @property
    def department(self) -> str:
        """The department's name (of its first category)."""
        return SOURCE_DEPARTMENTS[min(self.categories)]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The record kinds it may send."""
        return tuple(k.name for k in RECORD_KINDS.values() if k.category in self.categories)


#: The sources, by name: one department per category, as :data:`SOURCE_DEPARTMENTS` lists them.
FEED_SOURCES: Mapping[str, FeedSource] = MappingProxyType(
    {
        name: FeedSource(name, frozenset({category}))
        for name, category in (
            ("market_regulation", _C.BUSINESS_REGISTRATION),
            ("social_insurance", _C.SOCIAL_INSURANCE),
            ("science_technology", _C.HIGH_TECH_QUALIFICATION),
            ("tax", _C.TAX),
            ("housing_fund", _C.HOUSING_PROVIDENT_FUND),
            ("intellectual_property", _C.INTELLECTUAL_PROPERTY),
            ("courts", _C.JUDICIAL),
            ("credit_supervision", _C.ADMINISTRATIVE_PENALTIES),
            ("utilities", _C.UTILITIES),
            ("customs", _C.CUSTOMS),
            ("audit_filing", _C.AUDITED_FINANCIAL_STATEMENTS),
        )
    }
)
#: The source of each category.
SOURCE_OF: Mapping[Category, FeedSource] = MappingProxyType(
    {c: s for s in FEED_SOURCES.values() for c in s.categories}
)


class UnknownSourceError(ConsentLedgerError, LookupError):
    """A feed source name the bureau does not know."""

    code = "unknown_source"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no feed source {name!r}; the sources are: {', '.join(FEED_SOURCES)}")


class UnknownRecordKindError(ConsentLedgerError, LookupError):
    """A record kind the bureau does not know."""

    code = "unknown_record_kind"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no record kind {name!r}; the kinds are: {', '.join(RECORD_KINDS)}")


def _key_text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def record_id(kind: RecordKind, uscc: str, values: Mapping[str, object]) -> str:
    """The record's id: its kind, USCC and key fields, joined by ``/``."""
    return "/".join([kind.name, uscc, *(_key_text(values[k]) for k in kind.key)])


def feed_source(name: str) -> FeedSource:
    """The source called ``name``, else :class:`UnknownSourceError`."""
    try:
        return FEED_SOURCES[name]
    except KeyError:
        raise UnknownSourceError(name) from None


def record_kind(name: str) -> RecordKind:
    """The kind called ``name``, else :class:`UnknownRecordKindError`."""
    try:
        return RECORD_KINDS[name]
    except KeyError:
        raise UnknownRecordKindError(name) from None


# -- models and schemas ---------------------------------------------------------------------------

_USCC_FIELD = Annotated[
    str,
    StringConstraints(min_length=18, max_length=18),
    Field(description="The enterprise's unified social credit code (GB 32100-2015)."),
]
_DISPUTE_FIELD = Annotated[
    str | None,
    StringConstraints(min_length=1, max_length=64),
    Field(description="The reference of the dispute this correction settles (versions 2 on only)."),
]
_VERSION_FIELD = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_VERSION,
        description="1 for the first report of the record; a correction is a higher version.",
    ),
]


def _column_field(kind: RecordKind, column: str) -> tuple[Any, Any]:
    sql_column = kind.table.__table__.columns[column]
    sql_type = sql_column.type
    described: dict[str, Any] = {}
    base: Any
    if column == "month":
        base = Annotated[str, StringConstraints(pattern=MONTH_PATTERN)]
        described["description"] = "The month, YYYY-MM."
    elif isinstance(sql_type, Boolean):
        base = bool
    elif isinstance(sql_type, Date):
        base = date
    elif isinstance(sql_type, BigInteger):
        base = Annotated[int, Field(ge=-(2**53 - 1), le=2**53 - 1)]
        if column.endswith("_fen"):
            described["description"] = "An amount in fen (0.01 yuan)."
    elif isinstance(sql_type, Integer | SmallInteger):
        top = 2**15 - 1 if isinstance(sql_type, SmallInteger) else 2**31 - 1
        base = Annotated[int, Field(ge=0, le=top)]
    elif isinstance(sql_type, String):
        base = Annotated[str, StringConstraints(min_length=1, max_length=sql_type.length)]
    else:  # pragma: no cover - every bureau column has one of the types above
        raise TypeError(f"{kind.table.__name__}.{column}: no feed type for {sql_type!r}")
    if sql_column.nullable and column not in kind.key:
        return Annotated[base | None, Field(**described)], None
    return Annotated[base, Field(**described)], ...


class FeedRecord(BaseModel):
    """Base of the generated record models: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _model(kind: RecordKind) -> type[FeedRecord]:
    fields: dict[str, Any] = {
        "record": (Literal[kind.name], ...),
        "uscc": (_USCC_FIELD, ...),
        "version": (_VERSION_FIELD, ...),
        "dispute": (_DISPUTE_FIELD, None),
    }
    for column in kind.fields:
        fields[column] = _column_field(kind, column)
    return create_model(
        "".join(part.capitalize() for part in kind.name.split("_")) + "Record",
        __base__=FeedRecord,
        __doc__=kind.description,
        **fields,
    )


#: The validating model of every kind.
RECORD_MODELS: Mapping[str, type[FeedRecord]] = MappingProxyType(
    {name: _model(kind) for name, kind in RECORD_KINDS.items()}
)


def feed_schema(name: str) -> dict[str, Any]:
    """The published JSON Schema (2020-12) of the record kind ``name``."""
    kind = record_kind(name)
    schema = RECORD_MODELS[name].model_json_schema()
    schema.pop("title", None)
    required = [f for f in ("record", "uscc", "version") if f in schema.get("required", ())]
    schema["required"] = required + [f for f in schema.get("required", ()) if f not in required]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}/{name}.json",
        "title": f"{name} ({FEED_SCHEMA_VERSION})",
        "description": kind.description,
        "x-category": {"code": kind.category.value, "slug": kind.category.slug},
        "x-record-id": ["record", "uscc", *kind.key],
        **schema,
    }


def feed_schemas() -> dict[str, dict[str, Any]]:
    """Every kind's published schema, by kind."""
    return {name: feed_schema(name) for name in RECORD_KINDS}
