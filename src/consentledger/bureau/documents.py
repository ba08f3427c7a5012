"""JSON-ready documents: value types, exact formatting, and RFC 8785 canonical bytes.

A bureau document holds only strings, integers, booleans, None, lists and string-keyed dicts:
amounts are decimal strings in yuan with two places (``"1234.50"``), dates are ISO 8601
(``"2025-06-30"``), months ``"2025-06"``. Floats are refused, so the canonical bytes
(RFC 8785, via the ``rfc8785`` package) and their SHA-256 are the same in every process and on
every machine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import rfc8785

from consentledger.errors import ConsentLedgerError

JSONValue = str | int | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject = dict[str, JSONValue]
JSONArray = list[JSONValue]

#: The largest integer RFC 8785 (I-JSON) represents exactly.
MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonicalizableError(ConsentLedgerError, TypeError):
    """A document holds a value that has no exact canonical JSON form (a float, say)."""

    code = "not_canonicalizable"

    def __init__(self, path: str, value: object, reason: str) -> None:
        self.path = path
        self.value = value
        super().__init__(f"document value at {path} ({value!r}) cannot be canonicalised: {reason}")


@dataclass(frozen=True, slots=True)
class CanonicalDocument:
    """A document's RFC 8785 canonical bytes and their SHA-256 digest."""

    data: bytes
    sha256: bytes

    @property
    def sha256_hex(self) -> str:
        """The digest as 64 lower-case hex characters."""
        return self.sha256.hex()


def _check(value: object, path: str) -> None:
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonicalizableError(path, value, "integers beyond 2**53 - 1 lose precision")
        return
    if isinstance(value, float):
        raise NotCanonicalizableError(path, value, "floats are not allowed; use decimal strings")
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonicalizableError(path, key, "object keys must be strings")
            _check(item, f"{path}.{key}")
        return
    raise NotCanonicalizableError(path, value, f"{type(value).__name__} is not a JSON type")


def assert_json_ready(document: object) -> None:
    """Raise :class:`NotCanonicalizableError` unless ``document`` is float-free plain JSON."""
    _check(document, "$")


def canonical_bytes(document: JSONValue) -> bytes:
    """The RFC 8785 (JCS) canonical UTF-8 bytes of a float-free JSON document."""
    assert_json_ready(document)
    return rfc8785.dumps(document)


def canonicalize(document: JSONValue) -> CanonicalDocument:
    """The canonical bytes of ``document`` and their SHA-256 digest."""
    data = canonical_bytes(document)
    return CanonicalDocument(data=data, sha256=hashlib.sha256(data).digest())


def format_fen(fen: int) -> str:
    """Fen (0.01 yuan) as a yuan decimal string: ``123456`` -> ``"1234.56"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def parse_amount(text: str) -> Decimal:
    """A yuan decimal string as an exact Decimal (ValueError if malformed)."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    return value


def format_decimal(value: Decimal) -> str:
    """A Decimal as a plain (never scientific) decimal string."""
    return format(value, "f")


# Months are integer indexes (year * 12 + month - 1), so that windows are plain arithmetic.


def month_index(day: date) -> int:
    """The month of ``day`` as an integer index: ``year * 12 + month - 1``."""
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    """The first day of the month with this index."""
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, 1)


def month_end(index: int) -> date:
    """The last day of the month with this index."""
    return date.fromordinal(month_start(index + 1).toordinal() - 1)


def month_label(index: int) -> str:
    """The ISO 8601 month ``YYYY-MM``."""
    year, month0 = divmod(index, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def parse_month_label(text: str) -> int:
    """The index of an ISO 8601 month ``YYYY-MM`` (raises ValueError if malformed)."""
    year, dash, month = text.partition("-")
    digits = year + month
    if not (dash and len(year) == 4 and len(month) == 2 and digits.isascii() and digits.isdigit()):
        raise ValueError(f"not a YYYY-MM month: {text!r}")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"not a YYYY-MM month: {text!r}")
    return int(year) * 12 + int(month) - 1


def last_complete_month(as_of: date) -> int:
    """The index of the latest month ended by ``as_of`` (its own month on its last day)."""
    index = month_index(as_of)
    return index if month_end(index) == as_of else index - 1
