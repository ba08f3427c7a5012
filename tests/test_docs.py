"""The front door stays short and true: the README's layout names paths that exist, its links
resolve, the make targets it names are the ones `make help` lists; the docs site's generated
endpoint table covers every operation of the gateway, and its settings table every setting. (The
site itself is built with --strict by
`make test`, which fails on any broken link or anchor inside it.)"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from consentledger.gateway.app import create_app
from consentledger.gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAX_README_LINES = 250


def _layout_paths() -> list[str]:
    """The paths the README's layout block names: each entry indented two spaces under its
    folder; descriptions (and their continuation lines, far to the right) are not paths."""
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
    paths: list[str] = []
    folders: list[str] = []
    for line in block.splitlines()[1:]:
        indent = len(line) - len(line.lstrip())
        names = line[:27].strip()
        if not names or indent > 8:
            continue
        folders = folders[: indent // 2]
        parent = "".join(folders)
        for name in names.split(", "):
            paths.append(parent + name)
        folders.append(names if names.endswith("/") else "")
    return paths


def _load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= MAX_README_LINES


@pytest.mark.parametrize("path", _layout_paths())
def test_every_path_in_the_readme_layout_exists(path: str) -> None:
    assert (ROOT / path).exists(), f"README layout names {path}, which is not in the tree"


def test_every_relative_link_in_the_readme_resolves() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    relative = [link for link in links if "://" not in link]
    assert relative
    missing = [link for link in relative if not (ROOT / link).exists()]
    assert missing == []


def test_the_make_targets_the_readme_names_are_in_make_help() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.MULTILINE))
    named = set(re.findall(r"`make ([a-z-]+)`|^make ([a-z-]+)", README, flags=re.MULTILINE))
    targets = {a or b for a, b in named}
    assert {"demo", "test", "help"} <= targets
    assert targets <= listed


def test_the_endpoint_table_lists_every_operation() -> None:
    spec = create_app().openapi()
    table = _load_hooks().endpoint_tables(spec)
    for path, operations in spec["paths"].items():
        for method in operations:
            assert f"| {method.upper()} | `{path}` |" in table
    for scheme in spec["components"]["securitySchemes"]:
        assert f"`{scheme}`" in table


def test_the_gateway_page_asks_for_the_generated_table() -> None:
    page = (ROOT / "docs" / "pages" / "gateway-api.md").read_text(encoding="utf-8")
    assert _load_hooks().MARKER in page


def test_the_settings_table_names_every_setting_and_no_other() -> None:
    page = (ROOT / "docs" / "pages" / "operations.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `CONSENTLEDGER_")]
    documented = {name for row in rows for name in re.findall(r"`CONSENTLEDGER_([A-Z0-9_]+)`", row)}
    assert documented == {name.upper() for name in Settings.model_fields}


PAGES = sorted((ROOT / "docs" / "pages").glob("*.md"))
_TOP = r"(?:src|tests|scripts|contracts|docs)/[\w./-]*"
_PACKAGE = r"(?:ledger|chain|journal|bureau|gateway|audit)/[\w./-]*"


def _named(pattern: str) -> list[tuple[str, str]]:
    return sorted(
        {(page.name, name) for page in PAGES for name in re.findall(pattern, page.read_text())}
    )


@pytest.mark.parametrize(("page", "path"), _named(rf"`({_TOP}|{_PACKAGE})`"))
def test_every_source_path_the_docs_name_exists(page: str, path: str) -> None:
    assert (ROOT / path).exists() or (ROOT / "src" / "consentledger" / path).exists(), (
        f"{page} names {path}, which is not in the tree"
    )


@pytest.mark.parametrize(("page", "name"), _named(r"`(consentledger(?:\.\w+)+)`"))
def test_every_module_the_docs_name_exists(page: str, name: str) -> None:
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            assert hasattr(target, attribute), f"{page} names {name}, which does not exist"
            target = getattr(target, attribute)
        return
    pytest.fail(f"{page} names {name}, which does not exist")


def test_the_feeds_page_asks_for_every_published_schema() -> None:
    from consentledger.bureau.feeds import RECORD_KINDS, feed_schema

    hooks = _load_hooks()
    page = (ROOT / "docs" / "pages" / "feeds.md").read_text(encoding="utf-8")
    assert hooks.SCHEMAS_MARKER in page
    sections = hooks.feed_schema_sections()
    for name in RECORD_KINDS:
        assert f"#### {name}\n" in sections
        assert feed_schema(name)["$id"] in sections


def test_the_plugin_page_includes_the_example_test_as_it_is() -> None:
    """The page shows the file the suite runs (a snippet include), not a copy that can drift."""
    page = (ROOT / "docs" / "pages" / "testing-plugin.md").read_text()
    example = "tests/testing/test_plugin_example.py"
    assert f'--8<-- "{example}"' in page
    assert (ROOT / example).is_file()
