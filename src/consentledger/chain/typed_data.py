"""EIP-712 typed data for every action an enterprise signs.

The types here are the contract's type strings, field for field; a client in any language can sign
what :func:`typed_data` returns. The consent id is the EIP-712 digest of the Consent message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

DOMAIN_NAME = "ConsentLedger"
DOMAIN_VERSION = "1"

PrimaryType = Literal["Consent", "Revocation", "Pause", "Resume", "ChangeControllers"]

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
