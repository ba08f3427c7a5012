"""A bank's side of the gateway: ask for a consent, read under it, fetch stored outcomes."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from consentledger.client import notifications
from consentledger.client.errors import AccessDeniedError
from consentledger.client.http import Flow, HttpRequest
from consentledger.client.models import (
    CategoryLike,
    ConsentDraft,
    ConsentRequest,
    ConsentRequestInfo,
    ConsentRequestPage,
    ConsentRequestTerms,
    ConsentRequestView,
    CreatedSubscription,
    Delivery,
    DeliveryPage,
    PurposeLike,
    QueryResult,
    ReadRequest,
    Receipt,
    RequestState,
    Subscription,
    WebhookEventType,
)
from consentledger.client.operation import R, Role, failure, operation, parse


class ReadSigner(Protocol):
    """Signs a bank's read requests (``consentledger.chain.read_signer.BankReadSigner`` is one,
    on the ledger's EIP-712 ``ReadRequest``): returns the members a signed read adds to its
    request (its signature and what the signature covers besides the read)."""

    def sign_read(self, read: ReadRequest, idempotency_key: str) -> Mapping[str, Any]:
        """Added to the body of ``POST /v1/queries``."""
        ...

    def sign_size_class(self, consent_id: str) -> Mapping[str, Any]:
        """Added to the query of ``GET /v1/enterprises/{uscc}/size-class``."""
        ...


def hex_id(value: str | bytes) -> str:
    """A 32-byte id as 0x-hex (as the gateway takes it)."""
    return "0x" + value.hex() if isinstance(value, bytes) else value


def _params(**given: object) -> dict[str, str]:
    """The query parameters given (None left out)."""
    return {name: str(value) for name, value in given.items() if value is not None}


def draft_request(terms: ConsentRequest, headers: dict[str, str]) -> Flow[ConsentDraft]:
    """``POST /v1/consents/draft``: the consent to sign for ``terms``, asked by the bank (its API
    key) or by a signed-in controller of the enterprise (``headers``)."""
    response = yield HttpRequest("POST", "/v1/consents/draft", json=terms.body(), headers=headers)
    return parse(response, ConsentDraft)


class Bank(Role[R]):
    """A bank: its address on the ledger and its API key (and, for signed reads, its signer)."""

    def __init__(
        self, runner: R, api_key: str, address: str, *, signer: ReadSigner | None = None
    ) -> None:
        super().__init__(runner)
        self.address = address
        self.signer = signer
        self.headers = {"Authorization": f"Bearer {api_key}"}

    @operation
    def ask_consent(
        self,
        uscc: str,
        categories: Sequence[CategoryLike],
        purpose: PurposeLike,
        *,
        history_months: int,
        duration_days: int | None = None,
        expires_at: datetime | None = None,
        not_before: datetime | None = None,
        max_reads: int = 0,
        sign_within_seconds: int | None = None,
    ) -> Flow[ConsentDraft]:
        """The consent for the enterprise to sign (its typed data and receipt): hand it to the
        enterprise, whose controllers sign it and relay it."""
        terms = ConsentRequest(
            uscc=uscc,
            bank=self.address,
            categories=list(categories),
            purpose=purpose,
            history_months=history_months,
            duration_days=duration_days,
            expires_at=expires_at,
            not_before=not_before,
            max_reads=max_reads,
            sign_within_seconds=sign_within_seconds,
        )
        return (yield from draft_request(terms, self.headers))

    @operation
    def request_consent(
        self,
        uscc: str,
        categories: Sequence[CategoryLike],
        purpose: PurposeLike,
        *,
        history_months: int,
        reason: str,
        duration_days: int | None = None,
        expires_at: datetime | None = None,
        not_before: datetime | None = None,
        max_reads: int = 0,
        respond_within_days: int = 7,
    ) -> Flow[ConsentRequestInfo]:
        """Ask the enterprise for a consent (``POST /v1/consent-requests``): it waits for the
        enterprise to approve (by signing) or decline, or expires after
        ``respond_within_days``."""
        terms = ConsentRequestTerms(
            uscc=uscc,
            categories=list(categories),
            purpose=purpose,
            history_months=history_months,
            reason=reason,
            duration_days=duration_days,
            expires_at=expires_at,
            not_before=not_before,
            max_reads=max_reads,
            respond_within_days=respond_within_days,
        )
        response = yield HttpRequest(
            "POST", "/v1/consent-requests", json=terms.body(), headers=self.headers
        )
        return parse(response, ConsentRequestInfo, 201)

    @operation
    def consent_request(self, request_id: str) -> Flow[ConsentRequestInfo]:
        """One of the bank's consent requests, as it stands now."""
        response = yield HttpRequest(
            "GET", f"/v1/consent-requests/{request_id}", headers=self.headers
        )
        return parse(response, ConsentRequestView).request

    @operation
    def consent_requests(
        self,
        *,
        state: RequestState | None = None,
        uscc: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Flow[ConsentRequestPage]:
        """One page of the bank's consent requests, oldest first (``next_cursor`` for more)."""
        params = _params(state=state, uscc=uscc, cursor=cursor, limit=limit)
        response = yield HttpRequest(
            "GET", "/v1/consent-requests", params=params, headers=self.headers
        )
        return parse(response, ConsentRequestPage)

    def read_request(
        self,
        uscc: str,
        consent_id: str | bytes,
        categories: Sequence[CategoryLike],
        purpose: PurposeLike,
        idempotency_key: str,
    ) -> HttpRequest:
        """The ``POST /v1/queries`` of a read (signed, when the bank has a read signer)."""
        read = ReadRequest(uscc, hex_id(consent_id), categories, purpose)
        body = read.body()
        if self.signer is not None:
            body.update(self.signer.sign_read(read, idempotency_key))
        headers = {**self.headers, "Idempotency-Key": idempotency_key}
        return HttpRequest("POST", "/v1/queries", json=body, headers=headers)

    @operation
    def read(
        self,
        uscc: str,
        consent_id: str | bytes,
        categories: Sequence[CategoryLike],
        purpose: PurposeLike,
        *,
        idempotency_key: str | None = None,
    ) -> Flow[QueryResult]:
        """Read an enterprise's data under a consent. Answers once the chain recorded the read:
        the data and receipt, or :class:`AccessDeniedError` (reason and receipt) if the chain
        denied it. Repeat an ``idempotency_key`` to get the same read's outcome again."""
        key = idempotency_key or secrets.token_hex(16)
        response = yield self.read_request(uscc, consent_id, categories, purpose, key)
        return parse(response, QueryResult)

    @operation
    def size_class(self, uscc: str, consent_id: str | bytes) -> Flow[QueryResult]:
        """The enterprise's size class, itself a consented, recorded read (signed, when the bank
        has a read signer)."""
        params = {"consent_id": hex_id(consent_id)}
        if self.signer is not None:
            signed = self.signer.sign_size_class(params["consent_id"])
            params.update({name: str(value) for name, value in signed.items()})
        response = yield HttpRequest(
            "GET", f"/v1/enterprises/{uscc}/size-class", params=params, headers=self.headers
        )
        return parse(response, QueryResult)

    @operation
    def stored(self, query_id: str | int) -> Flow[QueryResult]:
        """The stored outcome of one of this bank's reads, as the read got it."""
        response = yield HttpRequest("GET", f"/v1/queries/{query_id}", headers=self.headers)
        return parse(response, QueryResult)

    @operation
    def receipt(self, query_id: str | int) -> Flow[Receipt]:
        """The receipt of one of this bank's reads, granted or denied."""
        response = yield HttpRequest("GET", f"/v1/queries/{query_id}", headers=self.headers)
        if response.status == 200:
            return parse(response, QueryResult).receipt
        error = failure(response, "200 or 403 with a receipt")
        if isinstance(error, AccessDeniedError):
            return Receipt.model_validate(error.receipt)
        raise error

    # ------------------------------------------------------------------ webhooks

    @operation
    def subscribe(
        self, url: str, event_types: Sequence[WebhookEventType], description: str = ""
    ) -> Flow[CreatedSubscription]:
        """Subscribe ``url`` to the bank's events; the answer carries the secret, once."""
        return (
            yield from notifications.subscribe("/v1", self.headers, url, event_types, description)
        )

    @operation
    def webhooks(self) -> Flow[list[Subscription]]:
        """The bank's subscriptions."""
        return (yield from notifications.subscriptions("/v1", self.headers))

    @operation
    def unsubscribe(self, subscription_id: str) -> Flow[Subscription]:
        return (yield from notifications.unsubscribe("/v1", self.headers, subscription_id))

    @operation
    def deliveries(
        self,
        subscription_id: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Flow[DeliveryPage]:
        """A subscription's deliveries, oldest first, with their attempts; one page (pass
        ``next_cursor`` as ``cursor`` for the next)."""
        return (
            yield from notifications.deliveries(
                "/v1", self.headers, subscription_id, status=status, limit=limit, cursor=cursor
            )
        )

    @operation
    def redeliver(self, subscription_id: str, delivery_id: int) -> Flow[Delivery]:
        """Send a dead delivery again."""
        return (
            yield from notifications.redeliver("/v1", self.headers, subscription_id, delivery_id)
        )
