"""Webhook subscriptions: an enterprise's (``/v1/enterprises/{uscc}/webhooks``, signed in with
EIP-4361) and a bank's (``/v1/webhooks``, API key); their delivery logs and redeliveries.

The flows themselves are :mod:`consentledger.gateway.services.webhooks`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from consentledger.gateway.db import Bank
from consentledger.gateway.deps import CurrentBank, SignedInController, UsccPath, WebhookServiceDep
from consentledger.gateway.problems import problem_responses
from consentledger.gateway.services.signin import SignedIn
from consentledger.gateway.services.webhooks import (
    MAX_PAGE,
    CreatedSubscription,
    DeliveryOut,
    DeliveryPage,
    NewSubscription,
    Owner,
    SubscriptionOut,
)
from consentledger.journal.schema import DeliveryStatus

router = APIRouter(prefix="/v1", tags=["webhooks"])

SubscriptionPath = Annotated[str, Path(min_length=1, max_length=64)]
DeliveryPath = Annotated[int, Path(ge=1, le=2**62)]
StatusQuery = Annotated[DeliveryStatus | None, Query(description="only deliveries in this state")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE)]
BeforeQuery = Annotated[
    int | None, Query(ge=1, le=2**62, description="the `next_before` of the previous page")
]

_ENTERPRISE = problem_responses(401, 403, 404, 409, 422, 503)
_BANK = problem_responses(401, 404, 409, 422, 503)


def _enterprise(signed_in: SignedIn) -> Owner:
    return Owner(kind="enterprise", id="0x" + signed_in.subject.hex())


# ----------------------------------------------------------------- enterprise


@router.post(
    "/enterprises/{uscc}/webhooks",
    response_model=CreatedSubscription,
    status_code=201,
    responses=_ENTERPRISE,
    operation_id="create_enterprise_webhook",
)
async def create_enterprise_webhook(
    uscc: UsccPath,
    body: NewSubscription,
    signed_in: SignedInController,
    webhooks: WebhookServiceDep,
) -> CreatedSubscription:
    """Subscribe to the enterprise's events (its consents, the reads of its data, its
    disputes). The answer carries the signing secret, once."""
    return await webhooks.subscribe(_enterprise(signed_in), body)


@router.get(
    "/enterprises/{uscc}/webhooks",
    response_model=list[SubscriptionOut],
    responses=_ENTERPRISE,
    operation_id="list_enterprise_webhooks",
)
async def list_enterprise_webhooks(
    uscc: UsccPath, signed_in: SignedInController, webhooks: WebhookServiceDep
) -> list[SubscriptionOut]:
    """The enterprise's webhook subscriptions (never their secrets)."""
    return await webhooks.subscriptions(_enterprise(signed_in))


@router.delete(
    "/enterprises/{uscc}/webhooks/{subscription_id}",
    response_model=SubscriptionOut,
    responses=_ENTERPRISE,
    operation_id="delete_enterprise_webhook",
)
async def delete_enterprise_webhook(
    uscc: UsccPath,
    subscription_id: SubscriptionPath,
    signed_in: SignedInController,
    webhooks: WebhookServiceDep,
) -> SubscriptionOut:
    """Stop a subscription: nothing more is sent to it."""
    return await webhooks.unsubscribe(_enterprise(signed_in), subscription_id)


@router.get(
    "/enterprises/{uscc}/webhooks/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    responses=_ENTERPRISE,
    operation_id="list_enterprise_webhook_deliveries",
)
async def list_enterprise_webhook_deliveries(
    uscc: UsccPath,
    subscription_id: SubscriptionPath,
    signed_in: SignedInController,
    webhooks: WebhookServiceDep,
    status: StatusQuery = None,
    limit: LimitQuery = 50,
    before: BeforeQuery = None,
) -> DeliveryPage:
    """The subscription's deliveries, newest first, each with its attempts."""
    return await webhooks.deliveries(
        _enterprise(signed_in), subscription_id, status=status, limit=limit, before=before
    )


@router.post(
    "/enterprises/{uscc}/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    responses=_ENTERPRISE,
    operation_id="redeliver_enterprise_webhook",
)
async def redeliver_enterprise_webhook(
    uscc: UsccPath,
    subscription_id: SubscriptionPath,
    delivery_id: DeliveryPath,
    signed_in: SignedInController,
    webhooks: WebhookServiceDep,
) -> DeliveryOut:
    """Send a dead delivery again (its retries ran out), with a fresh count of attempts."""
    return await webhooks.redeliver(_enterprise(signed_in), subscription_id, delivery_id)


# ----------------------------------------------------------------------- bank


def _bank(bank: Bank) -> Owner:
    return Owner(kind="bank", id=bank.address)


@router.post(
    "/webhooks",
    response_model=CreatedSubscription,
    status_code=201,
    responses=_BANK,
    operation_id="create_bank_webhook",
)
async def create_bank_webhook(
    body: NewSubscription, bank: CurrentBank, webhooks: WebhookServiceDep
) -> CreatedSubscription:
    """Subscribe to the bank's events (its consents, its reads). The answer carries the
    signing secret, once."""
    return await webhooks.subscribe(_bank(bank), body)


@router.get(
    "/webhooks",
    response_model=list[SubscriptionOut],
    responses=_BANK,
    operation_id="list_bank_webhooks",
)
async def list_bank_webhooks(
    bank: CurrentBank, webhooks: WebhookServiceDep
) -> list[SubscriptionOut]:
    """The bank's webhook subscriptions (never their secrets)."""
    return await webhooks.subscriptions(_bank(bank))


@router.delete(
    "/webhooks/{subscription_id}",
    response_model=SubscriptionOut,
    responses=_BANK,
    operation_id="delete_bank_webhook",
)
async def delete_bank_webhook(
    subscription_id: SubscriptionPath, bank: CurrentBank, webhooks: WebhookServiceDep
) -> SubscriptionOut:
    """Stop a subscription: nothing more is sent to it."""
    return await webhooks.unsubscribe(_bank(bank), subscription_id)


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    responses=_BANK,
    operation_id="list_bank_webhook_deliveries",
)
async def list_bank_webhook_deliveries(
    subscription_id: SubscriptionPath,
    bank: CurrentBank,
    webhooks: WebhookServiceDep,
    status: StatusQuery = None,
    limit: LimitQuery = 50,
    before: BeforeQuery = None,
) -> DeliveryPage:
    """The subscription's deliveries, newest first, each with its attempts."""
    return await webhooks.deliveries(
        _bank(bank), subscription_id, status=status, limit=limit, before=before
    )


@router.post(
    "/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    responses=_BANK,
    operation_id="redeliver_bank_webhook",
)
async def redeliver_bank_webhook(
    subscription_id: SubscriptionPath,
    delivery_id: DeliveryPath,
    bank: CurrentBank,
    webhooks: WebhookServiceDep,
) -> DeliveryOut:
    """Send a dead delivery again (its retries ran out), with a fresh count of attempts."""
    return await webhooks.redeliver(_bank(bank), subscription_id, delivery_id)
