"""The API document is worth generating from: every route declares its operation id and the
problem codes it can answer (``gateway/operations.py``), each credential is its own security
scheme, categories, purposes and denial reasons are named enumerations, and it names a server.

A route added without ``**operation("someName", ...)`` fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI

from consentledger.gateway.app import create_app
from consentledger.gateway.operations import CODES_KEY, KNOWN, api_routes
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
    routes = [route for route in api_routes(app.routes) if route.include_in_schema]
    assert len(routes) == len(_operations(app.openapi()))  # every operation's route is seen
    undeclared = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in routes
        if route.operation_id is None or CODES_KEY not in (route.openapi_extra or {})
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
    push = document["paths"]["/v1/feeds/{source}/batches"]["post"]
    assert push["security"] == [{"sourceFeedCredential": []}]
    assert {"missing_feed_credential", "invalid_feed_credential", "feed_rejected"} <= set(
        push[CODES_KEY]
    )
    draft = document["paths"]["/v1/consents/draft"]["post"]
    assert {"enterpriseSignIn", "bankApiKey"} == {name for req in draft["security"] for name in req}
    assert {"siwe_expired", "draft_needs_authentication"} <= set(draft[CODES_KEY])


def test_each_credential_is_its_own_security_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    bearers = ("bankApiKey", "operatorToken", "auditorToken", "sourceFeedCredential")
    assert set(schemes) == {*bearers, "enterpriseSignIn"}
    for name in bearers:
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


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    import jsonschema_rs  # schemathesis's validator: JSON Schema 2020-12, as OpenAPI 3.1 uses

    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def test_every_request_and_answer_has_an_example_that_matches_its_schema(
    document: dict[str, Any],
) -> None:
    """The examples are real exchanges recorded from a gateway
    (``scripts/record_api_examples.py``); a change to a request or an answer that they no longer
    match fails here until they are recorded again."""
    for method, path, operation in _operations(document):
        where = f"{method} {path} ({operation['operationId']})"
        body = operation.get("requestBody")
        if body is not None and body.get("required"):
            media = body["content"]["application/json"]
            assert "example" in media, f"{where}: no request example"
            errors = list(_validator(document, media["schema"]).iter_errors(media["example"]))
            assert not errors, f"{where}: request example: {errors[0]}"
        success = next(s for s in operation["responses"] if s.startswith("2"))
        if success == "204":
            assert "content" not in operation["responses"][success], f"{where}: a 204 has no body"
            continue
        media = operation["responses"][success]["content"]["application/json"]
        assert "example" in media, f"{where}: no example of its {success} answer"
        errors = list(_validator(document, media.get("schema", {})).iter_errors(media["example"]))
        assert not errors, f"{where}: answer example: {errors[0]}"
