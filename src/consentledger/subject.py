"""The subject id: how the chain names an enterprise without naming it.

A subject id is ``HMAC-SHA256(key, "consentledger/subject/v1" || 0x00 || USCC)``: a keyed hash, so
a reader of the chain cannot test a guessed USCC against it without the bureau's key, and
domain-separated, so the same key can never produce a subject id that is also some other hash of
ours. This is the only place the derivation is defined.
"""

from __future__ import annotations

import hashlib
import hmac

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
