"""The direct ReadRequest digest and native recovery against eth-account's EIP-712 encoder and
recovery (the naive reference): equal digests and signers for any request, and the same zero
signer for every signature the ledger would not accept."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from consentledger.chain import typed_data
from consentledger.ledger.types import MAX_LOW_S, ZERO_ADDRESS, AccessEntry

SIGNER = Account.from_key(b"\x11" * 32)
DOMAINS = [
    typed_data.Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    typed_data.Domain(1, "0x" + "ab" * 20),
]


def _entry(**fields: object) -> AccessEntry:
    entry = AccessEntry(
        0,
        b"\x07" * 32,
        SIGNER.address,
        0b1011,
        3,
        b"",
        24,
        2**63 + 5,
        1_900_000_000,
    )
    return replace(entry, **fields)  # type: ignore[arg-type]


def _reference_signer(domain: typed_data.Domain, entry: AccessEntry) -> str:
    return typed_data.recover(typed_data.read_request_document(domain, entry), entry.signature)


entries = st.builds(
    _entry,
    consent_id=st.binary(min_size=32, max_size=32),
    bank=st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
    categories=st.integers(0, 2**256 - 1),
    purpose=st.integers(0, 2**16 - 1),
    history_months=st.integers(0, 2**16 - 1),
    request_id=st.integers(0, 2**64 - 1),
    deadline=st.integers(0, 2**64 - 1),
)


@settings(max_examples=60, deadline=None)
@given(entry=entries, domain=st.sampled_from(DOMAINS))
def test_digest_equals_eth_account_encoding(entry: AccessEntry, domain: typed_data.Domain) -> None:
    document = typed_data.read_request_document(domain, entry)
    assert typed_data.read_request_digest(domain, entry) == typed_data.digest(document)


@settings(max_examples=30, deadline=None)
@given(entry=entries, domain=st.sampled_from(DOMAINS))
def test_signer_equals_eth_account_recovery(entry: AccessEntry, domain: typed_data.Domain) -> None:
    signed = typed_data.sign_read_request(SIGNER, domain, entry)
    signer = typed_data.read_request_signer(domain, signed)
    assert signer == _reference_signer(domain, signed) == SIGNER.address


def _flip(signature: bytes, index: int) -> bytes:
    return signature[:index] + bytes([signature[index] ^ 1]) + signature[index + 1 :]


def _high_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:64], "big")
    n = 2 * MAX_LOW_S + 1
    return signature[:32] + (n - s).to_bytes(32, "big") + bytes([55 - signature[64]])


@pytest.mark.parametrize(
    ("tamper", "zero"),
    [
        (lambda sig: sig, False),
        (lambda sig: _flip(sig, 5), False),  # another r: recovers to someone else, or nobody
        (lambda sig: _flip(sig, 40), False),  # another s
        (lambda sig: sig[:64] + bytes([55 - sig[64]]), False),  # the other v
        (lambda sig: sig[:64] + b"\x00", True),  # v neither 27 nor 28
        (lambda sig: sig[:64], True),  # too short
        (_high_s, True),  # the malleable twin: the ledger takes low s only
        (lambda sig: bytes(65), True),
        (lambda sig: b"\xff" * 32 + sig[32:], False),  # r above the group order
    ],
    ids=[
        "as-signed",
        "r-flipped",
        "s-flipped",
        "v-swapped",
        "v-zero",
        "short",
        "high-s",
        "zeros",
        "r-out-of-range",
    ],
)
def test_tampered_signatures_recover_as_the_reference(tamper, zero: bool) -> None:  # type: ignore[no-untyped-def]
    domain = DOMAINS[0]
    signed = typed_data.sign_read_request(SIGNER, domain, _entry())
    tampered = replace(signed, signature=tamper(signed.signature))
    fast = typed_data.read_request_signer(domain, tampered)
    if zero:
        assert fast == ZERO_ADDRESS
        return
    try:
        reference = _reference_signer(domain, tampered)
    except Exception:  # eth-keys raises BadSignature (no ValueError) for r or s out of range
        reference = ZERO_ADDRESS
    assert fast == reference


@pytest.mark.parametrize(
    "fields",
    [
        {"purpose": 2**16},
        {"request_id": -1},
        {"deadline": 2**64},
        {"consent_id": b"\x01" * 31},
        {"bank": "0x1234"},
        {"bank": "not an address"},
    ],
    ids=[
        "purpose-too-wide",
        "negative-request-id",
        "deadline-too-wide",
        "short-consent-id",
        "short-bank",
        "bank-not-hex",
    ],
)
def test_a_request_outside_its_types_recovers_to_nobody(fields: dict[str, object]) -> None:
    domain = DOMAINS[0]
    signed = typed_data.sign_read_request(SIGNER, domain, _entry())
    assert typed_data.read_request_signer(domain, replace(signed, **fields)) == ZERO_ADDRESS  # type: ignore[arg-type]
