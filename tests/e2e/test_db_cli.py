"""``consentledger db current`` and ``db upgrade`` as an operator runs them: a real process on a
data directory whose databases an earlier version made (before schema versions), its output, its
one-line errors and exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from consentledger.bureau.schema_history import BUREAU_HISTORY
from consentledger.gateway.schema_history import JOURNAL_HISTORY
from tests.harness.legacy_schemas import create_legacy_schema, insert_rows

#: The head revisions (each history grows: the tests name them, not their numbers).
JOURNAL_HEAD, BUREAU_HEAD = JOURNAL_HISTORY.head, BUREAU_HISTORY.head


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONSENTLEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "consentledger.cli", "db", *args],
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: str, status: int) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error ({code}): "), lines[0]
    assert result.returncode == status, (result.returncode, result.stderr)
    return lines[0]


def test_current_and_upgrade_on_a_data_directory_from_before_schema_versions(
    tmp_path: Path,
) -> None:
    data = ["--data-dir", str(tmp_path)]
    journal, bureau = f"sqlite:///{tmp_path / 'gateway.db'}", f"sqlite:///{tmp_path / 'bureau.db'}"
    create_legacy_schema(journal, "journal-j0001")
    create_legacy_schema(bureau, "bureau-b0001")
    insert_rows(bureau, {"bureau_meta": [{"key": "seed", "value": "7"}]})

    current = _run("current", *data)
    assert current.returncode == 0, current.stderr
    before = "unversioned (from before schema versions; upgrades to"
    assert current.stdout.splitlines() == [
        f"journal  {journal}  {before} {JOURNAL_HEAD})",
        f"bureau  {bureau}  {before} {BUREAU_HEAD})",
    ]
    _one_line_error(_run("current", "--check", *data), "schema_behind", 22)

    upgraded = _run("upgrade", *data)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.splitlines() == [
        f"journal  {journal}  unversioned, as j0001 -> {JOURNAL_HEAD} (head)",
        f"bureau  {bureau}  unversioned, as b0001 -> {BUREAU_HEAD} (head)",
    ]
    again = _run("upgrade", "bureau", *data)
    assert again.stdout.splitlines() == [f"bureau  {bureau}  {BUREAU_HEAD} (head): nothing to do"]
    checked = _run("current", "--check", "--json", *data)
    assert checked.returncode == 0, checked.stderr
    assert [(d["database"], d["state"], d["revision"]) for d in json.loads(checked.stdout)] == [
        ("journal", "head", JOURNAL_HEAD),
        ("bureau", "head", BUREAU_HEAD),
    ]
    engine = create_engine(bureau)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM bureau_meta")).scalar() == "7"
    engine.dispose()


def test_the_settings_name_the_databases_and_nothing_is_created(tmp_path: Path) -> None:
    journal = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = _run("upgrade", "journal", CONSENTLEDGER_DATABASE_URL=journal)
    assert result.stdout.strip() == f"journal  {journal}  no database: nothing to upgrade"
    assert not (tmp_path / "elsewhere.db").exists()


def test_failures_are_one_line_with_a_code(tmp_path: Path) -> None:
    journal = f"sqlite:///{tmp_path / 'gateway.db'}"
    create_legacy_schema(journal, "journal-j0003")
    engine = create_engine(journal)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE signin_nonces"))
    engine.dispose()
    line = _one_line_error(
        _run("upgrade", "journal", "--journal", journal), "schema_unrecognised", 21
    )
    assert "signin_nonces" in line

    newer = f"sqlite:///{tmp_path / 'newer.db'}"
    _run("upgrade", "journal", "--journal", newer)  # missing: not created
    create_legacy_schema(newer, "journal-j0003")
    assert _run("upgrade", "journal", "--journal", newer).returncode == 0
    engine = create_engine(newer)
    with engine.begin() as connection:
        connection.execute(text("UPDATE journal_schema_version SET version_num = 'j9999'"))
    engine.dispose()
    line = _one_line_error(_run("current", "journal", "--journal", newer), "schema_ahead", 20)
    assert "j9999" in line

    _one_line_error(
        _run("current", "bureau", "--bureau", "postgresql+psycopg://nobody@127.0.0.1:1/x"),
        "bureau_database_unavailable",
        11,
    )
