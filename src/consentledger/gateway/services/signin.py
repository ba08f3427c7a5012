"""Enterprise sign-in (EIP-4361), without HTTP: single-use challenges, and the verification of a
signed one.

Each challenge is single use: its nonce is consumed by the first request it authorises, so a
message seen in transit is worth nothing, and there is no session to steal or to revoke.

Verification parses the message strictly (:mod:`consentledger.gateway.siwe`) and then checks, in
order, each with its own problem code: the domain (``settings.domain``), the URI's authority, the
chain id (the ledger's), the times (Expiration Time required and not passed, Not Before and Issued
At not in the future, :data:`CLOCK_SKEW` seconds allowed), that the message names the enterprise
of the URL (statement and the ``urn:consentledger:enterprise:<USCC>`` resource), the signature
(recovers to the message's address), the nonce (issued by this gateway for this address and
enterprise, unexpired, unused: consumed atomically), and finally that the address is one of the
enterprise's controllers on the chain now.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError as KeysValidationError
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select, update

from consentledger.bureau.uscc import parse_uscc
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.db import Database, SignInNonce
from consentledger.gateway.eip712_json import parse_address
from consentledger.gateway.errors import (
    SessionNotForThisEnterpriseError,
    SessionRefusedError,
    SignInNotPermittedError,
    SignInRefusedError,
    TooManySignInChallengesError,
)
from consentledger.gateway.sessions import end_session, open_session, session_of
from consentledger.gateway.siwe import (
    CLOCK_SKEW,
    EXPORT_RESOURCE,
    HEADER_FORMAT,
    RESOURCE_PREFIX,
    SiweFormatError,
    SiweMessage,
    decode_header,
    parse_message,
    statement_for,
)


class Challenge(BaseModel):
    """A single-use sign-in message (EIP-4361) and how to present it."""

    message: str = Field(description="sign exactly this text with personal_sign (EIP-191)")
    nonce: str
    issued_at: datetime
    expires_at: datetime
    authorization: str = Field(description="how to send the signed message")


def new_challenge(
    db: Database,
    *,
    uscc: str,
    address: str,
    domain: str,
    uri: str,
    chain_id: int,
    ttl_seconds: int,
    max_open: int,
    export: bool = False,
) -> SiweMessage:
    """Issue and store a single-use challenge (expired ones are purged on the way); at most
    ``max_open`` unexpired ones are kept (TooManySignInChallengesError past it). Blocking."""
    now = datetime.now(UTC).replace(microsecond=0)
    message = SiweMessage(
        domain=domain,
        address=address,
        statement=statement_for(uscc, export=export),
        uri=uri,
        chain_id=chain_id,
        nonce=secrets.token_hex(16),
        issued_at=now,
        expiration_time=now + timedelta(seconds=ttl_seconds),
        resources=(RESOURCE_PREFIX + uscc, *((EXPORT_RESOURCE,) if export else ())),
    )
    with db.session() as session, session.begin():
        session.execute(delete(SignInNonce).where(SignInNonce.expires_at < now))
        open_now = session.scalar(select(func.count()).select_from(SignInNonce)) or 0
        if open_now >= max_open:
            raise TooManySignInChallengesError(ttl_seconds)
        session.add(
            SignInNonce(
                nonce=message.nonce,
                uscc=uscc,
                address=address,
                issued_at=now,
                expires_at=message.expiration_time,
            )
        )
    return message


def _aware(moment: datetime) -> datetime:
    """A stored datetime as UTC (SQLite hands back naive ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_USED = "the nonce was used already: ask a new challenge"


def consume_nonce(db: Database, nonce: str, uscc: str, address: str, now: datetime) -> None:
    """Mark a challenge's nonce used, once; raise a 401 problem if it cannot be. Blocking."""
    with db.session() as session, session.begin():
        row = session.get(SignInNonce, nonce)
        if row is None:
            raise SignInRefusedError("siwe_unknown_nonce", "this gateway never issued that nonce")
        if row.uscc != uscc or row.address.lower() != address.lower():
            raise SignInRefusedError(
                "siwe_nonce_mismatch", "the nonce was issued for another address or enterprise"
            )
        if row.used_at is not None:
            raise SignInRefusedError("siwe_nonce_used", _USED)
        if _aware(row.expires_at) <= now:
            raise SignInRefusedError("siwe_nonce_expired", "the challenge expired: ask a new one")
        won = session.execute(
            update(SignInNonce)
            .where(SignInNonce.nonce == nonce, SignInNonce.used_at.is_(None))
            .values(used_at=now)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            raise SignInRefusedError("siwe_nonce_used", _USED)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A verified controller of an enterprise, for one request."""

    uscc: str
    subject: bytes
    address: str


class Session(BaseModel):
    """A session of one controller for one enterprise: its token, shown once."""

    token: str = Field(description="send as `Authorization: Bearer <token>`; shown once")
    uscc: str
    address: str = Field(description="the controller the session is bound to")
    expires_at: datetime
    authorization: str = Field(description="how to send the token")


class SignInService:
    """Sign-in of a running gateway: challenges and their verification."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def challenge(
        self, uscc: str, address: str, scheme: str, *, export: bool = False
    ) -> Challenge:
        """A fresh sign-in challenge for one controller of one enterprise, for a gateway reached
        over ``scheme`` (http or https); with ``export``, one that also approves an export."""
        context = self._context
        code = parse_uscc(uscc).code
        checked = parse_address(address, "address")
        settings = context.settings
        uri = f"{scheme}://{settings.domain}/v1/enterprises/{code}"
        message = await context.in_thread(
            lambda: new_challenge(
                context.db,
                uscc=code,
                address=checked,
                domain=settings.domain,
                uri=uri,
                chain_id=context.deployment.chain_id,
                ttl_seconds=settings.siwe_ttl_seconds,
                max_open=settings.max_open_challenges,
                export=export,
            )
        )
        assert message.expiration_time is not None
        return Challenge(
            message=message.render(),
            nonce=message.nonce,
            issued_at=message.issued_at,
            expires_at=message.expiration_time,
            authorization=HEADER_FORMAT,
        )

    async def open_session(self, signed_in: SignedIn) -> Session:
        """A session for a controller just signed in with EIP-4361."""
        context = self._context
        opened = await context.in_thread(
            open_session,
            context.db,
            signed_in.uscc,
            signed_in.address,
            context.settings.session_ttl_seconds,
        )
        return Session(
            token=opened.token,
            uscc=opened.uscc,
            address=opened.address,
            expires_at=opened.expires_at,
            authorization="Authorization: Bearer <token>",
        )

    async def from_session(self, token: str, uscc: str | None = None) -> SignedIn:
        """The controller a live session signs in (for ``uscc``, when given: a session is bound
        to its enterprise), still a controller on the chain now."""
        context = self._context
        row = await context.in_thread(session_of, context.db, token, datetime.now(UTC))
        if uscc is not None and row.uscc != uscc:
            raise SessionNotForThisEnterpriseError(uscc)
        subject = context.subject_of(row.uscc)
        controllers, _ = await context.on_chain(context.ledger.enterprise, subject)
        if row.address not in controllers:
            raise SessionRefusedError(
                "session_not_controller",
                f"{row.address} no longer controls enterprise {row.uscc}: the session has ended",
            )
        return SignedIn(row.uscc, subject, row.address)

    async def sign_out(self, token: str) -> None:
        """End a session (a session already ended is refused as such)."""
        context = self._context
        now = datetime.now(UTC)
        await context.in_thread(session_of, context.db, token, now)
        await context.in_thread(end_session, context.db, token, now)

    async def verify_named(self, credentials: str) -> SignedIn:
        """Check a SIWE credential for the enterprise its message names (for endpoints whose
        path names no enterprise)."""
        text, _signature = decode_header(credentials)
        named = [
            line[len("- " + RESOURCE_PREFIX) :]
            for line in text.split("\n")
            if line.startswith("- " + RESOURCE_PREFIX)
        ]
        if len(named) != 1:
            raise SignInRefusedError(
                "siwe_malformed", "the message must name exactly one enterprise as a resource"
            )
        return await self.verify(credentials, parse_uscc(named[0]).code)

    async def verify(self, credentials: str, uscc: str, *, export: bool = False) -> SignedIn:
        """Check a SIWE credential for ``uscc``'s view (a valid code), with ``export`` one that
        approves an export; raise SignInRefusedError or SignInNotPermittedError at the first
        failure."""
        context = self._context
        text, signature = decode_header(credentials)
        try:
            message = parse_message(text)
        except SiweFormatError as exc:
            raise SignInRefusedError("siwe_malformed", f"not an EIP-4361 message: {exc}") from None
        domain = context.settings.domain
        if message.domain != domain:
            raise SignInRefusedError(
                "siwe_wrong_domain",
                f"the message is for {message.domain!r}, this gateway is {domain!r}",
            )
        if urlsplit(message.uri).netloc != domain:
            raise SignInRefusedError("siwe_wrong_uri", f"the message's URI is not on {domain!r}")
        chain_id = context.deployment.chain_id
        if message.chain_id != chain_id:
            raise SignInRefusedError(
                "siwe_wrong_chain",
                f"the message is for chain {message.chain_id}; the ledger is on chain {chain_id}",
            )
        now = datetime.now(UTC)
        if message.expiration_time is None:
            raise SignInRefusedError("siwe_malformed", "the message must carry an Expiration Time")
        if message.expiration_time <= now:
            raise SignInRefusedError("siwe_expired", "the message has expired: ask a new challenge")
        skew = timedelta(seconds=CLOCK_SKEW)
        if message.issued_at > now + skew or (
            message.not_before is not None and message.not_before > now + skew
        ):
            raise SignInRefusedError("siwe_not_yet_valid", "the message is not valid yet")
        named = [
            r[len(RESOURCE_PREFIX) :] for r in message.resources if r.startswith(RESOURCE_PREFIX)
        ]
        if RESOURCE_PREFIX + uscc not in message.resources or uscc not in (message.statement or ""):
            raise SignInNotPermittedError(
                "siwe_wrong_enterprise",
                f"the sign-in is for enterprise {', '.join(named) or '(none)'}, not {uscc}",
            )
        if export and EXPORT_RESOURCE not in message.resources:
            raise SignInNotPermittedError(
                "siwe_not_an_export_approval",
                "this sign-in does not approve an export: ask a challenge with action 'export'",
            )
        try:
            signer = Account.recover_message(encode_defunct(text=text), signature=signature)
        except (BadSignature, KeysValidationError, ValueError):
            signer = None
        if signer is None or signer != message.address:
            raise SignInRefusedError(
                "siwe_bad_signature",
                f"the signature is not by the message's address {message.address}",
            )
        await context.in_thread(
            consume_nonce, context.db, message.nonce, uscc, message.address, now
        )
        subject = context.subject_of(uscc)
        controllers, _ = await context.on_chain(context.ledger.enterprise, subject)
        if message.address not in controllers:
            raise SignInNotPermittedError(
                "siwe_not_controller",
                f"{message.address} is not a controller of enterprise {uscc} on the ledger",
            )
        return SignedIn(uscc, subject, message.address)
