"""The API document is worth generating from: every route declares its operation id and the
problem codes it can answer (``gateway/operations.py``), each credential is its own security
scheme, categories, purposes and denial reasons are named enumerations, and it names a server.

A route added without ``**operation("someName", ...)`` fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from consentledger.gateway.app import create_app
from consentledger.gateway.operations import CODES_KEY, KNOWN
from consentledger.gateway.settings import Settings

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # Only the document is read: nothing starts.
    return create_app(Settings(environment="development"))


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operations[method])
        for path, operations in document["paths"].items()
        for method in METHODS
        if method in operations
    ]


def test_every_route_declares_its_operation_id_and_problem_codes(app: FastAPI) -> None:
    undeclared = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute)
        and route.include_in_schema
        and (route.operation_id is None or CODES_KEY not in (route.openapi_extra or {}))
    ]
    assert not undeclared, f"declare with **operation(...) (gateway/operations.py): {undeclared}"


def test_operation_ids_are_named_and_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", operation_id), operation_id
    assert {"recordRead", "grantConsent", "revokeConsent", "addBank"} <= set(ids)


def test_every_problem_code_is_documented_with_its_status_and_an_example(
    document: dict[str, Any],
) -> None:
    for method, path, operation in _operations(document):
        codes = operation[CODES_KEY]
        assert "internal_error" in codes, f"{method} {path}"
        for code in codes:
            status = str(KNOWN[code].status)
            response = operation["responses"].get(status)
            assert response is not None, f"{method} {path}: {code} answers {status}"
            examples = response["content"]["application/problem+json"]["examples"]
            assert examples[code]["value"]["code"] == code
            assert examples[code]["value"]["status"] == int(status)
        # No error status without a code that answers it.
        statuses = {str(KNOWN[c].status) for c in codes}
        errors = {s for s in operation["responses"] if not s.startswith("2")}
        assert errors == statuses, f"{method} {path}"


def test_authentication_problems_come_with_the_credential(document: dict[str, Any]) -> None:
    read = document["paths"]["/v1/queries"]["post"]
    assert read["security"] == [{"bankApiKey": []}]
    assert {"missing_api_key", "invalid_api_key", "too_many_failed_authentications"} <= set(
        read[CODES_KEY]
    )
    assert {"access_denied", "request_signature_invalid", "idempotency_key_reused"} <= set(
        read[CODES_KEY]
    )
    add_bank = document["paths"]["/v1/admin/banks"]["post"]
    assert add_bank["security"] == [{"operatorToken": []}]
    assert "missing_admin_token" in add_bank[CODES_KEY]
    assert document["paths"]["/rpc"]["post"]["security"] == [{"auditorToken": []}]
    draft = document["paths"]["/v1/consents/draft"]["post"]
    assert {"enterpriseSignIn", "bankApiKey"} == {name for req in draft["security"] for name in req}
    assert {"siwe_expired", "draft_needs_authentication"} <= set(draft[CODES_KEY])


def test_each_credential_is_its_own_security_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"bankApiKey", "operatorToken", "auditorToken", "enterpriseSignIn"}
    for name in ("bankApiKey", "operatorToken", "auditorToken"):
        assert schemes[name] == {**schemes[name], "type": "http", "scheme": "bearer"}
        assert schemes[name]["description"]


def test_categories_purposes_and_reasons_are_named_enumerations(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert "social_insurance" in schemas["CategoryName"]["enum"]
    assert "credit_underwriting" in schemas["PurposeName"]["enum"]
    assert "REVOKED" in schemas["DenialReason"]["enum"]
    categories = schemas["QueryRequest"]["properties"]["categories"]["items"]
    assert {"$ref": "#/components/schemas/CategoryName"} in categories["anyOf"]
    purpose = schemas["ConsentDraftRequest"]["properties"]["purpose"]
    assert {"$ref": "#/components/schemas/PurposeName"} in purpose["anyOf"]
    reason = schemas["AccessRecord"]["properties"]["reason"]
    assert {"$ref": "#/components/schemas/DenialReason"} in reason["anyOf"]


def test_the_document_names_its_server(document: dict[str, Any]) -> None:
    assert document["servers"] == [
        {"url": "http://127.0.0.1:8000", "description": "this gateway (CONSENTLEDGER_DOMAIN)"}
    ]
    public = create_app(Settings(environment="development", domain="credit.example.cn")).openapi()
    assert public["servers"][0]["url"] == "https://credit.example.cn"
