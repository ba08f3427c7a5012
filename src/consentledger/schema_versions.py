"""Schema versions (Alembic) of the project's two databases: the gateway's journal and the bureau.

Each database has its own version history: a script location inside the package
(``consentledger/gateway/migrations``, ``consentledger/bureau/migrations``, shipped in the wheel)
and a version table of its own (``journal_schema_version``, ``bureau_schema_version``), so the two
can share one database. Nothing reads an ``alembic.ini``: the configuration is built here.

Opening a database upgrades it (:meth:`SchemaHistory.upgrade`):

* at the head revision, nothing is written (one query: a read-only database opens);
* behind it, the upgrade runs in one transaction under a lock, so processes that open the database
  at once (gateway workers) upgrade it once and the others find it done: on PostgreSQL a
  transaction-level advisory lock, on SQLite ``BEGIN IMMEDIATE`` (the database's write lock).
  Both back-ends' DDL is transactional, so a failed upgrade leaves the database as it was;
* a database with the tables and no version table (made before schema versions) is first stamped
  with the revision its tables match (:attr:`SchemaHistory.recognise`), then upgraded;
* a database at a revision this package does not know (a newer version upgraded it) is refused.

Revisions only go forward: there is no downgrade; to go back, restore the backup taken before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection, Engine, Inspector

from consentledger.errors import ConsentLedgerError

#: How long a process waits for another one's upgrade of a SQLite database (milliseconds).
SQLITE_UPGRADE_WAIT_MS = 600_000


class SchemaVersionError(ConsentLedgerError):
    """A database's schema version cannot be used by this version of ConsentLedger."""

    code = "schema_version_error"


class SchemaAheadError(SchemaVersionError):
    """The database is at a revision this package does not know: a newer version upgraded it."""

    code = "schema_ahead"
    exit_code = 20

    def __init__(self, history: str, url: str, revision: str) -> None:
        super().__init__(
            f"the {history} database {url} is at schema revision {revision}, which this version "
            "of consentledger does not know (a newer version upgraded it): run that version, or "
            "restore the backup taken before its upgrade"
        )


class SchemaUnrecognisedError(SchemaVersionError):
    """Tables without a version table that match no revision of the history."""

    code = "schema_unrecognised"
    exit_code = 21

    def __init__(self, history: str, url: str, reason: str) -> None:
        super().__init__(
            f"the {history} database {url} has tables but no schema version, and they match no "
            f"known version ({reason}): point the setting at the right database"
        )


class SchemaBehindError(SchemaVersionError):
    """``consentledger db current --check``: the database is not at the head revision."""

    code = "schema_behind"
    exit_code = 22

    def __init__(self, history: str, url: str, where: str, head: str) -> None:
        super().__init__(
            f"the {history} database {url} is {where}, not at the head revision {head}: "
            "run `consentledger db upgrade`"
        )


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands in its history."""

    #: The revision in its version table (None: no version table, or an empty one).
    revision: str | None
    #: The history's head revision.
    head: str
    #: Tables of the history with no version table: a database from before schema versions.
    unversioned: bool = False

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    def describe(self) -> str:
        if self.unversioned:
            return f"unversioned (from before schema versions; upgrades to {self.head})"
        if self.revision is None:
            return f"empty (upgrades to {self.head})"
        if self.at_head:
            return f"{self.revision} (head)"
        return f"{self.revision} (behind: head is {self.head})"


@dataclass(frozen=True)
class Upgrade:
    """What :meth:`SchemaHistory.upgrade` did: from which revision to which (equal: nothing)."""

    before: str | None
    after: str
    #: The revision an unversioned database was stamped with before the upgrade, if any.
    adopted: str | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class SchemaHistory:
    """One database's version history."""

    #: Its name in messages and commands: ``journal`` or ``bureau``.
    name: str
    #: The package holding ``env.py``, ``script.py.mako`` and ``versions/``.
    package: str
    version_table: str
    #: A table every version of the history has: its presence without a version table marks a
    #: database from before schema versions.
    marker_table: str
    #: Whether a table belongs to this history (another history may share the database).
    owns: Callable[[str], bool]
    #: The revision an unversioned database's tables match; raises :class:`LookupError` (with
    #: the reason) when they match none.
    recognise: Callable[[Inspector], str]

    def config(self, **attributes: Any) -> Config:
        """Alembic's configuration, built in code; ``attributes`` reach ``env.py``."""
        config = Config()
        config.set_main_option("script_location", _location(self.package))
        config.attributes.update(attributes, history=self)
        return config

    def script(self) -> ScriptDirectory:
        return _script(self.package)

    @property
    def head(self) -> str:
        """The head revision (one: revisions added on branches are put in one line)."""
        return self.script().get_current_head() or ""

    def state(self, connection: Connection) -> SchemaState:
        revision = _current(connection, self.version_table)
        unversioned = revision is None and inspect(connection).has_table(self.marker_table)
        return SchemaState(revision, self.head, unversioned)

    def current(self, engine: Engine) -> SchemaState:
        """Where the database stands; writes nothing. Raises :class:`SchemaAheadError`."""
        with engine.connect() as connection:
            state = self.state(connection)
        self._check_known(state.revision, engine)
        return state

    def upgrade(self, engine: Engine) -> Upgrade:
        """Bring the database to the head revision (see the module doc): nothing written when it
        is there; otherwise under a lock, in one transaction, an unversioned database stamped
        first. Raises :class:`SchemaAheadError`, :class:`SchemaUnrecognisedError`, or
        SQLAlchemy's errors (the transaction rolled back)."""
        state = self.current(engine)
        if state.at_head:
            return Upgrade(state.revision, state.head)
        with _locked(engine, self.version_table) as connection:
            state = self.state(connection)  # again: another process may have upgraded it
            self._check_known(state.revision, engine)
            adopted = None
            if state.unversioned:
                adopted = self._adopt(connection, engine)
            if state.at_head:
                return Upgrade(state.revision, state.head)
            command.upgrade(self.config(connection=connection), "heads")
            return Upgrade(state.revision, self.head, adopted)

    def include_name(self, name: str | None, kind: str, _parents: Mapping[Any, Any]) -> bool:
        """Alembic's ``include_name`` hook: only this history's tables are compared."""
        return kind != "table" or name is None or self.owns(name)

    def differences(self, engine: Engine, metadata: MetaData) -> list[Any]:
        """What the database's schema lacks or has beyond ``metadata`` (alembic's
        ``compare_metadata``, types compared): empty when the two agree."""
        from alembic.autogenerate import compare_metadata

        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": self.version_table,
                    "include_name": self.include_name,
                    "compare_type": True,
                },
            )
            return list(compare_metadata(context, metadata))

    def _check_known(self, revision: str | None, engine: Engine) -> None:
        if revision is None:
            return
        try:
            self.script().get_revision(revision)
        except CommandError:
            raise SchemaAheadError(self.name, _shown(engine), revision) from None

    def _adopt(self, connection: Connection, engine: Engine) -> str:
        try:
            revision = self.recognise(inspect(connection))
        except LookupError as exc:
            raise SchemaUnrecognisedError(self.name, _shown(engine), str(exc)) from None
        context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
        context.stamp(self.script(), revision)
        return revision


def run_environment(history: SchemaHistory) -> None:
    """The body of each history's ``env.py``: run alembic's command on the connection it was
    given (``config.attributes["connection"]``), in that connection's transaction. Importing an
    ``env.py`` outside alembic's commands does nothing."""
    from alembic import context

    if getattr(context, "_proxy", None) is None:  # imported, not run by an alembic command
        return
    config = context.config
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=config.attributes.get("target_metadata"),
        version_table=history.version_table,
        include_name=history.include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _location(package: str) -> str:
    return str(resources.files(package))


@cache
def _script(package: str) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", _location(package))
    return ScriptDirectory.from_config(config)


def _current(connection: Connection, version_table: str) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": version_table})
    heads = context.get_current_heads()
    if len(heads) > 1:
        raise SchemaVersionError(f"{version_table} names several revisions: {', '.join(heads)}")
    return heads[0] if heads else None


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) of its own for each history."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _locked(engine: Engine, version_table: str) -> Iterator[Connection]:
    """A connection in a transaction that holds the upgrade lock until it commits (or rolls back
    on an error). Other back-ends than PostgreSQL and SQLite get no lock: upgrade them with
    ``consentledger db upgrade`` before starting several workers."""
    with engine.connect() as connection:
        dialect = engine.dialect.name
        if dialect == "sqlite":
            # pysqlite leaves DDL outside its implicit transactions: begin one ourselves, taking
            # the write lock at once, and wait for another process's upgrade rather than fail.
            waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_UPGRADE_WAIT_MS}")
            connection.commit()
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(waited or 0)}")
                connection.commit()
            return
        with connection.begin():
            if dialect == "postgresql":
                connection.exec_driver_sql(
                    f"SELECT pg_advisory_xact_lock({_lock_key(version_table)})"
                )
            yield connection
