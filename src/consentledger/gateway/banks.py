"""Banks and their API keys.

A key is ``clk_<key id>_<secret>``: the key id finds the bank, the secret is stored only as its
SHA-256 and compared in constant time. An unknown key id costs the same comparison, so a caller
cannot tell a wrong id from a wrong secret by timing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consentledger.gateway.db import Bank, Database
from consentledger.gateway.errors import BankExistsError

_PREFIX = "clk_"
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_bank(db: Database, name: str, address: str) -> tuple[Bank, str]:
    """Store a bank; returns it and its API key (shown once, never stored)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    bank = Bank(name=name, address=address, key_id=key_id, key_hash=_hash(secret))
    try:
        with db.session() as session, session.begin():
            session.add(bank)
    except IntegrityError:
        raise BankExistsError(f"a bank named {name!r} or with address {address} exists") from None
    return bank, f"{_PREFIX}{key_id}_{secret}"


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
    return bank if bank is not None and matches else None


class VerifiedKeys:
    """API keys already verified, by their SHA-256, so a bank's every read does not cost a
    database lookup (a thread hand-off and an ORM query: about half a millisecond of CPU).

    Only keys that matched are kept, so a bank created a moment ago is found at its first request.
    Sound because a bank's row never changes: there is no key rotation or deletion. One that is
    added must clear this. Bounded: once ``capacity`` keys are kept, the oldest goes first.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._banks: dict[bytes, Bank] = {}

    def get(self, api_key: str) -> Bank | None:
        return self._banks.get(hashlib.sha256(api_key.encode()).digest())

    def remember(self, api_key: str, bank: Bank) -> None:
        if len(self._banks) >= self._capacity:
            del self._banks[next(iter(self._banks))]
        self._banks[hashlib.sha256(api_key.encode()).digest()] = bank


def list_banks(db: Database) -> list[Bank]:
    with db.session() as session:
        return list(session.scalars(select(Bank).order_by(Bank.id)))


def bank_by_address(db: Database, address: str) -> Bank | None:
    with db.session() as session:
        return session.scalars(select(Bank).where(Bank.address == address)).first()
