"""The package's import directions: the consent rules at the bottom, everything else above them.

The contracts are import-linter's, in ``pyproject.toml``; the one they cannot say without naming
every other module of the package (the ledger imports nothing of the project but the root
exception) is checked here on import-linter's own import graph.
"""

from __future__ import annotations

from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_the_ledger_imports_nothing_else_of_the_project() -> None:
    graph = grimp.build_graph("consentledger", cache_dir=None)
    ledger = {"consentledger.ledger"} | graph.find_descendants("consentledger.ledger")
    allowed = ledger | {"consentledger", "consentledger.errors"}
    outside = {
        (module, imported)
        for module in ledger
        for imported in graph.find_modules_directly_imported_by(module)
        if imported not in allowed
    }
    assert outside == set()
