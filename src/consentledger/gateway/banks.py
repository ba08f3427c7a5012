"""Banks and their API keys.

A key is ``clk_<key id>_<secret>``: the key id finds the bank, the secret is stored only as its
SHA-256 and compared in constant time. An unknown key id costs the same comparison, so a caller
cannot tell a wrong id from a wrong secret by timing.

A bank is admitted with its legal name in English and in Chinese and its financial licence number
(金融许可证 机构编码; :func:`parse_licence_number` checks its shape). Views, receipts and reports
name a bank by :class:`BankName` beside its address; a bank admitted before legal names has none
and is shown by its address.

A bank has one key at a time. Rotating gives it a new key id and secret (the old key stops
working); revoking its key id leaves it with none until the next rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consentledger.gateway.db import Bank, Database
from consentledger.gateway.errors import (
    BankExistsError,
    InvalidLicenceNumberError,
    UnknownBankError,
    UnknownKeyIdError,
)

_PREFIX = "clk_"
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()
#: The stored hash of a revoked key: no SHA-256 hex digest equals it.
_REVOKED = ""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key() -> tuple[str, str, str]:
    """A new key id, the stored hash of a new secret, and the API key to show once."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, _hash(secret), f"{_PREFIX}{key_id}_{secret}"


#: The shape of a financial licence's institution code (机构编码), as printed on the 金融许可证:
#: a letter for the institution type (B: bank), four digits for the legal entity, a letter for
#: its level (H: head office), and nine digits (the place's administrative division and a
#: sequence), e.g. B0011H144030001. Only the shape is checked, not the regulator's register.
_LICENCE = re.compile(r"[A-Z][0-9]{4}[A-Z][0-9]{9}")


def parse_licence_number(text: str) -> str:
    """A licence number in its canonical form (NFKC, upper case, no spaces), or
    :class:`InvalidLicenceNumberError`."""
    canonical = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    if not _LICENCE.fullmatch(canonical):
        raise InvalidLicenceNumberError(text)
    return canonical


class BankName(BaseModel):
    """A bank's legal names and licence number, shown beside its address."""

    name_zh: str = Field(description="the legal name in Chinese")
    name_en: str = Field(description="the legal name in English")
    licence_number: str = Field(description="the financial licence number (金融许可证 机构编码)")


def name_of(bank: Bank) -> BankName | None:
    """The bank's legal names (None for a bank admitted before legal names)."""
    if bank.name_zh is None or bank.licence_number is None:
        return None
    return BankName(name_zh=bank.name_zh, name_en=bank.name, licence_number=bank.licence_number)


def bank_names(db: Database, addresses: Iterable[str] | None = None) -> dict[str, BankName]:
    """The legal names of the banks at ``addresses`` (default: every bank), by address; banks
    without legal names are left out."""
    statement = select(Bank)
    if addresses is not None:
        statement = statement.where(Bank.address.in_(set(addresses)))
    with db.session() as session:
        found = list(session.scalars(statement))
    return {bank.address: name for bank in found if (name := name_of(bank)) is not None}


def create_bank(
    db: Database,
    name: str,
    address: str,
    *,
    name_zh: str | None = None,
    licence_number: str | None = None,
) -> tuple[Bank, str]:
    """Store a bank (``name``: its legal name in English); returns it and its API key (shown
    once, never stored)."""
    key_id, key_hash, api_key = _new_key()
    bank = Bank(
        name=name,
        name_zh=name_zh,
        licence_number=licence_number,
        address=address,
        key_id=key_id,
        key_hash=key_hash,
    )
    try:
        with db.session() as session, session.begin():
            session.add(bank)
    except IntegrityError:
        raise BankExistsError(f"a bank named {name!r} or with address {address} exists") from None
    return bank, api_key


@dataclass(frozen=True, slots=True)
class BankKey:
    """A bank's API key as the operator sees it: its id and whether it works."""

    address: str
    key_id: str
    active: bool


def bank_key(db: Database, address: str) -> BankKey:
    """The bank's key (raises :class:`UnknownBankError`)."""
    with db.session() as session:
        bank = _bank(session, address)
        return BankKey(bank.address, bank.key_id, bank.key_hash != _REVOKED)


def rotate_key(db: Database, address: str) -> tuple[BankKey, str]:
    """Give the bank a new API key (shown once; only its hash is stored). The old key, and its
    key id, stop working."""
    key_id, key_hash, api_key = _new_key()
    with db.session() as session, session.begin():
        bank = _bank(session, address)
        bank.key_id, bank.key_hash = key_id, key_hash
        return BankKey(bank.address, key_id, True), api_key


def revoke_key(db: Database, address: str, key_id: str) -> BankKey:
    """Revoke the bank's key ``key_id`` (raises :class:`UnknownKeyIdError` when it is not the
    bank's key). Revoking a revoked key changes nothing."""
    with db.session() as session, session.begin():
        bank = _bank(session, address)
        if bank.key_id != key_id:  # the key id is public: no constant-time compare needed
            raise UnknownKeyIdError(address, key_id)
        bank.key_hash = _REVOKED
        return BankKey(bank.address, bank.key_id, False)


def _bank(session: Session, address: str) -> Bank:
    bank = session.scalars(select(Bank).where(Bank.address == address)).first()
    if bank is None:
        raise UnknownBankError(address)
    return bank


def authenticate(db: Database, api_key: str) -> Bank | None:
    """The bank an API key belongs to, or None."""
    key_id, secret = "", api_key
    if api_key.startswith(_PREFIX) and api_key.count("_") >= 2:
        key_id, secret = api_key[len(_PREFIX) :].split("_", 1)
    with db.session() as session:
        bank = (
            session.scalars(select(Bank).where(Bank.key_id == key_id)).first() if key_id else None
        )
    expected = bank.key_hash if bank is not None else _DUMMY_HASH
    matches = hmac.compare_digest(_hash(secret), expected)
    return bank if bank is not None and matches and bank.key_hash != _REVOKED else None


class VerifiedKeys:
    """API keys already verified, by their SHA-256, so a bank's every read does not cost a
    database lookup (a thread hand-off and an ORM query: about half a millisecond of CPU).

    Only keys that matched are kept, so a bank created a moment ago is found at its first request.
    A key rotated or revoked through this gateway process is forgotten at once (:meth:`forget`).
    Another worker of the same gateway learns it from the database: a key verified longer than
    ``max_age_s`` ago is verified again, so there it stops working within that time. Bounded:
    once ``capacity`` keys are kept, the oldest goes first.
    """

    def __init__(self, capacity: int = 4096, max_age_s: float = 1.0) -> None:
        self._capacity = capacity
        self._max_age_s = max_age_s
        self._banks: dict[bytes, tuple[Bank, float]] = {}

    def get(self, api_key: str) -> Bank | None:
        found = self._banks.get(hashlib.sha256(api_key.encode()).digest())
        if found is None or time.monotonic() - found[1] > self._max_age_s:
            return None
        return found[0]

    def remember(self, api_key: str, bank: Bank) -> None:
        digest = hashlib.sha256(api_key.encode()).digest()
        self._banks.pop(digest, None)
        if len(self._banks) >= self._capacity:
            del self._banks[next(iter(self._banks))]
        self._banks[digest] = (bank, time.monotonic())

    def forget(self, address: str) -> None:
        """Drop every key of the bank at ``address``."""
        for digest in [d for d, (bank, _) in self._banks.items() if bank.address == address]:
            del self._banks[digest]


def list_banks(db: Database) -> list[Bank]:
    with db.session() as session:
        return list(session.scalars(select(Bank).order_by(Bank.id)))


def bank_by_address(db: Database, address: str) -> Bank | None:
    with db.session() as session:
        return session.scalars(select(Bank).where(Bank.address == address)).first()
