"""Webhook subscriptions and their deliveries, the same for an enterprise and a bank: only the
path's prefix and the credentials differ (``/v1/enterprises/{uscc}`` signed in, ``/v1`` with the
bank's API key)."""

from __future__ import annotations

from collections.abc import Sequence

from consentledger.client.http import Flow, HttpRequest
from consentledger.client.models import (
    CreatedSubscription,
    Delivery,
    DeliveryPage,
    Subscription,
    WebhookEventType,
)
from consentledger.client.operation import parse, parse_list


def subscribe(
    prefix: str,
    headers: dict[str, str],
    url: str,
    event_types: Sequence[WebhookEventType],
    description: str = "",
) -> Flow[CreatedSubscription]:
    """``POST {prefix}/webhooks``: the new subscription, with its secret (shown once)."""
    body = {"url": url, "event_types": list(event_types), "description": description}
    response = yield HttpRequest("POST", f"{prefix}/webhooks", json=body, headers=headers)
    return parse(response, CreatedSubscription, 201)


def subscriptions(prefix: str, headers: dict[str, str]) -> Flow[list[Subscription]]:
    response = yield HttpRequest("GET", f"{prefix}/webhooks", headers=headers)
    return parse_list(response, Subscription)


def unsubscribe(prefix: str, headers: dict[str, str], subscription_id: str) -> Flow[Subscription]:
    path = f"{prefix}/webhooks/{subscription_id}"
    return parse((yield HttpRequest("DELETE", path, headers=headers)), Subscription)


def deliveries(
    prefix: str,
    headers: dict[str, str],
    subscription_id: str,
    *,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Flow[DeliveryPage]:
    params = {
        name: str(value)
        for name, value in (("status", status), ("limit", limit), ("cursor", cursor))
        if value is not None
    }
    path = f"{prefix}/webhooks/{subscription_id}/deliveries"
    response = yield HttpRequest("GET", path, headers=headers, params=params)
    return parse(response, DeliveryPage)


def redeliver(
    prefix: str, headers: dict[str, str], subscription_id: str, delivery_id: int
) -> Flow[Delivery]:
    path = f"{prefix}/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"
    return parse((yield HttpRequest("POST", path, headers=headers)), Delivery)
