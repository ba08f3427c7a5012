"""An enterprise's disputes (异议, 征信业管理条例 art. 25), signed in with EIP-4361: file one, see
each one's state. The bureau answers through ``/v1/admin/disputes``.

The flows themselves are :mod:`consentledger.gateway.services.disputes`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.gateway.deps import DisputeServiceDep, SignedInController, UsccPath
from consentledger.gateway.errors import (
    DisputedReadUnknownError,
    InvalidCursorError,
    InvalidDisputeError,
    UnknownDisputeError,
)
from consentledger.gateway.operations import BUREAU_READ, CHAIN_READ, CHAIN_WRITE, operation
from consentledger.gateway.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from consentledger.gateway.services.disputes import DisputeList, DisputeOut, NewDispute

router = APIRouter(prefix="/v1/enterprises", tags=["enterprise disputes"])

DisputePath = Annotated[str, Path(min_length=1, max_length=66)]


@router.post(
    "/{uscc}/disputes",
    response_model=DisputeOut,
    status_code=201,
    **operation(
        "fileDispute",
        (InvalidDisputeError, DisputedReadUnknownError, InvalidUSCCError),
        CHAIN_WRITE,
        BUREAU_READ,
    ),
)
async def file_dispute(
    uscc: UsccPath, body: NewDispute, signed_in: SignedInController, disputes: DisputeServiceDep
) -> DisputeOut:
    """Dispute a recorded read of the enterprise's data, or a data item in a category, with a
    reason. The filing is recorded on the chain (``DisputeFiled``, with a salted hash of the
    reason); the bureau must answer within 20 days, and until it does every document released
    about the enterprise in those categories names the dispute."""
    return await disputes.file(signed_in, body)


@router.get(
    "/{uscc}/disputes",
    response_model=DisputeList,
    **operation("listDisputes", (InvalidCursorError,), CHAIN_READ),
)
async def list_disputes(
    uscc: UsccPath,
    signed_in: SignedInController,
    disputes: DisputeServiceDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> DisputeList:
    """A page of the enterprise's disputes, oldest first: open, overdue, answered (with the
    outcome and the written answer) or failed (the chain refused the filing)."""
    return await disputes.disputes(signed_in, cursor=cursor, limit=limit)


@router.get(
    "/{uscc}/disputes/{dispute_id}",
    response_model=DisputeOut,
    **operation("getDispute", (UnknownDisputeError,), CHAIN_READ),
)
async def get_dispute(
    uscc: UsccPath,
    dispute_id: DisputePath,
    signed_in: SignedInController,
    disputes: DisputeServiceDep,
) -> DisputeOut:
    """One of the enterprise's disputes and its state now."""
    return await disputes.dispute(signed_in, dispute_id)
