"""Consent requests, without HTTP: a bank asks, the enterprise approves (by signing the consent)
or declines, and both sides see every request in every state.

* A bank asks with its API key: which enterprise (USCC), categories, purpose, period, reads,
  history window, why, and by when the enterprise should answer (at most
  ``CONSENTLEDGER_CONSENT_REQUEST_MAX_DAYS``). The terms are judged by the state model against
  the chain now (purpose caps, categories, the bank's standing) as for a placeholder enterprise,
  so the answer is the same whether the USCC is registered or not: a request is no oracle.
* The enterprise (signed in, or by its session) lists its requests; ``GET`` of a pending one
  carries the consent's typed data to sign (the draft of :class:`ConsentService`). Approving
  posts the signed Consent; it must carry the request's terms, and is granted on the chain as
  ``POST /v1/consents`` grants. Declining takes a reason.
* A request nobody answered by its ``respond_by`` is expired when it is next looked at (or by the
  gateway's periodic sweep).

State changes happen in :mod:`consentledger.gateway.consent_requests` only; each publishes its
webhook event in the transaction that stores it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from consentledger.bureau.uscc import parse_uscc
from consentledger.categories import DAY, mask_of, parse_category, parse_purpose
from consentledger.chain import typed_data
from consentledger.gateway.banks import BankName
from consentledger.gateway.consent_requests import (
    NewRequest,
    awaits_approval,
    aware,
    expire_due,
    request_by_id,
    requests_after,
    store_request,
    transition,
)
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.db import Bank
from consentledger.gateway.eip712_json import parse_address
from consentledger.gateway.errors import (
    ConsentRequestNotPendingError,
    ConsentRequestTermsMismatchError,
    ConsentRequestWindowError,
    ForeseenRefusalError,
    InvalidTimeError,
    UnknownConsentError,
    UnknownConsentRequestError,
)
from consentledger.gateway.ledger_views import CategoryRef, PurposeRef
from consentledger.gateway.pagination import scope_of
from consentledger.gateway.problems import problem_for
from consentledger.gateway.receipts import category_refs, purpose_name
from consentledger.gateway.services.banks import BankDirectory
from consentledger.gateway.services.consents import (
    ConsentDraft,
    ConsentDraftRequest,
    ConsentService,
    GrantRequest,
    GrantResult,
)
from consentledger.gateway.services.signin import SignedIn
from consentledger.gateway.signed_actions import refused, snapshot
from consentledger.journal.schema import ConsentRequestRecord, RequestState
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import ConsentTerms

RequestStateName = Literal["pending", "approving", "approved", "declined", "expired"]


class ConsentRequestIn(BaseModel):
    """What a bank asks an enterprise for. Give either ``expires_at`` or ``duration_days`` (the
    consent then runs that long from its approval)."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=1, max_length=64, examples=["91440305MA5DKW7Q1B"])
    categories: list[int | str] = Field(
        min_length=1, max_length=64, examples=[["business_registration", "social_insurance"]]
    )
    purpose: int | str = Field(examples=["credit_underwriting"])
    not_before: AwareDatetime | None = Field(
        default=None, description="default: when the enterprise approves"
    )
    expires_at: AwareDatetime | None = None
    duration_days: int | None = Field(default=None, ge=1, le=365)
    max_reads: int = Field(default=0, ge=0, le=2**32 - 1, description="0: the purpose's cap")
    history_months: int = Field(ge=0, le=2**16 - 1)
    reason: str = Field(
        min_length=1,
        max_length=1000,
        description="why the bank asks, in words the enterprise reads",
        examples=["贷前审查: 500万元流动资金贷款申请 (working-capital loan application)"],
    )
    respond_within_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="the enterprise should answer within this (at most the gateway's "
        "CONSENTLEDGER_CONSENT_REQUEST_MAX_DAYS); the request expires after it",
    )

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if (self.expires_at is None) == (self.duration_days is None):
            raise ValueError("give exactly one of expires_at and duration_days")
        return self


class RequestedPeriod(BaseModel):
    """The consent's period as the bank asked: fixed times, or a length from the approval."""

    not_before: datetime | None = Field(description="null: from the approval on")
    expires_at: datetime | None = Field(description="null: `duration_days` after `not_before`")
    duration_days: int | None


class ConsentRequestOut(BaseModel):
    """A consent request and where it stands."""

    request_id: str
    state: RequestStateName
    uscc: str
    bank: str = Field(description="the bank's address on the ledger")
    bank_name: BankName | None = Field(description="null for a bank without legal names")
    categories: list[CategoryRef]
    categories_mask: str
    purpose: PurposeRef
    period: RequestedPeriod
    max_reads: int = Field(description="0: the purpose's cap")
    history_months: int
    reason: str
    created_at: datetime
    respond_by: datetime
    decided_at: datetime | None = Field(description="approved, declined or expired at")
    decline_reason: str | None
    consent_id: str | None = Field(description="the consent granted (approved)")
    tx_hash: str | None = Field(description="the grant's transaction (approved)")
    block_number: int | None


class ConsentRequestPage(BaseModel):
    """Consent requests, oldest first, one page."""

    requests: list[ConsentRequestOut]
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")


class DraftRefusal(BaseModel):
    """Why the consent cannot be drafted now (the ledger would refuse it)."""

    code: str
    detail: str


class ConsentRequestView(BaseModel):
    """A request; as its enterprise sees it, with the consent to sign while it is pending."""

    request: ConsentRequestOut
    approval: ConsentDraft | None = Field(
        description="to the enterprise, while pending: the consent's typed data to sign "
        "(eth_signTypedData_v4) and its receipt; post the signed message to "
        "/v1/consent-requests/{id}/approve (always null to the bank)"
    )
    approval_refused: DraftRefusal | None = Field(
        default=None, description="pending, but the ledger would refuse the consent now"
    )


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="told to the bank")


class ApprovalResult(BaseModel):
    """An approved request and the consent the chain granted for it."""

    request: ConsentRequestOut
    grant: GrantResult


def _time(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _seconds(moment: datetime | None, field: str) -> int | None:
    if moment is None:
        return None
    seconds = int(moment.timestamp())
    if seconds < 0:
        raise InvalidTimeError(f"{field} lies before 1970", field=field)
    return seconds


def render(record: ConsentRequestRecord, name: BankName | None) -> ConsentRequestOut:
    return ConsentRequestOut(
        request_id=record.request_id,
        state=RequestState(record.state).value,
        uscc=record.uscc,
        bank=record.bank_address,
        bank_name=name,
        categories=[CategoryRef(**ref) for ref in category_refs(record.categories)],
        categories_mask=str(record.categories),
        purpose=PurposeRef(code=record.purpose, name=purpose_name(record.purpose)),
        period=RequestedPeriod(
            not_before=_time(record.not_before),
            expires_at=_time(record.expires_at),
            duration_days=record.duration_days,
        ),
        max_reads=record.max_reads,
        history_months=record.history_months,
        reason=record.reason,
        created_at=aware(record.created_at),
        respond_by=aware(record.respond_by),
        decided_at=aware(record.decided_at) if record.decided_at else None,
        decline_reason=record.decline_reason,
        consent_id=record.consent_id,
        tx_hash=record.tx_hash,
        block_number=record.block_number,
    )


def check_terms(record: ConsentRequestRecord, terms: ConsentTerms, subject: bytes) -> None:
    """The signed consent carries the request's terms, or ConsentRequestTermsMismatchError."""
    expected: list[tuple[str, object, object]] = [
        ("subject", "0x" + subject.hex(), "0x" + terms.subject.hex()),
        ("bank", record.bank_address, terms.bank),
        ("categories", record.categories, terms.categories),
        ("purpose", record.purpose, terms.purpose),
        ("maxReads", record.max_reads, terms.max_reads),
        ("historyMonths", record.history_months, terms.history_months),
    ]
    if record.not_before is not None:
        expected.append(("notBefore", record.not_before, terms.not_before))
    if record.expires_at is not None:
        expected.append(("expiresAt", record.expires_at, terms.expires_at))
    if record.duration_days is not None:
        length = terms.expires_at - terms.not_before
        expected.append(("expiresAt - notBefore", record.duration_days * DAY, length))
    for field, wanted, signed in expected:
        if wanted != signed:
            raise ConsentRequestTermsMismatchError(field, wanted, signed)


class ConsentRequestService:
    """The consent requests of a running gateway."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context
        self._banks = BankDirectory(context)
        self._consents = ConsentService(context)

    # ------------------------------------------------------------------ shared

    async def expire_due(self) -> int:
        """Expire every pending request past its answer-by time; publish each; how many."""
        context = self._context
        expired = await context.in_thread(
            expire_due, context.db, datetime.now(UTC), context.subject_key
        )
        return len(expired)

    async def _render(self, records: Sequence[ConsentRequestRecord]) -> list[ConsentRequestOut]:
        names = await self._banks.names({r.bank_address for r in records})
        return [render(r, names.get(r.bank_address)) for r in records]

    async def _page(
        self,
        *,
        scope: str,
        cursor: str | None,
        limit: int,
        bank_address: str | None = None,
        uscc: str | None = None,
        state: RequestStateName | None,
        other_party: str | None,
    ) -> ConsentRequestPage:
        context = self._context
        await self.expire_due()
        after = context.cursors.decode(cursor, scope)
        rows = await context.in_thread(
            partial(
                requests_after,
                context.db,
                bank_address=bank_address,
                uscc=uscc,
                states=[RequestState(state)] if state else None,
                other_party=other_party,
                after_id=int(after[0]) if after else None,
                limit=limit + 1,
            )
        )
        page = context.cursors.finish(rows, lambda r: (r.id,), scope=scope, limit=limit)
        return ConsentRequestPage(
            requests=await self._render(page.items), next_cursor=page.next_cursor
        )

    async def _load(self, request_id: str) -> ConsentRequestRecord:
        await self.expire_due()
        context = self._context
        record = await context.in_thread(request_by_id, context.db, request_id)
        if record is None:
            raise UnknownConsentRequestError(request_id)
        return record

    # ------------------------------------------------------------------ the bank

    async def create(self, bank: Bank, body: ConsentRequestIn) -> ConsentRequestOut:
        """Store a bank's request (judged first as a consent to a placeholder enterprise)."""
        context = self._context
        max_days = context.settings.consent_request_max_days
        if body.respond_within_days > max_days:
            raise ConsentRequestWindowError(max_days)
        uscc = parse_uscc(body.uscc).code
        subject = context.subject_of(uscc)
        mask = mask_of(parse_category(c) for c in body.categories)
        purpose = int(parse_purpose(body.purpose))
        not_before = _seconds(body.not_before, "not_before")
        expires_at = _seconds(body.expires_at, "expires_at")
        snap = await context.on_chain(
            partial(
                snapshot,
                context.ledger,
                subject,
                secrets.randbits(192) << 64,
                bank=bank.address,
                purpose=purpose,
                assume_enterprise=True,
            )
        )
        start = snap.now - 1 if not_before is None else not_before
        terms = ConsentTerms(
            subject=subject,
            bank=bank.address,
            categories=mask,
            purpose=purpose,
            not_before=start,
            expires_at=expires_at
            if expires_at is not None
            else start + (body.duration_days or 0) * DAY,
            max_reads=body.max_reads,
            history_months=body.history_months,
            receipt_hash=bytes(32),
            nonce=snap.model.nonce(subject, 0),
            deadline=snap.now + DAY,
        )
        try:
            snap.model.grant_consent(terms, bytes(32), snap.hypothetical_signers, snap.now)
        except LedgerRevertError as exc:
            raise refused(exc) from None
        now = datetime.now(UTC).replace(microsecond=0)
        new = NewRequest(
            bank_address=bank.address,
            uscc=uscc,
            categories=mask,
            purpose=purpose,
            not_before=not_before,
            expires_at=expires_at,
            duration_days=body.duration_days,
            max_reads=body.max_reads,
            history_months=body.history_months,
            reason=body.reason,
            respond_by=now + timedelta(days=body.respond_within_days),
        )
        record = await context.in_thread(store_request, context.db, new, now, context.subject_key)
        return (await self._render([record]))[0]

    async def for_bank(self, bank: Bank, request_id: str) -> ConsentRequestView:
        """One of the bank's requests (another bank's is not found)."""
        record = await self._load(request_id)
        if record.bank_address != bank.address:
            raise UnknownConsentRequestError(request_id)
        return ConsentRequestView(request=(await self._render([record]))[0], approval=None)

    async def bank_requests(
        self,
        bank: Bank,
        *,
        state: RequestStateName | None,
        uscc: str | None,
        cursor: str | None,
        limit: int,
    ) -> ConsentRequestPage:
        """The bank's requests, oldest first, by state and enterprise."""
        code = parse_uscc(uscc).code if uscc is not None else None
        return await self._page(
            scope=scope_of("bank-requests", bank.address, state=state, uscc=code),
            cursor=cursor,
            limit=limit,
            bank_address=bank.address,
            state=state,
            other_party=code,
        )

    # ------------------------------------------------------------------ the enterprise

    async def enterprise_requests(
        self,
        signed_in: SignedIn,
        *,
        state: RequestStateName | None,
        bank: str | None,
        cursor: str | None,
        limit: int,
    ) -> ConsentRequestPage:
        """The enterprise's requests, oldest first, by state and bank."""
        bank = parse_address(bank, "bank") if bank is not None else None
        return await self._page(
            scope=scope_of("enterprise-requests", signed_in.uscc, state=state, bank=bank),
            cursor=cursor,
            limit=limit,
            uscc=signed_in.uscc,
            state=state,
            other_party=bank,
        )

    async def _enterprise_record(
        self, signed_in: SignedIn, request_id: str
    ) -> ConsentRequestRecord:
        record = await self._load(request_id)
        if record.uscc != signed_in.uscc:
            raise UnknownConsentRequestError(request_id)
        return record

    async def for_enterprise(self, signed_in: SignedIn, request_id: str) -> ConsentRequestView:
        """One of the enterprise's requests; while pending, with the consent to sign."""
        record = await self._enterprise_record(signed_in, request_id)
        rendered = (await self._render([record]))[0]
        if not awaits_approval(record, datetime.now(UTC)):
            return ConsentRequestView(request=rendered, approval=None)
        terms = ConsentDraftRequest(
            uscc=record.uscc,
            bank=record.bank_address,
            categories=[ref.code for ref in rendered.categories],
            purpose=record.purpose,
            not_before=_time(record.not_before),
            expires_at=_time(record.expires_at),
            duration_days=record.duration_days,
            max_reads=record.max_reads,
            history_months=record.history_months,
        )
        try:
            draft = await self._consents.draft(terms, None)
        except ForeseenRefusalError as exc:
            return ConsentRequestView(
                request=rendered,
                approval=None,
                approval_refused=DraftRefusal(code=problem_for(exc).code, detail=exc.detail),
            )
        return ConsentRequestView(request=rendered, approval=draft)

    async def approve(self, request_id: str, body: GrantRequest) -> ApprovalResult:
        """Grant the consent the enterprise's controllers signed for a pending request: it must
        carry the request's terms; the chain grants it as ``POST /v1/consents`` does."""
        context = self._context
        record = await self._load(request_id)
        terms = ConsentService.terms_of(body.message)
        check_terms(record, terms, context.subject_of(record.uscc))
        document = typed_data.typed_data(
            typed_data.Domain(context.deployment.chain_id, context.deployment.address),
            "Consent",
            terms.message(),
        )
        consent_id = "0x" + typed_data.digest(document).hex()
        if record.state == RequestState.APPROVING and record.consent_id is not None:
            finished = await self._finish_abandoned(record)
            if finished is not None:
                return finished
        now = datetime.now(UTC)
        await context.in_thread(
            partial(
                transition,
                context.db,
                request_id,
                RequestState.APPROVING,
                now,
                context.subject_key,
                consent_id=consent_id,
            )
        )
        try:
            granted = await self._consents.grant(body)
        except BaseException:
            await context.in_thread(
                partial(
                    transition,
                    context.db,
                    request_id,
                    RequestState.PENDING,
                    datetime.now(UTC),
                    context.subject_key,
                    consent_id=None,
                )
            )
            raise
        record = await self._approved(request_id, granted.tx_hash, granted.block_number)
        return ApprovalResult(request=(await self._render([record]))[0], grant=granted)

    async def _approved(
        self, request_id: str, tx_hash: str, block_number: int
    ) -> ConsentRequestRecord:
        context = self._context
        return await context.in_thread(
            partial(
                transition,
                context.db,
                request_id,
                RequestState.APPROVED,
                datetime.now(UTC),
                context.subject_key,
                tx_hash=tx_hash,
                block_number=block_number,
            )
        )

    async def _finish_abandoned(self, record: ConsentRequestRecord) -> ApprovalResult | None:
        """An approval claimed by a gateway that stopped before recording the outcome: if the
        consent it was granting is on the chain, the request is approved (and the new approval
        is answered with that grant); otherwise None, and the claim may be taken over."""
        assert record.consent_id is not None
        if not awaits_approval(record, datetime.now(UTC)):  # still on its way
            raise ConsentRequestNotPendingError(record.request_id, record.state)
        try:
            details = await self._consents.details(bytes.fromhex(record.consent_id[2:]))
        except UnknownConsentError:  # never granted: the claim may be taken over
            return None
        granted_event = next((e for e in details.events if e.event == "granted"), None)
        if granted_event is None:
            return None
        approved = await self._approved(
            record.request_id, granted_event.tx_hash, granted_event.block_number
        )
        grant = GrantResult(
            consent_id=details.consent_id,
            status=details.status,
            tx_hash=granted_event.tx_hash,
            block_number=granted_event.block_number,
            consent=details,
        )
        return ApprovalResult(request=(await self._render([approved]))[0], grant=grant)

    async def decline(
        self, signed_in: SignedIn, request_id: str, body: DeclineIn
    ) -> ConsentRequestOut:
        """Decline a pending request with a reason the bank sees."""
        context = self._context
        await self._enterprise_record(signed_in, request_id)
        record = await context.in_thread(
            partial(
                transition,
                context.db,
                request_id,
                RequestState.DECLINED,
                datetime.now(UTC),
                context.subject_key,
                decline_reason=body.reason,
            )
        )
        return (await self._render([record]))[0]
