"""An enterprise's own view, without HTTP: who read its data, its consents, its export, and the
change of its controllers.

Every answer is read from the chain's events (:mod:`consentledger.gateway.ledger_views`), not
from the gateway's own records: the enterprise sees what the ledger holds. The caller is a
controller already signed in (:class:`consentledger.gateway.services.signin.SignedIn`).

An export and a change of controllers widen access as a consent does, so they are authorised the
same way, by the contract: EIP-712 typed data (``Export``, ``ChangeControllers``) the gateway
drafts with a fresh keyed nonce, k of the enterprise's controllers sign, and the gateway relays
once the state model foresees no refusal.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Any, Literal

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

from consentledger.bureau.documents import (
    JSONObject,
    canonical_bytes,
    last_complete_month,
    month_index,
)
from consentledger.bureau.store import BureauStore
from consentledger.categories import DAY, SEEDED_CATEGORIES, Category, mask_of
from consentledger.gateway import eip712_json
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.eip712_json import parse_address
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
from consentledger.gateway.services.consents import Signatures, TypedDataDocument, Uint
from consentledger.gateway.services.signin import SignedIn
from consentledger.gateway.signed_actions import Snapshot, parse_signatures, refused, snapshot
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import MAX_CONTROLLERS

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]


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


class SignedDraftRequest(BaseModel):
    """How long the controllers have to sign."""

    model_config = ConfigDict(extra="forbid")

    sign_within_seconds: int = Field(default=DAY, ge=60, le=30 * DAY)


class ControllersDraftRequest(SignedDraftRequest):
    """The controller set the enterprise is to have, and its signing threshold."""

    controllers: list[Address] = Field(min_length=1, max_length=MAX_CONTROLLERS)
    threshold: int = Field(ge=1, le=MAX_CONTROLLERS)


class SignedDraft(BaseModel):
    """Typed data k of the enterprise's controllers sign, and where to send the signatures."""

    typed_data: TypedDataDocument
    endpoint: str
    deadline: datetime


class SignedAction(BaseModel):
    """An ``Export`` or a ``CancelRecovery`` signed by k of the enterprise's controllers (from
    its draft)."""

    model_config = ConfigDict(extra="forbid")

    nonce: Uint
    deadline: Uint
    signatures: Signatures


class SignedControllerChange(SignedAction):
    """A ``ChangeControllers`` signed by k of the enterprise's current controllers."""

    controllers: list[Address] = Field(min_length=1, max_length=MAX_CONTROLLERS)
    threshold: int = Field(ge=1, le=MAX_CONTROLLERS)


class ControllerSet(BaseModel):
    """The enterprise's controllers and threshold as the chain holds them after the change."""

    uscc: str
    subject: str
    controllers: list[str]
    threshold: int
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

    async def _snapshot(self, subject: bytes, nonce: int, *, recovery: bool = False) -> Snapshot:
        context = self._context
        return await context.on_chain(
            partial(snapshot, context.ledger, subject, nonce, categories=True, recovery=recovery)
        )

    async def _fresh(
        self, subject: bytes, within: int, *, recovery: bool = False
    ) -> tuple[Snapshot, int, int]:
        """A snapshot for a new signed action of ``subject``, its fresh keyed nonce and deadline."""
        key = secrets.randbits(192)
        snap = await self._snapshot(subject, key << 64, recovery=recovery)
        return snap, snap.model.nonce(subject, key), snap.now - 1 + within

    def _draft(self, document: dict[str, Any], endpoint: str, deadline: int) -> SignedDraft:
        return SignedDraft(
            typed_data=TypedDataDocument.model_validate(eip712_json.document_as_json(document)),
            endpoint=endpoint,
            deadline=datetime.fromtimestamp(deadline, UTC),
        )

    async def draft_export(self, signed_in: SignedIn, body: SignedDraftRequest) -> SignedDraft:
        """The ``Export`` of all the enterprise's data for k of its controllers to sign."""
        ledger, subject = self._context.ledger, signed_in.subject
        mask = mask_of(SEEDED_CATEGORIES)
        snap, nonce, deadline = await self._fresh(subject, body.sign_within_seconds)
        try:
            snap.model.record_export(
                ledger.account.address,
                subject,
                mask,
                nonce,
                deadline,
                snap.hypothetical_signers,
                snap.now,
            )
        except LedgerRevertError as exc:
            raise refused(exc) from None
        document = ledger.export_document(subject, mask, nonce, deadline)
        return self._draft(document, f"/v1/enterprises/{signed_in.uscc}/export", deadline)

    async def export(self, signed_in: SignedIn, body: SignedAction) -> ExportResult:
        """The enterprise's own data in every category the bureau supplies, over its whole
        record, released once the export is recorded on the chain (``PortabilityExported``)
        with a salted hash of the data. The ``Export`` must carry k of the enterprise's
        controllers' signatures, as a consent does: the contract checks them."""
        context = self._context
        ledger, subject = context.ledger, signed_in.subject
        nonce = eip712_json.parse_uint(body.nonce, 256, "nonce")
        deadline = eip712_json.parse_uint(body.deadline, 256, "deadline")
        mask = mask_of(SEEDED_CATEGORIES)
        document = ledger.export_document(subject, mask, nonce, deadline)
        signatures, signers = parse_signatures(body.signatures, document)
        snap = await self._snapshot(subject, nonce)
        try:
            snap.model.record_export(
                ledger.account.address, subject, mask, nonce, deadline, signers, snap.now
            )
        except LedgerRevertError as exc:
            raise refused(exc) from None
        record, history = await context.in_thread(whole_record, context.bureau, signed_in.uscc)
        salt = secrets.token_bytes(32)
        export_hash = keccak(salt + canonical_bytes(record))
        mined = await context.transact(
            "recordExport", subject, mask, export_hash, nonce, deadline, signatures
        )
        return ExportResult(
            uscc=signed_in.uscc,
            history_months=history,
            categories=[CategoryRef(**ref) for ref in category_refs(mask)],
            data=record,
            export_hash="0x" + export_hash.hex(),
            salt="0x" + salt.hex(),
            tx_hash="0x" + mined.tx_hash.hex(),
            block_number=mined.block_number,
        )

    async def draft_controllers(
        self, signed_in: SignedIn, body: ControllersDraftRequest
    ) -> SignedDraft:
        """The ``ChangeControllers`` to this set for k of the current controllers to sign."""
        ledger, subject = self._context.ledger, signed_in.subject
        controllers = [str(to_checksum_address(c)) for c in body.controllers]
        snap, nonce, deadline = await self._fresh(subject, body.sign_within_seconds)
        try:
            snap.model.change_controllers(
                subject,
                controllers,
                body.threshold,
                nonce,
                deadline,
                snap.hypothetical_signers,
                snap.now,
            )
        except LedgerRevertError as exc:
            raise refused(exc) from None
        document = ledger.controller_set_document(
            "ChangeControllers", subject, controllers, body.threshold, deadline, nonce
        )
        return self._draft(document, f"/v1/enterprises/{signed_in.uscc}/controllers", deadline)

    async def change_controllers(
        self, signed_in: SignedIn, body: SignedControllerChange
    ) -> ControllerSet:
        """Relay a ``ChangeControllers`` signed by k of the current controllers."""
        context = self._context
        ledger, subject = context.ledger, signed_in.subject
        nonce = eip712_json.parse_uint(body.nonce, 256, "nonce")
        deadline = eip712_json.parse_uint(body.deadline, 256, "deadline")
        controllers = [str(to_checksum_address(c)) for c in body.controllers]
        document = ledger.controller_set_document(
            "ChangeControllers", subject, controllers, body.threshold, deadline, nonce
        )
        signatures, signers = parse_signatures(body.signatures, document)
        snap = await self._snapshot(subject, nonce)
        try:
            snap.model.change_controllers(
                subject, controllers, body.threshold, nonce, deadline, signers, snap.now
            )
        except LedgerRevertError as exc:
            raise refused(exc) from None
        mined = await context.transact(
            "changeControllers", subject, controllers, body.threshold, nonce, deadline, signatures
        )
        now_set, threshold = await context.on_chain(ledger.enterprise, subject)
        return ControllerSet(
            uscc=signed_in.uscc,
            subject="0x" + subject.hex(),
            controllers=list(now_set),
            threshold=threshold,
            tx_hash="0x" + mined.tx_hash.hex(),
            block_number=mined.block_number,
        )

    async def draft_cancel_recovery(
        self, signed_in: SignedIn, body: SignedDraftRequest
    ) -> SignedDraft:
        """The ``CancelRecovery`` of the recovery pending for the enterprise, for k of its
        current controllers to sign (none pending: the contract's ``RecoveryNotPending``)."""
        ledger, subject = self._context.ledger, signed_in.subject
        snap, nonce, deadline = await self._fresh(subject, body.sign_within_seconds, recovery=True)
        try:
            snap.model.cancel_recovery(
                subject, nonce, deadline, snap.hypothetical_signers, snap.now
            )
        except LedgerRevertError as exc:
            raise refused(exc) from None
        document = ledger.cancel_recovery_document(subject, nonce, deadline)
        return self._draft(document, f"/v1/enterprises/{signed_in.uscc}/recovery/cancel", deadline)

    async def cancel_recovery(self, signed_in: SignedIn, body: SignedAction) -> ControllerSet:
        """Relay a ``CancelRecovery`` signed by k of the current controllers: the controllers
        stay as they are."""
        context = self._context
        ledger, subject = context.ledger, signed_in.subject
        nonce = eip712_json.parse_uint(body.nonce, 256, "nonce")
        deadline = eip712_json.parse_uint(body.deadline, 256, "deadline")
        document = ledger.cancel_recovery_document(subject, nonce, deadline)
        signatures, signers = parse_signatures(body.signatures, document)
        snap = await self._snapshot(subject, nonce, recovery=True)
        try:
            snap.model.cancel_recovery(subject, nonce, deadline, signers, snap.now)
        except LedgerRevertError as exc:
            raise refused(exc) from None
        mined = await context.transact("cancelRecovery", subject, nonce, deadline, signatures)
        controllers, threshold = await context.on_chain(ledger.enterprise, subject)
        return ControllerSet(
            uscc=signed_in.uscc,
            subject="0x" + subject.hex(),
            controllers=list(controllers),
            threshold=threshold,
            tx_hash="0x" + mined.tx_hash.hex(),
            block_number=mined.block_number,
        )
