"""Refuse oversized and pathologically nested request bodies before anything parses them."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentledger.errors import ConsentLedgerError
from consentledger.gateway.errors import (
    BodyTooDeepError,
    BodyTooLargeError,
    GatewayError,
    TooManyFailedAuthenticationsError,
    TooManyRequestsError,
)
from consentledger.gateway.problems import problem_for

#: Deepest JSON nesting a request body may have (Python's parser recurses per level).
MAX_JSON_DEPTH = 32


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings are skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class BodyLimits:
    """ASGI middleware: 413 past ``max_bytes``, 400 past :data:`MAX_JSON_DEPTH` levels.

    Paths under a prefix of ``batches`` (the sources' pushed feeds) take up to its own number of
    bytes, and their depth is left to the batch's parsers (msgspec and pydantic-core, which
    refuse deep nesting themselves) rather than scanned here byte by byte.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, batches: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.batches = dict(batches or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        batch_limit = next((n for p, n in self.batches.items() if path.startswith(p)), None)
        max_bytes = self.max_bytes if batch_limit is None else batch_limit
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(send, BodyTooLargeError(max_bytes))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await self._refuse(send, BodyTooLargeError(max_bytes))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if batch_limit is None and json_depth(body) > MAX_JSON_DEPTH:
            await self._refuse(send, BodyTooDeepError(MAX_JSON_DEPTH))
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, error: GatewayError) -> None:
        refusal = problem_for(error)
        payload = json.dumps(refusal.model_dump(exclude_none=True)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": refusal.status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class TokenBuckets:
    """A token bucket per client address: ``per_minute`` tokens in a burst, refilled at
    ``per_minute`` a minute. In memory, per process; at most ``max_clients`` addresses are
    tracked (the fullest buckets are forgotten first), so its memory is bounded too."""

    def __init__(self, per_minute: int, max_clients: int = 10_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, client: str, now: float) -> float:
        tokens, since = self._buckets.get(client, (self.capacity, now))
        return min(self.capacity, tokens + (now - since) * self.rate)

    def wait(self, client: str) -> int | None:
        """Seconds ``client`` must wait for a token, or None if it has one."""
        with self._lock:
            tokens = self._level(client, time.monotonic())
        if tokens < 1.0:
            return max(1, math.ceil((1.0 - tokens) / self.rate))
        return None

    def spend(self, client: str) -> None:
        """Take one token of ``client``'s."""
        with self._lock:
            now = time.monotonic()
            self._buckets[client] = (self._level(client, now) - 1.0, now)
            if len(self._buckets) > self.max_clients:
                fullest = sorted(self._buckets, key=lambda c: self._level(c, now), reverse=True)
                for gone in fullest[: len(self._buckets) - self.max_clients]:
                    del self._buckets[gone]


class AuthThrottle(TokenBuckets):
    """Failed authentications per client address (a token per failure). Credentials are
    compared first: valid ones always pass and cost nothing, so failures from an address (an
    attacker behind the same proxy or NAT as a bank) never lock out a valid credential; past the
    burst, a client's failures are answered 429 with ``Retry-After`` instead of 401. Guessing is
    not what this stops (every credential is a 256-bit secret): it slows a client that keeps
    failing."""

    def check(self, client: str) -> None:
        """Raise the 429 error if ``client`` has no failures left."""
        retry_after = self.wait(client)
        if retry_after is not None:
            raise TooManyFailedAuthenticationsError(retry_after)

    def refuse(self, client: str, failure: ConsentLedgerError) -> ConsentLedgerError:
        """Count a failed authentication of ``client``; the error to answer it with: the 429's
        if its failures are used up, else ``failure``."""
        try:
            self.check(client)
        except TooManyFailedAuthenticationsError as throttled:
            return throttled
        self.failed(client)
        return failure

    def failed(self, client: str) -> None:
        """Count one failed authentication of ``client``."""
        self.spend(client)


class RequestLimit(TokenBuckets):
    """Requests per client address to an endpoint anyone may call (a sign-in challenge)."""

    def take(self, client: str) -> None:
        """Count a request of ``client``'s; raise the 429 error if it has none left."""
        retry_after = self.wait(client)
        if retry_after is not None:
            raise TooManyRequestsError(retry_after)
        self.spend(client)
