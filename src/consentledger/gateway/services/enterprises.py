"""An enterprise's own view, without HTTP: who read its data, its consents, its export.

Every answer is read from the chain's events (:mod:`consentledger.gateway.ledger_views`), not
from the gateway's own records: the enterprise sees what the ledger holds. The caller is a
controller already signed in (:class:`consentledger.gateway.services.signin.SignedIn`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, Field

from consentledger.bureau.documents import (
    JSONObject,
    canonical_bytes,
    last_complete_month,
    month_index,
)
from consentledger.bureau.store import BureauStore
from consentledger.categories import SEEDED_CATEGORIES, Category, mask_of
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.eip712_json import parse_address
from consentledger.gateway.errors import ExportNeedsMoreControllersError
from consentledger.gateway.ledger_views import (
    AccessRecord,
    CategoryRef,
    ConsentDetails,
    ExportRecord,
    latest_block,
    subject_accesses,
    subject_consents,
    subject_exports,
)
from consentledger.gateway.pagination import scope_of
from consentledger.gateway.receipts import category_refs
from consentledger.gateway.services.banks import BankDirectory
from consentledger.gateway.services.signin import SignedIn


class AccessLog(BaseModel):
    """The reads of the enterprise's data the ledger recorded (one page, oldest first), and its
    own exports."""

    uscc: str
    subject: str
    to_block: int = Field(description="the events are read up to this block")
    granted: int = Field(description="every granted read, whatever the filters")
    denied: int = Field(description="every denied read, whatever the filters")
    accesses: list[AccessRecord]
    exports: list[ExportRecord] = Field(description="every export (not paged)")
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")


class ConsentList(BaseModel):
    """The consents the enterprise granted, with their status now (one page, oldest first)."""

    uscc: str
    subject: str
    to_block: int
    consents: list[ConsentDetails]
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")


Outcome = Literal["granted", "denied"]
ConsentStatusName = Literal["ACTIVE", "PAUSED", "REVOKED", "EXPIRED"]


class ExportResult(BaseModel):
    """The enterprise's data, and where the export is recorded on the chain."""

    uscc: str
    history_months: int = Field(
        description="the window that covers the whole record: from the founding month on"
    )
    categories: list[CategoryRef]
    data: dict[str, Any]
    export_hash: str = Field(description="keccak256(salt || RFC 8785 bytes of `data`)")
    salt: str
    tx_hash: str
    block_number: int


def whole_record(store: BureauStore, uscc: str) -> tuple[JSONObject, int]:
    """The enterprise's document in every supplied category over its whole life, and the window.

    The window runs from the founding month to the latest complete month, so every point of every
    series is in it (a smaller one would cut old tax or customs years)."""
    registration = store.fetch(uscc, [Category.BUSINESS_REGISTRATION], 0)
    sections = registration["categories"]
    assert isinstance(sections, dict)
    section = sections["business_registration"]
    assert isinstance(section, dict)
    founded, as_of = section["founded"], registration["as_of"]
    assert isinstance(founded, str)
    assert isinstance(as_of, str)
    months = last_complete_month(date.fromisoformat(as_of)) - month_index(
        date.fromisoformat(founded)
    )
    history = max(0, months + 1)
    return store.fetch(uscc, SEEDED_CATEGORIES, history), history


class EnterpriseViewService:
    """The enterprise views of a running gateway, for a signed-in controller."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def accesses(
        self,
        signed_in: SignedIn,
        *,
        outcome: Outcome | None = None,
        bank: str | None = None,
        consent_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> AccessLog:
        """The bank reads recorded under the enterprise's consents, granted or denied, in chain
        order, filtered and one page at a time, each naming its bank; and its own exports."""
        context = self._context
        ledger = context.ledger
        start = context.deployment.deploy_block
        bank = parse_address(bank, "bank") if bank is not None else None
        consent = consent_id.lower() if consent_id is not None else None

        def read() -> tuple[int, list[AccessRecord], list[ExportRecord]]:
            end = latest_block(ledger)
            return (
                end,
                subject_accesses(ledger, signed_in.subject, start, end),
                subject_exports(ledger, signed_in.subject, start, end),
            )

        end, records, exports = await context.on_chain(read)
        granted = sum(1 for r in records if r.outcome == "granted")
        chosen = [
            r
            for r in records
            if (outcome is None or r.outcome == outcome)
            and (bank is None or r.bank == bank)
            and (consent is None or r.consent_id == consent)
        ]
        scope = scope_of("accesses", signed_in.uscc, outcome=outcome, bank=bank, consent_id=consent)
        page = context.cursors.page(
            chosen, lambda r: (r.block_number, r.log_index), scope=scope, cursor=cursor, limit=limit
        )
        names = await BankDirectory(context).names({r.bank for r in page.items})
        return AccessLog(
            uscc=signed_in.uscc,
            subject="0x" + signed_in.subject.hex(),
            to_block=end,
            granted=granted,
            denied=len(records) - granted,
            accesses=[r.model_copy(update={"bank_name": names.get(r.bank)}) for r in page.items],
            exports=exports,
            next_cursor=page.next_cursor,
        )

    async def consents(
        self,
        signed_in: SignedIn,
        *,
        status: ConsentStatusName | None = None,
        bank: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ConsentList:
        """The consents the enterprise granted, oldest first, with their status, reads and
        events now, each naming its bank; filtered and one page at a time."""
        context = self._context
        ledger = context.ledger
        start = context.deployment.deploy_block
        bank = parse_address(bank, "bank") if bank is not None else None

        def read() -> tuple[int, list[ConsentDetails]]:
            end = latest_block(ledger)
            return end, subject_consents(ledger, signed_in.subject, start, end)

        end, found = await context.on_chain(read)
        chosen = [
            c
            for c in found
            if (status is None or c.status == status) and (bank is None or c.bank == bank)
        ]
        scope = scope_of("consents", signed_in.uscc, status=status, bank=bank)
        page = context.cursors.page(
            chosen,
            lambda c: (c.events[0].block_number, c.events[0].log_index),
            scope=scope,
            cursor=cursor,
            limit=limit,
        )
        names = await BankDirectory(context).names({c.bank for c in page.items})
        return ConsentList(
            uscc=signed_in.uscc,
            subject="0x" + signed_in.subject.hex(),
            to_block=end,
            consents=[c.model_copy(update={"bank_name": names.get(c.bank)}) for c in page.items],
            next_cursor=page.next_cursor,
        )

    async def export(self, signed_in: SignedIn, approvals: Sequence[SignedIn]) -> ExportResult:
        """The enterprise's own data in every category the bureau supplies, over its whole
        record, released once the export is recorded on the chain (``PortabilityExported``)
        with a salted hash of the data. The signed-in controller and those of ``approvals``
        (verified export sign-ins for the same enterprise) must be at least the enterprise's
        threshold of distinct controllers, as for a consent."""
        context = self._context
        approvers = {signed_in.address} | {
            a.address for a in approvals if a.subject == signed_in.subject
        }
        _controllers, threshold = await context.on_chain(
            context.ledger.enterprise, signed_in.subject
        )
        if len(approvers) < threshold:
            raise ExportNeedsMoreControllersError(len(approvers), threshold)
        document, history = await context.in_thread(whole_record, context.bureau, signed_in.uscc)
        salt = secrets.token_bytes(32)
        export_hash = keccak(salt + canonical_bytes(document))
        mask = mask_of(SEEDED_CATEGORIES)
        mined = await context.transact("recordExport", signed_in.subject, mask, export_hash)
        return ExportResult(
            uscc=signed_in.uscc,
            history_months=history,
            categories=[CategoryRef(**ref) for ref in category_refs(mask)],
            data=document,
            export_hash="0x" + export_hash.hex(),
            salt="0x" + salt.hex(),
            tx_hash="0x" + mined.tx_hash.hex(),
            block_number=mined.block_number,
        )
