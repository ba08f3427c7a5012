"""A throwaway PostgreSQL server for the tests that run on it as well as on SQLite.

``CONSENTLEDGER_TEST_POSTGRES_URL`` (a server's URL, ``postgresql+psycopg://USER@HOST:PORT/DB``)
is used when set. Otherwise the session starts its own: Debian's ``initdb`` and ``pg_ctl`` in a
temporary directory, on a free loopback port, trust authentication, as the ``postgres`` user when
the tests run as root (PostgreSQL refuses to run as root), stopped when the session ends. Each
test gets a database of its own. Without a server and without PostgreSQL's programs the
PostgreSQL variants fail with the reason (``make test`` installs Debian's ``postgresql``).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from consentledger.chain.anvil import free_port

URL_ENV = "CONSENTLEDGER_TEST_POSTGRES_URL"


def _programs() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(owner: str | None, command: list[str]) -> list[str]:
    return command if owner is None else ["runuser", "-u", owner, "--", *command]


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's ``postgres`` database, for the whole block."""
    given = os.environ.get(URL_ENV)
    if given:
        yield given
        return
    programs = _programs()
    if programs is None:
        raise RuntimeError(
            f"no PostgreSQL: install Debian's postgresql (.ci/run does) or set {URL_ENV}"
        )
    owner = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="consentledger-pg-"))
    if owner is not None:
        record = pwd.getpwnam(owner)
        os.chown(directory, record.pw_uid, record.pw_gid)
    data, port = directory / "data", free_port()
    run = subprocess.run
    run(
        _as_owner(owner, [str(programs / "initdb"), "-D", str(data), "-U", "postgres",
                          "-A", "trust", "--no-sync", "-E", "UTF8"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {directory} -c fsync=off -c full_page_writes=off"
    run(
        _as_owner(owner, [str(programs / "pg_ctl"), "-D", str(data), "-o", options,
                          "-l", str(directory / "log"), "-w", "-t", "120", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(
            _as_owner(owner, [str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate",
                              "-w", "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    name = f"t_{secrets.token_hex(6)}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
