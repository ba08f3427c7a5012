"""The enterprise-facing routes describe their answers, errors and sign-in in OpenAPI."""

from __future__ import annotations

import pytest

from tests.harness.gateway import Gateway

ENTERPRISE_ROUTES = [
    ("post", "/v1/consents/draft"),
    ("post", "/v1/consents"),
    ("get", "/v1/consents/{consent_id}"),
    ("post", "/v1/consents/{consent_id}/revoke"),
    ("post", "/v1/consents/{consent_id}/pause"),
    ("post", "/v1/consents/{consent_id}/resume"),
    ("post", "/v1/consents/{consent_id}/actions/draft"),
    ("post", "/v1/auth/challenge"),
    ("get", "/v1/enterprises/{uscc}/accesses"),
    ("get", "/v1/enterprises/{uscc}/consents"),
    ("post", "/v1/enterprises/{uscc}/export"),
    ("post", "/v1/enterprises/{uscc}/export/draft"),
    ("post", "/v1/enterprises/{uscc}/controllers/draft"),
    ("post", "/v1/enterprises/{uscc}/controllers"),
    ("post", "/v1/enterprises/{uscc}/recovery/cancel/draft"),
    ("post", "/v1/enterprises/{uscc}/recovery/cancel"),
    ("post", "/v1/enterprises/{uscc}/disputes"),
    ("get", "/v1/enterprises/{uscc}/disputes"),
    ("get", "/v1/enterprises/{uscc}/disputes/{dispute_id}"),
    ("post", "/v1/enterprises/{uscc}/webhooks"),
    ("get", "/v1/enterprises/{uscc}/webhooks/{subscription_id}/deliveries"),
    (
        "post",
        "/v1/enterprises/{uscc}/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    ),
]
SIGNED_IN = {
    "/v1/enterprises/{uscc}/accesses",
    "/v1/enterprises/{uscc}/consents",
    "/v1/enterprises/{uscc}/disputes",
    "/v1/enterprises/{uscc}/disputes/{dispute_id}",
    "/v1/enterprises/{uscc}/webhooks",
    "/v1/enterprises/{uscc}/webhooks/{subscription_id}/deliveries",
    "/v1/enterprises/{uscc}/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
}


@pytest.mark.parametrize(
    ("method", "path"), ENTERPRISE_ROUTES, ids=[p for _, p in ENTERPRISE_ROUTES]
)
def test_route_documents_its_answer_and_problems(gateway: Gateway, method: str, path: str) -> None:
    spec = gateway.http.get("/openapi.json").json()
    operation = spec["paths"][path][method]
    responses = operation["responses"]
    success = next(code for code in responses if code.startswith("2"))
    assert "$ref" in responses[success]["content"]["application/json"]["schema"]
    assert "422" in responses
    for code, response in responses.items():
        if not code.startswith("2"):
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}
    assert operation["description"]  # the docstring
    if "requestBody" in operation:
        assert {"400", "413"} <= set(responses)  # body too deep, too large
    if path in SIGNED_IN or path.endswith("/export"):
        assert operation["security"] == [{"enterpriseSignIn": []}]
        assert {"401", "403"} <= set(responses)


def test_the_siwe_scheme_is_described(gateway: Gateway) -> None:
    scheme = gateway.http.get("/openapi.json").json()["components"]["securitySchemes"][
        "enterpriseSignIn"
    ]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "SIWE"
    assert "<base64url(message)>.<0x signature>" in scheme["description"]
