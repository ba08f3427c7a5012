"""``/v1/admin``: the bureau operator's endpoints (operator token): banks, enterprises, the
sources' feed credentials and the disputes to answer.

The flows themselves are :mod:`consentledger.gateway.services.admin` and
:mod:`consentledger.gateway.services.feeds`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from consentledger.bureau.feed_credentials import (
    KindNotOfSourceError,
    NoFeedCredentialError,
    UnknownFeedKeyIdError,
)
from consentledger.bureau.feeds import UnknownSourceError
from consentledger.bureau.known_at import InvalidKnownAtError
from consentledger.bureau.store import UnknownEnterpriseError
from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.categories import UnknownCategoryError
from consentledger.gateway.deps import (
    AdminServiceDep,
    DisputeServiceDep,
    FeedServiceDep,
    KnownAtServiceDep,
    operator,
)
from consentledger.gateway.errors import (
    BankExistsError,
    DisputeNotOpenError,
    InvalidAddressError,
    InvalidLicenceNumberError,
    InvalidSignatureError,
    InvalidTypedDataError,
    MalformedSignatureError,
    RegulatorKeyMissingError,
    UnknownBankError,
    UnknownDisputeError,
    UnknownKeyIdError,
)
from consentledger.gateway.operations import (
    BUREAU_READ,
    CHAIN_READ,
    CHAIN_WRITE,
    Declared,
    Revert,
    operation,
)
from consentledger.gateway.routes.enterprises import SET_PROBLEMS as CONTROLLER_SET_PROBLEMS
from consentledger.gateway.services.admin import (
    ApiKeyOut,
    BankAction,
    BankOut,
    ControllerSetDraft,
    CreatedBank,
    EnterpriseOut,
    NewBank,
    NewControllers,
    NewEnterprise,
    ProvenControllers,
    RecoveryOut,
    RotatedApiKey,
    SignedEnterprise,
)
from consentledger.gateway.services.disputes import DisputeAnswer, DisputeOut
from consentledger.gateway.services.feeds import (
    FeedCredentialOut,
    IssuedFeedCredential,
    NewFeedCredential,
)
from consentledger.gateway.services.known_at import KnownDocument

router = APIRouter(prefix="/v1/admin", tags=["administration"], dependencies=[Depends(operator)])

#: A bank named by its address in the path.
BANK = (InvalidAddressError, UnknownBankError)
#: The regulator's moves on the chain, signed by its key in the gateway.
REGULATOR = (RegulatorKeyMissingError, *CHAIN_WRITE)
#: A source named in the path, and its credential kept in the bureau's database.
SOURCE = (UnknownSourceError, NoFeedCredentialError, *BUREAU_READ)


@router.post(
    "/banks",
    response_model=CreatedBank,
    status_code=201,
    **operation(
        "addBank", (InvalidAddressError, InvalidLicenceNumberError, BankExistsError), REGULATOR
    ),
)
async def add_bank(body: NewBank, admin: AdminServiceDep) -> CreatedBank:
    """Admit a bank on the chain (BANK role) and give it an API key."""
    return await admin.add_bank(body)


@router.get("/banks", response_model=list[BankOut], **operation("listBanks", CHAIN_READ))
async def banks(admin: AdminServiceDep) -> list[BankOut]:
    """Every bank the gateway serves, with its standing on the chain now."""
    return await admin.banks()


@router.post(
    "/banks/{address}/suspend",
    response_model=BankAction,
    **operation(
        "suspendBank",
        BANK,
        (Revert("MembershipBankAlreadySuspended"), Revert("MembershipNotABank")),
        REGULATOR,
    ),
)
async def suspend_bank(address: str, admin: AdminServiceDep) -> BankAction:
    """Suspend a bank (the regulator's role): its reads are denied from the next block on."""
    return await admin.set_bank_standing(address, suspend=True)


@router.post(
    "/banks/{address}/reinstate",
    response_model=BankAction,
    **operation("reinstateBank", BANK, (Revert("MembershipBankNotSuspended"),), REGULATOR),
)
async def reinstate_bank(address: str, admin: AdminServiceDep) -> BankAction:
    """Reinstate a suspended bank (the regulator's role)."""
    return await admin.set_bank_standing(address, suspend=False)


@router.get(
    "/banks/{address}/keys", response_model=ApiKeyOut, **operation("getBankKey", BANK, CHAIN_READ)
)
async def bank_key(address: str, admin: AdminServiceDep) -> ApiKeyOut:
    """The bank's API key id and whether it works (never the key)."""
    return await admin.api_key(address)


@router.post(
    "/banks/{address}/keys",
    response_model=RotatedApiKey,
    status_code=201,
    **operation("rotateBankKey", BANK, CHAIN_READ),
)
async def rotate_key(address: str, admin: AdminServiceDep) -> RotatedApiKey:
    """Give the bank a new API key (shown once; only its hash is kept). The old key stops
    working at once."""
    return await admin.rotate_key(address)


@router.delete(
    "/banks/{address}/keys/{key_id}",
    response_model=ApiKeyOut,
    **operation("revokeBankKey", BANK, (UnknownKeyIdError,), CHAIN_READ),
)
async def revoke_key(address: str, key_id: str, admin: AdminServiceDep) -> ApiKeyOut:
    """Revoke the bank's API key ``key_id``: it stops working at once; the bank has no key
    until the next rotation."""
    return await admin.revoke_key(address, key_id)


#: A controller set and threshold, proven by each controller's signature of the drafted
#: ``Registration`` or ``Recovery``.
SET_PROBLEMS: tuple[Declared, ...] = (InvalidUSCCError, *CONTROLLER_SET_PROBLEMS)
#: The controllers' signatures of the drafted set.
PROOF_PROBLEMS: tuple[Declared, ...] = (
    InvalidTypedDataError,
    MalformedSignatureError,
    InvalidSignatureError,
    *(
        Revert(name)
        for name in (
            "MembershipSignatureExpired",
            "MembershipProofsMismatch",
            "MembershipControllerNotProven",
        )
    ),
)
_REGISTRATION: tuple[Declared, ...] = (
    Revert("MembershipZeroSubject"),
    Revert("MembershipEnterpriseAlreadyRegistered"),
)
_RECOVERY: tuple[Declared, ...] = (RegulatorKeyMissingError, Revert("MembershipUnknownEnterprise"))


@router.post(
    "/enterprises/draft",
    response_model=ControllerSetDraft,
    **operation("draftEnterpriseRegistration", SET_PROBLEMS, _REGISTRATION, CHAIN_READ),
)
async def draft_enterprise(body: NewEnterprise, admin: AdminServiceDep) -> ControllerSetDraft:
    """The EIP-712 ``Registration`` of an enterprise with these controllers and threshold, with
    its subject id and a deadline: every controller signs it (proof that it holds its key)."""
    return await admin.draft_enterprise(body)


@router.post(
    "/enterprises",
    response_model=EnterpriseOut,
    status_code=201,
    **operation("registerEnterprise", SET_PROBLEMS, PROOF_PROBLEMS, _REGISTRATION, CHAIN_WRITE),
)
async def register_enterprise(body: SignedEnterprise, admin: AdminServiceDep) -> EnterpriseOut:
    """Register an enterprise under its subject id with its controllers and threshold, with
    each controller's signature of the drafted ``Registration``, in the controllers' order (the
    contract checks every one)."""
    return await admin.register_enterprise(body)


@router.get(
    "/disputes",
    response_model=list[DisputeOut],
    **operation("listOpenDisputes", CHAIN_READ),
)
async def open_disputes(disputes: DisputeServiceDep) -> list[DisputeOut]:
    """Every dispute not answered yet, oldest first, each with its answer's due time (the
    filing's block time + 20 days, 征信业管理条例 art. 25)."""
    return await disputes.all_open()


@router.post(
    "/disputes/{dispute_id}/answer",
    response_model=DisputeOut,
    **operation("answerDispute", (UnknownDisputeError, DisputeNotOpenError), CHAIN_WRITE),
)
async def answer_dispute(
    dispute_id: Annotated[str, Path(min_length=1, max_length=66)],
    body: DisputeAnswer,
    disputes: DisputeServiceDep,
) -> DisputeOut:
    """The bureau's written answer to a dispute, corrected or upheld: recorded on the chain
    (``DisputeAnswered``, with a salted hash of the text) and shown to the enterprise."""
    return await disputes.answer(dispute_id, body)


@router.post(
    "/enterprises/{uscc}/recovery/draft",
    response_model=ControllerSetDraft,
    **operation("draftEnterpriseRecovery", SET_PROBLEMS, _RECOVERY, CHAIN_READ),
)
async def draft_recovery(
    uscc: str, body: NewControllers, admin: AdminServiceDep
) -> ControllerSetDraft:
    """The EIP-712 ``Recovery`` of a registered enterprise to new controllers, for each of them
    to sign (needs the regulator's key in the gateway)."""
    return await admin.draft_recovery(uscc, body)


@router.post(
    "/enterprises/{uscc}/recovery",
    response_model=RecoveryOut,
    status_code=201,
    **operation("startEnterpriseRecovery", SET_PROBLEMS, PROOF_PROBLEMS, _RECOVERY, CHAIN_WRITE),
)
async def start_recovery(uscc: str, body: ProvenControllers, admin: AdminServiceDep) -> RecoveryOut:
    """Start a lost-key recovery (the regulator's key): the new controllers replace the current
    ones once the contract's delay has passed, unless k of the current controllers cancel it
    first (``RecoveryStarted`` is on the chain for them to see)."""
    return await admin.start_recovery(uscc, body)


@router.post(
    "/sources/{source}/credential",
    response_model=IssuedFeedCredential,
    status_code=201,
    **operation("issueFeedCredential", (UnknownSourceError, KindNotOfSourceError), BUREAU_READ),
)
async def issue_feed_credential(
    source: str, feeds: FeedServiceDep, body: NewFeedCredential | None = None
) -> IssuedFeedCredential:
    """Issue a source (a department) its credential for the push API, bound to its record kinds
    (or fewer): shown once, only its hash is kept. An earlier credential stops working at once."""
    return await feeds.issue(source, body or NewFeedCredential())


@router.get(
    "/sources/{source}/credential",
    response_model=FeedCredentialOut,
    **operation("getFeedCredential", SOURCE),
)
async def feed_credential(source: str, feeds: FeedServiceDep) -> FeedCredentialOut:
    """The source's credential id, its record kinds and whether it works (never the secret)."""
    return await feeds.credential(source)


@router.delete(
    "/sources/{source}/credential/{key_id}",
    response_model=FeedCredentialOut,
    **operation("revokeFeedCredential", SOURCE, (UnknownFeedKeyIdError,)),
)
async def revoke_feed_credential(
    source: str, key_id: str, feeds: FeedServiceDep
) -> FeedCredentialOut:
    """Revoke the source's credential ``key_id``: it stops working at once; the source has none
    until the next issue."""
    return await feeds.revoke(source, key_id)


@router.get(
    "/enterprises/{uscc}/document",
    response_model=KnownDocument,
    **operation(
        "getDocumentKnownAt",
        (InvalidKnownAtError, UnknownCategoryError, InvalidUSCCError, UnknownEnterpriseError),
        BUREAU_READ,
    ),
)
async def document_known_at(
    uscc: str,
    known_at: Annotated[
        str,
        Query(
            max_length=40,
            description="ISO 8601 date-time (a date: the end of that day, UTC)",
            examples=["2026-11-30T12:00:00Z"],
        ),
    ],
    view: KnownAtServiceDep,
    categories: Annotated[
        list[str], Query(max_length=16, description="Codes or names, repeated or comma-separated")
    ] = [],  # noqa: B006 - FastAPI copies the default
    history_months: Annotated[int, Query(ge=0, le=0xFFFF)] = 12,
    as_of: Annotated[
        date | None, Query(description="The data's date (default: the dataset's)")
    ] = None,
) -> KnownDocument:
    """An enterprise's document as the bureau would have built it at ``known_at``: every record
    at the version its feed log held then (for disputes and audits; a bank's read is always of
    the current versions)."""
    return await view.document(uscc, known_at, categories, history_months, as_of)
