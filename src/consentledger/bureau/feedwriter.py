"""Writing bureau rows as source feeds: the synthetic generator's data as the departments send it.

:func:`feed_records` turns a batch of rows (as :class:`~consentledger.bureau.rows.BatchBuilder`
collects them) into feed records, each with the source that sends it; :func:`write_feeds` writes
a whole dataset as one JSON Lines file per source. Importing those files (registration first)
gives the same documents as seeding directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from consentledger.bureau.documents import month_index, month_label
from consentledger.bureau.feeds import FEED_SOURCES, RECORD_KINDS, SOURCE_OF, RecordKind
from consentledger.bureau.models import Enterprise, MonthlyFigures

#: The order to import a dataset's feeds in: registration first (it brings the enterprises).
IMPORT_ORDER = tuple(FEED_SOURCES)

_BY_TABLE: dict[str, list[RecordKind]] = {}
for _kind in RECORD_KINDS.values():
    _BY_TABLE.setdefault(_kind.table.__tablename__, []).append(_kind)

_ENTERPRISE = Enterprise.__tablename__
_MONTHLY = MonthlyFigures.__tablename__
#: The monthly kind that every month row has (the row's existence rides on it).
_MONTH_ANCHOR = "social_insurance_month"


def _value(column: str, value: Any) -> Any:
    if column == "month" and isinstance(value, date):
        return month_label(month_index(value))
    return value


def _record(kind: RecordKind, uscc: str, row: Mapping[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"record": kind.name, "uscc": uscc, "version": 1}
    for column in kind.fields:
        record[column] = _value(column, row[column])
    return record


def feed_records(
    batch: Mapping[str, Iterable[Mapping[str, Any]]], usccs: dict[int, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(source name, record)`` for every row of ``batch`` (tables without feeds are skipped).

    ``usccs`` maps enterprise ids to USCCs; the batch's enterprises are added to it.
    """
    for row in batch.get(_ENTERPRISE, ()):
        usccs[row["id"]] = row["uscc"]
    for table, rows in batch.items():
        kinds = _BY_TABLE.get(table)
        if not kinds:
            continue
        for row in rows:
            uscc = usccs[row["id"] if table == _ENTERPRISE else row["enterprise_id"]]
            for kind in kinds:
                if any(row[column] != value for column, value in kind.fixed.items()):
                    continue
                if (
                    table == _MONTHLY
                    and kind.name != _MONTH_ANCHOR
                    and all(row[column] is None for column in kind.columns)
                ):
                    continue
                yield SOURCE_OF[kind.category].name, _record(kind, uscc, row)


def write_feeds(
    batches: Iterable[Mapping[str, Iterable[Mapping[str, Any]]]], directory: Path
) -> dict[str, Path]:
    """Write every batch's records as ``DIRECTORY/SOURCE.jsonl``; returns the files by source,
    in :data:`IMPORT_ORDER`."""
    directory.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    paths = {name: directory / f"{name}.jsonl" for name in IMPORT_ORDER}
    usccs: dict[int, str] = {}
    with ExitStack() as stack:
        files: dict[str, BinaryIO] = {
            name: stack.enter_context(path.open("wb")) for name, path in paths.items()
        }
        for batch in batches:
            for source, record in feed_records(batch, usccs):
                out = files[source]
                out.write(encoder.encode(record))
                out.write(b"\n")
    return paths
