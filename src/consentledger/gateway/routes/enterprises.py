"""An enterprise's own view, signed in with EIP-4361: who read its data, its consents, its export.

The flows themselves are :mod:`consentledger.gateway.services.enterprises`.
"""

from __future__ import annotations

from fastapi import APIRouter

from consentledger.bureau.store import UnknownEnterpriseError
from consentledger.gateway.deps import (
    EnterpriseViewServiceDep,
    ExportApprovers,
    SignedInController,
    UsccPath,
)
from consentledger.gateway.errors import ExportNeedsMoreControllersError
from consentledger.gateway.operations import BUREAU_READ, CHAIN_READ, CHAIN_WRITE, operation
from consentledger.gateway.services.enterprises import AccessLog, ConsentList, ExportResult

router = APIRouter(prefix="/v1/enterprises", tags=["enterprise views"])


@router.get(
    "/{uscc}/accesses", response_model=AccessLog, **operation("listEnterpriseAccesses", CHAIN_READ)
)
async def accesses(
    uscc: UsccPath, signed_in: SignedInController, views: EnterpriseViewServiceDep
) -> AccessLog:
    """Every bank read recorded under one of the enterprise's consents, granted or denied: bank,
    categories, purpose, consent, block time, transaction, reason; and its own exports."""
    return await views.accesses(signed_in)


@router.get(
    "/{uscc}/consents",
    response_model=ConsentList,
    **operation("listEnterpriseConsents", CHAIN_READ),
)
async def consents(
    uscc: UsccPath, signed_in: SignedInController, views: EnterpriseViewServiceDep
) -> ConsentList:
    """Every consent the enterprise granted, oldest first, with its status and reads now and its
    events (granted, paused, resumed, revoked)."""
    return await views.consents(signed_in)


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
    signed_in: SignedInController,
    approvals: ExportApprovers,
    views: EnterpriseViewServiceDep,
) -> ExportResult:
    """The enterprise's own data in every category the bureau supplies, over its whole record
    (the right to obtain its own credit information, 征信业管理条例 art. 17). The export is recorded
    on the chain (``PortabilityExported``) with a salted hash of the data before the data is
    released.

    An export widens access as a consent does, so it needs the enterprise's threshold of
    distinct controllers: the signed-in one, and the others' sign-ins asked with action
    ``export``, in ``approvals``."""
    return await views.export(signed_in, approvals)
