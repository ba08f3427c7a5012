"""The subject id: how the chain names an enterprise without naming it.

A subject id is ``HMAC-SHA256(key, "consentledger/subject/v1" || 0x00 || USCC)``: a keyed hash, so
a reader of the chain cannot test a guessed USCC against it without the bureau's key, and
domain-separated, so the same key can never produce a subject id that is also some other hash of
ours. This is the only place the derivation is defined.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from consentledger.errors import ConsentLedgerError

_DOMAIN = b"consentledger/subject/v1\x00"

#: Shortest key accepted (bytes).
MIN_KEY_BYTES = 16


class SubjectKeyError(ConsentLedgerError, ValueError):
    """The subject key is missing or too short."""

    code = "bad_subject_key"


def subject_id(uscc: str, key: bytes) -> bytes:
    """The 32-byte subject id of an enterprise's USCC (given already validated, upper-case)."""
    if len(key) < MIN_KEY_BYTES:
        raise SubjectKeyError(
            f"the subject key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}"
        )
    return hmac.new(key, _DOMAIN + uscc.encode("ascii"), hashlib.sha256).digest()


_RECEIPT_SALT_DOMAIN = b"consentledger/receipt-salt/v1\x00"


def receipt_salt(subject: bytes, nonce: int, key: bytes) -> bytes:
    """The 32-byte salt of the receipt a consent of ``subject`` with ``nonce`` commits to:
    ``HMAC-SHA256(key, "consentledger/receipt-salt/v1" || 0x00 || subject || nonce)``. Kept by the
    bureau as its key (recomputed, never stored) and handed to the enterprise with the draft; the
    chain holds only ``keccak256(salt || receipt)``, which nobody without the salt can test a
    guessed receipt (and so a guessed USCC) against. Each draft's nonce is fresh, so is its salt."""
    if len(key) < MIN_KEY_BYTES:
        raise SubjectKeyError(
            f"the subject key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}"
        )
    message = _RECEIPT_SALT_DOMAIN + subject + nonce.to_bytes(32, "big")
    return hmac.new(key, message, hashlib.sha256).digest()


#: The environment variable that holds the bureau's subject key (hex) when no key file is given.
SUBJECT_KEY_ENV = "CONSENTLEDGER_SUBJECT_KEY"


def parse_subject_key(text: str, source: str) -> bytes:
    """The subject key from its hex text (``0x`` optional); ``source`` says where it came from.
    The message never contains the key."""
    value = text.strip().removeprefix("0x").removeprefix("0X")
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise SubjectKeyError(f"{source} does not hold a hex subject key") from None
    if len(key) < MIN_KEY_BYTES:
        raise SubjectKeyError(
            f"{source} holds a subject key of {len(key)} bytes; at least {MIN_KEY_BYTES} are needed"
        )
    return key


def load_subject_key(path: Path | None, env_var: str = SUBJECT_KEY_ENV) -> bytes:
    """The subject key in the file ``path`` if given, else in the environment variable."""
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise SubjectKeyError(f"cannot read subject key file {path}: {exc.strerror}") from exc
        return parse_subject_key(text, f"subject key file {path}")
    value = os.environ.get(env_var)
    if not value:
        raise SubjectKeyError(f"no subject key: pass --subject-key-file or set {env_var}")
    return parse_subject_key(value, f"environment variable {env_var}")
