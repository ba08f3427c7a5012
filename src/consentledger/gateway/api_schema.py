"""What the API document says beyond the routes: named enumerations (categories, purposes,
denial reasons), the ``servers`` entry, and an example of every request and answer.

A request names a category or a purpose by its name or its code (``"tax"`` or ``4``): the gateway
parses either (:func:`consentledger.categories.parse_category`), answering an unknown one with its
own problem code (``unknown_category``, ``unknown_purpose``). The document shows the names as
enumerations (components ``CategoryName``, ``PurposeName``, ``DenialReason``) so that a generated
client offers them, and the codes as bounded integers; the registry on the chain may hold more
codes than this release names.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import WithJsonSchema

from consentledger.categories import Category, Purpose
from consentledger.ledger.types import DenialReason

_REF = "#/components/schemas/{}"
#: A real request and answer of every operation, by operation id, recorded from a gateway by
#: ``scripts/record_api_examples.py``.
EXAMPLES_FILE = Path(__file__).with_name("api_examples.json")

#: The named enumerations, as components of the document.
ENUMS: dict[str, dict[str, Any]] = {
    "CategoryName": {
        "type": "string",
        "title": "CategoryName",
        "enum": [c.slug for c in Category],
        "description": "A data category by name: "
        + ", ".join(f"`{c.slug}` ({c.value})" for c in Category),
    },
    "PurposeName": {
        "type": "string",
        "title": "PurposeName",
        "enum": [p.slug for p in Purpose],
        "description": "A purpose by name: "
        + ", ".join(f"`{p.slug}` ({p.value})" for p in Purpose),
    },
    "DenialReason": {
        "type": "string",
        "title": "DenialReason",
        "enum": [r.name for r in DenialReason if r is not DenialReason.NONE],
        "description": "Why the chain denied a read (`IAccessLedger.DenialReason`).",
    },
}

CategoryInput = Annotated[
    int | str,
    WithJsonSchema(
        {
            "anyOf": [
                {"$ref": _REF.format("CategoryName")},
                {"type": "integer", "minimum": 1, "maximum": 63, "title": "CategoryCode"},
            ],
            "description": "A category by name or by its code in the ledger's registry",
            "examples": ["business_registration", 2],
        }
    ),
]
PurposeInput = Annotated[
    int | str,
    WithJsonSchema(
        {
            "anyOf": [
                {"$ref": _REF.format("PurposeName")},
                {"type": "integer", "minimum": 1, "maximum": 65535, "title": "PurposeCode"},
            ],
            "description": "A purpose by name or by its code in the ledger's registry",
            "examples": ["credit_underwriting"],
        }
    ),
]
CategoryNameOut = Annotated[
    str | None,
    WithJsonSchema(
        {
            "anyOf": [{"$ref": _REF.format("CategoryName")}, {"type": "null"}],
            "description": "The category's name (null: a code this release does not name)",
        }
    ),
]
PurposeNameOut = Annotated[
    str | None,
    WithJsonSchema(
        {
            "anyOf": [{"$ref": _REF.format("PurposeName")}, {"type": "null"}],
            "description": "The purpose's name (null: a code this release does not name)",
        }
    ),
]
DenialReasonOut = Annotated[
    str | None,
    WithJsonSchema(
        {
            "anyOf": [{"$ref": _REF.format("DenialReason")}, {"type": "null"}],
            "description": "The denial reason (null when granted)",
        }
    ),
]


def server_url(domain: str) -> str:
    """The URL the gateway serves at: ``domain`` (its SIWE domain, host and port), over HTTPS
    unless it is this machine."""
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain
    local = host in ("127.0.0.1", "localhost", "[::1]")
    return f"{'http' if local else 'https'}://{domain}"


@cache
def recorded_examples() -> dict[str, dict[str, Any]]:
    """The recorded examples (none if the file is missing)."""
    if not EXAMPLES_FILE.is_file():
        return {}
    examples: dict[str, dict[str, Any]] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return examples


def add_examples(document: dict[str, Any], examples: dict[str, dict[str, Any]]) -> None:
    """Put each operation's recorded request and answer into its request body and its success
    response (an answer without a body, such as a 204, has none)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            example = examples.get(operation.get("operationId", ""))
            if example is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and example["request"] is not None:
                body["example"] = example["request"]
            if example["response"] is None:
                continue  # an answer without a body (204)
            answer = operation.get("responses", {}).get(str(example["status"]), {})
            media = answer.setdefault("content", {}).setdefault("application/json", {})
            media["example"] = example["response"]


def install(app: FastAPI, domain: str) -> None:
    """Complete ``app``'s document: the named enumerations, the ``servers`` entry and the
    examples."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        document.setdefault("components", {}).setdefault("schemas", {}).update(ENUMS)
        add_examples(document, recorded_examples())
        document["servers"] = [
            {"url": server_url(domain), "description": "this gateway (CONSENTLEDGER_DOMAIN)"}
        ]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
