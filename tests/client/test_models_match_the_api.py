"""The client's answer models hold every member the gateway's OpenAPI document gives each answer,
and nothing else: a change to an answer on one side fails here until the other follows."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from consentledger.client import models
from tests.harness.gateway import Gateway

#: (method, path, status) -> the client's model of that answer.
ANSWERS: list[tuple[str, str, str, type[BaseModel]]] = [
    ("get", "/v1/health", "200", models.Health),
    ("get", "/v1/eip712", "200", models.Eip712Description),
    ("post", "/v1/consents/draft", "200", models.ConsentDraft),
    ("post", "/v1/consents", "201", models.GrantResult),
    ("get", "/v1/consents/{consent_id}", "200", models.ConsentDetails),
    ("post", "/v1/consents/{consent_id}/actions/draft", "200", models.ActionDraft),
    ("post", "/v1/consents/{consent_id}/revoke", "200", models.ActionResult),
    ("post", "/v1/queries", "200", models.QueryResult),
    ("get", "/v1/queries/{query_id}", "200", models.QueryResult),
    ("get", "/v1/enterprises/{uscc}/size-class", "200", models.QueryResult),
    ("post", "/v1/auth/challenge", "200", models.Challenge),
    ("get", "/v1/enterprises/{uscc}/accesses", "200", models.AccessLog),
    ("get", "/v1/enterprises/{uscc}/consents", "200", models.ConsentList),
    ("post", "/v1/enterprises/{uscc}/export", "200", models.ExportResult),
    ("post", "/v1/enterprises/{uscc}/export/draft", "200", models.SignedDraft),
    ("post", "/v1/enterprises/{uscc}/controllers/draft", "200", models.SignedDraft),
    ("post", "/v1/enterprises/{uscc}/controllers", "200", models.ControllerSet),
    ("post", "/v1/enterprises/{uscc}/recovery/cancel", "200", models.ControllerSet),
    ("post", "/v1/admin/banks", "201", models.CreatedBank),
    ("get", "/v1/admin/banks", "200", models.BankStanding),
    ("post", "/v1/admin/banks/{address}/suspend", "200", models.BankAction),
    ("post", "/v1/admin/enterprises", "201", models.RegisteredEnterprise),
    ("post", "/v1/admin/enterprises/draft", "200", models.ControllerSetDraft),
    ("post", "/v1/admin/enterprises/{uscc}/recovery/draft", "200", models.ControllerSetDraft),
    ("post", "/v1/admin/enterprises/{uscc}/recovery", "201", models.StartedRecovery),
    ("post", "/v1/webhooks", "201", models.CreatedSubscription),
    ("get", "/v1/webhooks", "200", models.Subscription),
    ("delete", "/v1/webhooks/{subscription_id}", "200", models.Subscription),
    ("get", "/v1/webhooks/{subscription_id}/deliveries", "200", models.DeliveryPage),
    (
        "post",
        "/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
        "200",
        models.Delivery,
    ),
    ("post", "/v1/enterprises/{uscc}/webhooks", "201", models.CreatedSubscription),
    (
        "get",
        "/v1/enterprises/{uscc}/webhooks/{subscription_id}/deliveries",
        "200",
        models.DeliveryPage,
    ),
    ("post", "/v1/enterprises/{uscc}/disputes", "201", models.Dispute),
    ("get", "/v1/enterprises/{uscc}/disputes", "200", models.DisputeList),
    ("get", "/v1/enterprises/{uscc}/disputes/{dispute_id}", "200", models.Dispute),
    ("get", "/v1/admin/disputes", "200", models.Dispute),
    ("post", "/v1/admin/disputes/{dispute_id}/answer", "200", models.Dispute),
    ("get", "/v1/banks", "200", models.BankList),
    ("post", "/v1/enterprises/{uscc}/sessions", "201", models.Session),
    ("post", "/v1/consent-requests", "201", models.ConsentRequestInfo),
    ("get", "/v1/consent-requests", "200", models.ConsentRequestPage),
    ("get", "/v1/consent-requests/{request_id}", "200", models.ConsentRequestView),
    ("post", "/v1/consent-requests/{request_id}/approve", "200", models.ApprovalResult),
    ("post", "/v1/consent-requests/{request_id}/decline", "200", models.ConsentRequestInfo),
    ("get", "/v1/enterprises/{uscc}/consent-requests", "200", models.ConsentRequestPage),
    ("post", "/v1/admin/sources/{source}/credential", "201", models.IssuedFeedCredential),
    ("get", "/v1/admin/sources/{source}/credential", "200", models.FeedCredential),
    ("post", "/v1/feeds/{source}/batches", "201", models.BatchReport),
    ("get", "/v1/admin/enterprises/{uscc}/document", "200", models.KnownDocument),
]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or schema.get("type") == "array" or "anyOf" in schema:
        if "anyOf" in schema:  # ``Model | None``: the model
            schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        elif "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = document["components"]["schemas"][name]
        else:
            schema = schema["items"]
    return schema


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``annotation`` (``Model``, ``list[Model]``, ``Model | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, types.UnionType, typing.Union):
        for argument in typing.get_args(annotation):
            found = _nested_model(argument)
            if found is not None:
                return found
    return None


def _compare(document: dict[str, Any], schema: dict[str, Any], model: type[BaseModel]) -> None:
    schema = _resolve(document, schema)
    properties = schema.get("properties", {})
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    assert set(fields) == set(properties), (
        f"{model.__name__}: client {sorted(set(fields) - set(properties))}, "
        f"gateway {sorted(set(properties) - set(fields))}"
    )
    for name, info in fields.items():
        nested = _nested_model(info.annotation)
        if nested is not None:
            _compare(document, properties[name], nested)


@pytest.mark.parametrize(
    ("method", "path", "status", "model"),
    ANSWERS,
    ids=[f"{method} {path}" for method, path, _, _ in ANSWERS],
)
def test_the_client_model_is_the_gateway_answer(
    gateway: Gateway, method: str, path: str, status: str, model: type[BaseModel]
) -> None:
    document = gateway.app.openapi()
    content = document["paths"][path][method]["responses"][status]["content"]
    _compare(document, content["application/json"]["schema"], model)
