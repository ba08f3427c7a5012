"""An enterprise's own view, signed in with EIP-4361: who read its data, its consents, its export.

The flows themselves are :mod:`consentledger.gateway.services.enterprises`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consentledger.bureau.store import UnknownEnterpriseError
from consentledger.gateway.deps import (
    EnterpriseViewServiceDep,
    ExportApprovers,
    FreshSignIn,
    SignedInController,
    UsccPath,
)
from consentledger.gateway.errors import (
    ExportNeedsMoreControllersError,
    InvalidAddressError,
    InvalidCursorError,
)
from consentledger.gateway.operations import (
    BUREAU_READ,
    CHAIN_READ,
    CHAIN_WRITE,
    Declared,
    operation,
)
from consentledger.gateway.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from consentledger.gateway.services.enterprises import (
    AccessLog,
    ConsentList,
    ConsentStatusName,
    ExportResult,
    Outcome,
)

router = APIRouter(prefix="/v1/enterprises", tags=["enterprise views"])


#: A page of a view filtered by bank: the bank's address and the cursor are checked.
PAGE_PROBLEMS: tuple[Declared, ...] = (InvalidAddressError, InvalidCursorError, *CHAIN_READ)

BankQuery = Annotated[
    str | None, Query(max_length=42, description="only this bank's (its address)")
]


@router.get(
    "/{uscc}/accesses",
    response_model=AccessLog,
    **operation("listEnterpriseAccesses", PAGE_PROBLEMS),
)
async def accesses(
    uscc: UsccPath,
    signed_in: SignedInController,
    views: EnterpriseViewServiceDep,
    outcome: Annotated[Outcome | None, Query(description="only granted or denied reads")] = None,
    bank: BankQuery = None,
    consent_id: Annotated[
        str | None, Query(pattern=r"^0x[0-9a-fA-F]{64}$", description="only under this consent")
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AccessLog:
    """The bank reads recorded under the enterprise's consents, granted or denied, oldest first,
    a page at a time (``next_cursor``): the bank by address and legal names, categories,
    purpose, consent, block, block time, transaction, denial reason; and its own exports.
    Signed in with SIWE or a session."""
    return await views.accesses(
        signed_in, outcome=outcome, bank=bank, consent_id=consent_id, cursor=cursor, limit=limit
    )


@router.get(
    "/{uscc}/consents",
    response_model=ConsentList,
    **operation("listEnterpriseConsents", PAGE_PROBLEMS),
)
async def consents(
    uscc: UsccPath,
    signed_in: SignedInController,
    views: EnterpriseViewServiceDep,
    status: Annotated[ConsentStatusName | None, Query(description="only in this status")] = None,
    bank: BankQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> ConsentList:
    """The consents the enterprise granted, oldest first, a page at a time (``next_cursor``),
    with the bank's legal names, the status and reads now and the events (granted, paused,
    resumed, revoked). Signed in with SIWE or a session."""
    return await views.consents(signed_in, status=status, bank=bank, cursor=cursor, limit=limit)


@router.post(
    "/{uscc}/export",
    response_model=ExportResult,
    **operation(
        "exportEnterpriseData",
        (ExportNeedsMoreControllersError, UnknownEnterpriseError),
        CHAIN_WRITE,
        BUREAU_READ,
    ),
)
async def export(
    uscc: UsccPath,
    signed_in: FreshSignIn,
    approvals: ExportApprovers,
    views: EnterpriseViewServiceDep,
) -> ExportResult:
    """The enterprise's own data in every category the bureau supplies, over its whole record
    (the right to obtain its own credit information, 征信业管理条例 art. 17). The export is recorded
    on the chain (``PortabilityExported``) with a salted hash of the data before the data is
    released.

    An export widens access as a consent does, so it needs the enterprise's threshold of
    distinct controllers: the signed-in one (a fresh SIWE signature: a session does not
    approve an export), and the others' sign-ins asked with action ``export``, in
    ``approvals``."""
    return await views.export(signed_in, approvals)
