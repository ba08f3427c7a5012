"""The bureau operator's flows, without HTTP: banks (admitted on the chain, with API keys) and
enterprises (registered with their controllers).

Registering a bank or suspending one needs the regulator's role on the chain: the gateway must
have been given the regulator's key (always so on the embedded chain).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from eth_account import Account
from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, Field

from consentledger.bureau.uscc import parse_uscc
from consentledger.chain.client import LedgerClient
from consentledger.gateway.banks import (
    BankKey,
    bank_by_address,
    bank_key,
    create_bank,
    list_banks,
    parse_licence_number,
    revoke_key,
    rotate_key,
)
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import (
    BankExistsError,
    InvalidAddressError,
    RegulatorKeyMissingError,
)
from consentledger.gateway.journal_store import hex32

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]


class NewBank(BaseModel):
    """A bank to admit, by its legal names and financial licence number."""

    name: str = Field(min_length=1, max_length=200, description="the legal name in English")
    name_zh: str = Field(min_length=1, max_length=200, description="the legal name in Chinese")
    licence_number: str = Field(
        min_length=1,
        max_length=40,
        description="the financial licence number (金融许可证 机构编码): a letter, four digits, "
        "a letter, nine digits, e.g. B0011H144030001",
        examples=["B0011H144030001"],
    )
    address: Address | None = Field(default=None, description="Default: a new key pair")


class BankOut(BaseModel):
    name: str = Field(
        description="the legal name in English (for a bank admitted before legal "
        "names: the name it was admitted with)"
    )
    name_zh: str | None = Field(description="null for a bank admitted before legal names")
    licence_number: str | None = Field(description="null for a bank admitted before legal names")
    address: str
    active_on_chain: bool


class CreatedBank(BankOut):
    api_key: str = Field(description="Shown once; the gateway keeps only its hash")
    private_key: str | None = Field(
        default=None, description="The new address's key, when the gateway made one; shown once"
    )
    tx_hash: str


class BankAction(BaseModel):
    tx_hash: str
    address: str
    active_on_chain: bool


class ApiKeyOut(BaseModel):
    """A bank's API key, by its id (the ``<key id>`` of ``clk_<key id>_<secret>``)."""

    address: str
    key_id: str
    active: bool = Field(description="False once revoked: the bank has no working key")

    @classmethod
    def of(cls, key: BankKey) -> ApiKeyOut:
        return cls(address=key.address, key_id=key.key_id, active=key.active)


class RotatedApiKey(ApiKeyOut):
    api_key: str = Field(description="Shown once; the gateway keeps only its hash")


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


class AdminService:
    """The operator's flows of a running gateway."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    def _regulator(self) -> LedgerClient:
        regulator = self._context.regulator
        if regulator is None:
            raise RegulatorKeyMissingError()
        # Several gateway workers share the regulator's key: take its nonce from the node, not
        # from this worker's memory of its own last transaction (another worker may have sent).
        regulator.forget_nonce()
        return regulator

    async def add_bank(self, body: NewBank) -> CreatedBank:
        """Admit a bank on the chain (BANK role) and give it an API key."""
        context = self._context
        licence = parse_licence_number(body.licence_number)
        regulator = self._regulator()
        private_key = None
        if body.address is None:
            account = Account.create()
            address, private_key = account.address, "0x" + bytes(account.key).hex()
        else:
            address = to_checksum_address(body.address)
        if await context.in_thread(bank_by_address, context.db, address) is not None:
            raise BankExistsError(f"a bank with address {address} exists")
        mined = await context.on_chain(regulator.add_bank, address)
        bank, api_key = await context.in_thread(
            partial(
                create_bank,
                context.db,
                body.name,
                address,
                name_zh=body.name_zh,
                licence_number=licence,
            )
        )
        return CreatedBank(
            name=bank.name,
            name_zh=bank.name_zh,
            licence_number=bank.licence_number,
            address=bank.address,
            active_on_chain=True,
            api_key=api_key,
            private_key=private_key,
            tx_hash=hex32(mined.tx_hash),
        )

    async def banks(self) -> list[BankOut]:
        """Every bank the gateway serves, with its standing on the chain now."""
        context = self._context
        found = await context.in_thread(list_banks, context.db)
        return [
            BankOut(
                name=b.name,
                name_zh=b.name_zh,
                licence_number=b.licence_number,
                address=b.address,
                active_on_chain=await context.on_chain(context.ledger.is_bank_active, b.address),
            )
            for b in found
        ]

    async def set_bank_standing(self, address: str, *, suspend: bool) -> BankAction:
        """Suspend a bank (its reads are denied from the next block on) or reinstate it."""
        context = self._context
        checksum = _checksum(address)
        regulator = self._regulator()
        action = regulator.suspend_bank if suspend else regulator.reinstate_bank
        mined = await context.on_chain(action, checksum)
        active = await context.on_chain(context.ledger.is_bank_active, checksum)
        return BankAction(tx_hash=hex32(mined.tx_hash), address=checksum, active_on_chain=active)

    async def api_key(self, address: str) -> ApiKeyOut:
        """The bank's API key id and whether it works."""
        context = self._context
        found = await context.in_thread(bank_key, context.db, _checksum(address))
        return ApiKeyOut.of(found)

    async def rotate_key(self, address: str) -> RotatedApiKey:
        """Give the bank a new API key; its old key stops working at once."""
        context = self._context
        checksum = _checksum(address)
        key, api_key = await context.in_thread(rotate_key, context.db, checksum)
        context.verified_keys.forget(checksum)
        return RotatedApiKey(address=key.address, key_id=key.key_id, active=True, api_key=api_key)

    async def revoke_key(self, address: str, key_id: str) -> ApiKeyOut:
        """Revoke the bank's key ``key_id``: it stops working at once, also for a bank that
        used it a moment ago."""
        context = self._context
        checksum = _checksum(address)
        key = await context.in_thread(revoke_key, context.db, checksum, key_id)
        context.verified_keys.forget(checksum)
        return ApiKeyOut.of(key)

    async def register_enterprise(self, body: NewEnterprise) -> EnterpriseOut:
        """Register an enterprise under its subject id with its controllers and threshold."""
        context = self._context
        uscc = parse_uscc(body.uscc).code
        subject = context.subject_of(uscc)
        controllers = [str(to_checksum_address(c)) for c in body.controllers]
        mined = await context.transact("registerEnterprise", subject, controllers, body.threshold)
        return EnterpriseOut(
            uscc=uscc,
            subject=hex32(subject),
            controllers=controllers,
            threshold=body.threshold,
            tx_hash=hex32(mined.tx_hash),
        )


def _checksum(address: str) -> str:
    """The checksummed address, or :class:`InvalidAddressError`."""
    if not is_address(address):
        raise InvalidAddressError(f"{address!r} is not an address")
    return str(to_checksum_address(address))
