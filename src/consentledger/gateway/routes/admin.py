"""``/v1/admin``: the bureau operator's endpoints (operator token): banks and enterprises.

The flows themselves are :mod:`consentledger.gateway.services.admin`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from consentledger.bureau.store import UnknownEnterpriseError
from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.gateway.deps import AdminServiceDep, operator
from consentledger.gateway.errors import (
    BankExistsError,
    InvalidAddressError,
    InvalidLicenceNumberError,
    RegulatorKeyMissingError,
    UnknownBankError,
    UnknownKeyIdError,
)
from consentledger.gateway.operations import BUREAU_READ, CHAIN_READ, CHAIN_WRITE, Revert, operation
from consentledger.gateway.services.admin import (
    ApiKeyOut,
    BankAction,
    BankOut,
    CreatedBank,
    EnterpriseOut,
    NewBank,
    NewEnterprise,
    RotatedApiKey,
)

router = APIRouter(prefix="/v1/admin", tags=["administration"], dependencies=[Depends(operator)])

#: A bank named by its address in the path.
BANK = (InvalidAddressError, UnknownBankError)
#: The regulator's moves on the chain, signed by its key in the gateway.
REGULATOR = (RegulatorKeyMissingError, *CHAIN_WRITE)


@router.post(
    "/banks",
    response_model=CreatedBank,
    status_code=201,
    **operation(
        "addBank", (InvalidAddressError, InvalidLicenceNumberError, BankExistsError), REGULATOR
    ),
)
async def add_bank(body: NewBank, admin: AdminServiceDep) -> CreatedBank:
    """Admit a bank on the chain (BANK role) and give it an API key."""
    return await admin.add_bank(body)


@router.get("/banks", response_model=list[BankOut], **operation("listBanks", CHAIN_READ))
async def banks(admin: AdminServiceDep) -> list[BankOut]:
    """Every bank the gateway serves, with its standing on the chain now."""
    return await admin.banks()


@router.post(
    "/banks/{address}/suspend",
    response_model=BankAction,
    **operation(
        "suspendBank",
        BANK,
        (Revert("MembershipBankAlreadySuspended"), Revert("MembershipNotABank")),
        REGULATOR,
    ),
)
async def suspend_bank(address: str, admin: AdminServiceDep) -> BankAction:
    """Suspend a bank (the regulator's role): its reads are denied from the next block on."""
    return await admin.set_bank_standing(address, suspend=True)


@router.post(
    "/banks/{address}/reinstate",
    response_model=BankAction,
    **operation("reinstateBank", BANK, (Revert("MembershipBankNotSuspended"),), REGULATOR),
)
async def reinstate_bank(address: str, admin: AdminServiceDep) -> BankAction:
    """Reinstate a suspended bank (the regulator's role)."""
    return await admin.set_bank_standing(address, suspend=False)


@router.get(
    "/banks/{address}/keys", response_model=ApiKeyOut, **operation("getBankKey", BANK, CHAIN_READ)
)
async def bank_key(address: str, admin: AdminServiceDep) -> ApiKeyOut:
    """The bank's API key id and whether it works (never the key)."""
    return await admin.api_key(address)


@router.post(
    "/banks/{address}/keys",
    response_model=RotatedApiKey,
    status_code=201,
    **operation("rotateBankKey", BANK, CHAIN_READ),
)
async def rotate_key(address: str, admin: AdminServiceDep) -> RotatedApiKey:
    """Give the bank a new API key (shown once; only its hash is kept). The old key stops
    working at once."""
    return await admin.rotate_key(address)


@router.delete(
    "/banks/{address}/keys/{key_id}",
    response_model=ApiKeyOut,
    **operation("revokeBankKey", BANK, (UnknownKeyIdError,), CHAIN_READ),
)
async def revoke_key(address: str, key_id: str, admin: AdminServiceDep) -> ApiKeyOut:
    """Revoke the bank's API key ``key_id``: it stops working at once; the bank has no key
    until the next rotation."""
    return await admin.revoke_key(address, key_id)


@router.post(
    "/enterprises",
    response_model=EnterpriseOut,
    status_code=201,
    **operation(
        "registerEnterprise",
        (InvalidUSCCError, UnknownEnterpriseError, InvalidAddressError),
        (
            Revert("MembershipEnterpriseAlreadyRegistered"),
            Revert("MembershipInvalidControllerSet"),
            Revert("MembershipZeroController"),
            Revert("MembershipDuplicateController"),
        ),
        REGULATOR,
        BUREAU_READ,
    ),
)
async def register_enterprise(body: NewEnterprise, admin: AdminServiceDep) -> EnterpriseOut:
    """Register an enterprise under its subject id with its controllers and threshold."""
    return await admin.register_enterprise(body)
