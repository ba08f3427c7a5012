"""Databases as earlier versions left them, for the in-place upgrade tests.

``tests/fixtures/schemas/<database>-<revision>.<dialect>.sql`` hold the DDL that ``create_all``
ran before schema versions (the models of that day compiled for SQLite and PostgreSQL), named by
the revision the tables match: ``journal-j0001`` (the first release's gateway database, before the
relayer column), ``journal-j0003`` and ``bureau-b0004`` (the last ones made without a version
table), ``bureau-b0001``. Rows go in through the reflected tables, so values are stored as the
old models stored them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, insert, select

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "schemas"


def create_legacy_schema(url: str, name: str) -> None:
    """Run the fixture ``name``'s DDL (e.g. ``journal-j0001``) on the database at ``url``."""
    engine = create_engine(url)
    try:
        sql = (FIXTURES / f"{name}.{engine.dialect.name}.sql").read_text()
        code = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
        with engine.begin() as connection:
            for statement in code.split(";"):
                if statement.strip():
                    connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def insert_rows(url: str, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
    """Insert rows by table name (parents first), through the database's reflected tables."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.begin() as connection:
            for table, values in rows.items():
                by_columns: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
                for row in values:  # one executemany per set of columns
                    by_columns.setdefault(tuple(sorted(row)), []).append(row)
                for listed in by_columns.values():
                    connection.execute(insert(metadata.tables[table]), listed)
    finally:
        engine.dispose()


def table_rows(url: str, tables: Iterable[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables (default: all but the version tables), by table, in key order."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        names = tables or [n for n in metadata.tables if not n.endswith("_schema_version")]
        out: dict[str, list[dict[str, Any]]] = {}
        with engine.connect() as connection:
            for name in names:
                table = metadata.tables[name]
                order = list(table.primary_key.columns) or list(table.columns)
                result = connection.execute(select(table).order_by(*order))
                out[name] = [dict(row._mapping) for row in result]
        return out
    finally:
        engine.dispose()


def copy_bureau_rows(source_url: str, target_url: str, usccs: Iterable[str]) -> None:
    """Copy the enterprises ``usccs`` (and the dataset's facts and sources) from the bureau at
    ``source_url`` into the older bureau at ``target_url``: the columns the older tables have."""
    source_engine = create_engine(source_url)
    try:
        source, target = MetaData(), MetaData()
        source.reflect(source_engine)
        target_engine = create_engine(target_url)
        target.reflect(target_engine)
        target_engine.dispose()
        wanted = list(usccs)
        rows: dict[str, list[dict[str, Any]]] = {}
        with source_engine.connect() as connection:
            enterprise = source.tables["bureau_enterprise"]
            ids = list(
                connection.execute(
                    select(enterprise.c.id).where(enterprise.c.uscc.in_(wanted))
                ).scalars()
            )
            for table in target.sorted_tables:
                if table.name not in source.tables:
                    continue
                origin = source.tables[table.name]
                columns = [origin.c[c.name] for c in table.columns]
                query = select(*columns)
                if "enterprise_id" in origin.c:
                    query = query.where(origin.c.enterprise_id.in_(ids))
                elif table.name == "bureau_enterprise":
                    query = query.where(origin.c.id.in_(ids))
                rows[table.name] = [dict(r._mapping) for r in connection.execute(query)]
    finally:
        source_engine.dispose()
    insert_rows(target_url, rows)
