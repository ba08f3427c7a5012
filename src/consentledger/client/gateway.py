"""The entry points: :class:`Gateway` (synchronous, httpx) and :class:`AsyncGateway` (aiohttp).

Both hand out the parties that talk to the gateway (:meth:`bank`, :meth:`enterprise`,
:meth:`operator`) and answer the public questions (:meth:`health`, :meth:`eip712`,
:meth:`consent`)::

    with Gateway("http://127.0.0.1:8000") as gateway:
        operator = gateway.operator(token)
        created = operator.add_bank(
            "Shenzhen SME Bank", name_zh="深圳小微银行", licence_number="B1234H144030001"
        )
        bank = gateway.bank(created.api_key, created.address)
        result = bank.read(uscc, consent_id, ["business_registration"], "credit_underwriting")
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

import httpx

from consentledger.client.bank import Bank, ReadSigner
from consentledger.client.enterprise import Enterprise, consent_status
from consentledger.client.http import (
    AiohttpTransport,
    AsyncRunner,
    AsyncTransport,
    Flow,
    HttpRequest,
    HttpxTransport,
    SyncRunner,
    SyncTransport,
)
from consentledger.client.models import BankList, ConsentDetails, Eip712Description, Health
from consentledger.client.operation import R, Role, operation, parse
from consentledger.client.operator import Operator
from consentledger.client.signing import Signer
from consentledger.client.source import Source


class _Gateway(Role[R]):
    """What both entry points offer."""

    def bank(self, api_key: str, address: str, *, signer: ReadSigner | None = None) -> Bank[R]:
        """The bank with this API key and address (a read signer signs its reads)."""
        return Bank(self.runner, api_key, address, signer=signer)

    def enterprise(
        self, uscc: str, controllers: Sequence[Signer], threshold: int | None = None
    ) -> Enterprise[R]:
        """The enterprise ``uscc``, its controllers' keys and how many of them sign."""
        return Enterprise(self.runner, uscc, controllers, threshold)

    def operator(self, token: str) -> Operator[R]:
        """The bureau's operator, by its token."""
        return Operator(self.runner, token)

    def source(self, name: str, credential: str) -> Source[R]:
        """The data source ``name`` (a department), by its feed credential."""
        return Source(self.runner, name, credential)

    @operation
    def health(self) -> Flow[Health]:
        """The chain and the relayer as the gateway sees them now."""
        return parse((yield HttpRequest("GET", "/v1/health")), Health)

    @operation
    def eip712(self) -> Flow[Eip712Description]:
        """The EIP-712 domain and types of everything an enterprise signs."""
        return parse((yield HttpRequest("GET", "/v1/eip712")), Eip712Description)

    @operation
    def consent(self, consent_id: str | bytes) -> Flow[ConsentDetails]:
        """A consent as the chain holds it now (public: the subject is a keyed hash)."""
        return (yield from consent_status(consent_id))

    @operation
    def banks(self) -> Flow[BankList]:
        """Every bank the gateway serves, by address and legal names (public)."""
        return parse((yield HttpRequest("GET", "/v1/banks")), BankList)


class Gateway(_Gateway[SyncRunner]):
    """A synchronous client of the gateway at ``base_url`` (httpx), or over a given transport
    (``Gateway.over(test_client)`` for Starlette's ``TestClient``)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: SyncTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        if transport is None:
            if base_url is None:
                raise TypeError("give the gateway's base_url or a transport")
            transport = HttpxTransport.to(base_url, timeout)
        self.transport = transport
        super().__init__(SyncRunner(transport))

    @classmethod
    def over(cls, http: httpx.Client) -> Gateway:
        """A client over an ``httpx.Client`` that knows the base URL (a ``TestClient`` does)."""
        return cls(transport=HttpxTransport(http))

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncGateway(_Gateway[AsyncRunner]):
    """An asynchronous client (aiohttp by default): every operation returns an awaitable.
    Create it inside a running event loop."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: AsyncTransport | None = None,
        connections: int = 100,
        timeout: float = 120.0,
        keepalive_timeout: float | None = None,
    ) -> None:
        if transport is None:
            if base_url is None:
                raise TypeError("give the gateway's base_url or a transport")
            transport = AiohttpTransport.to(
                base_url,
                connections=connections,
                timeout=timeout,
                keepalive_timeout=keepalive_timeout,
            )
        self.transport = transport
        super().__init__(AsyncRunner(transport))

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
