"""An enterprise's side: consents signed by its controllers (k of n), and its own views.

Every widening or narrowing of access is EIP-712 typed data that the gateway drafts and the
controllers sign (:mod:`consentledger.client.signing`); the gateway only relays it. The views
need a sign-in (EIP-4361): a fresh single-use challenge, signed, for every request, or, once
:meth:`Enterprise.open_session` was called, the session's token (until :meth:`Enterprise.sign_out`).
Whatever changes the chain (a grant, an approval, an action, an export) is still signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from consentledger.client import notifications
from consentledger.client.bank import _params, draft_request, hex_id
from consentledger.client.errors import RequestNotApprovableError
from consentledger.client.http import Flow, HttpRequest
from consentledger.client.models import (
    AccessLog,
    ActionDraft,
    ActionResult,
    ApprovalResult,
    CategoryLike,
    Challenge,
    ConsentAction,
    ConsentDetails,
    ConsentDraft,
    ConsentList,
    ConsentRequest,
    ConsentRequestInfo,
    ConsentRequestPage,
    ConsentRequestView,
    ControllerSet,
    CreatedSubscription,
    Delivery,
    DeliveryPage,
    Dispute,
    DisputeList,
    ExportResult,
    GrantResult,
    PurposeLike,
    RequestState,
    Session,
    SignedDraft,
    Subscription,
    WebhookEventType,
)
from consentledger.client.operation import M, R, Role, failure, operation, parse
from consentledger.client.signing import Signer, sign_typed_data, siwe_authorization


def consent_status(consent_id: str | bytes) -> Flow[ConsentDetails]:
    """``GET /v1/consents/{id}``: a consent as the chain holds it now (public)."""
    response = yield HttpRequest("GET", f"/v1/consents/{hex_id(consent_id)}")
    return parse(response, ConsentDetails)


class Enterprise(Role[R]):
    """An enterprise by its USCC, with its controllers' keys; ``threshold`` of them sign (by
    default all)."""

    def __init__(
        self, runner: R, uscc: str, controllers: Sequence[Signer], threshold: int | None = None
    ) -> None:
        super().__init__(runner)
        self.uscc = uscc
        self.controllers = list(controllers)
        self.threshold = len(self.controllers) if threshold is None else threshold
        #: The open session, if any: views use it instead of a new sign-in each.
        self.session: Session | None = None

    @property
    def signers(self) -> list[Signer]:
        """Who signs by default: the first ``threshold`` controllers."""
        return self.controllers[: self.threshold]

    # ------------------------------------------------------------------ consents

    @operation
    def draft(
        self,
        bank: str,
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
        """The consent to sign for these terms, asked by the first controller signed in (nothing
        is sent to the chain)."""
        terms = ConsentRequest(
            uscc=self.uscc,
            bank=bank,
            categories=list(categories),
            purpose=purpose,
            history_months=history_months,
            duration_days=duration_days,
            expires_at=expires_at,
            not_before=not_before,
            max_reads=max_reads,
            sign_within_seconds=sign_within_seconds,
        )
        headers = yield from self._signed_in(None)  # drafts are asked by a signed-in controller
        return (yield from draft_request(terms, headers))

    @operation
    def grant(
        self,
        bank: str,
        categories: Sequence[CategoryLike],
        purpose: PurposeLike,
        *,
        history_months: int,
        duration_days: int | None = None,
        expires_at: datetime | None = None,
        not_before: datetime | None = None,
        max_reads: int = 0,
    ) -> Flow[GrantResult]:
        """Draft a consent for these terms, sign it, and have the gateway relay it."""
        drafted = yield from Enterprise.draft.flow(
            self,
            bank,
            categories,
            purpose,
            history_months=history_months,
            duration_days=duration_days,
            expires_at=expires_at,
            not_before=not_before,
            max_reads=max_reads,
        )
        return (yield from self._sign_and_relay(drafted, self.signers))

    @operation
    def grant_draft(
        self, draft: ConsentDraft, signers: Sequence[Signer] | None = None
    ) -> Flow[GrantResult]:
        """Sign a draft (e.g. one a bank asked for) and have it relayed."""
        chosen = self.signers if signers is None else signers
        return (yield from self._sign_and_relay(draft, chosen))

    def _sign_and_relay(self, draft: ConsentDraft, signers: Sequence[Signer]) -> Flow[GrantResult]:
        signatures = sign_typed_data(draft.typed_data, signers)
        return (yield from relay_grant(draft.typed_data.message, signatures, draft.receipt))

    @operation
    def relay_grant(
        self,
        message: dict[str, Any],
        signatures: Sequence[str],
        receipt: dict[str, Any] | None = None,
    ) -> Flow[GrantResult]:
        """``POST /v1/consents`` as it is: a Consent message and its signatures."""
        return (yield from relay_grant(message, signatures, receipt))

    @operation
    def draft_action(self, consent_id: str | bytes, action: ConsentAction) -> Flow[ActionDraft]:
        """The typed data of a Revocation, Pause or Resume to sign."""
        response = yield self._draft_action_request(consent_id, action)
        return parse(response, ActionDraft)

    @operation
    def relay_action(
        self,
        consent_id: str | bytes,
        action: ConsentAction,
        nonce: int | str,
        deadline: int | str,
        signatures: Sequence[str],
    ) -> Flow[ActionResult]:
        """``POST /v1/consents/{id}/{action}`` as it is."""
        body = {"nonce": nonce, "deadline": deadline, "signatures": list(signatures)}
        response = yield HttpRequest(
            "POST", f"/v1/consents/{hex_id(consent_id)}/{action}", json=body
        )
        return parse(response, ActionResult)

    def _act(
        self, consent_id: str | bytes, action: ConsentAction, signers: Sequence[Signer] | None
    ) -> Flow[ActionResult]:
        drafted = parse((yield self._draft_action_request(consent_id, action)), ActionDraft)
        message = drafted.typed_data.message
        signatures = sign_typed_data(
            drafted.typed_data, self.signers if signers is None else signers
        )
        body = {
            "nonce": message["nonce"],
            "deadline": message["deadline"],
            "signatures": signatures,
        }
        response = yield HttpRequest("POST", drafted.endpoint, json=body)
        return parse(response, ActionResult)

    def _draft_action_request(self, consent_id: str | bytes, action: ConsentAction) -> HttpRequest:
        return HttpRequest(
            "POST", f"/v1/consents/{hex_id(consent_id)}/actions/draft", json={"action": action}
        )

    @operation
    def revoke(
        self, consent_id: str | bytes, signers: Sequence[Signer] | None = None
    ) -> Flow[ActionResult]:
        """Revoke a consent for good; reads from the next block on are denied (REVOKED)."""
        return (yield from self._act(consent_id, "revoke", signers))

    @operation
    def pause(
        self, consent_id: str | bytes, signers: Sequence[Signer] | None = None
    ) -> Flow[ActionResult]:
        """Pause an active consent: reads are denied (PAUSED) until it is resumed."""
        return (yield from self._act(consent_id, "pause", signers))

    @operation
    def resume(
        self, consent_id: str | bytes, signers: Sequence[Signer] | None = None
    ) -> Flow[ActionResult]:
        """Resume a paused consent."""
        return (yield from self._act(consent_id, "resume", signers))

    @operation
    def consent(self, consent_id: str | bytes) -> Flow[ConsentDetails]:
        """A consent as the chain holds it now."""
        return (yield from consent_status(consent_id))

    # ------------------------------------------------------------------ sign-in and views

    @operation
    def challenge(self, address: str) -> Flow[Challenge]:
        """A fresh single-use sign-in message (EIP-4361) for one controller."""
        body = {"uscc": self.uscc, "address": address}
        response = yield HttpRequest("POST", "/v1/auth/challenge", json=body)
        return parse(response, Challenge)

    def _fresh_sign_in(self, signer: Signer | None) -> Flow[dict[str, str]]:
        account = signer or self.controllers[0]
        body = {"uscc": self.uscc, "address": account.address}
        challenge = parse((yield HttpRequest("POST", "/v1/auth/challenge", json=body)), Challenge)
        return {"Authorization": siwe_authorization(challenge.message, account)}

    def _signed_in(self, signer: Signer | None) -> Flow[dict[str, str]]:
        """The open session's headers (when no other ``signer`` is asked for), else a fresh
        sign-in's."""
        if self.session is not None and (signer is None or signer.address == self.session.address):
            return self.session.headers
        return (yield from self._fresh_sign_in(signer))

    @operation
    def sign_in(self, signer: Signer | None = None) -> Flow[dict[str, str]]:
        """The headers of one signed-in request, by ``signer`` (default: the first controller):
        a fresh single-use sign-in."""
        return (yield from self._fresh_sign_in(signer))

    @operation
    def open_session(self, signer: Signer | None = None) -> Flow[Session]:
        """Sign in once (``signer``, default: the first controller) and keep the session: the
        views and requests below use it until :meth:`sign_out` or its expiry."""
        headers = yield from self._fresh_sign_in(signer)
        response = yield HttpRequest(
            "POST", f"/v1/enterprises/{self.uscc}/sessions", headers=headers
        )
        self.session = parse(response, Session, 201)
        return self.session

    @operation
    def sign_out(self) -> Flow[None]:
        """End the open session (its token stops working at once)."""
        if self.session is None:
            return None
        headers, self.session = self.session.headers, None
        response = yield HttpRequest("DELETE", "/v1/auth/session", headers=headers)
        if response.status != 204:
            raise failure(response, "204")
        return None

    def _view(
        self,
        method: str,
        view: str,
        model: type[M],
        signer: Signer | None,
        params: dict[str, str] | None = None,
    ) -> Flow[M]:
        """One signed-in request to ``/v1/enterprises/{uscc}/{view}``."""
        headers = yield from self._signed_in(signer)
        path = f"/v1/enterprises/{self.uscc}/{view}"
        request = HttpRequest(method, path, headers=headers, params=params or {})
        return parse((yield request), model)

    @operation
    def accesses(
        self,
        signer: Signer | None = None,
        *,
        outcome: str | None = None,
        bank: str | None = None,
        consent_id: str | bytes | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Flow[AccessLog]:
        """A page of the reads of the enterprise's data the ledger recorded (oldest first;
        ``next_cursor`` for more), and its own exports."""
        params = _params(
            outcome=outcome,
            bank=bank,
            consent_id=hex_id(consent_id) if consent_id is not None else None,
            cursor=cursor,
            limit=limit,
        )
        return (yield from self._view("GET", "accesses", AccessLog, signer, params))

    @operation
    def consents(
        self,
        signer: Signer | None = None,
        *,
        status: str | None = None,
        bank: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Flow[ConsentList]:
        """A page of the consents the enterprise granted, with their status now."""
        params = _params(status=status, bank=bank, cursor=cursor, limit=limit)
        return (yield from self._view("GET", "consents", ConsentList, signer, params))

    # ------------------------------------------------------------------ consent requests

    @operation
    def consent_requests(
        self,
        *,
        state: RequestState | None = None,
        bank: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Flow[ConsentRequestPage]:
        """A page of the consent requests banks made to the enterprise, oldest first."""
        params = _params(state=state, bank=bank, cursor=cursor, limit=limit)
        return (yield from self._view("GET", "consent-requests", ConsentRequestPage, None, params))

    @operation
    def consent_request(self, request_id: str) -> Flow[ConsentRequestView]:
        """One request; while pending, with the consent to sign (``approval``)."""
        headers = yield from self._signed_in(None)
        response = yield HttpRequest("GET", f"/v1/consent-requests/{request_id}", headers=headers)
        return parse(response, ConsentRequestView)

    @operation
    def approve_request(
        self, request_id: str, signers: Sequence[Signer] | None = None
    ) -> Flow[ApprovalResult]:
        """Approve a pending request: sign its consent with ``signers`` (default: the first
        ``threshold`` controllers) and have the gateway grant it on the chain."""
        view = yield from Enterprise.consent_request.flow(self, request_id)
        if view.approval is None:
            refusal = view.approval_refused
            raise RequestNotApprovableError(
                request_id,
                view.request.state,
                f"{refusal.code}: {refusal.detail}" if refusal else None,
            )
        draft = view.approval
        signatures = sign_typed_data(draft.typed_data, self.signers if signers is None else signers)
        body = {
            "message": draft.typed_data.message,
            "signatures": signatures,
            "receipt": draft.receipt,
        }
        response = yield HttpRequest(
            "POST", f"/v1/consent-requests/{request_id}/approve", json=body
        )
        return parse(response, ApprovalResult)

    @operation
    def decline_request(self, request_id: str, reason: str) -> Flow[ConsentRequestInfo]:
        """Decline a pending request, with a reason the bank sees."""
        headers = yield from self._signed_in(None)
        response = yield HttpRequest(
            "POST",
            f"/v1/consent-requests/{request_id}/decline",
            json={"reason": reason},
            headers=headers,
        )
        return parse(response, ConsentRequestInfo)

    def _signed_action(
        self, what: str, draft_body: dict[str, Any], signer: Signer | None, *, fresh: bool = False
    ) -> Flow[tuple[dict[str, str], dict[str, Any]]]:
        """Draft ``what`` (``export`` or ``controllers``) signed in as ``signer`` (default: the
        first controller); the sign-in for the relay (with ``fresh`` a new SIWE sign-in, never
        the session), and its body signed by the default signers."""
        path = f"/v1/enterprises/{self.uscc}/{what}"
        headers = yield from self._signed_in(signer)
        answer = yield HttpRequest("POST", f"{path}/draft", json=draft_body, headers=headers)
        draft = parse(answer, SignedDraft)
        message = draft.typed_data.message
        body = {
            "nonce": message["nonce"],
            "deadline": message["deadline"],
            "signatures": sign_typed_data(draft.typed_data, self.signers),
        }
        relay = yield from (self._fresh_sign_in(signer) if fresh else self._signed_in(signer))
        return relay, body

    @operation
    def export(self, signer: Signer | None = None) -> Flow[ExportResult]:
        """The enterprise's own data over its whole record, the export recorded on the chain.
        Like a consent, it needs ``threshold`` controllers: the default signers sign the
        ``Export`` the gateway drafts, and the contract checks them. The export is asked with a
        fresh sign-in of ``signer`` (a session does not release an export)."""
        headers, body = yield from self._signed_action("export", {}, signer, fresh=True)
        answer = yield HttpRequest(
            "POST", f"/v1/enterprises/{self.uscc}/export", json=body, headers=headers
        )
        return parse(answer, ExportResult)

    @operation
    def change_controllers(
        self, controllers: Sequence[str], threshold: int, signer: Signer | None = None
    ) -> Flow[ControllerSet]:
        """Replace the enterprise's controllers and threshold, signed by the default signers
        (``threshold`` of the current controllers). This client keeps its keys: make a new
        :class:`Enterprise` with the new ones."""
        wanted = {"controllers": list(controllers), "threshold": threshold}
        headers, body = yield from self._signed_action("controllers", wanted, signer)
        answer = yield HttpRequest(
            "POST",
            f"/v1/enterprises/{self.uscc}/controllers",
            json=body | wanted,
            headers=headers,
        )
        return parse(answer, ControllerSet)

    @operation
    def cancel_recovery(self, signer: Signer | None = None) -> Flow[ControllerSet]:
        """Cancel the lost-key recovery the regulator started for the enterprise, signed by the
        default signers (``threshold`` of the current controllers)."""
        path = "recovery/cancel"
        headers, body = yield from self._signed_action(path, {}, signer)
        answer = yield HttpRequest(
            "POST", f"/v1/enterprises/{self.uscc}/{path}", json=body, headers=headers
        )
        return parse(answer, ControllerSet)

    # ------------------------------------------------------------------ webhooks

    @property
    def _prefix(self) -> str:
        return f"/v1/enterprises/{self.uscc}"

    @operation
    def subscribe(
        self,
        url: str,
        event_types: Sequence[WebhookEventType],
        description: str = "",
        signer: Signer | None = None,
    ) -> Flow[CreatedSubscription]:
        """Subscribe ``url`` to the enterprise's events; the answer carries the secret, once."""
        headers = yield from self._signed_in(signer)
        return (
            yield from notifications.subscribe(self._prefix, headers, url, event_types, description)
        )

    @operation
    def webhooks(self, signer: Signer | None = None) -> Flow[list[Subscription]]:
        """The enterprise's subscriptions."""
        headers = yield from self._signed_in(signer)
        return (yield from notifications.subscriptions(self._prefix, headers))

    @operation
    def unsubscribe(self, subscription_id: str, signer: Signer | None = None) -> Flow[Subscription]:
        headers = yield from self._signed_in(signer)
        return (yield from notifications.unsubscribe(self._prefix, headers, subscription_id))

    @operation
    def deliveries(
        self,
        subscription_id: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        signer: Signer | None = None,
    ) -> Flow[DeliveryPage]:
        """A subscription's deliveries, oldest first, with their attempts; one page (pass
        ``next_cursor`` as ``cursor`` for the next)."""
        headers = yield from self._signed_in(signer)
        return (
            yield from notifications.deliveries(
                self._prefix, headers, subscription_id, status=status, limit=limit, cursor=cursor
            )
        )

    @operation
    def redeliver(
        self, subscription_id: str, delivery_id: int, signer: Signer | None = None
    ) -> Flow[Delivery]:
        """Send a dead delivery again."""
        headers = yield from self._signed_in(signer)
        return (
            yield from notifications.redeliver(self._prefix, headers, subscription_id, delivery_id)
        )

    # ------------------------------------------------------------------ disputes

    @operation
    def dispute_read(
        self,
        query_id: str | int,
        reason: str,
        categories: Sequence[CategoryLike] = (),
        signer: Signer | None = None,
    ) -> Flow[Dispute]:
        """Dispute a recorded read of the enterprise's data (all of its categories, or some)."""
        number = query_id if isinstance(query_id, str) else f"0x{query_id:064x}"
        body = {"kind": "read", "query_id": number, "reason": reason}
        return (yield from self._file(body, categories, signer))

    @operation
    def dispute_item(
        self,
        item: str,
        categories: Sequence[CategoryLike],
        reason: str,
        signer: Signer | None = None,
    ) -> Flow[Dispute]:
        """Dispute a data item (its reference in the bureau's data) in ``categories``."""
        body = {"kind": "item", "item": item, "reason": reason}
        return (yield from self._file(body, categories, signer))

    def _file(
        self, body: dict[str, Any], categories: Sequence[CategoryLike], signer: Signer | None
    ) -> Flow[Dispute]:
        headers = yield from self._signed_in(signer)
        body["categories"] = [c if isinstance(c, int | str) else int(c) for c in categories]
        path = f"{self._prefix}/disputes"
        response = yield HttpRequest("POST", path, json=body, headers=headers)
        return parse(response, Dispute, 201)

    @operation
    def disputes(
        self,
        signer: Signer | None = None,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Flow[DisputeList]:
        """A page of the enterprise's disputes, oldest first, with their states now."""
        params = _params(cursor=cursor, limit=limit)
        return (yield from self._view("GET", "disputes", DisputeList, signer, params))

    @operation
    def dispute(self, dispute_id: str, signer: Signer | None = None) -> Flow[Dispute]:
        """One dispute and its state now."""
        return (yield from self._view("GET", f"disputes/{dispute_id}", Dispute, signer))


def relay_grant(
    message: dict[str, Any], signatures: Sequence[str], receipt: dict[str, Any] | None
) -> Flow[GrantResult]:
    """``POST /v1/consents``: relay a signed Consent message."""
    body: dict[str, Any] = {"message": message, "signatures": list(signatures)}
    if receipt is not None:
        body["receipt"] = receipt
    response = yield HttpRequest("POST", "/v1/consents", json=body)
    return parse(response, GrantResult, 201)
