"""Importing source feeds: validate every record, then write a file's records in one transaction.

:func:`import_records` is the one path in (the file import and anything else that brings records
use it). Every record is checked against its kind's schema (:mod:`consentledger.bureau.feeds`),
its USCC with the full checks, the source's right to write the kind's category, the enterprise
(known to the bureau, or registered by an ``enterprise`` record of the same batch), its version
(higher than every version imported before; the same version again with the same content is
skipped, with other content refused) and duplicates within the batch. A batch with any refused
record writes nothing; otherwise every record is written in one transaction: the table row (a
correction replaces the row; monthly figures set the source's columns only), the record in the
feed log (every version kept), the source's as-of date.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from consentledger.bureau.documents import month_index, month_label, month_start, parse_month_label
from consentledger.bureau.feeds import (
    RECORD_KINDS,
    RECORD_MODELS,
    FeedRecord,
    FeedSource,
    RecordKind,
    record_id,
)
from consentledger.bureau.models import (
    DatasetMeta,
    DataSource,
    Enterprise,
    FeedRecordVersion,
    MonthlyFigures,
)
from consentledger.bureau.store import BureauStore
from consentledger.bureau.uscc import InvalidUSCCError, validate_uscc
from consentledger.errors import ConsentLedgerError

#: Record ids and USCCs looked up per query.
_CHUNK = 500


def _record_adapter() -> TypeAdapter[Any]:
    """One validator for every kind: the ``record`` field picks the model."""
    union = Union[tuple(RECORD_MODELS.values())]  # type: ignore[valid-type]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="record")])  # type: ignore[arg-type]


_ANY_RECORD = _record_adapter()


class FeedFileError(ConsentLedgerError, ValueError):
    """A feed file that cannot be read as a feed at all (missing, not UTF-8, no CSV header)."""

    code = "malformed_feed"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


class UnsupportedFeedDatabaseError(ConsentLedgerError, ValueError):
    """A bureau database whose dialect the feed import cannot write (it upserts with SQLite's and
    PostgreSQL's own statements)."""

    code = "unsupported_bureau_database"

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        super().__init__(f"feed import supports SQLite and PostgreSQL, not {dialect}")


class FeedRejectedError(ConsentLedgerError, ValueError):
    """A batch with refused records: nothing of it was written."""

    code = "feed_rejected"

    def __init__(self, reports: Sequence[ImportReport]) -> None:
        self.reports = tuple(reports)
        refused = [r for r in reports if r.refusals]
        count = sum(len(r.refusals) for r in refused)
        names = ", ".join(r.name for r in refused)
        first = refused[0].refusals[0] if refused else None
        detail = f"; first: {first.describe()}" if first else ""
        super().__init__(
            f"{count} record(s) refused in {names}; nothing of those files was written{detail}"
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused record: where it was, its id if known, a stable code and the reason."""

    line: int
    code: str
    reason: str
    record_id: str | None = None

    def describe(self) -> str:
        """``line 3 (court_record/...): invalid_uscc: ...``"""
        where = f"line {self.line}" + (f" ({self.record_id})" if self.record_id else "")
        return f"{where}: {self.code}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        """The refusal as a JSON object."""
        return {
            "line": self.line,
            "record_id": self.record_id,
            "code": self.code,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Superseded:
    """A record version that a newer version of the batch replaced as the one reads use."""

    record_id: str
    version: int
    by_version: int

    def to_json(self) -> dict[str, Any]:
        """The superseded version as a JSON object."""
        return {"record_id": self.record_id, "version": self.version, "by_version": self.by_version}


@dataclass(slots=True)
class ImportReport:
    """What became of one batch (a file): written, already there, or refused."""

    name: str
    source: str
    records: int = 0
    written: int = 0
    unchanged: int = 0
    enterprises_added: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    superseded: list[Superseded] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Whether the batch was written (no record refused)."""
        return not self.refusals

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object."""
        return {
            "name": self.name,
            "source": self.source,
            "records": self.records,
            "written": self.written,
            "unchanged": self.unchanged,
            "enterprises_added": self.enterprises_added,
            "accepted": self.accepted,
            "superseded": [s.to_json() for s in self.superseded],
            "refusals": [r.to_json() for r in self.refusals],
        }


@dataclass(frozen=True, slots=True)
class _Checked:
    line: int
    record: FeedRecord
    kind: RecordKind
    uscc: str
    record_id: str
    payload: str


# -- reading ----------------------------------------------------------------------------------

#: A raw record: its line number, then JSON text (bytes), a dict of CSV strings, or the refusal
#: of a row that could not be read as a record.
RawRecord = tuple[int, "bytes | dict[str, str] | Refusal"]


def read_feed(path: Path) -> list[RawRecord]:
    """The raw records of a JSON Lines (``.jsonl``, ``.ndjson``, ``.json``) or CSV file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedFileError(str(path), exc.strerror or str(exc)) from None
    if path.suffix.lower() == ".csv":
        return _csv_records(str(path), data)
    return [(n, line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]


def _csv_records(name: str, data: bytes) -> list[RawRecord]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedFileError(name, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "record" not in reader.fieldnames:
        raise FeedFileError(name, "a CSV feed needs a header row naming the 'record' column")
    rows: list[RawRecord] = []
    for row in reader:
        if None in row:
            refusal = Refusal(reader.line_num, "malformed_record", "more cells than the header")
            rows.append((reader.line_num, refusal))
            continue
        rows.append((reader.line_num, {k: v for k, v in row.items() if v != ""}))
    return rows


def _validate(raw: bytes | dict[str, str]) -> FeedRecord:
    if isinstance(raw, bytes):
        return _ANY_RECORD.validate_json(raw, strict=True)  # type: ignore[no-any-return]
    return _ANY_RECORD.validate_python(raw)  # type: ignore[no-any-return]


def _schema_refusal(line: int, error: ValidationError) -> Refusal:
    first = error.errors(include_url=False)[0]
    kind = first["type"]
    where = ".".join(str(part) for part in first["loc"][1:] or first["loc"])
    if kind in ("json_invalid", "model_type", "model_attributes_type", "dict_type"):
        return Refusal(line, "malformed_record", f"not a JSON object record: {first['msg']}")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        known = ", ".join(RECORD_KINDS)
        return Refusal(line, "unknown_record_kind", f"{first['msg']}; the kinds are: {known}")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return Refusal(line, "invalid_record", f"{where}: {first['msg']}{more}")


# -- checking -----------------------------------------------------------------------------------


def _check_records(
    source: FeedSource,
    raws: Iterable[RawRecord],
    report: ImportReport,
    advance: Callable[[int], None],
    kinds: frozenset[str] | None,
) -> list[_Checked]:
    """The records that pass the checks needing no database; refusals go into ``report``."""
    checked: list[_Checked] = []
    seen: dict[str, int] = {}
    codes: dict[str, str] = {}  # USCCs as given -> checked (an enterprise has many records)
    for count, (line, raw) in enumerate(raws, 1):
        if count % 1000 == 0:
            advance(1000)
        report.records += 1
        if isinstance(raw, Refusal):
            report.refusals.append(raw)
            continue
        try:
            record = _validate(raw)
        except ValidationError as exc:
            report.refusals.append(_schema_refusal(line, exc))
            continue
        values = record.__dict__
        kind = RECORD_KINDS[values["record"]]
        given = values["uscc"]
        uscc = codes.get(given)
        if uscc is None:
            try:
                uscc = codes[given] = validate_uscc(given)
            except InvalidUSCCError as exc:
                report.refusals.append(Refusal(line, exc.code, str(exc)))
                continue
        rid = record_id(kind, uscc, values)
        if kind.category not in source.categories:
            report.refusals.append(
                Refusal(
                    line,
                    "category_not_permitted",
                    f"source {source.name} may not write {kind.name} records (category "
                    f"{kind.category.value} {kind.category.slug})",
                    rid,
                )
            )
            continue
        if kinds is not None and kind.name not in kinds:
            allowed = ", ".join(sorted(kinds))
            report.refusals.append(
                Refusal(
                    line,
                    "kind_not_permitted",
                    f"this credential of source {source.name} may send {allowed} only",
                    rid,
                )
            )
            continue
        version = values["version"]
        if values["dispute"] is not None and version == 1:
            reason = "a dispute's reference comes with a correction (version 2 on), not version 1"
            report.refusals.append(Refusal(line, "dispute_on_first_version", reason, rid))
            continue
        before = seen.get(rid)
        if before is not None and before >= version:
            code, what = (
                ("duplicate_record", "appears twice")
                if before == version
                else ("out_of_order_version", f"comes after version {before}")
            )
            report.refusals.append(
                Refusal(line, code, f"version {version} {what} in the batch", rid)
            )
            continue
        seen[rid] = version
        checked.append(_Checked(line, record, kind, uscc, rid, record.model_dump_json()))
    advance(report.records % 1000)
    return checked


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _stored_versions(
    conn: Connection, source: str, ids: Sequence[str]
) -> dict[str, dict[int, str]]:
    log = FeedRecordVersion.__table__
    stored: dict[str, dict[int, str]] = {}
    for chunk in _chunks(ids):
        query = select(log.c.record_id, log.c.version, log.c.sha256).where(
            log.c.source == source, log.c.record_id.in_(chunk)
        )
        for rid, version, sha in conn.execute(query):
            stored.setdefault(rid, {})[version] = sha
    return stored


def _enterprise_ids(conn: Connection, usccs: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(usccs):
        query = select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(chunk))
        found.update((uscc, ident) for uscc, ident in conn.execute(query))
    return found


#: When a record the bureau held before its feed log (seeded data) counts as imported.
BEFORE_THE_LOG = datetime(1970, 1, 1, tzinfo=UTC)


def _seeded_enterprises(conn: Connection) -> int:
    """How many enterprises the generator seeded (ids 1 to it; 0 for a bureau never seeded):
    only their records can be held without a feed log entry."""
    meta: Table = DatasetMeta.__table__  # type: ignore[assignment]
    facts = dict(
        conn.execute(
            select(meta.c.key, meta.c.value).where(meta.c.key.in_(["generator", "enterprises"]))
        ).all()
    )
    return int(facts["enterprises"]) if "generator" in facts else 0


def _rows_before_the_log(
    conn: Connection, items: Sequence[_Checked], held: Mapping[str, int]
) -> dict[str, tuple[str, str]]:
    """The records of ``items`` the bureau holds without a feed log entry (seeded data), as
    version 1: by record id, the record's payload and its SHA-256."""
    by_kind: dict[str, list[_Checked]] = {}
    for item in items:
        by_kind.setdefault(item.kind.name, []).append(item)
    found: dict[str, tuple[str, str]] = {}
    for kind_name, wanted in by_kind.items():
        kind = RECORD_KINDS[kind_name]
        table: Table = kind.table.__table__  # type: ignore[assignment]
        owner = table.c.id if kind.table is Enterprise else table.c.enterprise_id
        usccs = {ident: uscc for uscc, ident in held.items()}
        ids = sorted({held[i.uscc] for i in wanted})
        asked = {i.record_id for i in wanted}
        for start in range(0, len(ids), _CHUNK):
            query = select(table).where(owner.in_(ids[start : start + _CHUNK]))
            for row in conn.execute(query).mappings():
                if any(row[c] != v for c, v in kind.fixed.items()):
                    continue
                if kind.table is MonthlyFigures and all(row[c] is None for c in kind.columns):
                    continue
                uscc = usccs[row[owner.name]]
                values = {c: row[c] for c in kind.fields}
                if "month" in values:
                    values["month"] = month_label(month_index(values["month"]))
                rid = record_id(kind, uscc, values)
                if rid not in asked:
                    continue
                record = RECORD_MODELS[kind.name].model_validate(
                    {"record": kind.name, "uscc": uscc, "version": 1, **values}
                )
                payload = record.model_dump_json()
                found[rid] = (payload, hashlib.sha256(payload.encode()).hexdigest())
    return found


def _log_rows_before_the_log(
    conn: Connection, source: FeedSource, rows: Mapping[str, tuple[str, str]]
) -> None:
    """Keep the rows a batch replaces that the feed log did not hold, as version 1 imported
    :data:`BEFORE_THE_LOG`: the bureau's view at an earlier time needs them."""
    if not rows:
        return
    log: Table = FeedRecordVersion.__table__  # type: ignore[assignment]
    conn.execute(
        log.insert(),
        [
            {
                "source": source.name,
                "record_id": rid,
                "version": 1,
                "uscc": rid.split("/", 2)[1],
                "sha256": digest,
                "dispute": None,
                "payload": payload,
                "imported_at": BEFORE_THE_LOG,
            }
            for rid, (payload, digest) in rows.items()
        ],
    )


# -- writing ----------------------------------------------------------------------------------


def upsert(conn: Connection, table: Table, columns: Sequence[str]) -> Insert:
    """An insert that, on the row's primary key, replaces ``columns`` only."""
    dialect = conn.dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if dialect not in ("postgresql", "sqlite"):
        raise UnsupportedFeedDatabaseError(dialect)
    statement = insert(table)
    keys = [c.name for c in table.primary_key.columns]
    update = {c: statement.excluded[c] for c in columns if c not in keys}
    if not update:
        return statement.on_conflict_do_nothing(index_elements=keys)  # type: ignore[no-any-return]
    return statement.on_conflict_do_update(index_elements=keys, set_=update)  # type: ignore[no-any-return]


def record_row(
    kind: RecordKind, values: Mapping[str, Any], uscc: str, enterprise_id: int
) -> dict[str, Any]:
    """The table row (the kind's columns) a validated record's ``values`` write."""
    row: dict[str, Any] = {c: values[c] for c in kind.fields}
    row.update(kind.fixed)
    if "month" in row:
        row["month"] = month_start(parse_month_label(row["month"]))
    if kind.table is Enterprise:
        row["id"] = enterprise_id
        row["uscc"] = uscc
    else:
        row["enterprise_id"] = enterprise_id
    return row


def _row(item: _Checked, enterprise_id: int) -> dict[str, Any]:
    return record_row(item.kind, item.record.__dict__, item.uscc, enterprise_id)


def import_records(
    store: BureauStore,
    source: FeedSource,
    raws: Iterable[RawRecord],
    *,
    name: str,
    as_of: date,
    advance: Callable[[int], None] | None = None,
    kinds: frozenset[str] | None = None,
    on_accepted: Callable[[Connection, ImportReport], None] | None = None,
) -> ImportReport:
    """Check every record of one batch and, if none is refused, write them in one transaction.

    ``as_of`` is the date the source's data is current to (its categories' as-of date moves
    forward to it; the dataset's as-of date is set to it if the bureau has none yet). ``kinds``
    narrows the record kinds the source may send (a push credential's; None: all of the
    source's). ``on_accepted`` runs in the batch's transaction once it is written (the push API
    records the batch there). Returns the report; refused records leave the database untouched.
    """
    report = ImportReport(name=name, source=source.name)
    step = advance or (lambda _n: None)
    checked = _check_records(source, raws, report, step, kinds)
    store.create_schema()
    with store.engine.begin() as conn:
        stored = _stored_versions(conn, source.name, sorted({c.record_id for c in checked}))
        held = _enterprise_ids(conn, sorted({c.uscc for c in checked}))
        seeded = _seeded_enterprises(conn)
        unlogged = [
            c for c in checked if c.record_id not in stored and 0 < held.get(c.uscc, 0) <= seeded
        ]
        before_log = _rows_before_the_log(conn, unlogged, held)
        for rid, (_, digest) in before_log.items():
            stored[rid] = {1: digest}
        fresh: list[_Checked] = []
        current: dict[str, int] = {}  # the version reads use, as the batch goes
        for item in checked:
            versions = stored.get(item.record_id, {})
            version = item.record.__dict__["version"]
            digest = hashlib.sha256(item.payload.encode()).hexdigest()
            if version in versions:
                if versions[version] == digest:
                    report.unchanged += 1
                else:
                    report.refusals.append(
                        Refusal(
                            item.line,
                            "version_conflict",
                            f"version {version} was imported before with other content; "
                            "send a correction as a higher version",
                            item.record_id,
                        )
                    )
                continue
            if versions and version < max(versions):
                report.refusals.append(
                    Refusal(
                        item.line,
                        "out_of_order_version",
                        f"version {version} is older than version {max(versions)}, imported before",
                        item.record_id,
                    )
                )
                continue
            before = current.get(item.record_id, max(versions, default=0))
            if before:
                report.superseded.append(Superseded(item.record_id, before, version))
            current[item.record_id] = version
            fresh.append(item)
        ids = {c.uscc: held[c.uscc] for c in fresh if c.uscc in held}
        registered = [c for c in fresh if c.kind.table is Enterprise and c.uscc not in ids]
        next_id = (conn.execute(select(func.max(Enterprise.id))).scalar() or 0) + 1
        for item in registered:
            if item.uscc not in ids:
                ids[item.uscc] = next_id
                next_id += 1
                report.enterprises_added += 1
        for item in fresh:
            if item.uscc not in ids:
                report.refusals.append(
                    Refusal(
                        item.line,
                        "unknown_enterprise",
                        f"the bureau holds no enterprise with USCC {item.uscc} and the batch "
                        "registers none",
                        item.record_id,
                    )
                )
        report.refusals.sort(key=lambda r: r.line)
        if report.refusals:
            report.enterprises_added = 0
            report.superseded.clear()
            conn.rollback()
            return report
        replaced = {c.record_id for c in fresh} & set(before_log)
        _log_rows_before_the_log(conn, source, {r: before_log[r] for r in replaced})
        _write(conn, source, fresh, ids, as_of)
        report.written = len(fresh)
        if on_accepted is not None:
            on_accepted(conn, report)
    return report


def _write(
    conn: Connection,
    source: FeedSource,
    fresh: Sequence[_Checked],
    ids: Mapping[str, int],
    as_of: date,
) -> None:
    _advance_as_of(conn, source, as_of)
    if not fresh:
        return
    # The latest version of each record is the row; enterprises go first (parents).
    latest: dict[str, _Checked] = {}
    for item in fresh:
        latest[item.record_id] = item
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(latest.values(), key=lambda c: c.kind.table is not Enterprise):
        by_kind.setdefault(item.kind.name, []).append(_row(item, ids[item.uscc]))
    for kind_name, rows in by_kind.items():
        kind = RECORD_KINDS[kind_name]
        table: Table = kind.table.__table__  # type: ignore[assignment]
        conn.execute(upsert(conn, table, list(rows[0])), rows)
    now = datetime.now(UTC)
    log: Table = FeedRecordVersion.__table__  # type: ignore[assignment]
    conn.execute(
        log.insert(),
        [
            {
                "source": source.name,
                "record_id": item.record_id,
                "version": item.record.__dict__["version"],
                "uscc": item.uscc,
                "sha256": hashlib.sha256(item.payload.encode()).hexdigest(),
                "dispute": item.record.__dict__["dispute"],
                "payload": item.payload,
                "imported_at": now,
            }
            for item in fresh
        ],
    )


def _advance_as_of(conn: Connection, source: FeedSource, as_of: date) -> None:
    sources: Table = DataSource.__table__  # type: ignore[assignment]
    held_query = select(sources.c.category, sources.c.as_of).where(
        sources.c.category.in_([c.value for c in source.categories])
    )
    held: dict[int, date] = dict(conn.execute(held_query).all())
    rows = [
        {"category": c.value, "department": source.department, "as_of": max(as_of, held[c.value])}
        if c.value in held
        else {"category": c.value, "department": source.department, "as_of": as_of}
        for c in sorted(source.categories)
    ]
    conn.execute(upsert(conn, sources, ["department", "as_of"]), rows)
    meta: Table = DatasetMeta.__table__  # type: ignore[assignment]
    has_as_of = conn.execute(select(meta.c.value).where(meta.c.key == "as_of")).first()
    if has_as_of is None:
        conn.execute(meta.insert(), [{"key": "as_of", "value": as_of.isoformat()}])


def import_files(
    store: BureauStore,
    source: FeedSource,
    paths: Sequence[Path],
    *,
    as_of: date,
    advance: Callable[[int], None] | None = None,
) -> list[ImportReport]:
    """Import each file as its own batch (all or nothing per file), in the order given."""
    return [
        import_records(store, source, read_feed(path), name=str(path), as_of=as_of, advance=advance)
        for path in paths
    ]


__all__ = [
    "FeedFileError",
    "FeedRejectedError",
    "ImportReport",
    "Refusal",
    "Superseded",
    "import_files",
    "import_records",
    "read_feed",
    "record_id",
    "record_row",
    "upsert",
]
