"""A property of the ledger: for any batch a relayer can build, every ``DataAccessed`` the chain
emits carries a valid signature of its bank over its own fields.

The relayer here does everything it can to a bank's signed requests: forwards them as signed,
changes a field after signing (consent, bank, categories, purpose, history window, request id,
deadline), swaps in another read's signature, signs itself, sends none, or sends a deadline that
has passed or lies too far ahead. The check reads the chain alone: each ``DataAccessed`` event
and the request its transaction's input carries for the event's query id.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc
from consentledger.chain.log_reader import LedgerReader, signed_entry
from consentledger.ledger.types import (
    MAX_READ_REQUEST_LIFETIME,
    AccessEntry,
    RecordedAccess,
)
from consentledger.testing.world import World

#: What the relayer does to one signed request.
MOVES = [
    "as_signed",
    "as_signed",
    "other_consent",
    "other_bank",
    "more_categories",
    "other_purpose",
    "more_history",
    "other_request_id",
    "later_deadline",
    "signature_of_another_read",
    "signed_by_the_relayer",
    "unsigned",
    "expired",
    "too_far",
]


def _move(world: World, entry: AccessEntry, move: str, other: AccessEntry) -> AccessEntry:
    """``entry`` after the relayer's ``move`` (``other``: another signed read of the batch)."""
    now = world.now()
    changed: dict[str, dict[str, Any]] = {
        "other_consent": {"consent_id": other.consent_id},
        "other_bank": {"bank": world.banks[1].address},
        "more_categories": {"categories": entry.categories | Category.SOCIAL_INSURANCE.bit},
        "other_purpose": {"purpose": int(Purpose.CREDIT_LIMIT_REVIEW)},
        "more_history": {"history_months": entry.history_months + 1},
        "other_request_id": {"request_id": entry.request_id ^ 1},
        "later_deadline": {"deadline": entry.deadline + 1},
        "signature_of_another_read": {"signature": other.signature},
        "unsigned": {"signature": b""},
    }
    changes = changed.get(move, {})
    if move == "signed_by_the_relayer":
        return typed_data.sign_read_request(world.bureau.account, world.bureau.domain, entry)
    if move in ("expired", "too_far"):
        deadline = now - 1 if move == "expired" else now + MAX_READ_REQUEST_LIFETIME + 60
        bank = replace(entry, deadline=deadline)
        return typed_data.sign_read_request(world.banks[0], world.bureau.domain, bank)
    return replace(entry, **changes)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=st.lists(st.sampled_from(MOVES), min_size=1, max_size=8), data=st.data())
def test_every_data_accessed_is_signed_by_its_bank(
    embedded_world: World, moves: list[str], data: st.DataObject
) -> None:
    world = embedded_world
    solo = world.enterprises["solo"]
    consents = [
        world.grant(
            world.terms(
                solo,
                bank,
                categories=[Category.BUSINESS_REGISTRATION, Category.SOCIAL_INSURANCE],
                max_reads=50,
            )
        )
        for bank in world.banks
    ]
    signed = [world.entry(consents[0], world.banks[0]) for _ in moves]
    batch = [
        _move(world, entry, move, data.draw(st.sampled_from(signed)))
        for entry, move in zip(signed, moves, strict=True)
    ]
    # The model recovers what the chain will (the relayer's changes are the chain's input).
    batch = [
        replace(e, signer=typed_data.read_request_signer(world.bureau.domain, e)) for e in batch
    ]
    result = world.record(batch)

    chain = world.chain
    assert isinstance(chain, EmbeddedChain)
    reader = LedgerReader(EmbeddedJsonRpc(chain), world.deployment)
    transaction = chain.w3.eth.get_transaction(HexBytes(result.mined.tx_hash))
    requests = reader.signed_requests(bytes(transaction["input"]))
    accessed = [e for e in result.mined.events if e.event == "DataAccessed"]
    for event in accessed:
        read = RecordedAccess.of(event.event, event.args).entry
        as_recorded = signed_entry(world.bureau.domain, read, requests[read.query_id])
        signer = as_recorded.signer
        assert signer == world.bureau.read_signer(read.bank), (
            f"a DataAccessed for {read.bank} signed by {signer}"
        )
    # A read forwarded as the bank signed it is never refused for its signature.
    assert len(accessed) >= sum(1 for move in moves if move == "as_signed") or any(
        d.reason.name == "READS_EXHAUSTED" for d in result.decisions
    )


def test_a_stranger_s_key_never_records_a_read(embedded_world: World) -> None:
    world = embedded_world
    consent = world.grant(world.terms(world.enterprises["solo"], world.banks[0]))
    forged = world.entry(consent, world.banks[0], signer=Account.from_key(secrets.token_bytes(32)))
    decision = world.record([forged]).decisions[0]
    assert decision.reason.name == "SIGNATURE_INVALID"
