"""Write a new schema revision for the gateway database (``journal``) or the bureau's: the models'
differences from the head revision, found by alembic's autogenerate on a temporary SQLite database
upgraded to the head, in a file next to the others (id: the next number).

``.venv/bin/python scripts/new_revision.py journal "consent requests"`` (``--empty`` for a
revision to write by hand, e.g. a data backfill). Read what it wrote before committing: autogenerate
finds tables, columns, indexes and types, not renames or data changes. Then run
``.venv/bin/ruff format`` on it and ``pytest tests/test_schema_versions.py``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import MetaData, create_engine

import consentledger.gateway.db  # noqa: F401  (registers the gateway's own tables)
from consentledger.bureau.models import Base as BureauBase
from consentledger.bureau.schema_history import BUREAU_HISTORY
from consentledger.gateway.schema_history import JOURNAL_HISTORY
from consentledger.journal.schema import Base as JournalBase
from consentledger.schema_versions import SchemaHistory

HISTORIES: dict[str, tuple[SchemaHistory, MetaData]] = {
    "journal": (JOURNAL_HISTORY, JournalBase.metadata),
    "bureau": (BUREAU_HISTORY, BureauBase.metadata),
}


def next_revision_id(head: str) -> str:
    """``j0003`` -> ``j0004``."""
    prefix = head.rstrip("0123456789")
    number = head[len(prefix) :]
    return f"{prefix}{int(number) + 1:0{len(number)}d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history", choices=sorted(HISTORIES))
    parser.add_argument("message", help="what the revision does, in a few words")
    parser.add_argument("--empty", action="store_true", help="no autogenerate: an empty upgrade()")
    args = parser.parse_args()
    history, metadata = HISTORIES[args.history]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'head.db'}")
        history.upgrade(engine)
        with engine.connect() as connection:
            config = history.config(connection=connection, target_metadata=metadata)
            written = command.revision(
                config,
                message=args.message,
                autogenerate=not args.empty,
                rev_id=next_revision_id(history.head),
            )
        engine.dispose()
    scripts = written if isinstance(written, list) else [written]
    for script in scripts:
        if script is not None:
            print(script.path)


if __name__ == "__main__":
    main()
