"""Webhook subscriptions: an enterprise's (``/v1/enterprises/{uscc}/webhooks``, signed in with
EIP-4361) and a bank's (``/v1/webhooks``, API key); their delivery logs and redeliveries. Both
families are the same routes over a different owner.

The flows themselves are :mod:`consentledger.gateway.services.webhooks`.
"""

# No ``from __future__ import annotations``: each family's routes name their owner dependency in
# their annotations, which FastAPI must see as objects (a string could not reach the closure).
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from consentledger.gateway.db import GatewayDatabaseError
from consentledger.gateway.deps import CurrentBank, SignedInController, UsccPath, WebhookServiceDep
from consentledger.gateway.errors import (
    DeliveryNotDeadError,
    InvalidCursorError,
    InvalidWebhookUrlError,
    TooManySubscriptionsError,
    UnknownDeliveryError,
    UnknownSubscriptionError,
)
from consentledger.gateway.operations import operation
from consentledger.gateway.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from consentledger.gateway.services.webhooks import (
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


async def enterprise_owner(uscc: UsccPath, signed_in: SignedInController) -> Owner:
    """The signed-in enterprise, as the owner of its subscriptions."""
    return Owner(kind="enterprise", id="0x" + signed_in.subject.hex())


async def bank_owner(bank: CurrentBank) -> Owner:
    """The bank of the API key, as the owner of its subscriptions."""
    return Owner(kind="bank", id=bank.address)


def _family(
    prefix: str,
    owner: Callable[..., Awaitable[Owner]],
    who: str,
    events: str,
) -> None:
    """The webhook routes of one kind of owner, under ``/v1{prefix}/webhooks``."""
    who_ = who.capitalize()
    base = f"{prefix}/webhooks"
    one = f"{base}/{{subscription_id}}"

    @router.post(
        base,
        response_model=CreatedSubscription,
        status_code=201,
        **operation(
            f"create{who_}Webhook",
            (InvalidWebhookUrlError, TooManySubscriptionsError, GatewayDatabaseError),
        ),
        description=f"Subscribe to the {who}'s events ({events}). The answer carries the "
        "signing secret, once.",
    )
    async def create(
        body: NewSubscription,
        subscriber: Annotated[Owner, Depends(owner)],
        webhooks: WebhookServiceDep,
    ) -> CreatedSubscription:
        return await webhooks.subscribe(subscriber, body)

    @router.get(
        base,
        response_model=list[SubscriptionOut],
        **operation(f"list{who_}Webhooks", (GatewayDatabaseError,)),
        description=f"The {who}'s webhook subscriptions (never their secrets).",
    )
    async def listed(
        subscriber: Annotated[Owner, Depends(owner)], webhooks: WebhookServiceDep
    ) -> list[SubscriptionOut]:
        return await webhooks.subscriptions(subscriber)

    @router.delete(
        one,
        response_model=SubscriptionOut,
        **operation(f"delete{who_}Webhook", (UnknownSubscriptionError, GatewayDatabaseError)),
        description="Stop a subscription: nothing more is sent to it (its log stays).",
    )
    async def delete(
        subscription_id: SubscriptionPath,
        subscriber: Annotated[Owner, Depends(owner)],
        webhooks: WebhookServiceDep,
    ) -> SubscriptionOut:
        return await webhooks.unsubscribe(subscriber, subscription_id)

    @router.get(
        f"{one}/deliveries",
        response_model=DeliveryPage,
        **operation(
            f"list{who_}WebhookDeliveries",
            (UnknownSubscriptionError, InvalidCursorError, GatewayDatabaseError),
        ),
        description="The subscription's deliveries, oldest first, each with its attempts; one "
        "page (`next_cursor`).",
    )
    async def deliveries(
        subscription_id: SubscriptionPath,
        subscriber: Annotated[Owner, Depends(owner)],
        webhooks: WebhookServiceDep,
        status: StatusQuery = None,
        limit: LimitQuery = DEFAULT_LIMIT,
        cursor: CursorQuery = None,
    ) -> DeliveryPage:
        return await webhooks.deliveries(
            subscriber, subscription_id, status=status, limit=limit, cursor=cursor
        )

    @router.post(
        f"{one}/deliveries/{{delivery_id}}/redeliver",
        response_model=DeliveryOut,
        **operation(
            f"redeliver{who_}Webhook",
            (
                UnknownSubscriptionError,
                UnknownDeliveryError,
                DeliveryNotDeadError,
                GatewayDatabaseError,
            ),
        ),
        description="Send a dead delivery again (its retries ran out), with a fresh count of "
        "attempts.",
    )
    async def redeliver(
        subscription_id: SubscriptionPath,
        delivery_id: DeliveryPath,
        subscriber: Annotated[Owner, Depends(owner)],
        webhooks: WebhookServiceDep,
    ) -> DeliveryOut:
        return await webhooks.redeliver(subscriber, subscription_id, delivery_id)


_family(
    "/enterprises/{uscc}",
    enterprise_owner,
    "enterprise",
    "its consents, the reads of its data, its disputes",
)
_family(
    "",
    bank_owner,
    "bank",
    "its consents and its reads",
)
