"""Enterprise sign-in: ``POST /v1/auth/challenge`` (the EIP-4361 message a controller signs), and
sessions (``POST /v1/enterprises/{uscc}/sessions``, ``DELETE /v1/auth/session``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from consentledger.bureau.uscc import InvalidUSCCError
from consentledger.gateway.db import GatewayDatabaseError
from consentledger.gateway.deps import (
    FreshSignIn,
    SessionToken,
    SignInServiceDep,
    UsccPath,
    anonymous_limit,
)
from consentledger.gateway.errors import (
    InvalidAddressError,
    SessionRefusedError,
    TooManySignInChallengesError,
)
from consentledger.gateway.operations import CHAIN_READ, operation
from consentledger.gateway.services.signin import Challenge, Session

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


@router.post(
    "/enterprises/{uscc}/sessions",
    status_code=201,
    response_model=Session,
    **operation("openSession", CHAIN_READ),
)
async def open_session(
    uscc: UsccPath, signed_in: FreshSignIn, sign_in: SignInServiceDep
) -> Session:
    """Open a session with one sign-in (``Authorization: SIWE ...``, the challenge signed by a
    controller): its token views the enterprise (accesses, consents, requests) and answers its
    consent requests without a new wallet signature each time, as
    ``Authorization: Bearer <token>``.

    The session is bound to the enterprise and the controller, lasts at most
    ``CONSENTLEDGER_SESSION_TTL_SECONDS``, ends when signed out, and ends when the address stops
    controlling the enterprise on the chain. Only its hash is stored. Whatever changes the
    chain (a grant, an approval, a revocation, an export) still needs the controllers'
    signatures."""
    return await sign_in.open_session(signed_in)


@router.delete(
    "/auth/session",
    status_code=204,
    **operation("signOut", (SessionRefusedError, GatewayDatabaseError)),
)
async def sign_out(token: SessionToken, sign_in: SignInServiceDep) -> Response:
    """Sign out: the session's token stops working at once."""
    await sign_in.sign_out(token)
    return Response(status_code=204)
