"""Schema versions of the two databases (:mod:`consentledger.schema_versions`): the head revision
of each history agrees with its models (a table or column added without a revision fails here),
the histories are one line each, a database at a revision this version does not know or with
tables of no known version is refused, and processes that open an old database at once upgrade it
once. SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, text

from consentledger.bureau.models import Base as BureauBase
from consentledger.bureau.schema_history import BUREAU_HISTORY
from consentledger.bureau.store import BureauStore
from consentledger.gateway.db import Database
from consentledger.gateway.schema_history import JOURNAL_HISTORY
from consentledger.journal.schema import Base as JournalBase
from consentledger.schema_versions import (
    SchemaAheadError,
    SchemaHistory,
    SchemaUnrecognisedError,
)
from tests.harness.legacy_schemas import create_legacy_schema, insert_rows, table_rows

HISTORIES: dict[str, tuple[SchemaHistory, MetaData]] = {
    "journal": (JOURNAL_HISTORY, JournalBase.metadata),
    "bureau": (BUREAU_HISTORY, BureauBase.metadata),
}
#: The oldest tables of each, as the first release made them.
BASELINE = {"journal": "journal-j0001", "bureau": "bureau-b0001"}
#: A bank row an old gateway left.

_OLD_BANK = {
    "name": "Old Bank",
    "address": "0x" + "ab" * 20,
    "key_id": "0" * 16,
    "key_hash": "1" * 64,
    "created_at": datetime(2026, 11, 30, tzinfo=UTC),
}


def _open(name: str, url: str) -> None:
    """What the gateway and the bureau's commands do on start."""
    if name == "journal":
        Database(url).close()
    else:
        BureauStore.open(url).create_schema()


def _upgraded(name: str, url: str) -> None:
    if name == "journal":
        Database(url).close()
    else:
        BureauStore.open(url, must_exist=True).close()


def test_each_history_is_one_line() -> None:
    for history, _metadata in HISTORIES.values():
        assert len(history.script().get_heads()) == 1, history.name
        bases = history.script().get_bases()
        assert len(bases) == 1, history.name


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_the_head_revision_agrees_with_the_models(name: str, journal_url: str) -> None:
    history, metadata = HISTORIES[name]
    _open(name, journal_url)
    engine = create_engine(journal_url)
    try:
        assert history.current(engine).at_head
        assert history.differences(engine, metadata) == []
    finally:
        engine.dispose()


def test_the_two_histories_share_a_database(journal_url: str) -> None:
    _open("journal", journal_url)
    _open("bureau", journal_url)
    engine = create_engine(journal_url)
    try:
        for history, metadata in HISTORIES.values():
            assert history.current(engine).at_head
            assert history.differences(engine, metadata) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_a_table_the_models_add_without_a_revision_is_a_difference(
    name: str, journal_url: str
) -> None:
    history, metadata = HISTORIES[name]
    _open(name, journal_url)
    grown = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(grown)
    Table(
        f"{'bureau_' if name == 'bureau' else ''}added",
        grown,
        Column("id", Integer, primary_key=True),
    )
    engine = create_engine(journal_url)
    try:
        [difference] = history.differences(engine, grown)
        assert difference[0] == "add_table"
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_a_database_a_newer_version_upgraded_is_refused(name: str, journal_url: str) -> None:
    history, _metadata = HISTORIES[name]
    _open(name, journal_url)
    engine = create_engine(journal_url)
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {history.version_table} SET version_num = 'x9999'")  # noqa: S608
        )
    engine.dispose()
    with pytest.raises(SchemaAheadError, match="x9999") as refused:
        _upgraded(name, journal_url)
    assert refused.value.code == "schema_ahead"


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_tables_of_no_known_version_are_refused(name: str, journal_url: str) -> None:
    history, _metadata = HISTORIES[name]
    engine = create_engine(journal_url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {history.marker_table} (id INTEGER)"))
    engine.dispose()
    with pytest.raises(SchemaUnrecognisedError) as refused:
        _upgraded(name, journal_url)
    assert refused.value.code == "schema_unrecognised"


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_processes_opening_an_old_database_at_once_upgrade_it_once(
    name: str, journal_url: str, tmp_path: Path
) -> None:
    create_legacy_schema(journal_url, BASELINE[name])
    if name == "journal":
        insert_rows(journal_url, {"banks": [_OLD_BANK]})
    else:
        insert_rows(journal_url, {"bureau_meta": [{"key": "seed", "value": "7"}]})
    before = table_rows(journal_url)
    code = (
        "import sys\n"
        "from tests.test_schema_versions import _upgraded\n"
        f"_upgraded({name!r}, sys.argv[1])\n"
    )
    opening = [
        subprocess.Popen(
            [sys.executable, "-c", code, journal_url],
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for _ in range(4)
    ]
    for process in opening:
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]
    history, metadata = HISTORIES[name]
    engine = create_engine(journal_url)
    try:
        assert history.current(engine).at_head
        assert history.differences(engine, metadata) == []
        with engine.connect() as connection:
            query = f"SELECT * FROM {history.version_table}"  # noqa: S608
            versions = connection.execute(text(query)).all()
        assert len(versions) == 1
    finally:
        engine.dispose()
    after = table_rows(journal_url, list(before))
    for table, rows in before.items():
        assert [{k: a[k] for k in b} for a, b in zip(after[table], rows, strict=True)] == rows
