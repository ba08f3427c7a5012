"""The synthetic generator's data written as source feeds and imported give the very documents
that seeding directly gives (imported into SQLite and into PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentledger.bureau.documents import canonicalize
from consentledger.bureau.feeds import feed_source
from consentledger.bureau.feedwriter import write_feeds
from consentledger.bureau.importing import import_records, read_feed
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.bureau.synthetic import DEFAULT_AS_OF, DEFAULT_MONTHS, SyntheticBureau
from consentledger.categories import SEEDED_CATEGORIES
from tests.harness.postgres import fresh_database

from .conftest import sqlite_url

ENTERPRISES = 60
SEED = 5


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database to import into: a SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "imported.db")
    return fresh_database(request.getfixturevalue("postgres_server_url"))


def test_imported_feeds_give_byte_identical_documents(tmp_path: Path, target_url: str) -> None:
    with BureauStore.open(sqlite_url(tmp_path / "seeded.db")) as seeded:
        seed_store(seeded, enterprises=ENTERPRISES, seed=SEED, progress=False)
        usccs = seeded.usccs()
        expected = {
            (uscc, months): canonicalize(seeded.fetch(uscc, SEEDED_CATEGORIES, months)).data
            for uscc in usccs
            for months in (0, 24)
        }
    generator = SyntheticBureau(SEED, DEFAULT_AS_OF, DEFAULT_MONTHS)
    feeds = write_feeds(generator.batches(ENTERPRISES), tmp_path / "feeds")
    with BureauStore.open(target_url) as imported:
        for name, path in feeds.items():
            report = import_records(
                imported, feed_source(name), read_feed(path), name=name, as_of=DEFAULT_AS_OF
            )
            assert report.accepted, report.refusals[:3]
        assert imported.usccs() == usccs
        for (uscc, months), data in expected.items():
            assert canonicalize(imported.fetch(uscc, SEEDED_CATEGORIES, months)).data == data
        # The same feeds again: nothing changes.
        again = import_records(
            imported, feed_source("tax"), read_feed(feeds["tax"]), name="tax", as_of=DEFAULT_AS_OF
        )
        assert again.written == 0
        assert again.unchanged == again.records
