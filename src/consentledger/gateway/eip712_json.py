"""EIP-712 typed data as JSON that every client reads without losing precision.

The rule is by Solidity type, so a field always has the same JSON type whatever its value:

* ``uint64`` and wider (``categories``, ``notBefore``, ``expiresAt``, ``nonce``, ``deadline``):
  **decimal strings**. A JSON number is an IEEE double in JavaScript, exact only up to 2**53, and a
  keyed nonce is a 256-bit number;
* narrower unsigned integers (``purpose``, ``maxReads``, ``historyMonths``): JSON numbers;
* ``bytes32``: ``0x`` and 64 hex digits; ``address``: EIP-55 checksummed.

The EIP-712 domain is the one ``GET /v1/eip712`` publishes (``chainId`` a number: chain ids stay
below 2**53). Wallets (``eth_signTypedData_v4``) and eth-account accept decimal strings for
integers, so the document is signed as it is. Inbound, integers are accepted as JSON numbers or
decimal strings and checked against their type's width; anything else is a 422 problem naming the
field. The types come from :data:`consentledger.chain.typed_data.TYPES`; nothing is restated here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eth_utils.address import is_checksum_address, to_checksum_address

from consentledger.chain import typed_data
from consentledger.gateway.errors import InvalidAddressError, InvalidTypedDataError

#: Integers wider than this many bits travel as decimal strings.
SAFE_INTEGER_BITS = 53

_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_DECIMAL = re.compile(r"[0-9]{1,78}")


def _bits(solidity_type: str) -> int:
    return int(solidity_type.removeprefix("uint") or "256")


def as_json(primary_type: typed_data.PrimaryType, message: Mapping[str, Any]) -> dict[str, Any]:
    """``message`` (Python values: bytes, ints, addresses) in its JSON-safe form."""
    out: dict[str, Any] = {}
    for field in typed_data.TYPES[primary_type]:
        name, kind = field["name"], field["type"]
        value = message[name]
        if kind == "bytes32":
            out[name] = "0x" + bytes(value).hex()
        elif kind == "address":
            out[name] = to_checksum_address(value)
        elif kind == "address[]":
            out[name] = [to_checksum_address(v) for v in value]
        elif kind.startswith("uint"):
            out[name] = str(int(value)) if _bits(kind) > SAFE_INTEGER_BITS else int(value)
        else:  # pragma: no cover - every type of TYPES is handled above
            raise TypeError(f"no JSON form for EIP-712 type {kind}")
    return out


def document_as_json(document: Mapping[str, Any]) -> dict[str, Any]:
    """A complete typed-data document (from :func:`typed_data.typed_data`) in JSON-safe form."""
    primary: typed_data.PrimaryType = document["primaryType"]
    return {**document, "message": as_json(primary, document["message"])}


def parse_uint(value: object, bits: int, field: str) -> int:
    """An unsigned integer of ``bits`` bits from a JSON number or a decimal string."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = int(value)
    if number is None or not 0 <= number < 2**bits:
        raise InvalidTypedDataError(
            f"{field} must be a uint{bits}: a JSON number or a decimal string, got {value!r}",
            field=field,
        )
    return number


def parse_bytes32(value: object, field: str) -> bytes:
    """32 bytes from ``0x`` and 64 hex digits."""
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise InvalidTypedDataError(
            f"{field} must be 0x and 64 hex digits, got {value!r}",
            field=field,
        )
    return bytes.fromhex(value[2:])


def parse_address(value: object, field: str) -> str:
    """A checksummed address; mixed case must be a valid EIP-55 checksum."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InvalidAddressError(
            f"{field} must be 0x and 40 hex digits, got {value!r}",
            field=field,
        )
    body = value[2:]
    mixed = body != body.lower() and body != body.upper()
    if mixed and not is_checksum_address(value):
        raise InvalidAddressError(
            f"{field} {value} has a wrong EIP-55 checksum (mistyped?)",
            field=field,
        )
    return to_checksum_address(value)


def from_json(primary_type: typed_data.PrimaryType, message: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON message back to Python values, every field checked against its EIP-712 type.

    Missing or extra fields are refused: a signature covers exactly the type's fields."""
    fields = typed_data.TYPES[primary_type]
    expected = {f["name"] for f in fields}
    missing = sorted(expected - set(message))
    extra = sorted(set(message) - expected)
    if missing or extra:
        raise InvalidTypedDataError(
            f"a {primary_type} message has exactly the fields {sorted(expected)}",
            missing=missing,
            unexpected=extra,
        )
    out: dict[str, Any] = {}
    for field in fields:
        name, kind = field["name"], field["type"]
        value = message[name]
        if kind == "bytes32":
            out[name] = parse_bytes32(value, name)
        elif kind == "address":
            out[name] = parse_address(value, name)
        elif kind.startswith("uint"):
            out[name] = parse_uint(value, _bits(kind), name)
        else:
            raise InvalidTypedDataError(f"{primary_type} messages are not accepted here")
    return out
