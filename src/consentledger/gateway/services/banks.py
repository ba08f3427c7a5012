"""The banks the gateway serves, by their legal names: the public directory behind
``GET /v1/banks``, and the names views, receipts and reports show beside a bank's address."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from consentledger.gateway.banks import BankName, bank_names, list_banks, name_of
from consentledger.gateway.context import GatewayContext


class PublicBank(BaseModel):
    """A bank by its address on the ledger, and its legal names where it was admitted with them."""

    address: str
    name: BankName | None = Field(
        description="null for a bank admitted before legal names: it is known by its address"
    )


class BankList(BaseModel):
    banks: list[PublicBank]


class BankDirectory:
    """The banks of a running gateway, by name."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def banks(self) -> BankList:
        """Every bank the gateway serves, in the order admitted."""
        found = await self._context.in_thread(list_banks, self._context.db)
        return BankList(banks=[PublicBank(address=b.address, name=name_of(b)) for b in found])

    async def names(self, addresses: Iterable[str]) -> dict[str, BankName]:
        """The legal names of the banks at ``addresses`` that have them."""
        return await self._context.in_thread(bank_names, self._context.db, list(addresses))
