"""The bureau's tables (SQLAlchemy 2.x typed declarative mapping).

Portable across SQLAlchemy back-ends (SQLite by default, PostgreSQL included): plain types only,
money as integer fen (``BigInteger``, exact everywhere; documents show yuan decimal strings),
months as the first day of the month. Every table is prefixed ``bureau_`` so that the bureau can
share a database with other components. Per-enterprise tables are keyed by the enterprise's
integer id (see :class:`EnterpriseRecord`).

Monthly figures from several departments share one row per enterprise and month
(:class:`MonthlyFigures`): one indexed range scan answers a whole history, and seeding writes a
row per month instead of one per month and series. A department that has no figure for a month
leaves its columns NULL.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

USCC_TYPE = String(18)


class Base(DeclarativeBase):
    """Declarative base of the bureau's tables, with its own metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EnterpriseRecord:
    """Mixin of every per-enterprise table: the enterprise's id leads the primary key.

    A surrogate integer key (assigned in load order) keeps every per-enterprise index
    append-only during bulk loads and small on disk; the USCC is stored once, in
    :class:`Enterprise`.
    """

    enterprise_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("bureau_enterprise.id", ondelete="CASCADE"),
        primary_key=True,
        sort_order=-1,
    )


class DatasetMeta(Base):
    """Facts about the loaded dataset (as-of date, seed, generator), as key/value pairs."""

    __tablename__ = "bureau_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class DataSource(Base):
    """The department that supplies a category, and the date its data is current to."""

    __tablename__ = "bureau_data_source"

    category: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    department: Mapped[str] = mapped_column(String(300))
    as_of: Mapped[date] = mapped_column(Date)


class Enterprise(Base):
    """Business registration (category 1).

    ``id`` is assigned by the loader (1, 2, ... in load order), not by a database sequence, so
    bulk loads need no round trip per enterprise; whoever adds enterprises assigns the next id.
    """

    __tablename__ = "bureau_enterprise"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    uscc: Mapped[str] = mapped_column(USCC_TYPE, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_representative: Mapped[str] = mapped_column(String(100))
    registered_capital_fen: Mapped[int] = mapped_column(BigInteger)
    founded: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32))
    industry_code: Mapped[str] = mapped_column(String(5))
    district_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(300))


class Shareholder(EnterpriseRecord, Base):
    """A shareholder on the business registration (category 1)."""

    __tablename__ = "bureau_shareholder"

    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    subscribed_capital_fen: Mapped[int] = mapped_column(BigInteger)


class MonthlyFigures(EnterpriseRecord, Base):
    """An enterprise-month: social insurance (2), tax (4), housing fund (5), utilities (9)."""

    __tablename__ = "bureau_monthly"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    insured_headcount: Mapped[int | None] = mapped_column(Integer)
    housing_fund_headcount: Mapped[int | None] = mapped_column(Integer)
    tax_paid_fen: Mapped[int | None] = mapped_column(BigInteger)
    water_fen: Mapped[int | None] = mapped_column(BigInteger)
    water_on_time: Mapped[bool | None] = mapped_column(Boolean)
    power_fen: Mapped[int | None] = mapped_column(BigInteger)
    power_on_time: Mapped[bool | None] = mapped_column(Boolean)
    gas_fen: Mapped[int | None] = mapped_column(BigInteger)
    gas_on_time: Mapped[bool | None] = mapped_column(Boolean)


class Arrears(EnterpriseRecord, Base):
    """Outstanding arrears owed to a department: social insurance (2), tax (4), housing fund (5)."""

    __tablename__ = "bureau_arrears"

    category: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    since: Mapped[date] = mapped_column(Date)


class TaxYear(EnterpriseRecord, Base):
    """A tax year (category 4): credit grade (A/B/M/C/D), annual taxable revenue, and the
    headcount and total assets declared on the enterprise income tax annual return (A000000,
    quarterly averages; NULL where no return was filed)."""

    __tablename__ = "bureau_tax_year"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    credit_grade: Mapped[str] = mapped_column(String(1))
    taxable_revenue_fen: Mapped[int] = mapped_column(BigInteger)
    employees: Mapped[int | None] = mapped_column(Integer)
    total_assets_fen: Mapped[int | None] = mapped_column(BigInteger)


class AnnualReport(EnterpriseRecord, Base):
    """The annual report to the market regulator (企业年度报告, category 1): headcount, total
    assets and revenue of a year, filed by 30 June of the next year."""

    __tablename__ = "bureau_annual_report"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    employees: Mapped[int] = mapped_column(Integer)
    total_assets_fen: Mapped[int] = mapped_column(BigInteger)
    revenue_fen: Mapped[int] = mapped_column(BigInteger)


class HighTechCertificate(EnterpriseRecord, Base):
    """A national high-tech enterprise certificate (category 3)."""

    __tablename__ = "bureau_high_tech_certificate"

    certificate_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    issuing_body: Mapped[str] = mapped_column(String(300))


class IntellectualProperty(EnterpriseRecord, Base):
    """A patent, trademark or software copyright (category 6).

    ``kind`` is one of ``invention_patent``, ``utility_model_patent``, ``design_patent``,
    ``trademark``, ``software_copyright``; ``nice_class`` is set for trademarks only.
    """

    __tablename__ = "bureau_intellectual_property"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    nice_class: Mapped[int | None] = mapped_column(SmallInteger)
    registered_on: Mapped[date] = mapped_column(Date)


class CourtRecord(EnterpriseRecord, Base):
    """A court record (category 7): a lawsuit, an enforcement case, or a dishonest-debtor listing.

    For listings ``filed_on`` is the listing date and ``closed_on`` the removal date.
    """

    __tablename__ = "bureau_court_record"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    court: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(32))
    cause: Mapped[str | None] = mapped_column(String(100))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    filed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32))
    closed_on: Mapped[date | None] = mapped_column(Date)


class AdministrativeRecord(EnterpriseRecord, Base):
    """An administrative penalty or an abnormal-operation listing (category 8).

    ``removed_on``: for a listing, the day it was lifted; for a penalty, the day credit repair
    ended its publication. ``minor``: a penalty with the short publication period (warning,
    circulated criticism, low fine; see :mod:`consentledger.bureau.publication`).
    """

    __tablename__ = "bureau_administrative_record"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    authority: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    dated_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    minor: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomsRegistration(EnterpriseRecord, Base):
    """Customs registration and credit grade (category 10)."""

    __tablename__ = "bureau_customs_registration"

    customs_code: Mapped[str] = mapped_column(String(10))
    credit_grade: Mapped[str] = mapped_column(String(32))
    registered_on: Mapped[date] = mapped_column(Date)


class CustomsYear(EnterpriseRecord, Base):
    """A year's import and export value declared at customs, in fen (category 10)."""

    __tablename__ = "bureau_customs_year"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    import_fen: Mapped[int] = mapped_column(BigInteger)
    export_fen: Mapped[int] = mapped_column(BigInteger)


class FinancialStatement(EnterpriseRecord, Base):
    """An audited annual financial statement (category 11)."""

    __tablename__ = "bureau_financial_statement"

    fiscal_year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    revenue_fen: Mapped[int] = mapped_column(BigInteger)
    total_assets_fen: Mapped[int] = mapped_column(BigInteger)
    net_profit_fen: Mapped[int] = mapped_column(BigInteger)
    audit_opinion: Mapped[str] = mapped_column(String(32))
    auditor: Mapped[str] = mapped_column(String(200))


class FeedRecordVersion(Base):
    """Every version of every record a source sent (see :mod:`consentledger.bureau.feeds`).

    The log of what came in: a correction is a new row, the earlier versions stay. ``payload``
    is the record as validated (JSON, fields in schema order), ``sha256`` its digest; importing
    the same version again is recognised by it. ``dispute`` is the reference of the dispute a
    correction settles, if any; ``uscc`` lets a read find an enterprise's corrections.
    """

    __tablename__ = "bureau_feed_record"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(400), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    uscc: Mapped[str] = mapped_column(USCC_TYPE, index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    dispute: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeedCredential(Base):
    """A source's credential for the push API: ``cfs_<key id>_<secret>``, the secret kept as its
    SHA-256 only (``key_hash`` empty once revoked). One per source: issuing a new one replaces
    it. ``kinds`` names the record kinds it may push (comma-separated), its source's or fewer."""

    __tablename__ = "bureau_feed_credential"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    kinds: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeedBatch(Base):
    """A batch a source pushed and the bureau accepted, by its ``Idempotency-Key``.

    ``fingerprint`` is the SHA-256 of what was asked (the as-of date and the body): the same key
    with the same request answers ``report`` (JSON) again; with another request it is refused.
    """

    __tablename__ = "bureau_feed_batch"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    report: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


#: Every data table, parents first (the order to insert and to hash in); the feed log, the
#: sources' credentials and their pushed batches are not data a read releases, so they are
#: outside.
TABLES = tuple(
    t
    for t in Base.metadata.sorted_tables
    if t.name
    not in (
        FeedRecordVersion.__tablename__,
        FeedCredential.__tablename__,
        FeedBatch.__tablename__,
    )
)
