"""Enterprise consents, without HTTP: draft, grant, pause, resume, revoke, and the status the
chain holds.

Enterprises authenticate by signature alone: a consent or an action on one is EIP-712 typed data
signed by the enterprise's controllers (threshold k of n) and relayed by the gateway with the
relayer key. Signatures and the ledger's rules are checked before anything is sent
(:mod:`consentledger.gateway.signed_actions`), so the bureau never pays for a transaction the
contract would refuse. Typed data travels in the JSON form of
:mod:`consentledger.gateway.eip712_json` (wide integers as decimal strings).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)

from consentledger.bureau.uscc import parse_uscc
from consentledger.categories import DAY, mask_of, parse_category, parse_purpose
from consentledger.chain import typed_data
from consentledger.chain.client import ConsentView
from consentledger.gateway import eip712_json
from consentledger.gateway.api_schema import CategoryInput, PurposeInput
from consentledger.gateway.banks import BankName, bank_by_address, name_of
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import (
    DraftForAnotherBankError,
    InvalidTimeError,
    UnknownConsentError,
)
from consentledger.gateway.ledger_views import ConsentDetails, consent_details
from consentledger.gateway.receipts import (
    ReceiptFacts,
    build_receipt,
    check_receipt,
    receipt_hash,
)
from consentledger.gateway.signed_actions import parse_signatures, refused, snapshot
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import (
    MAX_CONSENT_DURATION,
    MAX_CONTROLLERS,
    ConsentStatus,
    ConsentTerms,
)

_UINT_SCHEMA = {"description": "a JSON number or a decimal string"}
Uint = Annotated[StrictInt | StrictStr, Field(json_schema_extra=_UINT_SCHEMA)]
Signatures = Annotated[
    list[Annotated[str, Field(max_length=200)]],
    Field(
        min_length=1,
        max_length=MAX_CONTROLLERS,
        description="65-byte ECDSA signatures (r, s, v) as 0x-hex, one per signing controller",
    ),
]

#: Actions on a consent: the EIP-712 type, the contract function, the state model's method.
ACTIONS: dict[str, tuple[typed_data.PrimaryType, str, str]] = {
    "revoke": ("Revocation", "revokeConsent", "revoke_consent"),
    "pause": ("Pause", "pauseConsent", "pause_consent"),
    "resume": ("Resume", "resumeConsent", "resume_consent"),
}
Action = Literal["revoke", "pause", "resume"]


class TypedDataDocument(BaseModel):
    """EIP-712 typed data, ready for ``eth_signTypedData_v4``."""

    model_config = ConfigDict(populate_by_name=True)

    types: dict[str, list[dict[str, str]]]
    primary_type: str = Field(alias="primaryType")
    domain: dict[str, Any]
    message: dict[str, Any]


class ConsentDraftRequest(BaseModel):
    """A consent in human terms. Give either ``expires_at`` or ``duration_days``."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=1, max_length=64, examples=["91440305MA5DKW7Q1B"])
    bank: str = Field(max_length=64, description="the bank's address on the ledger")
    categories: list[CategoryInput] = Field(
        min_length=1, max_length=64, examples=[["business_registration", 2, "tax"]]
    )
    purpose: PurposeInput = Field(examples=["credit_underwriting"])
    not_before: AwareDatetime | None = Field(
        default=None,
        description="RFC 3339 with an offset, or Unix seconds; default: now, as the chain sees it",
    )
    expires_at: AwareDatetime | None = None
    duration_days: int | None = Field(default=None, ge=1, le=MAX_CONSENT_DURATION // DAY)
    max_reads: int = Field(default=0, ge=0, le=2**32 - 1, description="0: the purpose's cap")
    history_months: int = Field(ge=0, le=2**16 - 1)
    sign_within_seconds: int = Field(
        default=DAY, ge=60, le=30 * DAY, description="signatures must be relayed within this"
    )

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if (self.expires_at is None) == (self.duration_days is None):
            raise ValueError("give exactly one of expires_at and duration_days")
        return self


class ConsentDraft(BaseModel):
    """What the enterprise's controllers sign, and the receipt it commits to."""

    consent_id: str = Field(description="the id the consent will have (EIP-712 digest)")
    typed_data: TypedDataDocument
    receipt: dict[str, Any] = Field(description="the consent receipt (ISO/IEC TS 27560 style)")
    receipt_hash: str = Field(description="keccak256(receipt_salt || the receipt's RFC 8785 bytes)")
    receipt_salt: str = Field(
        description="the salt of the receipt hash: keep it with the receipt (the chain holds "
        "only the salted hash, so nobody can test a guessed receipt or USCC against it)"
    )
    deadline: datetime = Field(description="the signatures must be relayed before this")


class ConsentMessage(BaseModel):
    """The EIP-712 Consent message, field for field (JSON form: see ``GET /v1/eip712``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    subject: str = Field(max_length=66)
    bank: str = Field(max_length=64)
    categories: Uint
    purpose: Uint
    not_before: Uint = Field(alias="notBefore")
    expires_at: Uint = Field(alias="expiresAt")
    max_reads: Uint = Field(alias="maxReads")
    history_months: Uint = Field(alias="historyMonths")
    receipt_hash: str = Field(alias="receiptHash", max_length=66)
    nonce: Uint
    deadline: Uint


class GrantRequest(BaseModel):
    """A signed consent to relay, optionally with its receipt (then checked against the terms)."""

    model_config = ConfigDict(extra="forbid")

    message: ConsentMessage
    signatures: Signatures
    receipt: dict[str, Any] | None = None


class GrantResult(BaseModel):
    """A consent the chain has granted."""

    consent_id: str
    status: str
    tx_hash: str
    block_number: int
    consent: ConsentDetails


class ActionRequest(BaseModel):
    """A signed Pause, Resume or Revocation (the consent id is in the path)."""

    model_config = ConfigDict(extra="forbid")

    nonce: Uint
    deadline: Uint
    signatures: Signatures


class ActionResult(BaseModel):
    """An action the chain has applied."""

    consent_id: str
    action: Action
    status: str
    tx_hash: str
    block_number: int


class ActionDraftRequest(BaseModel):
    """Which action to draft."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    sign_within_seconds: int = Field(default=DAY, ge=60, le=30 * DAY)


class ActionDraft(BaseModel):
    """An action's typed data to sign, and where to send the signatures."""

    consent_id: str
    action: Action
    typed_data: TypedDataDocument
    endpoint: str
    deadline: datetime


def _timestamp(moment: datetime, field: str) -> int:
    seconds = int(moment.timestamp())
    if seconds < 0:
        raise InvalidTimeError(f"{field} lies before 1970", field=field)
    return seconds


class ConsentService:
    """The consent flows of a running gateway. Each raises the package's named errors: a refusal
    the state model foresees is the contract's own error, marked as found before sending."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    def _domain(self) -> typed_data.Domain:
        deployment = self._context.deployment
        return typed_data.Domain(deployment.chain_id, deployment.address)

    def _document(
        self, primary: typed_data.PrimaryType, message: dict[str, Any]
    ) -> TypedDataDocument:
        raw = typed_data.typed_data(self._domain(), primary, message)
        return TypedDataDocument.model_validate(eip712_json.document_as_json(raw))

    def _bank_name(self, address: str) -> BankName | None:
        bank = bank_by_address(self._context.db, address)
        return name_of(bank) if bank is not None else None

    async def _named(self, details: ConsentDetails) -> ConsentDetails:
        """The consent with its bank's legal names."""
        name = await self._context.in_thread(self._bank_name, details.bank)
        return details.model_copy(update={"bank_name": name})

    async def _existing(self, consent_id: bytes) -> ConsentView:
        context = self._context
        view = await context.on_chain(context.ledger.consent, consent_id)
        if view.status is ConsentStatus.NONE:
            raise UnknownConsentError(consent_id)
        return view

    async def draft(self, body: ConsentDraftRequest, asking_bank: str | None) -> ConsentDraft:
        """The EIP-712 Consent to sign for these terms, with a fresh keyed nonce, a deadline and
        the consent receipt it commits to. The terms are judged by the state model against the
        chain now as if the enterprise's controllers had signed: a draft the ledger would refuse
        raises the contract's error instead. ``asking_bank`` is the bank that asks (it drafts
        consents to itself only), None for a signed-in controller of the enterprise."""
        context = self._context
        bank = eip712_json.parse_address(body.bank, "bank")
        if asking_bank is not None and asking_bank.lower() != bank.lower():
            raise DraftForAnotherBankError()
        uscc = parse_uscc(body.uscc).code
        subject = context.subject_of(uscc)
        mask = mask_of(parse_category(c) for c in body.categories)
        purpose = parse_purpose(body.purpose)
        key = secrets.randbits(192)
        snap = await context.on_chain(
            partial(snapshot, context.ledger, subject, key << 64, bank=bank, purpose=int(purpose))
        )
        chain_now = snap.now - 1
        not_before = (
            chain_now if body.not_before is None else _timestamp(body.not_before, "not_before")
        )
        if body.expires_at is not None:
            expires_at = _timestamp(body.expires_at, "expires_at")
        else:
            expires_at = not_before + (body.duration_days or 0) * DAY
        terms = ConsentTerms(
            subject=subject,
            bank=bank,
            categories=mask,
            purpose=int(purpose),
            not_before=not_before,
            expires_at=expires_at,
            max_reads=body.max_reads,
            history_months=body.history_months,
            receipt_hash=bytes(32),
            nonce=snap.model.nonce(subject, key),
            deadline=chain_now + body.sign_within_seconds,
        )
        try:
            snap.model.grant_consent(terms, bytes(32), snap.hypothetical_signers, snap.now)
        except LedgerRevertError as exc:
            raise refused(exc) from None
        facts = ReceiptFacts(
            uscc=uscc,
            bank_name=await context.in_thread(self._bank_name, bank),
            caps=snap.model.purposes[int(purpose)],
            domain=self._domain(),
            gateway=context.settings.domain,
            issued_at=int(time.time()),
        )
        receipt = build_receipt(terms, facts)
        salt = context.receipt_salt_of(subject, terms.nonce)
        terms = replace(terms, receipt_hash=receipt_hash(receipt, salt))
        raw = typed_data.typed_data(self._domain(), "Consent", terms.message())
        return ConsentDraft(
            consent_id="0x" + typed_data.digest(raw).hex(),
            typed_data=self._document("Consent", terms.message()),
            receipt=receipt,
            receipt_hash="0x" + terms.receipt_hash.hex(),
            receipt_salt="0x" + salt.hex(),
            deadline=datetime.fromtimestamp(terms.deadline, UTC),
        )

    @staticmethod
    def terms_of(message: ConsentMessage) -> ConsentTerms:
        """The terms of a Consent message in its JSON form (bad values: InvalidTypedDataError)."""
        values = eip712_json.from_json("Consent", message.model_dump(by_alias=True))
        return ConsentTerms(
            subject=values["subject"],
            bank=values["bank"],
            categories=values["categories"],
            purpose=values["purpose"],
            not_before=values["notBefore"],
            expires_at=values["expiresAt"],
            max_reads=values["maxReads"],
            history_months=values["historyMonths"],
            receipt_hash=values["receiptHash"],
            nonce=values["nonce"],
            deadline=values["deadline"],
        )

    async def grant(self, body: GrantRequest) -> GrantResult:
        """Relay a signed consent to the chain, once its signatures, signers, threshold, nonce,
        deadline and terms are judged by the state model on the chain's state."""
        context = self._context
        terms = self.terms_of(body.message)
        document = typed_data.typed_data(self._domain(), "Consent", terms.message())
        consent_id = typed_data.digest(document)
        signatures, signers = parse_signatures(body.signatures, document)
        if body.receipt is not None:
            salt = context.receipt_salt_of(terms.subject, terms.nonce)
            check_receipt(body.receipt, terms, context.subject_of, salt)
        snap = await context.on_chain(
            partial(
                snapshot,
                context.ledger,
                terms.subject,
                terms.nonce,
                bank=terms.bank,
                purpose=terms.purpose,
            )
        )
        try:
            snap.model.grant_consent(terms, consent_id, signers, snap.now)
        except LedgerRevertError as exc:
            raise refused(exc) from None
        mined = await context.transact("grantConsent", terms.as_tuple(), signatures)
        view = await context.on_chain(context.ledger.consent, consent_id)
        details = await context.on_chain(
            consent_details, context.ledger, view, mined.block_number, mined.block_number
        )
        return GrantResult(
            consent_id="0x" + consent_id.hex(),
            status=view.status.name,
            tx_hash="0x" + mined.tx_hash.hex(),
            block_number=mined.block_number,
            consent=await self._named(details),
        )

    async def details(self, consent_id: bytes) -> ConsentDetails:
        """A consent as the chain sees it now: status, reads used and left, terms, its events."""
        context = self._context
        view = await self._existing(consent_id)
        details = await context.on_chain(
            consent_details, context.ledger, view, context.deployment.deploy_block
        )
        return await self._named(details)

    async def act(self, action: Action, consent_id: bytes, body: ActionRequest) -> ActionResult:
        """Relay a signed Revocation, Pause or Resume, once the state model allows it."""
        context = self._context
        primary, function, model_method = ACTIONS[action]
        nonce = eip712_json.parse_uint(body.nonce, 256, "nonce")
        deadline = eip712_json.parse_uint(body.deadline, 256, "deadline")
        message = {"consentId": consent_id, "nonce": nonce, "deadline": deadline}
        document = typed_data.typed_data(self._domain(), primary, message)
        signatures, signers = parse_signatures(body.signatures, document)
        view = await self._existing(consent_id)
        snap = await context.on_chain(
            partial(snapshot, context.ledger, view.subject, nonce, consent=view)
        )
        try:
            getattr(snap.model, model_method)(consent_id, nonce, deadline, signers, snap.now)
        except LedgerRevertError as exc:
            raise refused(exc) from None
        mined = await context.transact(function, consent_id, nonce, deadline, signatures)
        after = await context.on_chain(context.ledger.consent, consent_id)
        return ActionResult(
            consent_id="0x" + consent_id.hex(),
            action=action,
            status=after.status.name,
            tx_hash="0x" + mined.tx_hash.hex(),
            block_number=mined.block_number,
        )

    async def draft_action(self, consent_id: bytes, body: ActionDraftRequest) -> ActionDraft:
        """The typed data of a Revocation, Pause or Resume to sign, with a fresh keyed nonce and
        a deadline. An action the consent's status does not allow is refused now."""
        context = self._context
        primary, _, model_method = ACTIONS[body.action]
        view = await self._existing(consent_id)
        key = secrets.randbits(192)
        snap = await context.on_chain(
            partial(snapshot, context.ledger, view.subject, key << 64, consent=view)
        )
        nonce = snap.model.nonce(view.subject, key)
        deadline = snap.now - 1 + body.sign_within_seconds
        try:
            getattr(snap.model, model_method)(
                consent_id, nonce, deadline, snap.hypothetical_signers, snap.now
            )
        except LedgerRevertError as exc:
            raise refused(exc) from None
        message = {"consentId": consent_id, "nonce": nonce, "deadline": deadline}
        hex_id = "0x" + consent_id.hex()
        return ActionDraft(
            consent_id=hex_id,
            action=body.action,
            typed_data=self._document(primary, message),
            endpoint=f"/v1/consents/{hex_id}/{body.action}",
            deadline=datetime.fromtimestamp(deadline, UTC),
        )
