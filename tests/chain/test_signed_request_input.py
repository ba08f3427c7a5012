"""The signed requests of a ``recordAccesses`` input: the canonical layout sliced straight from
its words equals the ABI decoder's answer, and any other layout the contract's decoder accepts
(another offset, trailing bytes) is read by the ABI decoder."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from consentledger.chain.abi import FunctionCodec
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.deploy import CONTRACT
from consentledger.chain.log_reader import SignedRequestInput, signed_requests

CODEC = FunctionCodec(load_artifact(CONTRACT)["abi"], "recordAccesses")
ENTRY = "(bytes32,uint256,bytes32,uint256,bytes32,bytes32)"

words = st.binary(min_size=32, max_size=32)
entries = st.lists(
    st.tuples(words, st.integers(0, 2**256 - 1), words, st.integers(0, 2**256 - 1), words, words),
    max_size=8,
)


def _expected(first: int, batch: list[tuple[Any, ...]]) -> dict[int, SignedRequestInput]:
    return {
        first + i: SignedRequestInput(entry[3], entry[4], entry[5]) for i, entry in enumerate(batch)
    }


def _by_decoder(calldata: bytes) -> dict[int, SignedRequestInput]:
    decoded = CODEC.decode_input(calldata)
    assert decoded is not None
    return _expected(int(decoded[0]), [tuple(e) for e in decoded[1]])


@settings(max_examples=50, deadline=None)
@given(first=st.integers(0, 2**256 - 1), batch=entries)
def test_the_canonical_input_sliced_equals_the_decoder(
    first: int, batch: list[tuple[Any, ...]]
) -> None:
    calldata = CODEC.encode(first, batch)
    assert signed_requests(CODEC, calldata) == _expected(first, batch) == _by_decoder(calldata)
    assert signed_requests(CODEC, "0x" + calldata.hex()) == _expected(first, batch)


@settings(max_examples=20, deadline=None)
@given(first=st.integers(0, 2**64), batch=entries, gap=st.integers(1, 3))
def test_another_offset_is_read_by_the_decoder(
    first: int, batch: list[tuple[Any, ...]], gap: int
) -> None:
    # The array placed ``gap`` words further on than the canonical encoder puts it.
    array = abi_encode([f"{ENTRY}[]"], [batch])[32:]
    calldata = (
        CODEC.selector
        + abi_encode(["uint256", "uint256"], [first, 64 + 32 * gap])
        + bytes(32 * gap)
        + array
    )
    assert signed_requests(CODEC, calldata) == _expected(first, batch) == _by_decoder(calldata)


def test_what_is_not_a_record_accesses_call_has_no_requests() -> None:
    calldata = CODEC.encode(7, [])
    assert signed_requests(CODEC, b"\x12\x34\x56\x78" + calldata[4:]) == {}
    assert signed_requests(CODEC, calldata[:50]) == {}
    assert signed_requests(CODEC, "0xnothex") == {}
