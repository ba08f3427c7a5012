"""Signed actions before they reach the chain: signatures checked, the ledger's verdict foreseen.

An enterprise's consent, pause, resume or revocation is relayed with the bureau's key, so the bureau
pays for it. Before anything is sent, the gateway

1. parses each signature the way OpenZeppelin's ``ECDSA.recover`` will (65 bytes, ``v`` 27 or 28,
   ``r`` and ``s`` in range, ``s`` in the lower half) and recovers its signer;
2. takes a snapshot of what the contract will look at (the enterprise's controllers and threshold,
   the nonce, the bank, the purpose, the registered categories, the consent) and asks the state
   model (:mod:`consentledger.ledger.model`, the one statement of the rules) for its verdict.

A refusal here is the contract's own error with its own arguments, marked ``prechecked``: nothing
was sent. The snapshot's time is the earliest the next block can carry (the latest block's + 1);
the contract's own simulation runs again before the transaction is signed, so a verdict that
changes in between is still caught before any gas is spent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError as KeysValidationError

from consentledger.chain import typed_data
from consentledger.chain.client import ConsentView, LedgerClient
from consentledger.chain.clock import next_block_time
from consentledger.gateway.errors import (
    ForeseenRefusalError,
    InvalidSignatureError,
    MalformedSignatureError,
)
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import (
    ROLE_BANK,
    BankState,
    ConsentState,
    ConsentStatus,
    EnterpriseState,
    nonce_account,
    split_nonce,
)

#: The order of the secp256k1 group; OpenZeppelin refuses ``s`` above half of it (malleability).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_SIGNATURE = re.compile(r"0x[0-9a-fA-F]*")
#: The one controller of the enterprise a snapshot assumes (``assume_enterprise``).
PLACEHOLDER_CONTROLLER = "0x000000000000000000000000000000000000dEaD"


def parse_signature(text: str, index: int) -> bytes:
    """A 65-byte ``r || s || v`` signature that ``ECDSA.recover`` accepts, from ``0x`` hex.

    Raises a 422 problem: ``malformed_signature`` (not hex, not 65 bytes) or ``invalid_signature``
    (``v`` not 27/28, ``r``/``s`` out of range, high ``s``), naming the signature's index and the
    contract error the chain would have raised."""
    if not _SIGNATURE.fullmatch(text) or len(text) % 2:
        raise MalformedSignatureError(
            f"signature {index} is not 0x-prefixed hex",
            index=index,
        )
    raw = bytes.fromhex(text[2:])
    if len(raw) != 65:
        raise MalformedSignatureError(
            f"signature {index} has {len(raw)} bytes; an ECDSA signature (r, s, v) has 65",
            index=index,
            contract_error="ECDSAInvalidSignatureLength",
        )
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:64], "big")
    v = raw[64]
    if v not in (27, 28) or not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
        raise InvalidSignatureError(
            f"signature {index} is not a valid secp256k1 signature (v must be 27 or 28, "
            "r and s within the curve order)",
            index=index,
            contract_error="ECDSAInvalidSignature",
        )
    if s > SECP256K1_N // 2:
        raise InvalidSignatureError(
            f"signature {index} has a high s value (malleable); sign again with a library that "
            "normalises s (EIP-2)",
            index=index,
            contract_error="ECDSAInvalidSignatureS",
        )
    return raw


def recover_signers(document: dict[str, Any], signatures: Sequence[bytes]) -> list[str]:
    """The address behind each signature of ``document``, in order."""
    signers: list[str] = []
    for index, signature in enumerate(signatures):
        try:
            signers.append(typed_data.recover(document, signature))
        except (BadSignature, KeysValidationError, ValueError):
            raise InvalidSignatureError(
                f"no public key recovers from signature {index}",
                index=index,
                contract_error="ECDSAInvalidSignature",
            ) from None
    return signers


def parse_signatures(
    texts: Sequence[str], document: dict[str, Any]
) -> tuple[list[bytes], list[str]]:
    """Parsed signatures and their recovered signers."""
    signatures = [parse_signature(text, index) for index, text in enumerate(texts)]
    return signatures, recover_signers(document, signatures)


@dataclass(slots=True)
class Snapshot:
    """The state model, loaded with what the contract will consult, and the time to judge at."""

    model: LedgerModel
    now: int
    controllers: tuple[str, ...]
    threshold: int

    @property
    def hypothetical_signers(self) -> list[str]:
        """The first k controllers: a draft is judged as if they had signed it."""
        return list(self.controllers[: self.threshold])


def stored_state(view: ConsentView) -> ConsentState:
    """The model's stored consent behind a chain view.

    EXPIRED is not a stored state: the model derives it from ``expires_at`` again, whatever state
    is stored, so an expired consent is stored as ACTIVE here."""
    stored = view.status if view.status in (ConsentStatus.PAUSED, ConsentStatus.REVOKED) else None
    return ConsentState(
        consent_id=view.consent_id,
        subject=view.subject,
        bank=view.bank,
        categories=view.categories,
        purpose=view.purpose,
        not_before=view.not_before,
        expires_at=view.expires_at,
        max_reads=view.max_reads,
        history_months=view.history_months,
        receipt_hash=b"",
        reads_used=view.reads_used,
        state=stored or ConsentStatus.ACTIVE,
    )


def snapshot(
    client: LedgerClient,
    subject: bytes,
    nonce: int,
    *,
    bank: str | None = None,
    purpose: int | None = None,
    consent: ConsentView | None = None,
    assume_enterprise: bool = False,
) -> Snapshot:
    """Read what the contract will consult for a signed action of ``subject``. Blocking: run it
    on the chain thread.

    With ``assume_enterprise`` the enterprise is not looked up: the model holds a placeholder
    enterprise with one controller and a fresh nonce, so the verdict is the same whether
    ``subject`` is registered or not (a bank's consent request must not tell it which USCCs
    are registered)."""
    model = LedgerModel()
    controllers: tuple[str, ...]
    if assume_enterprise:
        controllers, threshold = (PLACEHOLDER_CONTROLLER,), 1
    else:
        controllers, threshold = client.enterprise(subject)
        key, _ = split_nonce(nonce)
        _, sequence = split_nonce(client.nonce(subject, key))
        model.nonces[(nonce_account(subject), key)] = sequence
    if threshold:
        model.enterprises[subject] = EnterpriseState(controllers, threshold)
    if bank is not None and client.is_bank_active(bank):
        model.roles[ROLE_BANK] = {bank}
        model.banks[bank] = BankState()
    if purpose is not None:
        model.purposes[purpose] = client.purpose(purpose)
        model.categories = client.registered_categories()
    if consent is not None and consent.status is not ConsentStatus.NONE:
        model.consents[consent.consent_id] = stored_state(consent)
    return Snapshot(model, next_block_time(client.block_timestamp()), controllers, threshold)


def refused(exc: LedgerRevertError) -> ForeseenRefusalError:
    """The contract error the model foresaw, answered as the chain's refusal would be, marked as
    found before anything was sent."""
    return ForeseenRefusalError(exc)
