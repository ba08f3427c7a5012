"""EIP-712 typed data for every action an enterprise signs, and for every read a bank asks for.

The types here are the contract's type strings, field for field; a client in any language can sign
what :func:`typed_data` returns. The consent id is the EIP-712 digest of the Consent message.

A bank signs each read as a ``ReadRequest`` in the same domain: under consent ``consentId``, bank
``bank`` asks for ``categories`` for ``purpose``, covering the last ``historyMonths`` months, before
``deadline`` (a unix time); ``requestId`` is the bank's own reference for the request, unique per
bank. The ledger records no read whose signature does not recover to the bank's read signer (the
bank's address, or a key it registered with ``setReadSigner``) over exactly these fields.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

import coincurve
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak as keccak256
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from consentledger.ledger.types import (
    ZERO_ADDRESS,
    AccessEntry,
    checksummed,
    full_signature,
    short_signature,
)

DOMAIN_NAME = "ConsentLedger"
DOMAIN_VERSION = "1"

PrimaryType = Literal[
    "Consent", "ReadRequest", "Revocation", "Pause", "Resume", "ChangeControllers"
]

_CONSENT_ACTION = [
    {"name": "consentId", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

#: The EIP-712 struct types, as the contract hashes them.
TYPES: dict[str, list[dict[str, str]]] = {
    "Consent": [
        {"name": "subject", "type": "bytes32"},
        {"name": "bank", "type": "address"},
        {"name": "categories", "type": "uint256"},
        {"name": "purpose", "type": "uint16"},
        {"name": "notBefore", "type": "uint64"},
        {"name": "expiresAt", "type": "uint64"},
        {"name": "maxReads", "type": "uint32"},
        {"name": "historyMonths", "type": "uint16"},
        {"name": "receiptHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "ReadRequest": [
        {"name": "consentId", "type": "bytes32"},
        {"name": "bank", "type": "address"},
        {"name": "categories", "type": "uint256"},
        {"name": "purpose", "type": "uint16"},
        {"name": "historyMonths", "type": "uint16"},
        {"name": "requestId", "type": "uint64"},
        {"name": "deadline", "type": "uint64"},
    ],
    "Revocation": _CONSENT_ACTION,
    "Pause": _CONSENT_ACTION,
    "Resume": _CONSENT_ACTION,
    "ChangeControllers": [
        {"name": "subject", "type": "bytes32"},
        {"name": "controllers", "type": "address[]"},
        {"name": "threshold", "type": "uint8"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True, slots=True)
class Domain:
    """The EIP-712 domain of one deployment."""

    chain_id: int
    verifying_contract: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


def typed_data(
    domain: Domain, primary_type: PrimaryType, message: dict[str, Any]
) -> dict[str, Any]:
    """The complete EIP-712 document (domain, types, primaryType, message) to sign."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, primary_type: TYPES[primary_type]},
        "primaryType": primary_type,
        "domain": domain.as_dict(),
        "message": message,
    }


def _signable(document: dict[str, Any]) -> SignableMessage:
    return encode_typed_data(full_message=document)


def digest(document: dict[str, Any]) -> bytes:
    """The EIP-712 digest (``_hashTypedDataV4``): for a Consent, the consent id."""
    signable = _signable(document)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign(account: LocalAccount, document: dict[str, Any]) -> bytes:
    """A 65-byte signature (r, s, v) of the document by ``account``."""
    return bytes(account.sign_message(_signable(document)).signature)


def recover(document: dict[str, Any], signature: bytes) -> str:
    """The address that signed ``document``."""
    return str(Account.recover_message(_signable(document), signature=signature))


def read_request_message(entry: AccessEntry) -> dict[str, Any]:
    """The ``ReadRequest`` message of a read, as EIP-712 typed data names it."""
    return {
        "consentId": entry.consent_id,
        "bank": to_checksum_address(entry.bank),
        "categories": entry.categories,
        "purpose": entry.purpose,
        "historyMonths": entry.history_months,
        "requestId": entry.request_id,
        "deadline": entry.deadline,
    }


def read_request_document(domain: Domain, entry: AccessEntry) -> dict[str, Any]:
    """The complete EIP-712 document a bank signs for ``entry``."""
    return typed_data(domain, "ReadRequest", read_request_message(entry))


def _type_string(primary_type: PrimaryType) -> bytes:
    fields = ",".join(f"{f['type']} {f['name']}" for f in TYPES[primary_type])
    return f"{primary_type}({fields})".encode()


_DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_READ_REQUEST_TYPEHASH = keccak(_type_string("ReadRequest"))


@lru_cache(maxsize=64)
def domain_separator(domain: Domain) -> bytes:
    """The domain's EIP-712 separator (``_domainSeparatorV4``)."""
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(domain.name.encode())
        + keccak(domain.version.encode())
        + domain.chain_id.to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(domain.verifying_contract.removeprefix("0x"))
    )


def _word(value: int, bits: int) -> bytes:
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{value} is not a uint{bits}")
    return value.to_bytes(32, "big")


def read_request_digest(domain: Domain, entry: AccessEntry) -> bytes:
    """The EIP-712 digest of the entry's ``ReadRequest`` (what the bank signs), encoded directly:
    every field is a static word, so ``hashStruct`` is one keccak over the type hash and seven
    words. Equal to :func:`digest` of :func:`read_request_document` (a test holds them together);
    with :func:`recover_digest`, a read's check costs a sixth of eth-account's encoder and
    recovery. A field out of its type's range raises ValueError."""
    consent_id = bytes(entry.consent_id)
    bank = bytes.fromhex(entry.bank.removeprefix("0x"))
    if len(consent_id) != 32 or len(bank) != 20:
        raise ValueError("a ReadRequest needs a 32-byte consent id and a 20-byte bank address")
    struct = keccak256(
        _READ_REQUEST_TYPEHASH
        + consent_id
        + bytes(12)
        + bank
        + _word(entry.categories, 256)
        + _word(entry.purpose, 16)
        + _word(entry.history_months, 16)
        + _word(entry.request_id, 64)
        + _word(entry.deadline, 64)
    )
    return keccak256(b"\x19\x01" + domain_separator(domain) + struct)


def recover_digest(message_hash: bytes, signature: bytes) -> str:
    """The address whose key made the 65-byte ``r || s || v`` ``signature`` of ``message_hash``
    (native secp256k1 through coincurve); ValueError when it recovers to none."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("not a 65-byte signature with v 27 or 28")
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), message_hash, hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception for r or s out of range
        raise ValueError(f"the signature recovers to no key: {exc}") from None
    # Checksummed through the ledger's cache: a replay meets the same few signers again and again.
    return checksummed("0x" + keccak256(public.format(compressed=False)[1:])[-20:].hex())


def read_request_signer(domain: Domain, entry: AccessEntry) -> str:
    """The address ``entry.signature`` recovers to over the entry's ``ReadRequest``, as the ledger
    recovers it (ERC-2098 short form, low s only); the zero address when it recovers to none."""
    r, vs = short_signature(entry.signature)
    if not any(r) and not any(vs):
        return ZERO_ADDRESS
    try:
        return recover_digest(read_request_digest(domain, entry), full_signature(r, vs))
    except (ValueError, TypeError):
        return ZERO_ADDRESS


def sign_read_request(account: LocalAccount, domain: Domain, entry: AccessEntry) -> AccessEntry:
    """``entry`` with ``account``'s signature of its ``ReadRequest`` (and that signer)."""
    signature = sign(account, read_request_document(domain, entry))
    return replace(entry, signature=signature, signer=account.address)


def signed_read_fields(
    account: LocalAccount,
    domain: Domain,
    *,
    consent_id: bytes,
    categories: int,
    purpose: int,
    history_months: int,
    deadline: int,
    request_id: int | None = None,
    bank: str | None = None,
) -> dict[str, Any]:
    """What a bank adds to a read it sends the gateway (``POST /v1/queries`` and the size class):
    its ``ReadRequest`` fields and ``account``'s signature of them. ``bank`` defaults to the
    signing account (a bank that registered another read signer names itself); ``request_id``
    defaults to a random uint64 (unique per bank with overwhelming probability)."""
    entry = AccessEntry(
        0,
        consent_id,
        account.address if bank is None else bank,
        categories,
        purpose,
        b"",
        history_months,
        secrets.randbits(64) if request_id is None else request_id,
        deadline,
    )
    signed = sign_read_request(account, domain, entry)
    return {
        "request_id": signed.request_id,
        "deadline": signed.deadline,
        "history_months": signed.history_months,
        "signature": "0x" + signed.signature.hex(),
    }
