"""The client's core: requests and answers as plain values, and the transports that carry them.

An operation of the client is a *flow*: a generator that yields the :class:`HttpRequest` it needs
sent and receives each :class:`HttpResponse` back, then returns its typed result. A flow knows
nothing of sockets, so one definition of each operation runs on either runner:

* :class:`SyncRunner` over a :class:`SyncTransport`: :class:`HttpxTransport` (an ``httpx.Client``,
  or Starlette's ``TestClient``, which is one);
* :class:`AsyncRunner` over an :class:`AsyncTransport`: :class:`AiohttpTransport`, the cheap one
  for load generation (httpx's pool costs about as much CPU per request as the gateway itself).
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from consentledger.client.errors import GatewayUnreachableError

if TYPE_CHECKING:
    import aiohttp

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request to the gateway; ``path`` is relative to the gateway's base URL."""

    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """The gateway's answer: status, headers (a case-insensitive mapping) and the raw body."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


#: An operation: yields requests, receives their answers, returns its result.
Flow = Generator[HttpRequest, HttpResponse, T]


class SyncTransport(Protocol):
    def send(self, request: HttpRequest) -> HttpResponse: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    async def send(self, request: HttpRequest) -> HttpResponse: ...

    async def close(self) -> None: ...


class HttpxTransport:
    """Requests through an ``httpx.Client`` (Starlette's ``TestClient`` is one)."""

    def __init__(self, client: httpx.Client, *, owned: bool = False) -> None:
        self.client = client
        self._owned = owned

    @classmethod
    def to(cls, base_url: str, timeout: float = 60.0) -> HttpxTransport:
        """A transport with its own client for the gateway at ``base_url``."""
        return cls(httpx.Client(base_url=base_url, timeout=timeout), owned=True)

    def send(self, request: HttpRequest) -> HttpResponse:
        try:
            answer = self.client.request(
                request.method,
                request.path,
                json=request.json,
                headers=dict(request.headers),
                params=dict(request.params) if request.params else None,
            )
        except httpx.HTTPError as exc:
            raise GatewayUnreachableError(str(self.client.base_url), exc) from exc
        return HttpResponse(answer.status_code, answer.headers, answer.content)

    def close(self) -> None:
        if self._owned:
            self.client.close()


class AiohttpTransport:
    """Requests through an ``aiohttp.ClientSession`` (install ``aiohttp``; not a dependency)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, owned: bool = False):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._owned = owned

    @classmethod
    def to(
        cls,
        base_url: str,
        *,
        connections: int = 100,
        timeout: float = 120.0,
        keepalive_timeout: float | None = None,
    ) -> AiohttpTransport:
        """A transport with its own session of at most ``connections`` connections. Call it
        inside a running event loop."""
        import aiohttp

        connector = (
            aiohttp.TCPConnector(limit=connections)
            if keepalive_timeout is None
            else aiohttp.TCPConnector(limit=connections, keepalive_timeout=keepalive_timeout)
        )
        session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
        )
        return cls(session, base_url, owned=True)

    async def send(self, request: HttpRequest) -> HttpResponse:
        import aiohttp

        try:
            async with self.session.request(
                request.method,
                self.base_url + request.path,
                json=request.json,
                headers=request.headers,
                params=request.params or None,
            ) as answer:
                content = await answer.read()
                # aiohttp's headers are case-insensitive, like httpx's.
                return HttpResponse(answer.status, answer.headers, content)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GatewayUnreachableError(self.base_url, exc) from exc

    async def close(self) -> None:
        if self._owned:
            await self.session.close()


class SyncRunner:
    """Runs flows over a synchronous transport."""

    def __init__(self, transport: SyncTransport) -> None:
        self.transport = transport

    def run(self, flow: Flow[T]) -> T:
        try:
            request = next(flow)
            while True:
                request = flow.send(self.transport.send(request))
        except StopIteration as done:
            result: T = done.value
            return result


class AsyncRunner:
    """Runs flows over an asynchronous transport."""

    def __init__(self, transport: AsyncTransport) -> None:
        self.transport = transport

    async def run(self, flow: Flow[T]) -> T:
        try:
            request = next(flow)
            while True:
                request = flow.send(await self.transport.send(request))
        except StopIteration as done:
            result: T = done.value
            return result
