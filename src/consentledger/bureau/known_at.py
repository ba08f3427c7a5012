"""The bureau as it stood at a past moment: an enterprise's document built from the versions its
feed log held then.

The bureau's tables hold the current version of every record; the feed log keeps every version
with the time it was imported (records seeded before the log count as version 1, imported at
:data:`~consentledger.bureau.importing.BEFORE_THE_LOG`, once a batch replaces them). To answer
"as known at" a moment, :func:`fetch_known_at` copies the enterprise's rows into a private
in-memory database, puts back each record's version current at that moment (or removes a record
not yet imported then) and reads the document there with the one document builder
(:meth:`BureauStore.fetch`): a version the bureau did not yet hold is never shown.

This view is for the bureau's operators, dispute handling and the auditor (through the operator):
a bank's read is always of the current versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    create_engine,
    delete,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.pool import StaticPool

from consentledger.bureau.documents import JSONObject
from consentledger.bureau.feeds import RECORD_KINDS, RECORD_MODELS, RecordKind
from consentledger.bureau.importing import record_row, upsert
from consentledger.bureau.models import (
    TABLES,
    Base,
    DatasetMeta,
    DataSource,
    Enterprise,
    FeedRecordVersion,
    MonthlyFigures,
)
from consentledger.bureau.store import BureauStore, UnknownEnterpriseError
from consentledger.bureau.uscc import validate_uscc
from consentledger.categories import Category
from consentledger.errors import ConsentLedgerError


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _copy(source: Connection, target: Connection, table: Table, *where: Any) -> None:
    rows = [dict(r) for r in source.execute(select(table).where(*where)).mappings()]
    if rows:
        target.execute(insert(table), rows)


def _owner(table: Table) -> Any:
    return table.c.id if table.name == Enterprise.__tablename__ else table.c.enterprise_id


def _remove(target: Connection, kind: RecordKind, values: Mapping[str, Any], ident: int) -> None:
    """Take a record out of the copy: its columns of a shared monthly row, else its row."""
    table: Table = kind.table.__table__  # type: ignore[assignment]
    row = record_row(kind, values, "", ident)
    match = and_(
        _owner(table) == ident,
        *(table.c[c] == row[c] for c in (*kind.key, *kind.fixed)),
    )
    if kind.table is MonthlyFigures:
        target.execute(update(table).where(match).values(dict.fromkeys(kind.columns)))
    else:
        target.execute(delete(table).where(match))


def _put(target: Connection, kind: RecordKind, payload: str, uscc: str, ident: int) -> None:
    """Write a record's version into the copy (its columns only, as the import does)."""
    values = RECORD_MODELS[kind.name].model_validate_json(payload).__dict__
    table: Table = kind.table.__table__  # type: ignore[assignment]
    row = record_row(kind, values, uscc, ident)
    target.execute(upsert(target, table, list(row)), [row])


def _snapshot(store: BureauStore, uscc: str, known_at: datetime) -> Engine:
    """A private in-memory database holding the enterprise as the bureau knew it at
    ``known_at`` (raises :class:`UnknownEnterpriseError` if it did not know it yet)."""
    memory = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    Base.metadata.create_all(memory)
    log: Table = FeedRecordVersion.__table__  # type: ignore[assignment]
    with store.engine.connect() as source, memory.begin() as target:
        ident = source.execute(select(Enterprise.id).where(Enterprise.uscc == uscc)).scalar()
        if ident is None:
            raise UnknownEnterpriseError(uscc)
        _copy(source, target, DatasetMeta.__table__)  # type: ignore[arg-type]
        _copy(source, target, DataSource.__table__)  # type: ignore[arg-type]
        for table in TABLES:
            if table.name not in (DatasetMeta.__tablename__, DataSource.__tablename__):
                _copy(source, target, table, _owner(table) == ident)
        if not inspect(source).has_table(log.name):
            return memory
        versions = source.execute(
            select(log).where(log.c.uscc == uscc).order_by(log.c.record_id, log.c.version)
        ).mappings()
        by_record: dict[str, list[Mapping[str, Any]]] = {}
        for version in versions:
            by_record.setdefault(version["record_id"], []).append(dict(version))
        known_rows: list[dict[str, Any]] = []
        for record_id, history in by_record.items():
            known = [v for v in history if _aware(v["imported_at"]) <= known_at]
            known_rows.extend(dict(v) for v in known)
            if len(known) == len(history):
                continue  # the current row is the version known then
            kind = RECORD_KINDS[record_id.partition("/")[0]]
            if known:
                _put(target, kind, known[-1]["payload"], uscc, ident)
            elif kind.table is Enterprise:
                raise UnknownEnterpriseError(uscc)
            else:
                values = RECORD_MODELS[kind.name].model_validate_json(history[-1]["payload"])
                _remove(target, kind, values.__dict__, ident)
        if known_rows:
            target.execute(insert(log), known_rows)
    return memory


class InvalidKnownAtError(ConsentLedgerError, ValueError):
    """A moment that is not an ISO 8601 date or date-time."""

    code = "invalid_known_at"

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(
            f"{text[:64]!r} is not an ISO 8601 date-time (2026-11-30T12:00:00Z) or date "
            "(2026-11-30: the end of that day, UTC)"
        )


def parse_known_at(text: str) -> datetime:
    """An ISO 8601 date-time (a naive one is UTC), or a date: the end of that day, UTC."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day, time.max, tzinfo=UTC)
        return _aware(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise InvalidKnownAtError(text) from None


def fetch_known_at(
    store: BureauStore,
    uscc: str,
    categories: Iterable[Category | int | str],
    history_months: int,
    *,
    known_at: datetime,
    as_of: date | None = None,
) -> JSONObject:
    """The enterprise's document as the bureau would have built it at ``known_at`` (a naive
    time is UTC): every record at the version current then, ``versions`` and ``corrections``
    naming those. ``as_of`` is the data's date, as for :meth:`BureauStore.fetch` (default: the
    dataset's). Raises what :meth:`BureauStore.fetch` raises."""
    code = validate_uscc(uscc)
    memory = _snapshot(store, code, _aware(known_at))
    try:
        return BureauStore(memory).fetch(code, categories, history_months, as_of=as_of)
    finally:
        memory.dispose()


__all__ = ["InvalidKnownAtError", "fetch_known_at", "parse_known_at"]
