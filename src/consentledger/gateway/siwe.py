"""Sign-In with Ethereum (EIP-4361) messages: the format, strict parsing, the credential header.

An enterprise's controller asks for a challenge (``POST /v1/auth/challenge``), signs the exact
message with ``personal_sign`` (EIP-191) and sends it with the request it authorises::

    Authorization: SIWE <base64url(message)>.<0x signature>

(base64url of the UTF-8 message, padding optional; a dot; the 65-byte signature as 0x-hex).
Messages are parsed strictly by the ABNF of EIP-4361. Issuing challenges and verifying a
credential is :mod:`consentledger.gateway.services.signin`.

The ``siwe`` package is not used: it pins web3 below 8.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eth_utils.address import is_checksum_address

from consentledger.errors import ConsentLedgerError
from consentledger.gateway.errors import SignInRefusedError

#: Seconds a client's clock may run ahead of the gateway's (Issued At, Not Before).
CLOCK_SKEW = 60
#: The resource naming the enterprise a sign-in is for.
RESOURCE_PREFIX = "urn:consentledger:enterprise:"
#: The resource of a sign-in that also approves an export of the enterprise's data (one of the
#: k controllers' approvals an export needs).
EXPORT_RESOURCE = "urn:consentledger:action:export"
HEADER_FORMAT = "Authorization: SIWE <base64url(message)>.<0x signature>"

_PREAMBLE = " wants you to sign in with your Ethereum account:"
# RFC 3986 pieces, as EIP-4361 uses them.
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_AUTHORITY = (
    r"(?:[A-Za-z0-9\-._~%!$&'()*+,;=:]*@)?"  # userinfo
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)"  # host
    r"(?::[0-9]*)?"  # port
)
_URI = re.compile(_SCHEME + r":[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_FIRST_LINE = re.compile(rf"(?:(?P<scheme>{_SCHEME})://)?(?P<domain>{_AUTHORITY}){_PREAMBLE}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_STATEMENT = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;= ]+")
_NONCE = re.compile(r"[A-Za-z0-9]{8,}")
_CHAIN_ID = re.compile(r"[0-9]+")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%]*")


class SiweFormatError(ConsentLedgerError, ValueError):
    """A message that is not an EIP-4361 message (the reason names the first offending part)."""

    code = "siwe_malformed"


@dataclass(frozen=True, slots=True)
class SiweMessage:
    """An EIP-4361 message, field for field."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    version: str = "1"
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)
    scheme: str | None = None

    def render(self) -> str:
        """The message text, exactly as EIP-4361 lays it out."""
        prefix = f"{self.scheme}://" if self.scheme else ""
        lines = [f"{prefix}{self.domain}{_PREAMBLE}", self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines += [
            "",
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_rfc3339(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {_rfc3339(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {_rfc3339(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {resource}" for resource in self.resources]
        return "\n".join(lines)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_time(text: str, what: str) -> datetime:
    if not _DATE_TIME.fullmatch(text):
        raise SiweFormatError(f"{what} is not an RFC 3339 date-time: {text!r}")
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise SiweFormatError(f"{what} is not a valid date-time: {text!r}") from None


class _Lines:
    """The message's lines, consumed in ABNF order."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.at = 0

    def peek(self) -> str | None:
        return self.lines[self.at] if self.at < len(self.lines) else None

    def take(self, what: str) -> str:
        line = self.peek()
        if line is None:
            raise SiweFormatError(f"the message ends before its {what}")
        self.at += 1
        return line

    def field(self, tag: str, pattern: re.Pattern[str], what: str) -> str:
        line = self.take(what)
        if not line.startswith(tag):
            raise SiweFormatError(f"expected {tag!r} (line {self.at}), got {line[:60]!r}")
        value = line[len(tag) :]
        if not pattern.fullmatch(value):
            raise SiweFormatError(f"{what} is malformed: {value[:80]!r}")
        return value

    def optional(self, tag: str, pattern: re.Pattern[str], what: str) -> str | None:
        line = self.peek()
        if line is None or not line.startswith(tag):
            return None
        return self.field(tag, pattern, what)


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message strictly (LF line ends, fields in order, no trailing text)."""
    if "\r" in text:
        raise SiweFormatError("lines end with LF only")
    lines = _Lines(text)
    first = _FIRST_LINE.fullmatch(lines.take("preamble"))
    if first is None:
        raise SiweFormatError(f"the first line must be '<domain>{_PREAMBLE}'")
    address = lines.take("address")
    if not _ADDRESS.fullmatch(address):
        raise SiweFormatError(f"the address line is not 0x and 40 hex digits: {address[:60]!r}")
    if not is_checksum_address(address):
        raise SiweFormatError("the address must be EIP-55 checksummed")
    if lines.take("blank line after the address") != "":
        raise SiweFormatError("a blank line must follow the address")
    statement: str | None = None
    line = lines.take("statement or blank line")
    if line != "":
        if not _STATEMENT.fullmatch(line):
            raise SiweFormatError("the statement holds characters EIP-4361 does not allow")
        statement = line
        if lines.take("blank line after the statement") != "":
            raise SiweFormatError("a blank line must follow the statement")
    uri = lines.field("URI: ", _URI, "URI")
    version = lines.field("Version: ", re.compile("1"), "Version (must be 1)")
    chain_id = int(lines.field("Chain ID: ", _CHAIN_ID, "Chain ID"))
    nonce = lines.field("Nonce: ", _NONCE, "Nonce (at least 8 letters or digits)")
    issued_at = _date_time(lines.field("Issued At: ", re.compile(".+"), "Issued At"), "Issued At")
    expiration = lines.optional("Expiration Time: ", re.compile(".+"), "Expiration Time")
    not_before = lines.optional("Not Before: ", re.compile(".+"), "Not Before")
    request_id = lines.optional("Request ID: ", _REQUEST_ID, "Request ID")
    resources: list[str] = []
    if lines.peek() == "Resources:":
        lines.take("Resources")
        while lines.peek() is not None:
            resources.append(lines.field("- ", _URI, "resource"))
    if lines.peek() is not None:
        raise SiweFormatError(f"unexpected text at line {lines.at + 1}: {lines.peek()!r:.60}")
    return SiweMessage(
        domain=first["domain"],
        scheme=first["scheme"],
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=chain_id,
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=_date_time(expiration, "Expiration Time") if expiration else None,
        not_before=_date_time(not_before, "Not Before") if not_before else None,
        request_id=request_id,
        resources=tuple(resources),
    )


# ---------------------------------------------------------------------- challenges


def statement_for(uscc: str, *, export: bool = False) -> str:
    """The statement of a sign-in for ``uscc``'s enterprise view (or approving its export)."""
    if export:
        return (
            f"Approve, as a controller of enterprise {uscc}, one export of all its data from "
            "ConsentLedger (an export needs as many controllers as a consent)."
        )
    return (
        f"Sign in to ConsentLedger as a controller of enterprise {uscc} to see every read of its "
        "data, its consents, and to export its data."
    )


def decode_header(credentials: str) -> tuple[str, bytes]:
    """``<base64url(message)>.<0x signature>`` -> (message text, 65-byte signature)."""
    encoded, dot, signature = credentials.rpartition(".")
    if not dot or not encoded:
        raise SignInRefusedError("siwe_malformed", f"the credentials must read {HEADER_FORMAT}")
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise SignInRefusedError(
            "siwe_malformed", "the message is not base64url-encoded UTF-8"
        ) from None
    if not re.fullmatch(r"0x[0-9a-fA-F]{130}", signature):
        raise SignInRefusedError("siwe_malformed", "the signature must be 0x and 130 hex digits")
    return text, bytes.fromhex(signature[2:])
