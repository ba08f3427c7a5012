"""One journal, several relayers: every row names its relayer, a worker's reconcile and
``last_sequence`` look only at its own, and a database from before the relayer column is upgraded
on open (revision j0002: added, filled from the query ids). Real components: the embedded chain,
SQLite."""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from eth_account import Account
from sqlalchemy import inspect

from consentledger.chain.client import SignedCall
from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.gateway.db import SQLITE_BUSY_TIMEOUT_MS, Database
from consentledger.gateway.journal_store import Journal, hex32, query_hex, reconcile
from consentledger.journal.schema import Batch, JournalEntry, ReadStatus
from consentledger.ledger.types import first_query_id, query_id_relayer
from consentledger.testing.world import World, build_world
from tests.harness.journal import journaled_reads, sign_batch
from tests.harness.legacy_schemas import create_legacy_schema


def _shape(connection: sqlite3.Connection) -> tuple[dict[str, set[str]], set[str]]:
    """A SQLite database's tables with their columns, and its named indexes."""
    tables = [
        name
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name != "sqlite_sequence"
    ]
    columns = {t: {row[1] for row in connection.execute(f"PRAGMA table_info({t})")} for t in tables}
    indexes = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    return columns, indexes


def _to_the_old_schema(path: Path) -> None:
    """Take away everything the first release's gateway database did not have (revision j0001,
    unversioned: the fixture DDL of tests/fixtures/schemas): the schema version, the relayer
    columns, the signed-request columns, every later table and column, keeping the rows."""
    baseline = path.with_name("j0001.db")
    create_legacy_schema(f"sqlite:///{baseline}", "journal-j0001")
    with sqlite3.connect(baseline) as old:
        old_columns, old_indexes = _shape(old)
    with sqlite3.connect(path) as connection:
        columns, indexes = _shape(connection)
        for index in sorted(indexes - old_indexes):
            connection.execute(f"DROP INDEX {index}")
        for table, names in sorted(columns.items()):
            if table not in old_columns:
                connection.execute(f"DROP TABLE {table}")
                continue
            for column in sorted(names - old_columns[table]):
                connection.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    assert "relayer" not in _columns_of(path, "journal")


def _columns_of(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as connection:
        return _shape(connection)[0][table]


def _other_relayers_open_batch(journal: Journal, world: World, consent: bytes) -> list[int]:
    """Two reads journaled and batched by another relayer (a worker that may still be running):
    its batch transaction is junk, so any attempt to settle it here would show."""
    other = Account.create().address
    ids = journaled_reads(journal, world, consent, 2)
    junk = SignedCall(b"junk", secrets.token_bytes(32), 0)
    prefix = first_query_id(other)
    journal.batch_signed(junk, [(i, prefix + 40 + n) for n, i in enumerate(ids)])
    return ids


def _rows(db: Database) -> dict[int, JournalEntry]:
    with db.session() as session:
        return {e.id: e for e in session.query(JournalEntry)}


def test_an_old_database_is_migrated_and_each_relayer_reconciles_only_its_own(
    tmp_path: Path,
) -> None:
    world = build_world(EmbeddedChain(clock=BlockClock.STEADY))
    me = world.bureau.account.address
    consent = world.grant(world.terms(world.enterprises["solo"], world.banks[0]))
    path = tmp_path / "gateway.db"
    url = f"sqlite:///{path}"
    # What a gateway from before the column left at its crash, in a journal another relayer's
    # gateway shares: its batch signed and never sent, a read journaled and never batched.
    old = Journal(Database(url))
    mine = journaled_reads(old, world, consent, 3)
    sign_batch(world, old, mine, consent)
    [legacy_pending] = journaled_reads(old, world, consent, 1)
    theirs = _other_relayers_open_batch(old, world, consent)
    old.db.close()
    _to_the_old_schema(path)

    db = Database(url)  # the upgrade runs on open
    for table in ("journal", "batches"):
        assert "relayer" in {c["name"] for c in inspect(db.engine).get_columns(table)}
    rows = _rows(db)
    assert {rows[i].relayer for i in mine} == {me}
    their_query_id = rows[theirs[0]].query_id
    assert their_query_id is not None
    assert {rows[i].relayer for i in theirs} == {query_id_relayer(int(their_query_id, 16))}
    assert rows[theirs[0]].relayer != me
    assert rows[legacy_pending].relayer is None  # no query id: owned by the old gateway
    with db.session() as session:
        assert {b.relayer for b in session.query(Batch)} == {
            me,
            rows[theirs[0]].relayer,
        }
    Database(url).close()  # opening again (another worker) changes nothing

    journal = Journal(db, me)
    assert journal.last_sequence() == 1_002  # its own query ids only, not the other's 41
    report = reconcile(journal, world.bureau, receipt_timeout=5)

    assert (report.granted, report.failed, report.still_open) == (3, 1, 0)
    rows = _rows(db)
    assert [rows[i].status for i in mine] == [ReadStatus.GRANTED] * 3
    assert rows[legacy_pending].status == ReadStatus.FAILED
    # The other relayer's batch and entries are untouched: its worker settles them.
    assert [rows[i].status for i in theirs] == [ReadStatus.BATCHED] * 2
    with db.session() as session:
        other_batch = session.query(Batch).filter(Batch.relayer != me).one()
        assert other_batch.status == "sent"
    assert Journal(db, rows[theirs[0]].relayer).last_sequence() == 41


def test_new_rows_name_their_relayer(tmp_path: Path) -> None:
    world = build_world(EmbeddedChain(clock=BlockClock.STEADY))
    consent = world.grant(world.terms(world.enterprises["solo"], world.banks[0]))
    db = Database(f"sqlite:///{tmp_path / 'gateway.db'}")
    journal = Journal(db, world.bureau.account.address)
    ids = journaled_reads(journal, world, consent, 2)
    signed = sign_batch(world, journal, ids, consent)
    rows = _rows(db)
    assert {rows[i].relayer for i in ids} == {world.bureau.account.address}
    assert rows[ids[0]].query_id == query_hex(first_query_id(world.bureau.account.address) + 1_000)
    with db.session() as session:
        batch = session.query(Batch).filter(Batch.tx_hash == hex32(signed.tx_hash)).one()
        assert batch.relayer == world.bureau.account.address


def test_workers_opening_a_new_database_at_once_all_get_it(tmp_path: Path) -> None:
    for attempt in range(2):
        url = f"sqlite:///{tmp_path / f'gateway-{attempt}.db'}"
        code = f"from consentledger.gateway.db import Database; Database({url!r}).close()"
        opening = [
            subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(4)
        ]
        for process in opening:
            _out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err.decode()[-2000:]


def test_a_new_database_locked_longer_than_the_busy_timeout_still_opens(tmp_path: Path) -> None:
    """Another process creating the database may hold its lock longer than one busy timeout
    (a loaded machine): turning the database to WAL waits for the lock instead of failing."""
    path = tmp_path / "gateway.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE creating (x INTEGER)")
    released = threading.Event()

    def release() -> None:
        time.sleep(SQLITE_BUSY_TIMEOUT_MS / 1000 + 1.5)
        holder.execute("COMMIT")
        released.set()

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        Database(f"sqlite:///{path}").close()
        assert released.is_set()
    finally:
        releaser.join()
        holder.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
