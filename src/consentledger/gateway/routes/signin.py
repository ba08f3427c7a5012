"""``POST /v1/auth/challenge``: the EIP-4361 message an enterprise's controller signs to sign in."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.gateway.deps import SignInServiceDep, anonymous_limit
from consentledger.gateway.errors import InvalidAddressError, TooManySignInChallengesError
from consentledger.gateway.operations import CHAIN_READ, operation
from consentledger.gateway.services.signin import Challenge

router = APIRouter(prefix="/v1", tags=["enterprise sign-in"])


class ChallengeRequest(BaseModel):
    """Who signs in, for which enterprise."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=1, max_length=64, examples=["91440305MA5DKW7Q1B"])
    address: str = Field(max_length=64, description="the controller's address")
    action: Literal["view", "export"] = Field(
        default="view",
        description="'export': the signed message also approves one export of the enterprise's "
        "data (sent as one of the export's approvals)",
    )


@router.post(
    "/auth/challenge",
    response_model=Challenge,
    **operation(
        "createSignInChallenge",
        (InvalidUSCCError, InvalidAddressError, TooManySignInChallengesError),
        CHAIN_READ,
    ),
    dependencies=[Depends(anonymous_limit)],
)
async def challenge(
    body: ChallengeRequest, request: Request, sign_in: SignInServiceDep
) -> Challenge:
    """A fresh sign-in challenge for one controller of one enterprise.

    Sign the message with the controller's key (``personal_sign``) and send it on one request to
    the enterprise's views: ``Authorization: SIWE <base64url(message)>.<0x signature>``. It is
    valid for ``CONSENTLEDGER_SIWE_TTL_SECONDS`` and only once; whether the address controls the
    enterprise is checked on the chain when it is used. Anyone may ask, so a client address may
    ask ``CONSENTLEDGER_CHALLENGES_PER_MINUTE`` times a minute (429 past it), and the gateway keeps
    at most ``CONSENTLEDGER_MAX_OPEN_CHALLENGES`` open challenges (503 past it)."""
    return await sign_in.challenge(
        body.uscc, body.address, request.url.scheme, export=body.action == "export"
    )
