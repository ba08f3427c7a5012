"""Consent requests: a bank asks an enterprise for a consent; the enterprise approves it (by
signing the consent) or declines it; both see every request in every state.

The flows themselves are :mod:`consentledger.gateway.services.consent_requests`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from consentledger.bureau.store import UnknownEnterpriseError
from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.gateway.db import Bank, GatewayDatabaseError
from consentledger.gateway.deps import (
    ConsentRequestServiceDep,
    CurrentBank,
    EnterpriseCaller,
    RequestParty,
    SignedInController,
    UsccPath,
)
from consentledger.gateway.errors import (
    ConsentRequestNotPendingError,
    ConsentRequestTermsMismatchError,
    ConsentRequestWindowError,
    InvalidAddressError,
    InvalidCursorError,
    UnknownConsentRequestError,
)
from consentledger.gateway.operations import BUREAU_READ, CHAIN_READ, Declared, operation
from consentledger.gateway.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from consentledger.gateway.routes.consents import GRANT_PROBLEMS, TERMS_PROBLEMS
from consentledger.gateway.services.consent_requests import (
    ApprovalResult,
    ConsentRequestIn,
    ConsentRequestOut,
    ConsentRequestPage,
    ConsentRequestView,
    DeclineIn,
    RequestStateName,
)
from consentledger.gateway.services.consents import GrantRequest

router = APIRouter(prefix="/v1", tags=["consent requests"])

RequestIdPath = Annotated[
    str,
    Path(
        pattern=r"^creq_[0-9a-f]{24}$",
        description="The request's id",
        examples=["creq_0123456789abcdef01234567"],
    ),
]
UsccQuery = Annotated[str | None, Query(max_length=64, description="only for this enterprise")]
StateQuery = Annotated[RequestStateName | None, Query(description="only requests in this state")]

#: A page of requests: the filters and the cursor are checked; the requests are stored.
PAGE_PROBLEMS: tuple[Declared, ...] = (InvalidCursorError, GatewayDatabaseError)


@router.post(
    "/consent-requests",
    status_code=201,
    response_model=ConsentRequestOut,
    **operation(
        "createConsentRequest",
        (ConsentRequestWindowError, InvalidUSCCError, GatewayDatabaseError),
        TERMS_PROBLEMS,
        CHAIN_READ,
    ),
)
async def create_request(
    body: ConsentRequestIn, bank: CurrentBank, requests: ConsentRequestServiceDep
) -> ConsentRequestOut:
    """A bank asks an enterprise (by USCC) for a consent: categories, purpose, period, reads,
    history window and why; the enterprise should answer within ``respond_within_days``.

    The terms are judged now as the ledger would judge the consent (purpose caps, registered
    categories, the bank's standing); the answer is the same whether the USCC is registered or
    not. Refusals are named after the contract's errors (``consents_duration_exceeds_cap``...);
    an answer-by time past the gateway's maximum is
    ``consent_request_respond_by_out_of_range``."""
    return await requests.create(bank, body)


@router.get(
    "/consent-requests",
    response_model=ConsentRequestPage,
    **operation("listBankConsentRequests", (InvalidUSCCError,), PAGE_PROBLEMS),
)
async def bank_requests(
    bank: CurrentBank,
    requests: ConsentRequestServiceDep,
    state: StateQuery = None,
    uscc: UsccQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> ConsentRequestPage:
    """The bank's own requests, oldest first, in every state (pending, approving, approved,
    declined, expired), a page at a time (``next_cursor``)."""
    return await requests.bank_requests(bank, state=state, uscc=uscc, cursor=cursor, limit=limit)


@router.get(
    "/consent-requests/{request_id}",
    response_model=ConsentRequestView,
    **operation(
        "getConsentRequest",
        (UnknownConsentRequestError, UnknownEnterpriseError),
        CHAIN_READ,
        BUREAU_READ,
    ),
)
async def get_request(
    request_id: RequestIdPath, party: RequestParty, requests: ConsentRequestServiceDep
) -> ConsentRequestView:
    """One request, to its bank (API key) or its enterprise (session or SIWE); anyone else's
    is not found.

    To the enterprise, a pending request carries ``approval``: the consent's EIP-712 typed data
    to sign (a fresh nonce and deadline each time) and its receipt. Sign it with k of the
    enterprise's controllers and post the message and signatures to ``.../approve``."""
    if isinstance(party, Bank):
        return await requests.for_bank(party, request_id)
    return await requests.for_enterprise(party, request_id)


@router.post(
    "/consent-requests/{request_id}/approve",
    response_model=ApprovalResult,
    **operation(
        "approveConsentRequest",
        (
            UnknownConsentRequestError,
            ConsentRequestNotPendingError,
            ConsentRequestTermsMismatchError,
        ),
        GRANT_PROBLEMS,
    ),
)
async def approve_request(
    request_id: RequestIdPath, body: GrantRequest, requests: ConsentRequestServiceDep
) -> ApprovalResult:
    """Approve a pending request with the consent its enterprise's controllers signed (the
    ``approval`` typed data of ``GET``): the signatures are the approval, so no sign-in is
    needed. The signed terms must be the request's (``consent_request_terms_mismatch``); the
    consent is then judged and granted on the chain as ``POST /v1/consents`` does. A request
    answered already, expired or being approved is ``consent_request_not_pending`` (409)."""
    return await requests.approve(request_id, body)


@router.post(
    "/consent-requests/{request_id}/decline",
    response_model=ConsentRequestOut,
    **operation(
        "declineConsentRequest",
        (UnknownConsentRequestError, ConsentRequestNotPendingError, GatewayDatabaseError),
    ),
)
async def decline_request(
    request_id: RequestIdPath,
    body: DeclineIn,
    signed_in: EnterpriseCaller,
    requests: ConsentRequestServiceDep,
) -> ConsentRequestOut:
    """Decline a pending request, with a reason the bank sees (session or SIWE of a controller
    of the request's enterprise). The request is kept, declined."""
    return await requests.decline(signed_in, request_id, body)


@router.get(
    "/enterprises/{uscc}/consent-requests",
    response_model=ConsentRequestPage,
    **operation("listEnterpriseConsentRequests", (InvalidAddressError,), PAGE_PROBLEMS),
)
async def enterprise_requests(
    uscc: UsccPath,
    signed_in: SignedInController,
    requests: ConsentRequestServiceDep,
    state: StateQuery = None,
    bank: Annotated[str | None, Query(max_length=42, description="only from this bank")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> ConsentRequestPage:
    """The requests banks made to the enterprise, oldest first, in every state, a page at a
    time (``next_cursor``); session or SIWE."""
    return await requests.enterprise_requests(
        signed_in, state=state, bank=bank, cursor=cursor, limit=limit
    )
