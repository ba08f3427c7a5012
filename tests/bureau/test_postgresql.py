"""The same store on PostgreSQL: identical rows, documents and classes as on SQLite (on the
session's throwaway server, ``tests/harness/postgres.py``)."""

from __future__ import annotations

from pathlib import Path

from consentledger.bureau.documents import JSONObject
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import SHOWCASE_USCCS
from consentledger.bureau.store import BureauStore
from consentledger.categories import SEEDED_CATEGORIES
from tests.harness.postgres import fresh_database

from .conftest import sqlite_url


def _snapshot(url: str) -> tuple[str, list[bytes], list[JSONObject]]:
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=150, seed=5, replace=True, progress=False)
        usccs = [*SHOWCASE_USCCS, *store.usccs()[-3:]]
        documents = [store.fetch_canonical(u, SEEDED_CATEGORIES, 24).data for u in usccs]
        classes = [store.classify(u).to_json() for u in usccs]
        return store.content_digest(), documents, classes


def test_postgresql_holds_what_sqlite_holds(tmp_path: Path, postgres_server_url: str) -> None:
    on_postgres = _snapshot(fresh_database(postgres_server_url))
    assert on_postgres == _snapshot(sqlite_url(tmp_path / "reference.db"))
