"""The gateway's read journal as the relayer writes it, for the tests of reconciliation: pending
reads, and a batch signed and journaled before it is broadcast."""

from __future__ import annotations

import secrets
from dataclasses import replace

from consentledger.categories import Category
from consentledger.chain.client import SignedCall
from consentledger.gateway.journal_store import Journal, hex32
from consentledger.journal.schema import JournalEntry
from consentledger.ledger.types import first_query_id, record_accesses_args
from consentledger.testing.world import World


def journaled_reads(journal: Journal, world: World, consent: bytes, count: int) -> list[int]:
    """``count`` pending reads of the world's first bank under ``consent``, journaled; their ids."""
    ids = []
    for i in range(count):
        entry = JournalEntry(
            idempotency_key=f"k{i}-{secrets.token_hex(4)}",
            request_hash="0" * 64,
            bank_address=world.banks[0].address,
            uscc="91440305MA5DKW7Q1B",
            subject=hex32(world.enterprises["solo"].subject),
            consent_id=hex32(consent),
            categories=Category.BUSINESS_REGISTRATION.bit,
            purpose=1,
            history_months=0,
            document=b"{}",
            salt=secrets.token_bytes(32),
            response_hash=hex32(secrets.token_bytes(32)),
        )
        journal.add(entry)
        ids.append(entry.id)
    return ids


def sign_batch(world: World, journal: Journal, ids: list[int], consent: bytes) -> SignedCall:
    """What the relayer does before broadcasting: sign the batch and journal it."""
    prefix = first_query_id(world.bureau.account.address)
    entries = [
        replace(world.entry(consent, world.banks[0]), query_id=prefix + 1_000 + n)
        for n in range(len(ids))
    ]
    signed = world.bureau.prepare("recordAccesses", *record_accesses_args(entries))
    journal.batch_signed(signed, [(i, e.query_id) for i, e in zip(ids, entries, strict=True)])
    return signed
