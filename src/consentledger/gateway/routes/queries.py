"""Bank reads: ``POST /v1/queries``, ``GET /v1/queries/{query_id}``, and the size class.

A read: validate -> pre-check the consent (on the gateway's live model of the ledger when it grants
the read; on the chain's views otherwise) -> fetch only the asked categories within the consent's
history window (nothing if the pre-check says the chain will deny) -> a
random salt and ``response_hash = keccak256(salt || RFC 8785 bytes of the data)`` -> a pending
journal entry -> the relayer's batch -> the entry's event decides: ``DataAccessed`` releases the
data with its receipt, ``AccessDenied`` answers 403 with the reason and the same receipt.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import rfc8785
from eth_utils.crypto import keccak
from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from consentledger.audit.model import ConsentStatus, DenialReason
from consentledger.bureau.classification import classify_document
from consentledger.bureau.documents import JSONObject
from consentledger.bureau.uscc import parse_uscc
from consentledger.categories import Category, mask_of, parse_category, parse_purpose
from consentledger.chain.clock import next_block_time
from consentledger.chain.relayer import NotRecordedError, OutcomePendingError, ReadRequest
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.db import JournalEntry, ReadStatus, utcnow
from consentledger.gateway.deps import ContextDep, CurrentBank
from consentledger.gateway.journal import apply_outcome, hex32, query_hex, reason_of
from consentledger.gateway.live_ledger import LiveLedger
from consentledger.gateway.precheck import predicted_reason
from consentledger.gateway.problems import ProblemError, problem, problem_responses, respond

router = APIRouter(prefix="/v1", tags=["bank reads"])

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "ab" * 32])]

#: The categories the size classification reads.
SIZE_CATEGORIES = (
    Category.BUSINESS_REGISTRATION,
    Category.SOCIAL_INSURANCE,
    Category.TAX,
    Category.AUDITED_FINANCIAL_STATEMENTS,
)


class QueryRequest(BaseModel):
    """A bank's read of an enterprise's data under a consent."""

    uscc: str = Field(min_length=1, max_length=64, examples=["91440305MA5DKW7Q1B"])
    consent_id: Hex32
    categories: list[int | str] = Field(min_length=1, max_length=64)
    purpose: int | str


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


def _receipt(entry: JournalEntry) -> Receipt:
    return Receipt(
        query_id=entry.query_id or "",
        consent_id=entry.consent_id,
        tx_hash=entry.tx_hash or "",
        block_number=entry.block_number or 0,
        log_index=entry.log_index or 0,
        response_hash=entry.response_hash,
        salt="0x" + entry.salt.hex(),
    )


def _answer(entry: JournalEntry) -> JSONResponse:
    """The stored outcome of a journal entry, as the original request got it."""
    if entry.status == ReadStatus.GRANTED:
        result = QueryResult(data=rfc8785_load(entry.document), receipt=_receipt(entry))
        return JSONResponse(result.model_dump())
    if entry.status == ReadStatus.DENIED:
        reason = reason_of(entry) or DenialReason.NONE
        p = problem(
            403,
            "access_denied",
            f"the chain denied this read: {reason.name}",
            reason=reason.name,
            receipt=_receipt(entry).model_dump(),
        )
        return respond(p)
    if entry.status == ReadStatus.FAILED:
        p = problem(
            503, "not_recorded", "the read was not recorded on the chain; nothing was released"
        )
        return respond(p)
    p = problem(
        503,
        "outcome_pending",
        "the read's batch is on its way to the chain; ask again with the same Idempotency-Key",
    )
    return respond(p, headers={"Retry-After": "1"})


def rfc8785_load(data: bytes) -> dict[str, Any]:
    """The released document back from its canonical bytes."""
    loaded: dict[str, Any] = json.loads(data)
    return loaded


async def _record(context: GatewayContext, entry: JournalEntry) -> JSONResponse:
    """Put a journaled entry in a batch, and answer from the chain's decision."""
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
        return _answer(stored)
    # The relayer stored the outcome in the journal before resolving the read: answer what it
    # stored, without reading it back.
    apply_outcome(entry, outcome, utcnow())
    return _answer(entry)


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


async def _read(
    context: GatewayContext, read: _Read, document_of: Callable[[str, int], JSONObject]
) -> JSONResponse:
    """Idempotency, pre-check, fetch (only when the chain will grant), journal, record, answer.

    Everything before the journal runs as one blocking step (one thread hop, not four: each hop
    costs a thread hand-off and GIL contention under load): on the live model, on a worker thread;
    when the model does not grant the read, on the chain's views (the chain thread for the
    embedded chain)."""
    prepared: JournalEntry | _Existing | None = None
    if context.live is not None:
        prepared = await context.in_thread(_prepare_live, context, context.live, read, document_of)
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
    return await _record(context, entry)


@dataclass(frozen=True, slots=True)
class _Existing:
    """The journal already holds a read with this bank's Idempotency-Key."""

    entry: JournalEntry


def _not_for_this_enterprise() -> ProblemError:
    return ProblemError(
        403,
        "consent_not_for_this_enterprise",
        "this consent was given by another enterprise; nothing was read or recorded",
    )


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
        raise _not_for_this_enterprise()
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
    seen = context.bureau.read_context(read.consent_id, read.bank_address)
    view = seen.consent
    if view.status is not ConsentStatus.NONE and view.subject != subject:
        raise _not_for_this_enterprise()
    # Judged at the earliest time the block that records it can carry.
    now = next_block_time(seen.timestamp)
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


def _idempotent_answer(existing: JournalEntry, request_hash: str) -> JSONResponse:
    """The answer to a repeated Idempotency-Key: the original outcome, for the same request."""
    if existing.request_hash != request_hash:
        raise ProblemError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        )
    return _answer(existing)


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


@router.post(
    "/queries",
    response_model=QueryResult,
    responses=problem_responses(401, 403, 404, 409, 413, 422, 503),
)
async def query(
    body: QueryRequest,
    context: ContextDep,
    bank: CurrentBank,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
) -> JSONResponse:
    """Read an enterprise's data under a consent. Answers once the chain has recorded the read:
    200 with the data and receipt if granted, 403 with the reason and receipt if denied."""
    uscc = parse_uscc(body.uscc).code
    categories = mask_of(parse_category(c) for c in body.categories)
    purpose = int(parse_purpose(body.purpose))
    consent_id = bytes.fromhex(body.consent_id[2:])
    request_hash = _request_hash(uscc, consent_id, categories, purpose)
    asked = [parse_category(c) for c in body.categories]

    def fetch(code: str, history: int) -> JSONObject:
        return context.store.fetch(code, asked, history)

    read = _Read(
        bank.address, uscc, consent_id, categories, purpose, "query", idempotency_key, request_hash
    )
    return await _read(context, read, fetch)


@router.get(
    "/queries/{query_id}",
    response_model=QueryResult,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def stored_query(query_id: str, context: ContextDep, bank: CurrentBank) -> JSONResponse:
    """The stored outcome of one of this bank's reads."""
    try:
        number = int(query_id, 16) if query_id.startswith("0x") else int(query_id)
    except ValueError:
        raise ProblemError(422, "invalid_query_id", "a query id is an integer or 0x-hex") from None
    entry = await context.in_thread(context.journal.by_query_id, number)
    if entry is None or entry.bank_address != bank.address:
        raise ProblemError(404, "unknown_query", f"no read {query_hex(number)} of this bank")
    return _answer(entry)


@router.get(
    "/enterprises/{uscc}/size-class",
    response_model=QueryResult,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def size_class(
    uscc: str,
    context: ContextDep,
    bank: CurrentBank,
    consent_id: Annotated[str, Query(pattern=r"^0x[0-9a-fA-F]{64}$")],
) -> JSONResponse:
    """The enterprise's size class (2011 SME rules), itself a consented, recorded read of the
    categories it uses (those of registration, social insurance, tax and audited statements
    that the consent grants). Released: the classification with every figure and its source."""
    code = parse_uscc(uscc).code
    consent = bytes.fromhex(consent_id[2:])
    # A consent's categories and purpose never change: the live model's copy serves when it
    # has the consent.
    known = context.live.consent(consent) if context.live is not None else None
    if known is not None:
        consented, purpose = known.categories, known.purpose
    else:
        view = await context.chain_read(context.bureau.consent, consent)
        consented = view.categories
        purpose = view.purpose if view.status is not ConsentStatus.NONE else 0
    granted = {c for c in SIZE_CATEGORIES if c.bit & consented}
    asked = sorted(granted or set(SIZE_CATEGORIES))
    categories = mask_of(asked)

    def classify(uscc_code: str, history: int) -> JSONObject:
        document = context.store.fetch(uscc_code, asked, 0)
        result: JSONObject = classify_document(document).to_json()
        return result

    read = _Read(
        bank.address,
        code,
        consent,
        categories,
        purpose,
        "size_class",
        "size-class:" + secrets.token_hex(16),
        _request_hash(code, consent, categories, purpose),
    )
    return await _read(context, read, classify)
