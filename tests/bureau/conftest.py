"""Shared fixtures: real SQLite stores in temporary directories, seeded by the real generator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore

#: Synthetic enterprises in the shared, read-only store (the showcase comes on top).
SHARED_ENTERPRISES = 400


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a store seeded once per session with the default seed; tests only read it."""
    url = sqlite_url(tmp_path_factory.mktemp("bureau") / "shared.db")
    with BureauStore.open(url) as store:
        seed_store(store, enterprises=SHARED_ENTERPRISES, progress=False)
    return url


@pytest.fixture
def seeded(seeded_url: str) -> Iterator[BureauStore]:
    """The shared seeded store (read-only)."""
    with BureauStore.open(seeded_url, must_exist=True) as store:
        yield store


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[BureauStore]:
    """A store on a fresh SQLite file, schema not yet created."""
    with BureauStore.open(sqlite_url(tmp_path / "bureau.db")) as store:
        yield store
