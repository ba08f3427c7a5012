"""Bank reads, without HTTP: a read of an enterprise's data, a stored outcome, the size class.

Every read carries the bank's EIP-712 ``ReadRequest`` signature (consent, bank, categories,
purpose, history window, request id, deadline). Before anything is journaled the service checks it
as the ledger will: the deadline not passed and at most an hour ahead, the signature recovering to
the bank's read signer on the chain, the request id not used by this bank before, and no more
history than the consent allows; otherwise it raises the named error and writes nothing.

A read: validate -> check the bank's signed request -> pre-check the consent (on the gateway's
live model of the ledger when it grants the read; on the chain's views otherwise) -> fetch only
the asked categories within the asked history window (nothing if the pre-check says the chain
will deny) -> a random salt and ``response_hash = keccak256(salt || RFC 8785 bytes of the
data)`` -> a pending journal entry -> the relayer's batch -> the entry's event decides:
``DataAccessed`` releases the data with its receipt, ``AccessDenied`` raises
:class:`AccessDeniedError` with the reason and the same receipt.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import rfc8785
from eth_utils.crypto import keccak
from pydantic import BaseModel, Field

from consentledger.bureau.classification import classify_document
from consentledger.bureau.documents import JSONObject
from consentledger.bureau.uscc import parse_uscc
from consentledger.categories import (
    SIZE_CATEGORIES,
    Category,
    mask_of,
    parse_category,
    parse_purpose,
)
from consentledger.chain import typed_data
from consentledger.chain.clock import next_block_time
from consentledger.chain.relayer import (
    NotRecordedError,
    OutcomePendingError,
    ReadRequest,
)
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.delivery_window import window_passed
from consentledger.gateway.errors import (
    AccessDeniedError,
    ConsentNotForThisEnterpriseError,
    DeliveryEndedError,
    DeliveryWindowPassedError,
    GatewayError,
    HistoryExceedsConsentError,
    IdempotencyKeyReusedError,
    InvalidQueryIdError,
    ReadRequestDeadlineTooFarError,
    ReadRequestExpiredError,
    ReadRequestReplayedError,
    ReadRequestSignatureInvalidError,
    UnknownQueryError,
)
from consentledger.gateway.journal_store import apply_outcome, hex32, query_hex, reason_of
from consentledger.gateway.live_ledger import LiveLedger
from consentledger.gateway.precheck import predicted_reason
from consentledger.gateway.services.disputes import dispute_marks, open_disputes
from consentledger.journal.schema import JournalEntry, ReadStatus, utcnow
from consentledger.ledger.model import request_denial
from consentledger.ledger.types import AccessEntry, ConsentStatus, DenialReason


class Receipt(BaseModel):
    """Where the chain recorded this read; anyone can check it against the chain."""

    query_id: str = Field(description="uint256 as 0x-hex: the relayer's address, then a sequence")
    consent_id: str
    tx_hash: str
    block_number: int
    log_index: int
    response_hash: str = Field(description="keccak256(salt || RFC 8785 bytes of `data`)")
    salt: str
    versions: dict[str, Any] | None = Field(
        default=None,
        description="Per category, its source and the records the data was built from, each "
        "`[record id, version]` (the document's `versions`, kept after the document is deleted)",
    )


class QueryResult(BaseModel):
    """A granted read: the data and its receipt."""

    status: Literal["granted"] = "granted"
    data: dict[str, Any]
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The bank's EIP-712 ``ReadRequest`` beyond who reads what, and its 65-byte signature."""

    request_id: int
    deadline: int
    history_months: int
    signature: bytes

    def canonical(self) -> dict[str, str]:
        """Its part of a read's canonical form (strings: uint64s exceed JSON's safe integers)."""
        return {
            "request_id": str(self.request_id),
            "deadline": str(self.deadline),
            "history_months": str(self.history_months),
            "signature": "0x" + self.signature.hex(),
        }


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

    async def query(
        self, bank: str, asked: AskedRead, signed: SignedRequest, idempotency_key: str
    ) -> QueryResult:
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
            _request_hash(asked.uscc, asked.consent_id, categories, asked.purpose, signed),
            signed,
        )
        chosen = list(asked.categories)

        def fetch(code: str, history: int) -> JSONObject:
            document = context.bureau.fetch(code, chosen, history)
            marks = dispute_marks(open_disputes(context, context.subject_of(code)), categories)
            if marks:  # the enterprise disputes some of it: the document says so
                document["disputes"] = marks
            return document

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
        return await self._again(entry)

    async def _again(self, entry: JournalEntry) -> QueryResult:
        """A stored outcome asked for again: a granted read's data only within the delivery
        window (else its receipt in a :class:`DeliveryWindowPassedError`), while its consent
        still allows reads and its bank is not suspended (the chain's views now; else its receipt
        in a :class:`DeliveryEndedError`)."""
        if entry.status != ReadStatus.GRANTED:
            return answer(entry)
        context = self._context
        window_s = context.settings.delivery_window_s
        if window_passed(entry, window_s, utcnow()):
            raise DeliveryWindowPassedError(window_s, receipt_of(entry).model_dump())
        consent_id = bytes.fromhex(entry.consent_id[2:])
        seen = await context.chain_read(context.ledger.read_context, consent_id, entry.bank_address)
        why = None
        if seen.consent.status is not ConsentStatus.ACTIVE:
            why = f"the consent is {seen.consent.status.name}"
        elif not seen.bank_active:
            why = "the bank is suspended"
        if why is not None:
            raise DeliveryEndedError(why, receipt_of(entry).model_dump())
        return answer(entry)

    async def size_class(
        self, bank: str, uscc: str, consent_id: bytes, signed: SignedRequest
    ) -> QueryResult:
        """The enterprise's size class (2011 SME rules), itself a consented, recorded read of the
        categories it uses (those of registration, social insurance, tax and audited statements
        that the consent grants, or all four when it grants none), signed by the bank as a
        ``ReadRequest`` for those categories. Released: the classification with every figure and
        source."""
        context = self._context
        code = parse_uscc(uscc).code
        # A consent's categories and purpose never change: the live model's copy serves when it
        # has the consent.
        known = context.precheck.consent(consent_id) if context.precheck is not None else None
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
            _request_hash(code, consent_id, categories, purpose, signed),
            signed,
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
        if context.precheck is not None:
            prepared = await context.in_thread(
                _prepare_live, context, context.precheck, read, document_of
            )
            if not isinstance(prepared, _Existing):
                context.precheck.counted(live=prepared is not None)
        if prepared is None:
            prepared = await context.chain_read(_prepare, context, read, document_of)
        if isinstance(prepared, _Existing):
            return await self._again(_same_request(prepared.entry, read.request_hash))
        entry = await context.journal_writer.add(prepared)
        if entry is None:
            # A concurrent request with the same Idempotency-Key, or the same signed request id,
            # was journaled first.
            existing = await context.in_thread(
                context.journal.find, read.bank_address, read.idempotency_key
            )
            if existing is None:
                raise ReadRequestReplayedError(read.signed.request_id)
            return await self._again(_same_request(existing, read.request_hash))
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
            history_months=entry.history_months,
            request_id=int(entry.request_id or 0),
            deadline=entry.request_deadline or 0,
            signature=entry.request_signature or b"",
        )
        metrics = context.metrics
        try:
            outcome = await context.relayer.submit(request)
        except (NotRecordedError, OutcomePendingError) as exc:
            if metrics is not None:
                metrics.read("not_recorded" if isinstance(exc, NotRecordedError) else "pending")
            # The journal holds what is known (failed, or still on its way); answer from it.
            stored = await context.in_thread(context.journal.get, entry.id)
            assert stored is not None
            return answer(stored)
        if metrics is not None:
            granted = outcome.reason is DenialReason.NONE
            metrics.read("granted" if granted else "denied", "" if granted else outcome.reason.name)
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
        versions=json.loads(entry.versions) if entry.versions else None,
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
    signed: SignedRequest

    def signed_entry(self, domain: typed_data.Domain) -> AccessEntry:
        """The read as the ledger will see it, with the signer its signature recovers to."""
        entry = AccessEntry(
            0,
            self.consent_id,
            self.bank_address,
            self.categories,
            self.purpose,
            b"",
            self.signed.history_months,
            self.signed.request_id,
            self.signed.deadline,
            self.signed.signature,
        )
        return replace(entry, signer=typed_data.read_request_signer(domain, entry))


#: The error of each signed request the ledger would deny.
_REQUEST_ERRORS: dict[DenialReason, Callable[[], GatewayError]] = {
    DenialReason.REQUEST_EXPIRED: ReadRequestExpiredError,
    DenialReason.REQUEST_LIFETIME_TOO_LONG: ReadRequestDeadlineTooFarError,
    DenialReason.SIGNATURE_INVALID: ReadRequestSignatureInvalidError,
}


def _domain(context: GatewayContext) -> typed_data.Domain:
    """The ledger's EIP-712 domain (from the deployment record: no chain call)."""
    return typed_data.Domain(context.deployment.chain_id, context.deployment.address)


def _check_request(context: GatewayContext, read: _Read) -> _Existing | None:
    """Refuse a read whose signed request the ledger would deny (blocking: the bank's read
    signer and the chain's time come from the chain's views), or whose request id this bank
    used before (:func:`_journaled_request`). Nothing is journaled for a refused read."""
    signer, timestamp = context.ledger.request_context(read.bank_address)
    # The next block is at least a second after the latest one.
    reason = request_denial(read.signed_entry(_domain(context)), timestamp + 1, signer)
    if reason is not DenialReason.NONE:
        raise _REQUEST_ERRORS[reason]()
    return _journaled_request(context, read)


def _journaled_request(context: GatewayContext, read: _Read) -> _Existing | None:
    """The journal's entry of this bank's request id when the same request (same
    Idempotency-Key) was journaled meanwhile; a replay (another key) is refused."""
    found = context.journal.by_request_id(read.bank_address, read.signed.request_id)
    if found is None:
        return None
    if found.idempotency_key == read.idempotency_key:
        return _Existing(found)
    raise ReadRequestReplayedError(read.signed.request_id)


def _check_history(asked: int, consented: int) -> None:
    """A bank may ask for less history than its consent allows, never more."""
    if asked > consented:
        raise HistoryExceedsConsentError(asked, consented)


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
    if judged.reason is not DenialReason.NONE:
        return None  # the chain's views judge it, and the enterprise check, in _prepare
    if judged.subject != subject:  # granted: the bank's own consent, whose subject it knows
        raise ConsentNotForThisEnterpriseError()
    if live.judge_request(read.signed_entry(_domain(context))) is not DenialReason.NONE:
        return None  # the chain's views refuse it (the model may be a moment behind a rotation)
    journaled = _journaled_request(context, read)
    if journaled is not None:
        return journaled
    _check_history(read.signed.history_months, judged.history_months)
    document = document_of(read.uscc, read.signed.history_months)
    return _new_entry(read, subject, read.signed.history_months, document)


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
    seen = context.ledger.read_context(read.consent_id, read.bank_address)
    view = seen.consent
    # Only on the bank's own consents: on another bank's, a refusal here for a wrong USCC and the
    # chain's recorded BANK_MISMATCH for the right one would tell the bank which USCC the other
    # bank's customer has. Such a read goes to the chain, which denies it whatever the USCC.
    if (
        view.status is not ConsentStatus.NONE
        and view.bank.lower() == read.bank_address.lower()
        and view.subject != subject
    ):
        raise ConsentNotForThisEnterpriseError()
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
    history = read.signed.history_months
    if reason is DenialReason.NONE:
        _check_history(history, view.history_months)
    data: JSONObject = document_of(read.uscc, history) if reason is DenialReason.NONE else {}
    return _new_entry(read, subject, history, data)


def _new_entry(read: _Read, subject: bytes, history: int, data: JSONObject) -> JournalEntry:
    """The journal entry of a read that releases ``data`` if the chain grants it."""
    document = rfc8785.dumps(data)
    salt = secrets.token_bytes(32)
    versions = data.get("versions")
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
        versions=rfc8785.dumps(versions).decode() if versions is not None else None,
        request_id=str(read.signed.request_id),
        request_deadline=read.signed.deadline,
        request_signature=read.signed.signature,
    )


def _same_request(existing: JournalEntry, request_hash: str) -> JournalEntry:
    """The entry of a repeated Idempotency-Key, which must be for the same request."""
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReusedError()
    return existing


def _request_hash(
    uscc: str, consent_id: bytes, categories: int, purpose: int, signed: SignedRequest
) -> str:
    """SHA-256 of a read's canonical form (what an Idempotency-Key is bound to)."""
    canonical = rfc8785.dumps(
        {
            "uscc": uscc,
            "consent_id": hex32(consent_id),
            "categories": categories,
            "purpose": purpose,
            **signed.canonical(),
        }
    )
    return hashlib.sha256(canonical).hexdigest()
