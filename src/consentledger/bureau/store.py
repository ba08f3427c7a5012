"""The bureau's data store: enterprise records per category, read out as consented documents.

:meth:`BureauStore.fetch` is the one call the gateway makes: it returns the JSON-ready document for
one enterprise, the consented categories only, time series cut to the consent's history window
(see :mod:`consentledger.bureau.history`). :func:`consentledger.bureau.documents.canonicalize`
gives the document's RFC 8785 bytes and SHA-256. Document layout (version ``SCHEMA``)::

    {"schema": "consentledger.bureau.enterprise/2", "uscc": "9144...", "as_of": "2025-06-30",
     "history_months": 12, "last_complete_month": "2025-06", "currency": "CNY",
     "categories": {"social_insurance": {"category": 2, "source": "...", "as_of": "2025-06-30",
                                         "insured_headcount": [{"month": "2025-06",
                                                                "headcount": 46}, ...],
                                         "arrears": {"amount": "0.00", "since": null}}, ...}}

Amounts are yuan decimal strings, dates ISO 8601; lists are ordered oldest first.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import rfc8785
from sqlalchemy import (
    Engine,
    Select,
    bindparam,
    create_engine,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session

from consentledger.bureau.classification import SizeClassification, classify_document
from consentledger.bureau.divisions import find_division
from consentledger.bureau.documents import (
    CanonicalDocument,
    JSONArray,
    JSONObject,
    JSONValue,
    canonicalize,
    format_fen,
    last_complete_month,
    month_index,
    month_label,
    month_start,
)
from consentledger.bureau.feeds import RECORD_KINDS, SOURCE_OF, record_id
from consentledger.bureau.history import check_history_months, select_window
from consentledger.bureau.models import (
    TABLES,
    AdministrativeRecord,
    AnnualReport,
    Arrears,
    Base,
    CourtRecord,
    CustomsRegistration,
    CustomsYear,
    DatasetMeta,
    DataSource,
    Enterprise,
    EnterpriseRecord,
    FeedRecordVersion,
    FinancialStatement,
    HighTechCertificate,
    IntellectualProperty,
    MonthlyFigures,
    Shareholder,
    TaxYear,
)
from consentledger.bureau.publication import (
    PUBLICATION_RULES,
    penalty_published,
    penalty_published_until,
)
from consentledger.bureau.schema_history import BUREAU_HISTORY
from consentledger.bureau.sources import SOURCE_DEPARTMENTS, check_supplied
from consentledger.bureau.uscc import InvalidUSCCError, parse_uscc, validate_uscc
from consentledger.categories import SEEDED_CATEGORIES, Category, parse_category
from consentledger.errors import ConsentLedgerError

#: The history window :meth:`BureauStore.classify` reads: two years reach back to the December
#: of any reference year the staleness limit accepts.
CLASSIFICATION_HISTORY_MONTHS = 24

#: Version tag of the document layout.
SCHEMA = "consentledger.bureau.enterprise/2"
#: Where the bureau lives unless told otherwise (a SQLite file in the working directory).
DEFAULT_DATABASE_URL = "sqlite:///consentledger-bureau.db"
#: Environment variable naming the database URL.
DATABASE_URL_ENV = "CONSENTLEDGER_BUREAU_DATABASE_URL"
#: The gateway's journal; once read as the bureau's too, which opened one as the other.
JOURNAL_URL_ENV = "CONSENTLEDGER_DATABASE_URL"

_ONE_CENT = Decimal("0.01")

R = TypeVar("R", bound=EnterpriseRecord)

Rows = Sequence[Mapping[str, Any]]
#: Rows to insert, by table name.
Batch = Mapping[str, Rows]


class BureauDatabaseError(ConsentLedgerError, ConnectionError):
    """The database URL is malformed, its driver is missing, or it cannot be reached."""

    code = "bureau_database_unavailable"
    exit_code = 11

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot use the bureau database {url}: {reason}")


class BureauDatabaseSettingError(ConsentLedgerError, ValueError):
    """Only the gateway journal's variable is set where the bureau's database was asked for."""

    code = "bureau_database_unset"
    exit_code = 3

    def __init__(self) -> None:
        super().__init__(
            f"{JOURNAL_URL_ENV} is the gateway's journal, not the bureau: "
            f"set {DATABASE_URL_ENV} (or --db) to the bureau's database"
        )


class BureauNotSeededError(ConsentLedgerError, LookupError):
    """The database holds no bureau data."""

    code = "bureau_not_seeded"
    exit_code = 10

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"no bureau data at {url}; create it with `consentledger bureau seed --db {url}`"
        )


class BureauAlreadySeededError(ConsentLedgerError, FileExistsError):
    """Seeding into a database that already holds enterprises."""

    code = "bureau_already_seeded"

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.count = count
        super().__init__(
            f"the bureau database {url} already holds {count} enterprises; "
            "seed with --replace (replace=True) to drop them and seed anew"
        )


class UnknownEnterpriseError(ConsentLedgerError, LookupError):
    """A valid USCC the bureau holds no enterprise for."""

    code = "unknown_enterprise"

    def __init__(self, uscc: str) -> None:
        self.uscc = uscc
        super().__init__(f"the bureau holds no enterprise with USCC {uscc}")


class MissingAsOfError(ConsentLedgerError, ValueError):
    """No as-of date given and the dataset records none."""

    code = "missing_as_of"

    def __init__(self) -> None:
        super().__init__("no as-of date given and the bureau dataset records none; pass as_of")


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url`` if given, else ``$CONSENTLEDGER_BUREAU_DATABASE_URL``, else the
    default. With neither but ``$CONSENTLEDGER_DATABASE_URL`` set (the gateway's journal), raises
    :class:`BureauDatabaseSettingError`: that name is not the bureau's."""
    chosen = url or os.environ.get(DATABASE_URL_ENV)
    if chosen:
        return chosen
    if os.environ.get(JOURNAL_URL_ENV):
        raise BureauDatabaseSettingError()
    return DEFAULT_DATABASE_URL


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _district_name(code: str) -> str | None:
    """The full Chinese name of the district an enterprise is located in (GB/T 2260)."""
    division = find_division(code)
    return None if division is None else division.full_name


def _fen(amount: int | None) -> str | None:
    return None if amount is None else format_fen(amount)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _arrears(rows: Mapping[int, Arrears], category: Category) -> JSONObject:
    row = rows.get(category.value)
    if row is None:
        return {"amount": "0.00", "since": None}
    return {"amount": format_fen(row.amount_fen), "since": row.since.isoformat()}


class BureauStore:
    """The bureau's database: seeding, consented reads (:meth:`fetch`), size classification."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, must_exist: bool = False) -> BureauStore:
        """Open the store at ``url`` (see :func:`database_url`) and check that it can be reached.

        With ``must_exist`` the database must already hold bureau data (a missing SQLite file is
        not created). A bureau from an earlier version is upgraded to the head schema revision
        (:mod:`consentledger.bureau.schema_history`); an empty database is left empty until
        :meth:`create_schema`. Raises :class:`BureauDatabaseError`, :class:`BureauNotSeededError`
        or a :class:`~consentledger.schema_versions.SchemaVersionError`.
        """
        resolved = database_url(url)
        shown = _safe_url(resolved)
        try:
            sqlite_file = _sqlite_file(resolved)
        except ArgumentError:
            raise BureauDatabaseError(shown, "not a valid SQLAlchemy database URL") from None
        if must_exist and sqlite_file is not None and not sqlite_file.is_file():
            raise BureauNotSeededError(shown)
        try:
            engine = create_engine(resolved)
        except (ArgumentError, NoSuchModuleError) as exc:
            raise BureauDatabaseError(shown, f"not a usable database URL ({exc})") from None
        except ImportError as exc:
            raise BureauDatabaseError(
                shown, f"its database driver is not installed ({exc})"
            ) from None
        store = cls(engine)
        try:
            with engine.connect() as conn:
                has_schema = inspect(conn).has_table(Enterprise.__tablename__)
        except (DBAPIError, SQLAlchemyError) as exc:
            engine.dispose()
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise BureauDatabaseError(shown, reason) from None
        if must_exist and not has_schema:
            engine.dispose()
            raise BureauNotSeededError(shown)
        if has_schema:  # a bureau from an earlier version is upgraded in place
            try:
                BUREAU_HISTORY.upgrade(engine)
            except (DBAPIError, SQLAlchemyError) as exc:
                engine.dispose()
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                raise BureauDatabaseError(shown, f"its schema upgrade failed: {reason}") from None
            except ConsentLedgerError:
                engine.dispose()
                raise
        return store

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- schema and writing -------------------------------------------------------------------

    def create_schema(self) -> None:
        """Bring the bureau's tables to the head schema revision (created in an empty
        database)."""
        BUREAU_HISTORY.upgrade(self.engine)

    def drop_schema(self) -> None:
        """Drop the bureau's tables (and every row in them) and its schema version."""
        Base.metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {BUREAU_HISTORY.version_table}"))

    def enterprise_count(self) -> int:
        """How many enterprises the store holds (0 if it has no schema yet)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(Enterprise.__tablename__):
                return 0
            return conn.execute(select(func.count()).select_from(Enterprise)).scalar_one()

    def bulk_insert(
        self, batches: Iterable[Batch], *, on_batch: Callable[[Batch], None] | None = None
    ) -> int:
        """Insert batches of rows in one transaction (Core ``insert()`` executemany per table).

        Each batch maps table names to row dicts; tables are written parents first. Returns the
        number of rows written. ``on_batch`` is called after each batch (for progress display).
        """
        by_name = {table.name: table for table in TABLES}
        written = 0
        with self.engine.begin() as conn:
            for batch in batches:
                unknown = set(batch) - set(by_name)
                if unknown:
                    raise ValueError(f"no such bureau tables: {sorted(unknown)}")
                for table in TABLES:
                    rows = batch.get(table.name)
                    if rows:
                        conn.execute(insert(table), rows)
                        written += len(rows)
                if on_batch is not None:
                    on_batch(batch)
        return written

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Record dataset facts (``as_of``, ``seed``, ...), replacing earlier values."""
        with Session(self.engine) as session, session.begin():
            for key, value in values.items():
                session.merge(DatasetMeta(key=key, value=value))

    def meta(self) -> dict[str, str]:
        """The recorded dataset facts."""
        with Session(self.engine) as session:
            return {m.key: m.value for m in session.scalars(select(DatasetMeta))}

    def dataset_as_of(self) -> date | None:
        """The as-of date of the loaded dataset, if recorded."""
        value = self.meta().get("as_of")
        return date.fromisoformat(value) if value else None

    def usccs(self, limit: int | None = None) -> list[str]:
        """USCCs held, in load order (at most ``limit``)."""
        with Session(self.engine) as session:
            query = select(Enterprise.uscc).order_by(Enterprise.id).limit(limit)
            return list(session.scalars(query))

    def content_digest(self) -> str:
        """SHA-256 over every row of every bureau table, in table and primary-key order.

        Equal digests mean equal data, whichever back-end or process wrote it.
        """
        digest = hashlib.sha256()
        with self.engine.connect() as conn:
            for table in sorted(TABLES, key=lambda t: t.name):
                digest.update(f"table {table.name}\n".encode())
                query = select(table).order_by(*table.primary_key.columns)
                for row in conn.execute(query):
                    values = [v.isoformat() if isinstance(v, date) else v for v in tuple(row)]
                    digest.update(rfc8785.dumps(values) + b"\n")
        return digest.hexdigest()

    # -- reading --------------------------------------------------------------------------------

    def registered_name(self, uscc: str) -> str | None:
        """The enterprise's registered name (business registration), or None when the bureau
        does not hold it."""
        try:
            document = self.fetch(validate_uscc(uscc), [Category.BUSINESS_REGISTRATION], 0)
        except (UnknownEnterpriseError, InvalidUSCCError):
            return None
        sections = document.get("categories")
        section = sections.get("business_registration") if isinstance(sections, dict) else None
        name = section.get("name") if isinstance(section, dict) else None
        return name if isinstance(name, str) else None

    def fetch(
        self,
        uscc: str,
        categories: Iterable[Category | int | str],
        history_months: int,
        *,
        as_of: date | None = None,
    ) -> JSONObject:
        """The JSON-ready document of one enterprise: consented categories, windowed history.

        ``categories`` are codes or names of supplied categories (1-11); ``history_months`` is
        the consent's history window (0: latest point of each series only, see
        :mod:`~consentledger.bureau.history`); ``as_of`` defaults to the dataset's as-of date
        (a datetime counts by its date).
        Raises ``InvalidUSCCError``, ``UnknownCategoryError``, ``UnsuppliedCategoryError``,
        :class:`InvalidHistoryWindowError`, :class:`UnknownEnterpriseError`.
        """
        code = validate_uscc(uscc)
        wanted = sorted({check_supplied(parse_category(c)) for c in categories})
        months = check_history_months(history_months)
        if isinstance(as_of, datetime):
            as_of = as_of.date()
        with Session(self.engine) as session:
            when = as_of or self._default_as_of(session)
            enterprise = session.scalars(_ENTERPRISE, {"uscc": code}).first()
            if enterprise is None:
                raise UnknownEnterpriseError(code)
            reader = _Reader(session, enterprise, when, months)
            sections: JSONObject = {c.slug: reader.section(c) for c in wanted}
            corrections = self._corrections(session, code, wanted)
            versions = self._versions(session, code, wanted, reader.used)
        document: JSONObject = {
            "schema": SCHEMA,
            "uscc": code,
            "as_of": when.isoformat(),
            "history_months": months,
            "last_complete_month": month_label(last_complete_month(when)),
            "currency": "CNY",
            "categories": sections,
            "versions": versions,
        }
        if corrections:
            document["corrections"] = corrections
        return document

    def _versions(
        self,
        session: Session,
        uscc: str,
        wanted: Sequence[Category],
        used: Mapping[Category, set[str]],
    ) -> JSONObject:
        """Per category, its source and the records the document was built from (none: the
        section shows no record), each at the version the bureau holds (the feed log's latest;
        a record the feed log does not know, as all seeded data, is at version 1)."""
        current: dict[str, int] = {}
        if any(used.values()):
            current = dict(session.connection().execute(_VERSIONS, {"uscc": uscc}).all())
        out: JSONObject = {}
        for category in wanted:
            ids = sorted(used.get(category, ()))
            records: JSONArray = [[rid, current.get(rid, 1)] for rid in ids]
            out[category.slug] = {"source": SOURCE_OF[category].name, "records": records}
        return out

    def _corrections(self, session: Session, uscc: str, wanted: Sequence[Category]) -> JSONArray:
        """The corrected records (version 2 on) the document releases, each at its current
        version, with the source and the dispute it settles; empty where every record is at
        its first version (as all seeded data is)."""
        latest: dict[str, tuple[str, int, str | None]] = {}
        for source, rid, version, dispute in session.connection().execute(
            _CORRECTIONS, {"uscc": uscc}
        ):
            latest[rid] = (source, version, dispute)
        categories = set(wanted)
        out: JSONArray = []
        for rid, (source, version, dispute) in sorted(latest.items()):
            kind = RECORD_KINDS.get(rid.partition("/")[0])
            if kind is None or kind.category not in categories:
                continue
            out.append(
                {
                    "record": rid,
                    "version": version,
                    "category": kind.category.slug,
                    "source": source,
                    "dispute": dispute,
                }
            )
        return out

    def fetch_canonical(
        self,
        uscc: str,
        categories: Iterable[Category | int | str],
        history_months: int,
        *,
        as_of: date | None = None,
    ) -> CanonicalDocument:
        """:meth:`fetch`, then its RFC 8785 canonical bytes and SHA-256."""
        return canonicalize(self.fetch(uscc, categories, history_months, as_of=as_of))

    def classify(self, uscc: str, *, as_of: date | None = None) -> SizeClassification:
        """The enterprise's size class from everything the bureau holds on it as of ``as_of``.

        Equivalent to classifying the document of all categories with a window of
        :data:`CLASSIFICATION_HISTORY_MONTHS` (enough to hold the December headcount of the
        reference year, see :func:`~consentledger.bureau.classification.classify_document`).
        """
        document = self.fetch(uscc, SEEDED_CATEGORIES, CLASSIFICATION_HISTORY_MONTHS, as_of=as_of)
        return classify_document(document)

    def _default_as_of(self, session: Session) -> date:
        # Core, not session.get: the ORM's identity map and loading cost three times as much
        # for one string, on every read the gateway serves.
        value = session.connection().execute(_AS_OF).scalar_one_or_none()
        if value is None:
            raise MissingAsOfError()
        return date.fromisoformat(value)


# Built once: building a statement costs about as much as running it.
_ENTERPRISE = select(Enterprise).where(Enterprise.uscc == bindparam("uscc"))
#: Per-enterprise row queries, by table and order.
_ROWS: dict[tuple[type[Any], tuple[Any, ...]], Select[Any]] = {}
_AS_OF = select(DatasetMeta.value).where(DatasetMeta.key == "as_of")
_SOURCES = select(DataSource.category, DataSource.department, DataSource.as_of)
_CORRECTIONS = (
    select(
        FeedRecordVersion.source,
        FeedRecordVersion.record_id,
        FeedRecordVersion.version,
        FeedRecordVersion.dispute,
    )
    .where(FeedRecordVersion.uscc == bindparam("uscc"), FeedRecordVersion.version > 1)
    .order_by(FeedRecordVersion.version)
)
_VERSIONS = (
    select(FeedRecordVersion.record_id, func.max(FeedRecordVersion.version))
    .where(FeedRecordVersion.uscc == bindparam("uscc"))
    .group_by(FeedRecordVersion.record_id)
)
#: The arrears record kind of each category with arrears.
_ARREARS_KIND = {
    Category.SOCIAL_INSURANCE: "social_insurance_arrears",
    Category.TAX: "tax_arrears",
    Category.HOUSING_PROVIDENT_FUND: "housing_fund_arrears",
}
#: The monthly record kind of each monthly column.
_MONTHLY_KIND = {
    "insured_headcount": "social_insurance_month",
    "tax_paid_fen": "tax_month",
    "housing_fund_headcount": "housing_fund_month",
    "water_fen": "utilities_month",
    "power_fen": "utilities_month",
    "gas_fen": "utilities_month",
}


class _Reader:
    """Builds the sections of one enterprise's document inside one session."""

    def __init__(self, session: Session, enterprise: Enterprise, as_of: date, months: int) -> None:
        self.session = session
        self.enterprise = enterprise
        self.id = enterprise.id
        self.as_of = as_of
        self.months = months
        self._monthly: list[MonthlyFigures] | None = None
        self._arrears: dict[int, Arrears] | None = None
        self._sources = {
            category: (department, as_of)
            for category, department, as_of in session.connection().execute(_SOURCES)
        }
        #: The ids of the records each section was built from.
        self.used: dict[Category, set[str]] = {}

    def use(self, kind: str, *key: object) -> None:
        """Note that the document shows the record of ``kind`` with ``key`` (its key fields)."""
        spec = RECORD_KINDS[kind]
        self.used.setdefault(spec.category, set()).add(
            record_id(spec, self.enterprise.uscc, dict(zip(spec.key, key, strict=True)))
        )

    def section(self, category: Category) -> JSONObject:
        source = self._sources.get(category.value)
        department = source[0] if source else SOURCE_DEPARTMENTS[category]
        section_as_of = min(source[1], self.as_of) if source else None
        head: JSONObject = {
            "category": category.value,
            "source": department,
            "as_of": _iso(section_as_of),
        }
        head.update(self._builders[category](self))
        return head

    # -- helpers ----------------------------------------------------------------------------

    def _rows(self, model: type[R], *order: Any) -> list[R]:
        key = (model, order)
        query = _ROWS.get(key)
        if query is None:
            query = _ROWS[key] = (
                select(model).where(model.enterprise_id == bindparam("id")).order_by(*order)
            )
        return list(self.session.scalars(query, {"id": self.id}))

    def monthly(self) -> list[MonthlyFigures]:
        if self._monthly is None:
            last = month_start(last_complete_month(self.as_of))
            query = (
                select(MonthlyFigures)
                .where(MonthlyFigures.enterprise_id == self.id, MonthlyFigures.month <= last)
                .order_by(MonthlyFigures.month)
            )
            self._monthly = list(self.session.scalars(query))
        return self._monthly

    def series(self, column: str, render: Callable[[MonthlyFigures], JSONObject]) -> JSONArray:
        points = [m for m in self.monthly() if getattr(m, column) is not None]
        chosen = select_window(points, lambda m: month_index(m.month), self.as_of, self.months)
        kind = _MONTHLY_KIND[column]
        labelled = [(month_label(month_index(m.month)), m) for m in chosen]
        for label, _ in labelled:
            self.use(kind, label)
        return [{"month": label, **render(m)} for label, m in labelled]

    def yearly(self, rows: Sequence[R], year: Callable[[R], int], kind: str) -> list[R]:
        chosen = select_window(rows, lambda r: year(r) * 12 + 11, self.as_of, self.months)
        for row in chosen:
            self.use(kind, year(row))
        return chosen

    def arrears(self, category: Category) -> JSONObject:
        if self._arrears is None:
            self._arrears = {
                a.category: a
                for a in self._rows(Arrears, Arrears.category)
                if a.since <= self.as_of
            }
        if category.value in self._arrears:
            self.use(_ARREARS_KIND[category])
        return _arrears(self._arrears, category)

    # -- sections -----------------------------------------------------------------------------

    def registration(self) -> JSONObject:
        e = self.enterprise
        self.use("enterprise")
        shareholders: JSONArray = []
        for s in self._rows(Shareholder, Shareholder.seq):
            self.use("shareholder", s.seq)
            share: str | None = None
            if e.registered_capital_fen > 0:
                ratio = Decimal(100 * s.subscribed_capital_fen) / Decimal(e.registered_capital_fen)
                share = str(ratio.quantize(_ONE_CENT, rounding=ROUND_HALF_EVEN))
            shareholders.append(
                {
                    "name": s.name,
                    "kind": s.kind,
                    "subscribed_capital": format_fen(s.subscribed_capital_fen),
                    "share_percent": share,
                }
            )
        return {
            "name": e.name,
            "uscc": e.uscc,
            "uscc_parts": parse_uscc(e.uscc).describe(),
            "legal_representative": e.legal_representative,
            "registered_capital": format_fen(e.registered_capital_fen),
            "founded": e.founded.isoformat(),
            "status": e.status,
            "industry_code": e.industry_code,
            "district_code": e.district_code,
            "district": _district_name(e.district_code),
            "address": e.address,
            "shareholders": shareholders,
            "annual_reports": [
                {
                    "year": r.year,
                    "employees": r.employees,
                    "total_assets": format_fen(r.total_assets_fen),
                    "revenue": format_fen(r.revenue_fen),
                }
                for r in self.yearly(
                    self._rows(AnnualReport, AnnualReport.year), lambda r: r.year, "annual_report"
                )
            ],
        }

    def social_insurance(self) -> JSONObject:
        return {
            "insured_headcount": self.series(
                "insured_headcount", lambda m: {"headcount": m.insured_headcount}
            ),
            "arrears": self.arrears(Category.SOCIAL_INSURANCE),
        }

    def high_tech(self) -> JSONObject:
        shown = [
            c
            for c in self._rows(HighTechCertificate, HighTechCertificate.valid_from)
            if c.valid_from <= self.as_of
        ]
        for c in shown:
            self.use("high_tech_certificate", c.certificate_no)
        certificates: JSONArray = [
            {
                "certificate_no": c.certificate_no,
                "valid_from": c.valid_from.isoformat(),
                "valid_to": c.valid_to.isoformat(),
                "issuing_body": c.issuing_body,
                "valid_on_as_of": c.valid_from <= self.as_of <= c.valid_to,
            }
            for c in shown
        ]
        return {"certificates": certificates}

    def tax(self) -> JSONObject:
        years = self.yearly(self._rows(TaxYear, TaxYear.year), lambda t: t.year, "tax_year")
        annual: JSONArray = [
            {
                "year": t.year,
                "credit_grade": t.credit_grade,
                "taxable_revenue": format_fen(t.taxable_revenue_fen),
                "employees": t.employees,
                "total_assets": _fen(t.total_assets_fen),
            }
            for t in years
        ]
        return {
            "annual": annual,
            "monthly_tax_paid": self.series(
                "tax_paid_fen", lambda m: {"amount": _fen(m.tax_paid_fen)}
            ),
            "arrears": self.arrears(Category.TAX),
        }

    def housing_fund(self) -> JSONObject:
        return {
            "covered_headcount": self.series(
                "housing_fund_headcount", lambda m: {"headcount": m.housing_fund_headcount}
            ),
            "arrears": self.arrears(Category.HOUSING_PROVIDENT_FUND),
        }

    def intellectual_property(self) -> JSONObject:
        patents: JSONArray = []
        trademarks: JSONArray = []
        copyrights: JSONArray = []
        rows = self._rows(
            IntellectualProperty, IntellectualProperty.registered_on, IntellectualProperty.number
        )
        for ip in rows:
            if ip.registered_on > self.as_of:
                continue
            self.use("intellectual_property", ip.kind, ip.number)
            if ip.kind.endswith("_patent"):
                patents.append(
                    {
                        "number": ip.number,
                        "kind": ip.kind.removesuffix("_patent"),
                        "title": ip.title,
                        "granted_on": ip.registered_on.isoformat(),
                    }
                )
            elif ip.kind == "trademark":
                trademarks.append(
                    {
                        "registration_no": ip.number,
                        "mark": ip.title,
                        "nice_class": ip.nice_class,
                        "registered_on": ip.registered_on.isoformat(),
                    }
                )
            else:
                copyrights.append(
                    {
                        "registration_no": ip.number,
                        "title": ip.title,
                        "registered_on": ip.registered_on.isoformat(),
                    }
                )
        return {"patents": patents, "trademarks": trademarks, "software_copyrights": copyrights}

    def judicial(self) -> JSONObject:
        lawsuits: JSONArray = []
        enforcements: JSONArray = []
        listings: JSONArray = []
        for r in self._rows(CourtRecord, CourtRecord.filed_on, CourtRecord.case_no):
            if r.filed_on > self.as_of:
                continue
            self.use("court_record", r.kind, r.case_no)
            if r.kind == "lawsuit":
                lawsuits.append(
                    {
                        "case_no": r.case_no,
                        "court": r.court,
                        "role": r.role,
                        "cause": r.cause,
                        "amount": _fen(r.amount_fen),
                        "filed_on": r.filed_on.isoformat(),
                        "status": r.status,
                        "closed_on": _iso(r.closed_on),
                    }
                )
            elif r.kind == "enforcement":
                enforcements.append(
                    {
                        "case_no": r.case_no,
                        "court": r.court,
                        "amount": _fen(r.amount_fen),
                        "filed_on": r.filed_on.isoformat(),
                        "status": r.status,
                        "closed_on": _iso(r.closed_on),
                    }
                )
            else:
                listings.append(
                    {
                        "case_no": r.case_no,
                        "court": r.court,
                        "listed_on": r.filed_on.isoformat(),
                        "removed_on": _iso(r.closed_on),
                    }
                )
        return {
            "lawsuits": lawsuits,
            "enforcements": enforcements,
            "dishonest_debtor_listings": listings,
        }

    def penalties(self) -> JSONObject:
        penalties: JSONArray = []
        abnormal: JSONArray = []
        rows = self._rows(
            AdministrativeRecord, AdministrativeRecord.dated_on, AdministrativeRecord.reference
        )
        for r in rows:
            if r.dated_on > self.as_of:
                continue
            if r.kind == "penalty":
                repaired = r.removed_on if r.removed_on and r.removed_on <= self.as_of else None
                if not penalty_published(
                    r.dated_on, self.as_of, minor=r.minor, repaired_on=repaired
                ):
                    continue
                until = penalty_published_until(r.dated_on, minor=r.minor, repaired_on=None)
                self.use("administrative_record", r.kind, r.reference)
                penalties.append(
                    {
                        "decision_no": r.reference,
                        "authority": r.authority,
                        "reason": r.reason,
                        "amount": _fen(r.amount_fen),
                        "decided_on": r.dated_on.isoformat(),
                        "minor": r.minor,
                        "published_until": until.isoformat(),
                    }
                )
            else:
                self.use("administrative_record", r.kind, r.reference)
                abnormal.append(
                    {
                        "decision_no": r.reference,
                        "authority": r.authority,
                        "reason": r.reason,
                        "listed_on": r.dated_on.isoformat(),
                        "removed_on": _iso(r.removed_on),
                    }
                )
        return {
            "penalties": penalties,
            "abnormal_operation_listings": abnormal,
            "publication": PUBLICATION_RULES,
        }

    def utilities(self) -> JSONObject:
        def payments(kind: str) -> JSONArray:
            return self.series(
                f"{kind}_fen",
                lambda m: {
                    "amount": _fen(getattr(m, f"{kind}_fen")),
                    "on_time": getattr(m, f"{kind}_on_time"),
                },
            )

        return {"water": payments("water"), "power": payments("power"), "gas": payments("gas")}

    def customs(self) -> JSONObject:
        registration = self.session.get(CustomsRegistration, self.id)
        reg: JSONValue = None
        if registration is not None and registration.registered_on <= self.as_of:
            self.use("customs_registration")
            reg = {
                "customs_code": registration.customs_code,
                "credit_grade": registration.credit_grade,
                "registered_on": registration.registered_on.isoformat(),
            }
        years = self.yearly(
            self._rows(CustomsYear, CustomsYear.year), lambda y: y.year, "customs_year"
        )
        annual: JSONArray = [
            {
                "year": y.year,
                "import_value": format_fen(y.import_fen),
                "export_value": format_fen(y.export_fen),
            }
            for y in years
        ]
        return {"registration": reg, "annual": annual}

    def audited_statements(self) -> JSONObject:
        rows = self._rows(FinancialStatement, FinancialStatement.fiscal_year)
        statements: JSONArray = [
            {
                "fiscal_year": s.fiscal_year,
                "revenue": format_fen(s.revenue_fen),
                "total_assets": format_fen(s.total_assets_fen),
                "net_profit": format_fen(s.net_profit_fen),
                "audit_opinion": s.audit_opinion,
                "auditor": s.auditor,
            }
            for s in self.yearly(rows, lambda s: s.fiscal_year, "financial_statement")
        ]
        return {"statements": statements}

    _builders: Mapping[Category, Callable[[_Reader], JSONObject]] = {
        Category.BUSINESS_REGISTRATION: registration,
        Category.SOCIAL_INSURANCE: social_insurance,
        Category.HIGH_TECH_QUALIFICATION: high_tech,
        Category.TAX: tax,
        Category.HOUSING_PROVIDENT_FUND: housing_fund,
        Category.INTELLECTUAL_PROPERTY: intellectual_property,
        Category.JUDICIAL: judicial,
        Category.ADMINISTRATIVE_PENALTIES: penalties,
        Category.UTILITIES: utilities,
        Category.CUSTOMS: customs,
        Category.AUDITED_FINANCIAL_STATEMENTS: audited_statements,
    }
