"""A bank's signature on its reads: each read it sends the gateway is its EIP-712 ``ReadRequest``
in the ledger's domain, signed with the bank's key (or its registered read signer's).

:class:`BankReadSigner` is what a bank hands the typed client
(``gateway.bank(api_key, address, signer=...)``): it reads the chain's time and the consent's
terms through a :class:`LedgerView` (a :class:`~consentledger.chain.client.LedgerClient` on any
node, e.g. the gateway's ``/rpc``).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount

from consentledger.categories import (
    SIZE_CATEGORIES,
    Category,
    Purpose,
    mask_of,
    parse_category,
    parse_purpose,
)
from consentledger.chain import typed_data
from consentledger.chain.client import ConsentView


class LedgerView(Protocol):
    """What the signer reads off the chain (a ``LedgerClient`` has all of it)."""

    @property
    def domain(self) -> typed_data.Domain: ...

    def block_timestamp(self) -> int: ...

    def consent(self, consent_id: bytes) -> ConsentView: ...


class AskedRead(Protocol):
    """A bank's read as the typed client describes it (``consentledger.client.ReadRequest``)."""

    @property
    def consent_id(self) -> str: ...

    @property
    def categories(self) -> Iterable[Category | int | str]: ...

    @property
    def purpose(self) -> Purpose | int | str: ...


def request_id_of(idempotency_key: str) -> int:
    """The request id of the read sent with ``idempotency_key``: the same key gives the same
    request (an idempotent retry), different keys different requests."""
    return int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")


class BankReadSigner:
    """Signs a bank's reads (the typed client's ``ReadSigner``): for the consent's whole history
    window, with a deadline ``lifetime`` seconds after the chain's latest block (kept per
    Idempotency-Key, so a retry sends the very same request) and a request id derived from the
    Idempotency-Key. ``bank`` is the bank the request names (default: the signing account; a bank
    that registered another read signer names itself). A consent's terms never change: each is
    read off the chain once. The chain's time is asked for each new request, or, with
    ``refresh_s``, at most that often (in between it is counted on from the last answer: a load
    generator does not wait on the node for every read). :meth:`sign_ahead` signs reads before
    they are sent (a load generator measures the gateway, not its own signing)."""

    #: Deadlines remembered, for retries with the same Idempotency-Key.
    REMEMBERED = 100_000

    def __init__(
        self,
        account: LocalAccount,
        ledger: LedgerView,
        *,
        lifetime: int = 600,
        bank: str | None = None,
        refresh_s: float = 0.0,
    ) -> None:
        self.account = account
        self.ledger = ledger
        self.lifetime = lifetime
        self.bank = bank
        self.refresh_s = refresh_s
        self._seen: tuple[int, float] | None = None  # (chain time, monotonic time when asked)
        self._domain: typed_data.Domain | None = None
        self._deadlines: OrderedDict[str, int] = OrderedDict()
        self._terms: dict[bytes, ConsentView] = {}
        self._ahead: dict[str, dict[str, Any]] = {}

    @property
    def domain(self) -> typed_data.Domain:
        if self._domain is None:
            self._domain = self.ledger.domain
        return self._domain

    def _chain_now(self) -> int:
        now = time.monotonic()
        if self._seen is None or now - self._seen[1] >= self.refresh_s:
            self._seen = (self.ledger.block_timestamp(), now)
        return self._seen[0] + int(now - self._seen[1])

    def _deadline(self, idempotency_key: str | None) -> int:
        if idempotency_key is None:
            return self._chain_now() + self.lifetime
        deadline = self._deadlines.get(idempotency_key)
        if deadline is None:
            deadline = self._deadlines[idempotency_key] = self._chain_now() + self.lifetime
            if len(self._deadlines) > self.REMEMBERED:
                self._deadlines.popitem(last=False)
        return deadline

    def fields(
        self,
        consent_id: bytes,
        categories: int,
        purpose: int,
        *,
        history_months: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """The signed ``ReadRequest`` fields of a read (history: the consent's whole window)."""
        if history_months is None:
            history_months = self.terms(consent_id).history_months
        return typed_data.signed_read_fields(
            self.account,
            self.domain,
            consent_id=consent_id,
            categories=categories,
            purpose=purpose,
            history_months=history_months,
            deadline=self._deadline(idempotency_key),
            request_id=None if idempotency_key is None else request_id_of(idempotency_key),
            bank=self.bank,
        )

    def terms(self, consent_id: bytes) -> ConsentView:
        """The consent as the chain shows it (its terms: read once)."""
        view = self._terms.get(consent_id)
        if view is None:
            view = self.ledger.consent(consent_id)
            if view.history_months:  # granted: its terms are final
                self._terms[consent_id] = view
        return view

    def sign_ahead(self, reads: Iterable[tuple[AskedRead, str]]) -> None:
        """Sign ``reads`` (each with its Idempotency-Key) now; :meth:`sign_read` hands them out."""
        for read, idempotency_key in reads:
            self._ahead[idempotency_key] = self._sign(read, idempotency_key)

    def sign_read(self, read: AskedRead, idempotency_key: str) -> dict[str, Any]:
        """What a signed read adds to the body of ``POST /v1/queries``."""
        ahead = self._ahead.pop(idempotency_key, None)
        return ahead if ahead is not None else self._sign(read, idempotency_key)

    def _sign(self, read: AskedRead, idempotency_key: str) -> dict[str, Any]:
        return self.fields(
            bytes.fromhex(read.consent_id.removeprefix("0x")),
            mask_of(parse_category(c) for c in read.categories),
            int(parse_purpose(read.purpose)),
            idempotency_key=idempotency_key,
        )

    def sign_size_class(self, consent_id: str) -> dict[str, Any]:
        """What a signed size-class read adds to its query: a request for the size categories
        the consent grants (all of them if it grants none), for the consent's purpose."""
        raw = bytes.fromhex(consent_id.removeprefix("0x"))
        view = self.terms(raw)
        granted = [c for c in SIZE_CATEGORIES if c.bit & view.categories] or SIZE_CATEGORIES
        return self.fields(
            raw,
            mask_of(granted),
            view.purpose or int(Purpose.CREDIT_UNDERWRITING),
            history_months=view.history_months,
        )
