"""The same store on PostgreSQL: identical rows, documents and classes as on SQLite.

Opt-in: set ``CONSENTLEDGER_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/bureau``) with a driver installed; the test
replaces the bureau's tables in that database.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consentledger.bureau.documents import JSONObject
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import SHOWCASE_USCCS
from consentledger.bureau.store import BureauStore
from consentledger.categories import SEEDED_CATEGORIES

from .conftest import sqlite_url

POSTGRES_URL = os.environ.get("CONSENTLEDGER_TEST_POSTGRES_URL", "")

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="set CONSENTLEDGER_TEST_POSTGRES_URL to run the store on PostgreSQL"
)


def _snapshot(url: str) -> tuple[str, list[bytes], list[JSONObject]]:
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=150, seed=5, replace=True, progress=False)
        usccs = [*SHOWCASE_USCCS, *store.usccs()[-3:]]
        documents = [store.fetch_canonical(u, SEEDED_CATEGORIES, 24).data for u in usccs]
        classes = [store.classify(u).to_json() for u in usccs]
        return store.content_digest(), documents, classes


def test_postgresql_holds_what_sqlite_holds(tmp_path: Path) -> None:
    assert _snapshot(POSTGRES_URL) == _snapshot(sqlite_url(tmp_path / "reference.db"))
