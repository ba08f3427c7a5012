"""``consentledger db``: the schema versions of the gateway's database (the journal) and of the
bureau's (see :mod:`consentledger.schema_versions`).

``serve`` and the bureau's commands upgrade their database when they open it; ``db upgrade`` does
it on its own (after a backup, before starting several workers on a back-end without a lock), and
``db current`` says where each database stands, writing nothing. Neither creates a database: a
missing SQLite file is reported, and an empty bureau is left to ``consentledger bureau seed``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from consentledger.bureau.schema_history import BUREAU_HISTORY
from consentledger.bureau.store import DATABASE_URL_ENV as BUREAU_URL_ENV
from consentledger.bureau.store import BureauDatabaseError
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.db import GatewayDatabaseError, journal_engine
from consentledger.gateway.schema_history import JOURNAL_HISTORY
from consentledger.schema_versions import SchemaBehindError, SchemaHistory, SchemaState

JOURNAL_URL_ENV = "CONSENTLEDGER_DATABASE_URL"


def _journal_error(url: str, reason: str) -> ConsentLedgerError:
    return GatewayDatabaseError(f"cannot open the gateway database {url}: {reason}")


@dataclass(frozen=True)
class _Target:
    """One database: its history, URL, and the package error that names a failure to reach it."""

    history: SchemaHistory
    url: str
    engine: Callable[[str], Engine]
    error: Callable[[str, str], ConsentLedgerError]

    @property
    def shown(self) -> str:
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return repr(self.url)

    def missing(self) -> bool:
        """A SQLite file that does not exist (never created here)."""
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            return False
        database = parsed.database
        if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
            return False
        return not database.startswith("file:") and not Path(database).is_file()

    @contextmanager
    def opened(self) -> Iterator[Engine]:
        """An engine on it; its failures (malformed URL, missing driver, unreachable, a failed
        upgrade) raised as the database's own package error, in one line."""
        try:
            engine = self.engine(self.url)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise self.error(self.shown, _reason(exc)) from None
        try:
            yield engine
        except SQLAlchemyError as exc:
            raise self.error(self.shown, _reason(exc)) from None
        finally:
            engine.dispose()


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _targets(which: str, data_dir: Path, journal: str | None, bureau: str | None) -> list[_Target]:
    env = os.environ
    found = {
        "journal": _Target(
            JOURNAL_HISTORY,
            journal or env.get(JOURNAL_URL_ENV) or f"sqlite:///{data_dir / 'gateway.db'}",
            journal_engine,
            _journal_error,
        ),
        "bureau": _Target(
            BUREAU_HISTORY,
            bureau or env.get(BUREAU_URL_ENV) or f"sqlite:///{data_dir / 'bureau.db'}",
            create_engine,
            BureauDatabaseError,
        ),
    }
    return list(found.values()) if which == "all" else [found[which]]


def _state(target: _Target) -> tuple[str, SchemaState | None]:
    """``(state, schema state)``: state is ``missing``, ``empty``, ``unversioned``, ``behind`` or
    ``head``."""
    if target.missing():
        return "missing", None
    with target.opened() as engine:
        state = target.history.current(engine)
    if state.unversioned:
        return "unversioned", state
    if state.revision is None:
        return "empty", state
    return ("head" if state.at_head else "behind"), state


_which = click.argument(
    "which", type=click.Choice(["all", "journal", "bureau"]), default="all", required=False
)
_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("consentledger-data"),
    show_default=True,
    help="serve's data directory: its gateway.db and bureau.db, unless a URL is set.",
)
_journal = click.option(
    "--journal",
    "journal_url",
    default=None,
    help=f"The gateway database's URL (default: ${JOURNAL_URL_ENV}, else the data directory's).",
)
_bureau = click.option(
    "--bureau",
    "bureau_url",
    default=None,
    help=f"The bureau database's URL (default: ${BUREAU_URL_ENV}, else the data directory's).",
)


@click.group()
def db() -> None:
    """Schema versions of the gateway's database (journal) and the bureau's."""


@db.command()
@_which
@_data_dir
@_journal
@_bureau
@click.option("--check", is_flag=True, help="Fail (schema_behind) unless every one is at head.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per database, as a list.")
def current(
    which: str,
    data_dir: Path,
    journal_url: str | None,
    bureau_url: str | None,
    check: bool,
    as_json: bool,
) -> None:
    """Where each database stands in its history (writes nothing)."""
    rows: list[dict[str, Any]] = []
    behind: list[tuple[_Target, str, SchemaState | None]] = []
    for target in _targets(which, data_dir, journal_url, bureau_url):
        name, state = _state(target)
        head = target.history.head
        rows.append(
            {
                "database": target.history.name,
                "url": target.shown,
                "state": name,
                "revision": state.revision if state else None,
                "head": head,
            }
        )
        if name != "head":
            behind.append((target, name, state))
        if not as_json:
            described = "no database" if state is None else state.describe()
            click.echo(f"{target.history.name}  {target.shown}  {described}")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    if check and behind:
        target, name, state = behind[0]
        where = f"at revision {state.revision}" if state and state.revision else name
        raise SchemaBehindError(target.history.name, target.shown, where, target.history.head)


@db.command()
@_which
@_data_dir
@_journal
@_bureau
def upgrade(which: str, data_dir: Path, journal_url: str | None, bureau_url: str | None) -> None:
    """Bring each database to its head revision, in place (back it up first)."""
    for target in _targets(which, data_dir, journal_url, bureau_url):
        label = f"{target.history.name}  {target.shown}"
        if target.missing():
            click.echo(f"{label}  no database: nothing to upgrade")
            continue
        with target.opened() as engine:
            if target.history is BUREAU_HISTORY and not inspect(engine).has_table(
                BUREAU_HISTORY.marker_table
            ):
                click.echo(f"{label}  empty: `consentledger bureau seed` creates it")
                continue
            done = target.history.upgrade(engine)
        if not done.changed:
            click.echo(f"{label}  {done.after} (head): nothing to do")
            continue
        before = done.before or (f"unversioned, as {done.adopted}" if done.adopted else "empty")
        click.echo(f"{label}  {before} -> {done.after} (head)")
