"""The read path's encoding: ``recordAccesses`` arguments and the ``access`` word of its events.

The chain side of the round trip (the contract reads the word, the events carry it back) is
exercised by every recorded batch; these tests pin the layout and the refusals.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from consentledger.ledger.types import (
    AccessEntry,
    DenialReason,
    RecordedAccess,
    first_query_id,
    pack_access,
    record_accesses_args,
)

BANK = "0x00000000000000000000000000000000000000B1"
RELAYER = "0x000000000000000000000000000000000000bEEF"


def _entry(offset: int, **overrides: object) -> AccessEntry:
    fields: dict[str, object] = {
        "query_id": first_query_id(RELAYER) + 1 + offset,
        "consent_id": bytes([offset + 1]) * 32,
        "bank": BANK,
        "categories": 0b110,
        "purpose": 3,
        "response_hash": bytes([0xAA]) * 32,
    }
    fields.update(overrides)
    return AccessEntry(**fields)  # type: ignore[arg-type]


def test_access_word_layout() -> None:
    word = pack_access(BANK, categories=1 << 63, purpose=0xFFFF, reason=9)
    assert word >> 96 == int(BANK, 16)
    assert (word >> 32) & (2**64 - 1) == 1 << 63
    assert (word >> 16) & 0xFFFF == 0xFFFF
    assert word & 0xFFFF == 9


@pytest.mark.parametrize(
    ("categories", "purpose"),
    [(1 << 64, 1), (-1, 1), (1, 1 << 16)],
    ids=["categories-past-64-bits", "negative-categories", "purpose-past-16-bits"],
)
def test_access_word_refuses_what_does_not_fit(categories: int, purpose: int) -> None:
    with pytest.raises(ValueError, match="fit"):
        pack_access(BANK, categories, purpose)


def test_batch_arguments_carry_the_first_query_id_once() -> None:
    entries = [_entry(n) for n in range(3)]
    first, encoded = record_accesses_args(entries)
    assert first == entries[0].query_id
    assert encoded == [
        (e.consent_id, e.access, e.response_hash, e.request, bytes(32), bytes(32)) for e in entries
    ]
    assert record_accesses_args([]) == (0, [])


def test_batch_query_ids_must_be_consecutive() -> None:
    entries = [_entry(0), _entry(2)]
    with pytest.raises(ValueError, match="consecutive"):
        record_accesses_args(entries)


@pytest.mark.parametrize(
    ("event", "reason"),
    [("DataAccessed", DenialReason.NONE), ("AccessDenied", DenialReason.BANK_SUSPENDED)],
    ids=["granted", "denied"],
)
def test_recorded_access_unpacks_the_event(event: str, reason: DenialReason) -> None:
    entry = _entry(0)
    args: dict[str, object] = {
        "consentId": entry.consent_id,
        "queryId": entry.query_id,
        "access": entry.access | int(reason),
    }
    if event == "DataAccessed":
        args["responseHash"] = entry.response_hash
    read = RecordedAccess.of(event, args)
    assert read.granted is (reason is DenialReason.NONE)
    assert read.reason is reason
    expected = entry if read.granted else replace(entry, response_hash=b"")
    assert read.entry == expected


def test_recorded_access_keeps_an_unknown_reason_code() -> None:
    entry = _entry(0)
    args = {"consentId": entry.consent_id, "queryId": entry.query_id, "access": entry.access | 77}
    read = RecordedAccess.of("AccessDenied", args)
    assert (read.reason, read.reason_code) == (None, 77)
