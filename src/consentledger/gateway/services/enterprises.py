"""An enterprise's own view, without HTTP: who read its data, its consents, its export.

Every answer is read from the chain's events (:mod:`consentledger.gateway.ledger_views`), not
from the gateway's own records: the enterprise sees what the ledger holds. The caller is a
controller already signed in (:class:`consentledger.gateway.services.signin.SignedIn`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

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
from consentledger.gateway.receipts import category_refs
from consentledger.gateway.services.signin import SignedIn


class AccessLog(BaseModel):
    """Every read of the enterprise's data the ledger recorded, and its own exports."""

    uscc: str
    subject: str
    to_block: int = Field(description="the events are read up to this block")
    granted: int
    denied: int
    accesses: list[AccessRecord]
    exports: list[ExportRecord]


class ConsentList(BaseModel):
    """Every consent the enterprise granted, with its status now."""

    uscc: str
    subject: str
    to_block: int
    consents: list[ConsentDetails]


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

    async def accesses(self, signed_in: SignedIn) -> AccessLog:
        """Every bank read recorded under one of the enterprise's consents, granted or denied,
        and its own exports."""
        context = self._context
        ledger = context.ledger
        start = context.deployment.deploy_block

        def read() -> tuple[int, list[AccessRecord], list[ExportRecord]]:
            end = latest_block(ledger)
            return (
                end,
                subject_accesses(ledger, signed_in.subject, start, end),
                subject_exports(ledger, signed_in.subject, start, end),
            )

        end, records, exports = await context.on_chain(read)
        granted = sum(1 for r in records if r.outcome == "granted")
        return AccessLog(
            uscc=signed_in.uscc,
            subject="0x" + signed_in.subject.hex(),
            to_block=end,
            granted=granted,
            denied=len(records) - granted,
            accesses=records,
            exports=exports,
        )

    async def consents(self, signed_in: SignedIn) -> ConsentList:
        """Every consent the enterprise granted, oldest first, with its status, reads and
        events now."""
        context = self._context
        ledger = context.ledger
        start = context.deployment.deploy_block

        def read() -> tuple[int, list[ConsentDetails]]:
            end = latest_block(ledger)
            return end, subject_consents(ledger, signed_in.subject, start, end)

        end, found = await context.on_chain(read)
        return ConsentList(
            uscc=signed_in.uscc,
            subject="0x" + signed_in.subject.hex(),
            to_block=end,
            consents=found,
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
