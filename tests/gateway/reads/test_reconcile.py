"""A batch the node never got (dropped, or the gateway died between journaling and sending) is
found at start: rebroadcast and resolved from its events; a batch whose nonce another transaction
took fails cleanly; a batch the relayer replaced (stuck) before the crash is resolved by whichever
of its transactions was mined. Real components: the embedded chain and a SQLite journal."""

from __future__ import annotations

import secrets

from consentledger.chain.client import SignedCall
from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.gateway.db import Database
from consentledger.gateway.journal_store import Journal, hex32, reconcile
from consentledger.journal.schema import Batch, BatchReplacement, JournalEntry, ReadStatus
from consentledger.testing.world import World, build_world
from tests.harness.journal import journaled_reads, sign_batch


def _statuses(db: Database) -> list[str]:
    with db.session() as session:
        return [e.status for e in session.query(JournalEntry).order_by(JournalEntry.id)]


def test_a_batch_the_node_never_got_is_rebroadcast_and_resolved(journal_url: str) -> None:
    world = build_world(EmbeddedChain(clock=BlockClock.STEADY))
    consent = world.grant(world.terms(world.enterprises["solo"], world.banks[0]))
    db = Database(journal_url)
    journal = Journal(db)
    ids = journaled_reads(journal, world, consent, 3)
    sign_batch(world, journal, ids, consent)  # signed and journaled, never sent
    before = world.chain.w3.eth.block_number

    report = reconcile(journal, world.bureau)

    assert (report.granted, report.denied, report.failed, report.still_open) == (3, 0, 0, 0)
    assert _statuses(db) == [ReadStatus.GRANTED] * 3
    assert world.chain.w3.eth.block_number == before + 1
    assert world.bureau.consent(consent).reads_used == 3
    with db.session() as session:
        assert session.query(Batch).one().status == "mined"


def test_a_batch_whose_nonce_was_taken_fails_cleanly(journal_url: str) -> None:
    world = build_world(EmbeddedChain(clock=BlockClock.STEADY))
    consent = world.grant(world.terms(world.enterprises["solo"], world.banks[0]))
    db = Database(journal_url)
    journal = Journal(db)
    ids = journaled_reads(journal, world, consent, 2)
    sign_batch(world, journal, ids, consent)
    # Another transaction of the same key takes the batch's nonce first.
    world.bureau.forget_nonce()
    other = world.regulator.with_account(world.bureau.account)
    other.transact("recordExport", world.enterprises["solo"].subject, 2, secrets.token_bytes(32))

    report = reconcile(journal, world.bureau, receipt_timeout=2)

    assert (report.granted, report.denied, report.failed) == (0, 0, 2)
    assert _statuses(db) == [ReadStatus.FAILED] * 2
    assert world.bureau.consent(consent).reads_used == 0
    with db.session() as session:
        assert session.query(Batch).one().status == "failed"


def _replaced_batch(journal_url: str) -> tuple[World, Database, bytes, SignedCall, SignedCall]:
    """Three journaled reads in a batch the relayer replaced (stuck) before the gateway died."""
    world = build_world(EmbeddedChain(clock=BlockClock.STEADY))
    consent = world.grant(world.terms(world.enterprises["solo"], world.banks[0]))
    db = Database(journal_url)
    journal = Journal(db)
    ids = journaled_reads(journal, world, consent, 3)
    first = sign_batch(world, journal, ids, consent)
    replacement = world.bureau.replacement(first)
    journal.batch_replaced(first.tx_hash, replacement)
    return world, db, consent, first, replacement


def test_a_replacement_pays_at_least_ten_percent_more_on_both_fees(journal_url: str) -> None:
    _world, db, _consent, first, replacement = _replaced_batch(journal_url)
    assert replacement.nonce == first.nonce
    assert replacement.tx_hash != first.tx_hash
    assert first.tip is not None
    assert replacement.tip is not None
    assert first.max_fee is not None
    assert replacement.max_fee is not None
    assert replacement.tip * 10 >= first.tip * 11
    assert replacement.max_fee * 10 >= first.max_fee * 11
    with db.session() as session:
        (stored,) = session.query(BatchReplacement).all()
        assert stored.tx_hash == hex32(replacement.tx_hash)
        # The open entries name the newest candidate.
        assert {e.tx_hash for e in session.query(JournalEntry)} == {hex32(replacement.tx_hash)}


def test_a_replaced_batch_is_resolved_by_its_replacement(journal_url: str) -> None:
    world, db, consent, _first, replacement = _replaced_batch(journal_url)
    report = reconcile(Journal(db), world.bureau)  # neither was sent: the newest goes first

    assert (report.granted, report.failed, report.still_open) == (3, 0, 0)
    assert world.bureau.consent(consent).reads_used == 3
    with db.session() as session:
        entries = session.query(JournalEntry).all()
        assert {e.tx_hash for e in entries} == {hex32(replacement.tx_hash)}
        assert session.query(Batch).one().status == "mined"


def test_a_replaced_batch_whose_first_transaction_was_mined_is_resolved_by_it(
    journal_url: str,
) -> None:
    world, db, consent, first, replacement = _replaced_batch(journal_url)
    world.bureau.broadcast(first)  # mined before the crash; the replacement never was
    report = reconcile(Journal(db), world.bureau)

    assert (report.granted, report.failed, report.still_open) == (3, 0, 0)
    assert world.bureau.receipt(replacement.tx_hash) is None
    assert world.bureau.consent(consent).reads_used == 3  # recorded once, not twice
    with db.session() as session:
        entries = session.query(JournalEntry).all()
        assert {e.tx_hash for e in entries} == {hex32(first.tx_hash)}
        assert [e.status for e in entries] == [ReadStatus.GRANTED] * 3
