"""An enterprise's own view, signed in with EIP-4361: who read its data, its consents, its export.

The flows themselves are :mod:`consentledger.gateway.services.enterprises`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consentledger.bureau.store import UnknownEnterpriseError
from consentledger.gateway.deps import (
    EnterpriseViewServiceDep,
    FreshSignIn,
    SignedInController,
    UsccPath,
)
from consentledger.gateway.errors import InvalidAddressError, InvalidCursorError
from consentledger.gateway.operations import (
    BUREAU_READ,
    CHAIN_READ,
    CHAIN_WRITE,
    Declared,
    Revert,
    operation,
)
from consentledger.gateway.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from consentledger.gateway.routes.consents import SIGNATURE_PROBLEMS as CONSENT_SIGNATURES
from consentledger.gateway.services.enterprises import (
    AccessLog,
    ConsentList,
    ConsentStatusName,
    ControllersDraftRequest,
    ControllerSet,
    ExportResult,
    Outcome,
    SignedAction,
    SignedControllerChange,
    SignedDraft,
    SignedDraftRequest,
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


#: The controllers' signatures of a signed action, checked as the contract will.
SIGNATURE_PROBLEMS: tuple[Declared, ...] = (
    *CONSENT_SIGNATURES,
    Revert("MembershipUnknownEnterprise"),
)
#: A draft of a signed action, judged as if every controller had signed.
DRAFT_PROBLEMS: tuple[Declared, ...] = (
    Revert("MembershipUnknownEnterprise"),
    Revert("MembershipThresholdNotMet"),
    *CHAIN_READ,
)
#: A new controller set and threshold.
SET_PROBLEMS: tuple[Declared, ...] = (
    InvalidAddressError,
    Revert("MembershipInvalidControllerSet"),
    Revert("MembershipZeroController"),
    Revert("MembershipDuplicateController"),
)
EXPORT_PROBLEMS: tuple[Declared, ...] = (
    *SIGNATURE_PROBLEMS,
    Revert("RegistriesInvalidCategoryMask"),
    *CHAIN_WRITE,
)
_RECOVERY: tuple[Declared, ...] = (Revert("RecoveryNotPending"),)


@router.post(
    "/{uscc}/export/draft",
    response_model=SignedDraft,
    **operation(
        "draftEnterpriseExport", DRAFT_PROBLEMS, (Revert("RegistriesInvalidCategoryMask"),)
    ),
)
async def draft_export(
    uscc: UsccPath,
    body: SignedDraftRequest,
    signed_in: SignedInController,
    views: EnterpriseViewServiceDep,
) -> SignedDraft:
    """The EIP-712 ``Export`` of all the enterprise's data, with a fresh keyed nonce and a
    deadline, for k of its controllers to sign (an export widens access as a consent does)."""
    return await views.draft_export(signed_in, body)


@router.post(
    "/{uscc}/export",
    response_model=ExportResult,
    **operation("exportEnterpriseData", EXPORT_PROBLEMS, (UnknownEnterpriseError,), BUREAU_READ),
)
async def export(
    uscc: UsccPath,
    body: SignedAction,
    signed_in: FreshSignIn,
    views: EnterpriseViewServiceDep,
) -> ExportResult:
    """The enterprise's own data in every category the bureau supplies, over its whole record
    (the right to obtain its own credit information, 征信业管理条例 art. 17). The export is recorded
    on the chain (``PortabilityExported``) with a salted hash of the data before the data is
    released, and the contract records it only with k of the enterprise's controllers'
    signatures of the ``Export`` drafted at ``/export/draft``. Signed in with a fresh SIWE
    signature: a session does not release an export."""
    return await views.export(signed_in, body)


@router.post(
    "/{uscc}/controllers/draft",
    response_model=SignedDraft,
    **operation("draftControllerChange", DRAFT_PROBLEMS, SET_PROBLEMS),
)
async def draft_controllers(
    uscc: UsccPath,
    body: ControllersDraftRequest,
    signed_in: SignedInController,
    views: EnterpriseViewServiceDep,
) -> SignedDraft:
    """The EIP-712 ``ChangeControllers`` to the given set and threshold, with a fresh keyed nonce
    and a deadline, for k of the current controllers to sign."""
    return await views.draft_controllers(signed_in, body)


@router.post(
    "/{uscc}/controllers",
    response_model=ControllerSet,
    **operation("changeControllers", SIGNATURE_PROBLEMS, SET_PROBLEMS, CHAIN_WRITE),
)
async def change_controllers(
    uscc: UsccPath,
    body: SignedControllerChange,
    signed_in: SignedInController,
    views: EnterpriseViewServiceDep,
) -> ControllerSet:
    """Replace the enterprise's controllers and threshold: relays a ``ChangeControllers`` signed
    by k of the current controllers (the contract checks them)."""
    return await views.change_controllers(signed_in, body)


@router.post(
    "/{uscc}/recovery/cancel/draft",
    response_model=SignedDraft,
    **operation("draftRecoveryCancel", DRAFT_PROBLEMS, _RECOVERY),
)
async def draft_cancel_recovery(
    uscc: UsccPath,
    body: SignedDraftRequest,
    signed_in: SignedInController,
    views: EnterpriseViewServiceDep,
) -> SignedDraft:
    """The EIP-712 ``CancelRecovery`` of the lost-key recovery the regulator started for the
    enterprise (``RecoveryStarted`` on the chain), for k of its current controllers to sign."""
    return await views.draft_cancel_recovery(signed_in, body)


@router.post(
    "/{uscc}/recovery/cancel",
    response_model=ControllerSet,
    **operation("cancelRecovery", SIGNATURE_PROBLEMS, _RECOVERY, CHAIN_WRITE),
)
async def cancel_recovery(
    uscc: UsccPath,
    body: SignedAction,
    signed_in: SignedInController,
    views: EnterpriseViewServiceDep,
) -> ControllerSet:
    """Cancel the pending recovery: relays a ``CancelRecovery`` signed by k of the current
    controllers; the controllers stay as they are."""
    return await views.cancel_recovery(signed_in, body)
