"""MkDocs hook: the gateway's endpoint table, written from its OpenAPI document at build time.

A page asks for the table with the marker line ``<!-- endpoints -->``. The hook builds the
gateway app (``create_app`` opens nothing until it starts), reads ``app.openapi()`` and puts in
one table per tag every operation with its authorisation and the first sentence of its
description, then the security schemes. The table therefore cannot go stale: it is the app's own
description of itself each time the site is built.
"""

from __future__ import annotations

import re
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

MARKER = "<!-- endpoints -->"
PAGE = "gateway-api.md"
#: The feeds page asks for the bureau's published record schemas with this marker.
SCHEMAS_MARKER = "<!-- feed-schemas -->"
SCHEMAS_PAGE = "feeds.md"
METHODS = ("get", "post", "put", "patch", "delete")


def on_page_markdown(markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace the markers with the endpoint table and the feed schemas; the gateway and feeds
    pages must ask for theirs."""
    if page.file.src_uri == SCHEMAS_PAGE and SCHEMAS_MARKER not in markdown:
        raise PluginError(f"{SCHEMAS_PAGE} lost the marker {SCHEMAS_MARKER!r} of the schemas")
    if SCHEMAS_MARKER in markdown:
        markdown = markdown.replace(SCHEMAS_MARKER, feed_schema_sections())
    if MARKER not in markdown:
        if page.file.src_uri == PAGE:
            raise PluginError(f"{PAGE} lost the marker {MARKER!r} of the endpoint table")
        return markdown
    from consentledger.gateway.app import create_app
    from consentledger.gateway.settings import Settings

    # Only the OpenAPI document is read: nothing starts, no secret is used.
    app = create_app(Settings(environment="development"))
    table = endpoint_tables(app.openapi())
    if not table.strip():
        raise PluginError(f"{page.file.src_uri}: the gateway's OpenAPI document has no operations")
    return markdown.replace(MARKER, table)


def endpoint_tables(spec: dict[str, Any]) -> str:
    """Markdown: a table of operations per tag (in the order the tags first appear), then the
    security schemes that the tables name."""
    groups: dict[str, list[str]] = {}
    for path, operations in spec.get("paths", {}).items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["other"])[0]
            auth = ", ".join(f"`{name}`" for req in operation.get("security", []) for name in req)
            what = _cell(_first_sentence(operation))
            row = f"| {method.upper()} | `{path}` | {auth or '-'} | {what} |"
            groups.setdefault(tag, []).append(row)
    out: list[str] = []
    for tag, rows in groups.items():
        out += [f"### {tag.capitalize()}", "", "| method | path | authorised by | what |"]
        out += ["| --- | --- | --- | --- |", *rows, ""]
    schemes = spec.get("components", {}).get("securitySchemes", {})
    if schemes:
        out += ["**Authorisation schemes:**", ""]
        for name, scheme in schemes.items():
            description = scheme.get("description") or scheme.get("scheme", "")
            out.append(f"- `{name}` ({scheme.get('scheme', scheme.get('type'))}): {description}")
        out.append("")
    return "\n".join(out)


def _first_sentence(operation: dict[str, Any]) -> str:
    text = " ".join((operation.get("description") or operation.get("summary") or "").split())
    match = re.match(r"(.+?[.])(\s|$)", text)
    return match.group(1) if match else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def feed_schema_sections() -> str:
    """Markdown: the sources and the kinds each may send, then every kind's JSON Schema."""
    import json

    from consentledger.bureau.feeds import (
        FEED_SCHEMA_VERSION,
        FEED_SOURCES,
        RECORD_KINDS,
        feed_schema,
    )

    out = [f"Schema version: `{FEED_SCHEMA_VERSION}`.", "", "### Sources", ""]
    out += ["| source | department | categories | record kinds |", "| --- | --- | --- | --- |"]
    for source in FEED_SOURCES.values():
        categories = ", ".join(f"{c.value} {c.slug}" for c in sorted(source.categories))
        kinds = ", ".join(f"[`{k}`](#{k})" for k in source.kinds)
        out.append(f"| `{source.name}` | {_cell(source.department)} | {categories} | {kinds} |")
    out += ["", "### Record kinds", ""]
    for name, kind in RECORD_KINDS.items():
        schema = feed_schema(name)
        key = ", ".join(f"`{k}`" for k in ("uscc", *kind.key))
        out += [f"#### {name}", "", f"{kind.description} Category {kind.category.value}"]
        out += [f"({kind.category.slug}); the record is identified by {key}.", ""]
        out += ["```json", json.dumps(schema, ensure_ascii=False, indent=2), "```", ""]
    return "\n".join(out)
