"""``GET /v1/banks``: the banks the gateway serves, by their legal names (public)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from consentledger.gateway.db import GatewayDatabaseError
from consentledger.gateway.deps import BankDirectoryDep, anonymous_limit
from consentledger.gateway.operations import operation
from consentledger.gateway.services.banks import BankList

router = APIRouter(prefix="/v1", tags=["banks"])


@router.get(
    "/banks",
    response_model=BankList,
    **operation("listBankDirectory", (GatewayDatabaseError,)),
    dependencies=[Depends(anonymous_limit)],
)
async def banks(directory: BankDirectoryDep) -> BankList:
    """Every bank the gateway serves: its address on the ledger, its legal names in Chinese and
    English and its financial licence number (null for a bank admitted before legal names).
    Public, as a licence is."""
    return await directory.banks()
