"""``POST /v1/auth/challenge``: the EIP-4361 message an enterprise's controller signs to sign in."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from consentledger.bureau.uscc import parse_uscc
from consentledger.gateway import siwe
from consentledger.gateway.deps import ContextDep
from consentledger.gateway.eip712_json import parse_address
from consentledger.gateway.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["enterprise sign-in"])


class ChallengeRequest(BaseModel):
    """Who signs in, for which enterprise."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=1, max_length=64, examples=["91440305MA5DKW7Q1B"])
    address: str = Field(max_length=64, description="the controller's address")


class Challenge(BaseModel):
    """A single-use sign-in message (EIP-4361) and how to present it."""

    message: str = Field(description="sign exactly this text with personal_sign (EIP-191)")
    nonce: str
    issued_at: datetime
    expires_at: datetime
    authorization: str = Field(description="how to send the signed message")


@router.post(
    "/auth/challenge", response_model=Challenge, responses=problem_responses(400, 413, 422, 503)
)
async def challenge(body: ChallengeRequest, request: Request, context: ContextDep) -> Challenge:
    """A fresh sign-in challenge for one controller of one enterprise.

    Sign the message with the controller's key (``personal_sign``) and send it on one request to
    the enterprise's views: ``Authorization: SIWE <base64url(message)>.<0x signature>``. It is
    valid for ``CONSENTLEDGER_SIWE_TTL_SECONDS`` and only once; whether the address controls the
    enterprise is checked on the chain when it is used."""
    uscc = parse_uscc(body.uscc).code
    address = parse_address(body.address, "address")
    settings = context.settings
    uri = f"{request.url.scheme}://{settings.domain}/v1/enterprises/{uscc}"
    message = await context.in_thread(
        lambda: siwe.new_challenge(
            context.db,
            uscc=uscc,
            address=address,
            domain=settings.domain,
            uri=uri,
            chain_id=context.deployment.chain_id,
            ttl_seconds=settings.siwe_ttl_seconds,
        )
    )
    assert message.expiration_time is not None
    return Challenge(
        message=message.render(),
        nonce=message.nonce,
        issued_at=message.issued_at,
        expires_at=message.expiration_time,
        authorization=siwe.HEADER_FORMAT,
    )
