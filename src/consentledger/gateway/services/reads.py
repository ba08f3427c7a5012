"""Bank reads, without HTTP: a read of an enterprise's data, a stored outcome, the size class.

A read: validate -> pre-check the consent (on the gateway's live model of the ledger when it grants
the read; on the chain's views otherwise) -> fetch only the asked categories within the consent's
history window (nothing if the pre-check says the chain will deny) -> a random salt and
``response_hash = keccak256(salt || RFC 8785 bytes of the data)`` -> a pending journal entry -> the
relayer's batch -> the entry's event decides: ``DataAccessed`` releases the data with its receipt,
``AccessDenied`` raises :class:`AccessDeniedError` with the reason and the same receipt.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import rfc8785
from eth_utils.crypto import keccak
from pydantic import BaseModel, Field

from consentledger.bureau.classification import classify_document
from consentledger.bureau.documents import JSONObject
from consentledger.bureau.uscc import parse_uscc
from consentledger.categories import Category, mask_of, parse_category, parse_purpose
from consentledger.chain.relayer import (
    NotRecordedError,
    OutcomePendingError,
    ReadRequest,
)
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import (
    AccessDeniedError,
    ConsentNotForThisEnterpriseError,
    IdempotencyKeyReusedError,
    InvalidQueryIdError,
    UnknownQueryError,
)
from consentledger.gateway.journal_store import apply_outcome, hex32, query_hex, reason_of
from consentledger.gateway.live_ledger import LiveLedger
from consentledger.gateway.precheck import predicted_reason
from consentledger.journal.schema import JournalEntry, ReadStatus, utcnow
from consentledger.ledger.types import ConsentStatus, DenialReason

#: The categories the size classification reads.
SIZE_CATEGORIES = (
    Category.BUSINESS_REGISTRATION,
    Category.SOCIAL_INSURANCE,
    Category.TAX,
    Category.AUDITED_FINANCIAL_STATEMENTS,
)


class Receipt(BaseModel):
    """Where the chain recorded this read; anyone can check it against the chain."""

    query_id: str = Field(description="uint256 as 0x-hex: the relayer's address, then a sequence")
    consent_id: str
    tx_hash: str
    block_number: int
    log_index: int
    response_hash: str = Field(description="keccak256(salt || RFC 8785 bytes of `data`)")
    salt: str


class QueryResult(BaseModel):
    """A granted read: the data and its receipt."""

    status: str = "granted"
    data: dict[str, Any]
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class AskedRead:
    """What a bank asks to read, validated: the enterprise, the consent, categories, purpose."""

    uscc: str
    consent_id: bytes
    categories: tuple[Category, ...]
    purpose: int

    @classmethod
    def parse(
        cls, uscc: str, consent_id: str, categories: Sequence[int | str], purpose: int | str
    ) -> AskedRead:
        """Validate a read as a client sends it (``consent_id`` as 0x-hex); a bad USCC, category
        or purpose raises its named error."""
        code = parse_uscc(uscc).code
        asked = tuple(parse_category(c) for c in categories)
        return cls(code, bytes.fromhex(consent_id[2:]), asked, int(parse_purpose(purpose)))

    @property
    def mask(self) -> int:
        return mask_of(self.categories)


class ReadService:
    """The read flow of a running gateway: idempotency, pre-check, fetch, journal, relay, answer.

    Every method answers a granted read with its :class:`QueryResult`; a read the chain denied
    raises :class:`AccessDeniedError`, one not recorded :class:`NotRecordedError`, one whose
    batch is still on its way :class:`OutcomePendingError`."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def query(self, bank: str, asked: AskedRead, idempotency_key: str) -> QueryResult:
        """Read an enterprise's data under a consent, for the bank at address ``bank``. Answers
        once the chain has recorded the read. A repeated ``idempotency_key`` answers the first
        outcome (for the same request; another request raises IdempotencyKeyReusedError)."""
        context = self._context
        categories = asked.mask
        read = _Read(
            bank,
            asked.uscc,
            asked.consent_id,
            categories,
            asked.purpose,
            "query",
            idempotency_key,
            _request_hash(asked.uscc, asked.consent_id, categories, asked.purpose),
        )
        chosen = list(asked.categories)

        def fetch(code: str, history: int) -> JSONObject:
            return context.bureau.fetch(code, chosen, history)

        return await self._read(read, fetch)

    async def stored(self, bank: str, query_id: str) -> QueryResult:
        """The stored outcome of one of this bank's reads (``query_id`` decimal or 0x-hex)."""
        try:
            number = int(query_id, 16) if query_id.startswith("0x") else int(query_id)
        except ValueError:
            raise InvalidQueryIdError() from None
        entry = await self._context.in_thread(self._context.journal.by_query_id, number)
        if entry is None or entry.bank_address != bank:
            raise UnknownQueryError(f"no read {query_hex(number)} of this bank")
        return answer(entry)

    async def size_class(self, bank: str, uscc: str, consent_id: bytes) -> QueryResult:
        """The enterprise's size class (2011 SME rules), itself a consented, recorded read of the
        categories it uses (those of registration, social insurance, tax and audited statements
        that the consent grants). Released: the classification with every figure and source."""
        context = self._context
        code = parse_uscc(uscc).code
        # A consent's categories and purpose never change: the live model's copy serves when it
        # has the consent.
        known = context.live.consent(consent_id) if context.live is not None else None
        if known is not None:
            consented, purpose = known.categories, known.purpose
        else:
            view = await context.chain_read(context.ledger.consent, consent_id)
            consented = view.categories
            purpose = view.purpose if view.status is not ConsentStatus.NONE else 0
        granted = {c for c in SIZE_CATEGORIES if c.bit & consented}
        chosen = sorted(granted or set(SIZE_CATEGORIES))
        categories = mask_of(chosen)

        def classify(uscc_code: str, history: int) -> JSONObject:
            document = context.bureau.fetch(uscc_code, chosen, 0)
            result: JSONObject = classify_document(document).to_json()
            return result

        read = _Read(
            bank,
            code,
            consent_id,
            categories,
            purpose,
            "size_class",
            "size-class:" + secrets.token_hex(16),
            _request_hash(code, consent_id, categories, purpose),
        )
        return await self._read(read, classify)

    async def _read(
        self, read: _Read, document_of: Callable[[str, int], JSONObject]
    ) -> QueryResult:
        """Idempotency, pre-check, fetch (only when the chain will grant), journal, record, answer.

        Everything before the journal runs as one blocking step (one thread hop, not four: each
        hop costs a thread hand-off and GIL contention under load): on the live model, on a worker
        thread; when the model does not grant the read, on the chain's views (the chain thread for
        the embedded chain)."""
        context = self._context
        prepared: JournalEntry | _Existing | None = None
        if context.live is not None:
            prepared = await context.in_thread(
                _prepare_live, context, context.live, read, document_of
            )
            if not isinstance(prepared, _Existing):
                context.live.counted(live=prepared is not None)
        if prepared is None:
            prepared = await context.chain_read(_prepare, context, read, document_of)
        if isinstance(prepared, _Existing):
            return _idempotent_answer(prepared.entry, read.request_hash)
        entry = await context.journal_writer.add(prepared)
        if entry is None:
            # A concurrent request with the same Idempotency-Key was journaled first.
            existing = await context.in_thread(
                context.journal.find, read.bank_address, read.idempotency_key
            )
            assert existing is not None
            return _idempotent_answer(existing, read.request_hash)
        return await self._record(entry)

    async def _record(self, entry: JournalEntry) -> QueryResult:
        """Put a journaled entry in a batch, and answer from the chain's decision."""
        context = self._context
        request = ReadRequest(
            journal_id=entry.id,
            consent_id=bytes.fromhex(entry.consent_id[2:]),
            bank=entry.bank_address,
            categories=entry.categories,
            purpose=entry.purpose,
            response_hash=bytes.fromhex(entry.response_hash[2:]),
        )
        try:
            outcome = await context.relayer.submit(request)
        except (NotRecordedError, OutcomePendingError):
            # The journal holds what is known (failed, or still on its way); answer from it.
            stored = await context.in_thread(context.journal.get, entry.id)
            assert stored is not None
            return answer(stored)
        # The relayer stored the outcome in the journal before resolving the read: answer what it
        # stored, without reading it back.
        apply_outcome(entry, outcome, utcnow())
        return answer(entry)


def receipt_of(entry: JournalEntry) -> Receipt:
    """The receipt of a recorded read."""
    return Receipt(
        query_id=entry.query_id or "",
        consent_id=entry.consent_id,
        tx_hash=entry.tx_hash or "",
        block_number=entry.block_number or 0,
        log_index=entry.log_index or 0,
        response_hash=entry.response_hash,
        salt="0x" + entry.salt.hex(),
    )


def answer(entry: JournalEntry) -> QueryResult:
    """The stored outcome of a journal entry, as the original request got it: the data if the
    chain granted the read, else the error that says what happened."""
    if entry.status == ReadStatus.GRANTED:
        return QueryResult(data=document_of(entry), receipt=receipt_of(entry))
    if entry.status == ReadStatus.DENIED:
        reason = reason_of(entry) or DenialReason.NONE
        raise AccessDeniedError(reason.name, receipt_of(entry).model_dump())
    if entry.status == ReadStatus.FAILED:
        raise NotRecordedError("the read was not recorded on the chain; nothing was released")
    raise OutcomePendingError(
        "the read's batch is on its way to the chain; ask again with the same Idempotency-Key"
    )


def document_of(entry: JournalEntry) -> dict[str, Any]:
    """The released document back from its canonical bytes."""
    loaded: dict[str, Any] = json.loads(entry.document)
    return loaded


@dataclass(frozen=True, slots=True)
class _Read:
    """One read to make: who asks what, under which consent."""

    bank_address: str
    uscc: str
    consent_id: bytes
    categories: int
    purpose: int
    kind: str
    idempotency_key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class _Existing:
    """The journal already holds a read with this bank's Idempotency-Key."""

    entry: JournalEntry


def _prepare_live(
    context: GatewayContext,
    live: LiveLedger,
    read: _Read,
    document_of: Callable[[str, int], JSONObject],
) -> JournalEntry | _Existing | None:
    """:func:`_prepare` on the live model, when it grants the read (blocking, no chain call).
    None when the model does not grant it, does not know the consent or is behind: a denial is
    journaled with an empty document, so only the chain's views may predict one."""
    existing = context.journal.find(read.bank_address, read.idempotency_key)
    if existing is not None:
        return _Existing(existing)
    subject = context.subject_of(read.uscc)
    judged = live.judge(read.consent_id, read.bank_address, read.categories, read.purpose)
    if judged is None:
        return None
    if judged.subject != subject:  # a consent's subject never changes
        raise ConsentNotForThisEnterpriseError()
    if judged.reason is not DenialReason.NONE:
        return None
    document = document_of(read.uscc, judged.history_months)
    return _new_entry(read, subject, judged.history_months, document)


def _prepare(
    context: GatewayContext, read: _Read, document_of: Callable[[str, int], JSONObject]
) -> JournalEntry | _Existing:
    """The new journal entry of a read (blocking): the chain's view, the pre-check, the
    document (nothing if the chain will deny), its salt and hash. Or the entry the journal
    already holds for this Idempotency-Key."""
    existing = context.journal.find(read.bank_address, read.idempotency_key)
    if existing is not None:
        return _Existing(existing)
    subject = context.subject_of(read.uscc)
    seen = context.ledger.read_context(read.consent_id, read.bank_address)
    view = seen.consent
    if view.status is not ConsentStatus.NONE and view.subject != subject:
        raise ConsentNotForThisEnterpriseError()
    # The next block is at least a second after the latest one.
    now = seen.timestamp + 1
    reason = predicted_reason(
        read.consent_id,
        view,
        read.bank_address,
        seen.bank_active,
        read.categories,
        read.purpose,
        now,
    )
    history = view.history_months if view.status is not ConsentStatus.NONE else 0
    data: JSONObject = document_of(read.uscc, history) if reason is DenialReason.NONE else {}
    return _new_entry(read, subject, history, data)


def _new_entry(read: _Read, subject: bytes, history: int, data: JSONObject) -> JournalEntry:
    """The journal entry of a read that releases ``data`` if the chain grants it."""
    document = rfc8785.dumps(data)
    salt = secrets.token_bytes(32)
    return JournalEntry(
        idempotency_key=read.idempotency_key,
        request_hash=read.request_hash,
        bank_address=read.bank_address,
        kind=read.kind,
        uscc=read.uscc,
        subject=hex32(subject),
        consent_id=hex32(read.consent_id),
        categories=read.categories,
        purpose=read.purpose,
        history_months=history,
        document=document,
        salt=salt,
        response_hash=hex32(keccak(salt + document)),
    )


def _idempotent_answer(existing: JournalEntry, request_hash: str) -> QueryResult:
    """The answer to a repeated Idempotency-Key: the original outcome, for the same request."""
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReusedError()
    return answer(existing)


def _request_hash(uscc: str, consent_id: bytes, categories: int, purpose: int) -> str:
    """SHA-256 of a read's canonical form (what an Idempotency-Key is bound to)."""
    canonical = rfc8785.dumps(
        {
            "uscc": uscc,
            "consent_id": hex32(consent_id),
            "categories": categories,
            "purpose": purpose,
        }
    )
    return hashlib.sha256(canonical).hexdigest()
