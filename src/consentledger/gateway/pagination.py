"""Cursor pagination for every list endpoint: opaque, tamper-evident cursors, one way to page.

A list is ordered by a key (a tuple of integers and strings: ``(block, log index)`` for chain
events, the row id for stored records). A page holds at most ``limit`` items after the cursor's
key; its ``next_cursor`` carries the last item's key, or is null on the last page.

A cursor is ``base64url(JSON {"s": scope, "k": key}) "." base64url(HMAC-SHA256 tag)`` under a key
derived from the gateway's subject key. The scope names the list, its owner and its filters
(``accesses|<uscc>|outcome=denied``), so a cursor changed by hand, or taken from another list,
another enterprise or other filters, is refused (:class:`InvalidCursorError`) instead of
silently paging something else. It reveals nothing a caller of that list does not see already.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query

from consentledger.gateway.errors import InvalidCursorError

T = TypeVar("T")
Key = tuple[int | str, ...]

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
#: Domain separation of the cursor key from every other use of the subject key.
_KEY_LABEL = b"consentledger/cursor/v1"

LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (at most {MAX_LIMIT})")
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=1024,
        description="the `next_cursor` of the previous page (opaque; valid only for the same "
        "list and filters)",
    ),
]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Cursors:
    """Issues and checks cursors under one key."""

    key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> Cursors:
        return cls(hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest())

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self.key, payload, hashlib.sha256).digest()

    def encode(self, scope: str, key: Key) -> str:
        payload = json.dumps({"s": scope, "k": list(key)}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def decode(self, cursor: str | None, scope: str) -> Key | None:
        """The key a cursor carries (None: the first page); raises InvalidCursorError."""
        if cursor is None:
            return None
        body, dot, tag = cursor.partition(".")
        try:
            payload, given = _unb64(body), _unb64(tag)
        except (binascii.Error, ValueError):
            raise InvalidCursorError("not a cursor") from None
        if not dot or not hmac.compare_digest(given, self._tag(payload)):
            raise InvalidCursorError("this gateway did not issue it")
        decoded = json.loads(payload)
        if decoded.get("s") != scope:
            raise InvalidCursorError("it belongs to another list or other filters")
        return tuple(decoded["k"])

    def page(
        self,
        items: Sequence[T],
        key: Callable[[T], Key],
        *,
        scope: str,
        cursor: str | None,
        limit: int,
    ) -> Page[T]:
        """One page of ``items`` (sorted by ``key``) after the cursor."""
        after = self.decode(cursor, scope)
        remaining = [item for item in items if after is None or _after(key(item), after)]
        return self.finish(remaining, key, scope=scope, limit=limit)

    def finish(
        self, remaining: Sequence[T], key: Callable[[T], Key], *, scope: str, limit: int
    ) -> Page[T]:
        """The page of the items after the cursor (a query fetched at least ``limit + 1`` of
        them where there are that many, in key order)."""
        chosen = list(remaining[:limit])
        more = len(remaining) > limit
        return Page(chosen, self.encode(scope, key(chosen[-1])) if more else None)


def _after(key: Key, after: Key) -> bool:
    """Whether ``key`` comes after ``after`` (the keys of one list have one shape)."""
    return key > after


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of items and the cursor of the next page (None: this is the last)."""

    items: list[T]
    next_cursor: str | None


def scope_of(list_name: str, owner: str, **filters: object) -> str:
    """The scope of a list: its name, its owner and the filters given (unset ones left out)."""
    chosen = "&".join(f"{k}={v}" for k, v in sorted(filters.items()) if v is not None)
    return f"{list_name}|{owner}|{chosen}"
