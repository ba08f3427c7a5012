"""Enterprise consents: draft, grant, pause, resume, revoke, and the status the chain holds.

The flows themselves are :mod:`consentledger.gateway.services.consents`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from consentledger.bureau.store import UnknownEnterpriseError
from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.categories import UnknownCategoryError, UnknownPurposeError
from consentledger.gateway.deps import ConsentServiceDep, DraftingBank
from consentledger.gateway.errors import (
    DraftForAnotherBankError,
    InvalidAddressError,
    InvalidSignatureError,
    InvalidTimeError,
    InvalidTypedDataError,
    MalformedSignatureError,
    ReceiptHashMismatchError,
    ReceiptTermsMismatchError,
    UnknownConsentError,
)
from consentledger.gateway.ledger_views import ConsentDetails
from consentledger.gateway.operations import (
    BUREAU_READ,
    CHAIN_READ,
    CHAIN_WRITE,
    Declared,
    Revert,
    operation,
)
from consentledger.gateway.services.consents import (
    ActionDraft,
    ActionDraftRequest,
    ActionRequest,
    ActionResult,
    ConsentDraft,
    ConsentDraftRequest,
    GrantRequest,
    GrantResult,
)

router = APIRouter(prefix="/v1", tags=["enterprise consents"])

ConsentIdPath = Annotated[
    str,
    Path(
        pattern=r"^0x[0-9a-fA-F]{64}$",
        description="The consent id: the EIP-712 digest of the signed Consent message",
        examples=["0x" + "ab" * 32],
    ),
]


#: The terms a consent can be refused for, by the state model before anything is sent or by
#: the chain.
TERMS_PROBLEMS: tuple[Declared, ...] = (
    UnknownCategoryError,
    UnknownPurposeError,
    InvalidAddressError,
    InvalidTimeError,
    *(
        Revert(name)
        for name in (
            "MembershipUnknownEnterprise",
            "ConsentsBankNotActive",
            "ConsentsCategoriesNotAllowed",
            "ConsentsDurationExceedsCap",
            "ConsentsExpiryInPast",
            "ConsentsExpiryTooFar",
            "ConsentsHistoryExceedsCap",
            "ConsentsInvalidCategories",
            "ConsentsInvalidWindow",
            "ConsentsReadsExceedCap",
            "ConsentsUnknownPurpose",
        )
    ),
)
#: The controllers' signatures of an action, checked as OpenZeppelin's ECDSA and the contract
#: will.
SIGNATURE_PROBLEMS: tuple[Declared, ...] = (
    InvalidTypedDataError,
    MalformedSignatureError,
    InvalidSignatureError,
    *(
        Revert(name)
        for name in (
            "MembershipSignerNotController",
            "MembershipThresholdNotMet",
            "MembershipDuplicateSigner",
            "MembershipSignatureExpired",
            "InvalidAccountNonce",
        )
    ),
)
#: A consent the controllers signed, granted on the chain.
GRANT_PROBLEMS: tuple[Declared, ...] = (
    *TERMS_PROBLEMS,
    *SIGNATURE_PROBLEMS,
    ReceiptHashMismatchError,
    ReceiptTermsMismatchError,
    *CHAIN_WRITE,
)
#: A Revocation, Pause or Resume of a consent.
ACTION_PROBLEMS: tuple[Declared, ...] = (
    UnknownConsentError,
    Revert("ConsentsInvalidTransition"),
    *SIGNATURE_PROBLEMS,
    *CHAIN_WRITE,
)


def _consent_id(text: str) -> bytes:
    return bytes.fromhex(text[2:])


@router.post(
    "/consents/draft",
    response_model=ConsentDraft,
    **operation(
        "draftConsent",
        (InvalidUSCCError, UnknownEnterpriseError, DraftForAnotherBankError),
        TERMS_PROBLEMS,
        CHAIN_READ,
        BUREAU_READ,
    ),
)
async def draft_consent(
    body: ConsentDraftRequest, consents: ConsentServiceDep, asking_bank: DraftingBank
) -> ConsentDraft:
    """The EIP-712 Consent to sign for these terms, with a fresh keyed nonce, a deadline and the
    consent receipt it commits to.

    Asked for by the bank the consent is for (its API key as a Bearer token) or by a controller
    of the enterprise signed in with EIP-4361 (``SIWE``): a draft names the enterprise's subject
    id, which nobody else may learn from its USCC.

    The terms are judged by the state model against the chain now (purpose caps, categories, bank,
    window) as if the enterprise's controllers had signed: a draft the ledger would refuse is
    answered with the contract's error instead (``prechecked``)."""
    return await consents.draft(body, asking_bank)


@router.post(
    "/consents",
    status_code=201,
    response_model=GrantResult,
    **operation("grantConsent", GRANT_PROBLEMS),
)
async def grant_consent(
    body: GrantRequest, consents: ConsentServiceDep, response: Response
) -> GrantResult:
    """Relay a signed consent to the chain.

    Each signature is parsed and its signer recovered; the signers, threshold, nonce, deadline and
    terms are judged by the state model on the chain's state before anything is sent. Refusals
    are problems named after the contract error (``membership_signer_not_controller``,
    ``invalid_account_nonce``, ``consents_reads_exceed_cap``, ...)."""
    granted = await consents.grant(body)
    response.headers["Location"] = f"/v1/consents/{granted.consent_id}"
    return granted


@router.get(
    "/consents/{consent_id}",
    response_model=ConsentDetails,
    **operation("getConsent", (UnknownConsentError,), CHAIN_READ),
)
async def get_consent(consent_id: ConsentIdPath, consents: ConsentServiceDep) -> ConsentDetails:
    """A consent as the chain sees it now: status, reads used and left, terms, and its events.

    This is what anyone reading the chain can see (the subject is a keyed hash, never the USCC),
    so it needs no sign-in."""
    return await consents.details(_consent_id(consent_id))


@router.post(
    "/consents/{consent_id}/revoke",
    response_model=ActionResult,
    **operation("revokeConsent", ACTION_PROBLEMS),
)
async def revoke_consent(
    consent_id: ConsentIdPath, body: ActionRequest, consents: ConsentServiceDep
) -> ActionResult:
    """Revoke a consent for good (signed Revocation). Reads recorded from the next block on are
    denied (REVOKED)."""
    return await consents.act("revoke", _consent_id(consent_id), body)


@router.post(
    "/consents/{consent_id}/pause",
    response_model=ActionResult,
    **operation("pauseConsent", ACTION_PROBLEMS),
)
async def pause_consent(
    consent_id: ConsentIdPath, body: ActionRequest, consents: ConsentServiceDep
) -> ActionResult:
    """Pause an active consent (signed Pause): reads are denied (PAUSED) until it is resumed."""
    return await consents.act("pause", _consent_id(consent_id), body)


@router.post(
    "/consents/{consent_id}/resume",
    response_model=ActionResult,
    **operation("resumeConsent", ACTION_PROBLEMS),
)
async def resume_consent(
    consent_id: ConsentIdPath, body: ActionRequest, consents: ConsentServiceDep
) -> ActionResult:
    """Resume a paused consent (signed Resume)."""
    return await consents.act("resume", _consent_id(consent_id), body)


@router.post(
    "/consents/{consent_id}/actions/draft",
    response_model=ActionDraft,
    **operation(
        "draftConsentAction",
        (UnknownConsentError, InvalidTimeError, Revert("ConsentsInvalidTransition")),
        CHAIN_READ,
    ),
)
async def draft_action(
    consent_id: ConsentIdPath, body: ActionDraftRequest, consents: ConsentServiceDep
) -> ActionDraft:
    """The typed data of a Revocation, Pause or Resume to sign, with a fresh keyed nonce and a
    deadline. An action the consent's status does not allow is refused now (409)."""
    return await consents.draft_action(_consent_id(consent_id), body)
