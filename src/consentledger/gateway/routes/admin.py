"""``/v1/admin``: the bureau operator's endpoints (operator token): banks and enterprises.

Registering a bank or suspending one needs the regulator's role on the chain: the gateway must
have been given the regulator's key (always so on the embedded chain).
"""

from __future__ import annotations

from typing import Annotated

from eth_account import Account
from eth_utils.address import is_address, to_checksum_address
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from consentledger.bureau.uscc import parse_uscc
from consentledger.chain.client import LedgerClient
from consentledger.gateway.banks import bank_by_address, create_bank, list_banks
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.deps import ContextDep, operator
from consentledger.gateway.journal_store import hex32
from consentledger.gateway.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1/admin", tags=["administration"], dependencies=[Depends(operator)])

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
ERRORS = problem_responses(401, 404, 409, 413, 422, 503)


def _regulator(context: GatewayContext) -> LedgerClient:
    if context.regulator is None:
        raise ProblemError(
            503,
            "regulator_key_missing",
            "this gateway has no regulator key (CONSENTLEDGER_REGULATOR_KEY): ask the regulator",
        )
    # Several gateway workers share the regulator's key: take its nonce from the node, not from
    # this worker's memory of its own last transaction (another worker may have sent since).
    context.regulator.forget_nonce()
    return context.regulator


class NewBank(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address: Address | None = Field(default=None, description="Default: a new key pair")


class BankOut(BaseModel):
    name: str
    address: str
    active_on_chain: bool


class CreatedBank(BankOut):
    api_key: str = Field(description="Shown once; the gateway keeps only its hash")
    private_key: str | None = Field(
        default=None, description="The new address's key, when the gateway made one; shown once"
    )
    tx_hash: str


@router.post("/banks", response_model=CreatedBank, status_code=201, responses=ERRORS)
async def add_bank(body: NewBank, context: ContextDep) -> CreatedBank:
    """Admit a bank on the chain (BANK role) and give it an API key."""
    regulator = _regulator(context)
    private_key = None
    if body.address is None:
        account = Account.create()
        address, private_key = account.address, "0x" + bytes(account.key).hex()
    else:
        address = to_checksum_address(body.address)
    if await context.in_thread(bank_by_address, context.db, address) is not None:
        raise ProblemError(409, "bank_exists", f"a bank with address {address} exists")
    mined = await context.on_chain(regulator.add_bank, address)
    bank, api_key = await context.in_thread(create_bank, context.db, body.name, address)
    return CreatedBank(
        name=bank.name,
        address=bank.address,
        active_on_chain=True,
        api_key=api_key,
        private_key=private_key,
        tx_hash=hex32(mined.tx_hash),
    )


@router.get("/banks", response_model=list[BankOut], responses=ERRORS)
async def banks(context: ContextDep) -> list[BankOut]:
    """Every bank the gateway serves, with its standing on the chain now."""
    found = await context.in_thread(list_banks, context.db)
    return [
        BankOut(
            name=b.name,
            address=b.address,
            active_on_chain=await context.on_chain(context.bureau.is_bank_active, b.address),
        )
        for b in found
    ]


class BankAction(BaseModel):
    tx_hash: str
    address: str
    active_on_chain: bool


async def _bank_action(context: GatewayContext, address: str, suspend: bool) -> BankAction:
    if not is_address(address):
        raise ProblemError(422, "invalid_address", f"{address!r} is not an address")
    regulator = _regulator(context)
    checksum = to_checksum_address(address)
    action = regulator.suspend_bank if suspend else regulator.reinstate_bank
    mined = await context.on_chain(action, checksum)
    active = await context.on_chain(context.bureau.is_bank_active, checksum)
    return BankAction(tx_hash=hex32(mined.tx_hash), address=checksum, active_on_chain=active)


@router.post("/banks/{address}/suspend", response_model=BankAction, responses=ERRORS)
async def suspend_bank(address: str, context: ContextDep) -> BankAction:
    """Suspend a bank (the regulator's role): its reads are denied from the next block on."""
    return await _bank_action(context, address, suspend=True)


@router.post("/banks/{address}/reinstate", response_model=BankAction, responses=ERRORS)
async def reinstate_bank(address: str, context: ContextDep) -> BankAction:
    """Reinstate a suspended bank (the regulator's role)."""
    return await _bank_action(context, address, suspend=False)


class NewEnterprise(BaseModel):
    uscc: str = Field(min_length=1, max_length=64)
    controllers: list[Address] = Field(min_length=1, max_length=16)
    threshold: int = Field(default=1, ge=1, le=16)


class EnterpriseOut(BaseModel):
    uscc: str
    subject: str
    controllers: list[str]
    threshold: int
    tx_hash: str


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201, responses=ERRORS)
async def register_enterprise(body: NewEnterprise, context: ContextDep) -> EnterpriseOut:
    """Register an enterprise under its subject id with its controllers and threshold."""
    uscc = parse_uscc(body.uscc).code
    subject = context.subject_of(uscc)
    controllers = [str(to_checksum_address(c)) for c in body.controllers]
    mined = await context.bureau_transact(
        "registerEnterprise", subject, controllers, body.threshold
    )
    return EnterpriseOut(
        uscc=uscc,
        subject=hex32(subject),
        controllers=controllers,
        threshold=body.threshold,
        tx_hash=hex32(mined.tx_hash),
    )
