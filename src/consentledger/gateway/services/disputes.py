"""Disputes (异议, 征信业管理条例 art. 25), without HTTP: an enterprise disputes a recorded read or
a data item in a category; the bureau answers in writing, corrected or upheld, within 20 days.

Both steps are recorded on the chain by the bureau's relayer (``fileDispute``, ``answerDispute``)
with a salted hash of the written text; the texts stay in the gateway's database. A dispute is
written there before its filing is sent, so a filing the chain refuses is kept as ``failed``.
While a dispute is open, every document released about the enterprise names it
(:func:`dispute_marks`).
"""

from __future__ import annotations

import secrets
from typing import Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from consentledger.bureau.documents import JSONValue
from consentledger.categories import mask_of, parse_category
from consentledger.chain.client import Mined
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import (
    DisputedReadUnknownError,
    DisputeNotOpenError,
    InvalidDisputeError,
    UnknownDisputeError,
)
from consentledger.gateway.pagination import DEFAULT_LIMIT, scope_of
from consentledger.gateway.receipts import category_refs
from consentledger.gateway.services.signin import SignedIn
from consentledger.journal.schema import DisputeRecord, JournalEntry
from consentledger.ledger.types import DISPUTE_ANSWER_PERIOD, DisputeKind, DisputeOutcome

DisputeState = Literal["filing", "open", "overdue", "answered", "failed"]


class NewDispute(BaseModel):
    """What the enterprise disputes, and why."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["read", "item"] = Field(
        description="`read`: a recorded read (give `query_id`); `item`: a data item in a "
        "category (give `categories` and `item`)"
    )
    query_id: str | None = Field(
        default=None, max_length=80, description="the disputed read's query id (0x-hex)"
    )
    categories: list[str | int] = Field(
        default_factory=list,
        max_length=16,
        description="the categories of the disputed data (a read: default all of its own)",
    )
    item: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the disputed item: the record's reference in the bureau's data (a feed "
        "record id, a field)",
        examples=["annual_reports/2024/employees"],
    )
    reason: str = Field(min_length=1, max_length=4000, description="why the record is wrong")

    def check(self) -> None:
        """Refuse a dispute that does not say what it disputes (:class:`InvalidDisputeError`)."""
        if self.kind == "read" and self.query_id is None:
            raise InvalidDisputeError(
                "dispute_needs_query_id", "a read's dispute names its query_id"
            )
        if self.kind == "item" and (self.item is None or not self.categories):
            raise InvalidDisputeError(
                "dispute_needs_item", "an item's dispute names its categories and the item"
            )


class DisputeAnswer(BaseModel):
    """The bureau's written answer."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["corrected", "upheld"]
    answer: str = Field(min_length=1, max_length=8000)


class CategoryRef(BaseModel):
    code: int
    name: str | None


class DisputeOut(BaseModel):
    """A dispute as the enterprise and the bureau see it."""

    dispute_id: str
    uscc: str
    kind: Literal["read", "item"]
    reference: str = Field(description="the disputed read's query id, or the item")
    categories: list[CategoryRef]
    reason: str
    state: DisputeState = Field(
        description="`open` until answered; `overdue` once its 20 days passed unanswered"
    )
    filed_tx: str | None
    filed_block: int | None
    filed_at: int | None = Field(description="block time of the filing (Unix seconds)")
    answer_due: int | None = Field(description="the filing's time + 20 days (Unix seconds)")
    outcome: Literal["corrected", "upheld"] | None
    answer: str | None
    answered_tx: str | None
    answered_at: int | None
    answered_late: bool | None


class DisputeList(BaseModel):
    uscc: str
    disputes: list[DisputeOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last one"
    )


def _salted(salt: bytes, text: str) -> bytes:
    return keccak(salt + text.encode())


def _state(row: DisputeRecord, now: int) -> DisputeState:
    if row.status in ("filing", "failed", "answered"):
        return row.status  # type: ignore[return-value]
    assert row.filed_at is not None
    return "overdue" if now > row.filed_at + DISPUTE_ANSWER_PERIOD else "open"


def dispute_out(row: DisputeRecord, now: int) -> DisputeOut:
    due = row.filed_at + DISPUTE_ANSWER_PERIOD if row.filed_at is not None else None
    late = None
    if row.answered_at is not None and due is not None:
        late = row.answered_at > due
    return DisputeOut(
        dispute_id=row.id,
        uscc=row.uscc,
        kind="read" if row.kind == "read" else "item",
        reference=row.reference,
        categories=[CategoryRef(**ref) for ref in category_refs(row.categories)],
        reason=row.reason,
        state=_state(row, now),
        filed_tx=row.filed_tx,
        filed_block=row.filed_block,
        filed_at=row.filed_at,
        answer_due=due,
        outcome="corrected" if row.outcome == "corrected" else ("upheld" if row.outcome else None),
        answer=row.answer,
        answered_tx=row.answered_tx,
        answered_at=row.answered_at,
        answered_late=late,
    )


def dispute_marks(rows: list[DisputeRecord], categories: int) -> list[JSONValue]:
    """What a released document says of the enterprise's open disputes that touch
    ``categories``: each one's id, what it disputes and since when."""
    marks: list[JSONValue] = []
    for row in rows:
        if row.status != "filed" or not row.categories & categories:
            continue
        marks.append(
            {
                "dispute_id": row.id,
                "kind": row.kind,
                "reference": row.reference,
                "categories": [ref["name"] or ref["code"] for ref in category_refs(row.categories)],
                "filed_at": row.filed_at,
            }
        )
    return marks


def open_disputes(context: GatewayContext, subject: bytes) -> list[DisputeRecord]:
    """The enterprise's disputes filed on the chain and not answered (blocking)."""
    with context.db.session() as session:
        return list(
            session.scalars(
                select(DisputeRecord)
                .where(DisputeRecord.subject == "0x" + subject.hex())
                .where(DisputeRecord.status == "filed")
                .order_by(DisputeRecord.created_at)
            )
        )


class DisputeService:
    """The disputes of a running gateway."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def _now(self) -> int:
        context = self._context
        return int(await context.chain_read(context.ledger.block_timestamp))

    async def _block_time(self, mined: Mined) -> int:
        context = self._context

        def read() -> int:
            return int(context.w3.eth.get_block(mined.block_number)["timestamp"])

        return await context.chain_read(read)

    async def file(self, signed_in: SignedIn, body: NewDispute) -> DisputeOut:
        """Record the enterprise's dispute on the chain (``fileDispute``) and keep its text."""
        body.check()
        context = self._context
        subject = "0x" + signed_in.subject.hex()
        asked = mask_of([parse_category(c) for c in body.categories]) if body.categories else 0
        if body.kind == "read":
            assert body.query_id is not None
            kind, reference, target, categories = await context.in_thread(
                self._read_target, subject, body.query_id, asked
            )
        else:
            assert body.item is not None
            kind, reference = DisputeKind.ITEM, body.item
            target, categories = keccak(text=body.item), asked
        dispute_id = secrets.token_bytes(32)
        salt = secrets.token_bytes(32)
        row = DisputeRecord(
            id="0x" + dispute_id.hex(),
            uscc=signed_in.uscc,
            subject=subject,
            kind="read" if kind is DisputeKind.READ else "item",
            reference=reference,
            target="0x" + target.hex(),
            categories=categories,
            reason=body.reason,
            reason_salt=salt,
            filed_by=signed_in.address,
        )
        await context.in_thread(self._add, row)
        try:
            mined = await context.transact(
                "fileDispute",
                dispute_id,
                signed_in.subject,
                int(kind),
                target,
                categories,
                _salted(salt, body.reason),
            )
        except Exception:
            await context.in_thread(self._update, row.id, {"status": "failed"})
            raise
        filed_at = await self._block_time(mined)
        filed = await context.in_thread(
            self._update,
            row.id,
            {
                "status": "filed",
                "filed_tx": "0x" + mined.tx_hash.hex(),
                "filed_block": mined.block_number,
                "filed_at": filed_at,
            },
        )
        return dispute_out(filed, filed_at)

    def _read_target(
        self, subject: str, query_id: str, asked: int
    ) -> tuple[DisputeKind, str, bytes, int]:
        try:
            number = int(query_id, 16) if query_id.startswith("0x") else int(query_id)
        except ValueError:
            raise DisputedReadUnknownError(query_id) from None
        entry = self._context.journal.by_query_id(number)
        if entry is None or entry.subject != subject or entry.block_number is None:
            raise DisputedReadUnknownError(query_id)
        categories = self._read_categories(entry, asked)
        return DisputeKind.READ, f"0x{number:064x}", number.to_bytes(32, "big"), categories

    @staticmethod
    def _read_categories(entry: JournalEntry, asked: int) -> int:
        if asked == 0:
            return entry.categories
        if asked & ~entry.categories:
            raise InvalidDisputeError(
                "dispute_categories_outside_read",
                "a read's dispute names only categories the read released",
            )
        return asked

    def _add(self, row: DisputeRecord) -> None:
        with self._context.db.session.begin() as session:
            session.add(row)

    def _update(self, dispute_id: str, values: dict[str, object]) -> DisputeRecord:
        with self._context.db.session.begin() as session:
            row = session.get(DisputeRecord, dispute_id)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)
            return row

    def _get(self, dispute_id: str, subject: str | None) -> DisputeRecord:
        with self._context.db.session() as session:
            row = session.get(DisputeRecord, dispute_id.lower()[:66])
        if row is None or (subject is not None and row.subject != subject):
            raise UnknownDisputeError(dispute_id)
        return row

    async def disputes(
        self, signed_in: SignedIn, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> DisputeList:
        """A page of the enterprise's disputes, oldest first, each with its state now."""
        subject = "0x" + signed_in.subject.hex()
        scope = scope_of("disputes", signed_in.uscc)
        self._context.cursors.decode(cursor, scope)  # refused before any work

        def read() -> list[DisputeRecord]:
            with self._context.db.session() as session:
                return list(
                    session.scalars(
                        select(DisputeRecord)
                        .where(DisputeRecord.subject == subject)
                        .order_by(DisputeRecord.created_at, DisputeRecord.id)
                    )
                )

        rows = await self._context.in_thread(read)
        page = self._context.cursors.page(
            rows,
            lambda r: (r.created_at.isoformat(), r.id),
            scope=scope,
            cursor=cursor,
            limit=limit,
        )
        now = await self._now()
        return DisputeList(
            uscc=signed_in.uscc,
            disputes=[dispute_out(r, now) for r in page.items],
            next_cursor=page.next_cursor,
        )

    async def dispute(self, signed_in: SignedIn, dispute_id: str) -> DisputeOut:
        row = await self._context.in_thread(self._get, dispute_id, "0x" + signed_in.subject.hex())
        return dispute_out(row, await self._now())

    async def all_open(self) -> list[DisputeOut]:
        """Every dispute not answered yet, oldest first (the bureau's work list)."""

        def read() -> list[DisputeRecord]:
            with self._context.db.session() as session:
                return list(
                    session.scalars(
                        select(DisputeRecord)
                        .where(DisputeRecord.status == "filed")
                        .order_by(DisputeRecord.filed_at)
                    )
                )

        rows = await self._context.in_thread(read)
        now = await self._now()
        return [dispute_out(r, now) for r in rows]

    async def answer(self, dispute_id: str, body: DisputeAnswer) -> DisputeOut:
        """Record the bureau's written answer on the chain (``answerDispute``) and keep it."""
        context = self._context
        row = await context.in_thread(self._get, dispute_id, None)
        if row.status != "filed":
            raise DisputeNotOpenError(row.id, row.status)
        outcome = DisputeOutcome.CORRECTED if body.outcome == "corrected" else DisputeOutcome.UPHELD
        salt = secrets.token_bytes(32)
        mined = await context.transact(
            "answerDispute", bytes.fromhex(row.id[2:]), int(outcome), _salted(salt, body.answer)
        )
        answered_at = await self._block_time(mined)
        answered = await context.in_thread(
            self._update,
            row.id,
            {
                "status": "answered",
                "outcome": body.outcome,
                "answer": body.answer,
                "answer_salt": salt,
                "answered_tx": "0x" + mined.tx_hash.hex(),
                "answered_block": mined.block_number,
                "answered_at": answered_at,
            },
        )
        return dispute_out(answered, answered_at)
