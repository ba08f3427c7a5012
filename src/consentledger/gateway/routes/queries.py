"""Bank reads: ``POST /v1/queries``, ``GET /v1/queries/{query_id}``, and the size class.

Every read carries the bank's EIP-712 ``ReadRequest`` signature (consent, bank, categories,
purpose, history window, request id, deadline). Before anything is journaled the gateway checks it
as the ledger will: the deadline not passed and at most an hour ahead, the signature recovering to
the bank's read signer on the chain, and the request id not used by this bank before; otherwise
the read is refused with a problem code and nothing is written.

A read: validate -> check the bank's signed request -> pre-check the consent (on the gateway's
live model of the ledger when it grants the read; on the chain's views otherwise) -> fetch only
the asked categories within the asked history window (nothing if the pre-check says the chain
will deny) -> a random salt and ``response_hash = keccak256(salt || RFC 8785 bytes of the
data)`` -> a pending journal entry -> the relayer's batch -> the entry's event decides:
``DataAccessed`` releases the data with its receipt, ``AccessDenied`` answers 403 with the
reason and the same receipt.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import rfc8785
from eth_utils.crypto import keccak
from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from consentledger.audit.model import AccessEntry, ConsentStatus, DenialReason, request_denial
from consentledger.bureau.classification import classify_document
from consentledger.bureau.documents import JSONObject
from consentledger.bureau.uscc import parse_uscc
from consentledger.categories import Category, mask_of, parse_category, parse_purpose
from consentledger.chain import typed_data
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


Hex65 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$", examples=["0x" + "ab" * 65])]


class SignedRequestFields(BaseModel):
    """The bank's EIP-712 ``ReadRequest`` beyond who reads what, and its signature."""

    request_id: int = Field(
        ge=0, lt=2**64, description="The bank's own id of this request (uint64), unique per bank"
    )
    deadline: int = Field(
        ge=0, lt=2**64, description="Unix time after which the ledger refuses the request"
    )
    history_months: int = Field(
        ge=0, le=0xFFFF, description="Months of history asked for (at most the consent's)"
    )
    signature: Hex65 = Field(
        description="65-byte signature of the ReadRequest by the bank's read signer"
    )


class QueryRequest(SignedRequestFields):
    """A bank's read of an enterprise's data under a consent, signed by the bank."""

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
        history_months=entry.history_months,
        request_id=int(entry.request_id or 0),
        deadline=entry.request_deadline or 0,
        signature=entry.request_signature or b"",
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
    history_months: int
    request_id: int
    deadline: int
    signature: bytes

    def signed_entry(self, domain: typed_data.Domain) -> AccessEntry:
        """The read as the ledger will see it, with the signer its signature recovers to."""
        entry = AccessEntry(
            0,
            self.consent_id,
            self.bank_address,
            self.categories,
            self.purpose,
            b"",
            self.history_months,
            self.request_id,
            self.deadline,
            self.signature,
        )
        return replace(entry, signer=typed_data.read_request_signer(domain, entry))


#: The problem of each refused signed request: (HTTP status, code, what is wrong).
_REQUEST_PROBLEMS = {
    DenialReason.REQUEST_EXPIRED: (422, "request_expired", "the request's deadline has passed"),
    DenialReason.REQUEST_LIFETIME_TOO_LONG: (
        422,
        "request_deadline_too_far",
        "the request's deadline lies more than an hour ahead of the chain's time",
    ),
    DenialReason.SIGNATURE_INVALID: (
        403,
        "request_signature_invalid",
        "the signature does not recover to this bank's read signer over exactly this request "
        "(in this ledger's EIP-712 domain and chain)",
    ),
}


def _check_request(context: GatewayContext, read: _Read) -> _Existing | None:
    """Refuse a read whose signed request the ledger would deny (blocking: the bank's read
    signer and the chain's time come from the chain's views), or whose request id this bank
    used before (:func:`_journaled_request`). Nothing is journaled for a refused read."""
    signer, timestamp = context.bureau.request_context(read.bank_address)
    # The next block is at least a second after the latest one.
    reason = request_denial(read.signed_entry(_domain(context)), timestamp + 1, signer)
    if reason is not DenialReason.NONE:
        status, code, detail = _REQUEST_PROBLEMS[reason]
        raise ProblemError(status, code, f"{detail}; nothing was read or recorded")
    return _journaled_request(context, read)


def _journaled_request(context: GatewayContext, read: _Read) -> _Existing | None:
    """The journal's entry of this bank's request id when the same request (same
    Idempotency-Key) was journaled meanwhile; a replay (another key) is refused."""
    found = context.journal.by_request_id(read.bank_address, read.request_id)
    if found is None:
        return None
    if found.idempotency_key == read.idempotency_key:
        return _Existing(found)
    raise _replayed(read.request_id)


def _domain(context: GatewayContext) -> typed_data.Domain:
    """The ledger's EIP-712 domain (from the deployment record: no chain call)."""
    return typed_data.Domain(context.deployment.chain_id, context.deployment.address)


def _replayed(request_id: int) -> ProblemError:
    return ProblemError(
        409,
        "request_replayed",
        f"this bank's request id {request_id} was used for another read; "
        "sign each read with a new request id",
    )


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
        # A concurrent request with the same Idempotency-Key, or the same signed request id,
        # was journaled first.
        existing = await context.in_thread(
            context.journal.find, read.bank_address, read.idempotency_key
        )
        if existing is None:
            raise _replayed(read.request_id)
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
    if live.judge_request(read.signed_entry(_domain(context))) is not DenialReason.NONE:
        return None  # the chain's views refuse it (the model may be a moment behind a rotation)
    journaled = _journaled_request(context, read)
    if journaled is not None:
        return journaled
    _check_history(read.history_months, judged.history_months)
    document = document_of(read.uscc, read.history_months)
    return _new_entry(read, subject, read.history_months, document)


def _prepare(
    context: GatewayContext, read: _Read, document_of: Callable[[str, int], JSONObject]
) -> JournalEntry | _Existing:
    """The new journal entry of a read (blocking): the chain's view, the pre-check, the
    document (nothing if the chain will deny), its salt and hash. Or the entry the journal
    already holds for this Idempotency-Key."""
    existing = context.journal.find(read.bank_address, read.idempotency_key)
    if existing is not None:
        return _Existing(existing)
    journaled = _check_request(context, read)
    if journaled is not None:
        return journaled
    subject = context.subject_of(read.uscc)
    seen = context.bureau.read_context(read.consent_id, read.bank_address)
    view = seen.consent
    if view.status is not ConsentStatus.NONE and view.subject != subject:
        raise _not_for_this_enterprise()
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
    if reason is DenialReason.NONE:
        _check_history(read.history_months, view.history_months)
    data: JSONObject = (
        document_of(read.uscc, read.history_months) if reason is DenialReason.NONE else {}
    )
    return _new_entry(read, subject, read.history_months, data)


def _check_history(asked: int, consented: int) -> None:
    """A bank may ask for less history than its consent allows, never more."""
    if asked > consented:
        raise ProblemError(
            403,
            "history_exceeds_consent",
            f"the request asks for {asked} months of history; the consent allows {consented}; "
            "nothing was read or recorded",
        )


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
        request_id=str(read.request_id),
        request_deadline=read.deadline,
        request_signature=read.signature,
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


def _request_hash(
    uscc: str, consent_id: bytes, categories: int, purpose: int, signed: SignedRequestFields
) -> str:
    """SHA-256 of a read's canonical form (what an Idempotency-Key is bound to)."""
    canonical = rfc8785.dumps(
        {
            "uscc": uscc,
            "consent_id": hex32(consent_id),
            "categories": categories,
            "purpose": purpose,
            "request_id": str(signed.request_id),  # uint64: beyond JSON's safe integers
            "deadline": str(signed.deadline),
            "history_months": signed.history_months,
            "signature": signed.signature.lower(),
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
    asked = [parse_category(c) for c in body.categories]

    def fetch(code: str, history: int) -> JSONObject:
        return context.store.fetch(code, asked, history)

    read = _signed_read(
        bank.address, uscc, consent_id, categories, purpose, "query", idempotency_key, body
    )
    return await _read(context, read, fetch)


def _signed_read(
    bank: str,
    uscc: str,
    consent_id: bytes,
    categories: int,
    purpose: int,
    kind: str,
    idempotency_key: str,
    signed: SignedRequestFields,
) -> _Read:
    return _Read(
        bank,
        uscc,
        consent_id,
        categories,
        purpose,
        kind,
        idempotency_key,
        _request_hash(uscc, consent_id, categories, purpose, signed),
        signed.history_months,
        signed.request_id,
        signed.deadline,
        bytes.fromhex(signed.signature[2:]),
    )


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
    signed: Annotated[SignedRequestFields, Query()],
) -> JSONResponse:
    """The enterprise's size class (2011 SME rules), itself a consented, recorded read of the
    categories it uses (those of registration, social insurance, tax and audited statements
    that the consent grants, or all four when it grants none of them), signed by the bank as a
    ``ReadRequest`` for those categories. Released: the classification with every figure and its
    source."""
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

    read = _signed_read(
        bank.address,
        code,
        consent,
        categories,
        purpose,
        "size_class",
        "size-class:" + secrets.token_hex(16),
        signed,
    )
    return await _read(context, read, classify)
