"""A ledger on a persistent embedded chain survives restarts: the same blocks, the same state, the
same views, and it keeps serving (and keeping) new transactions."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from web3.exceptions import TransactionNotFound

from consentledger.categories import Category
from consentledger.chain.blocklog import LOG_NAME, ChainLogLockedError, ChainLogWriteError
from consentledger.chain.clock import wall_clock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.persistent import DurableBackend, NotOnPersistentChainError
from consentledger.ledger.types import DenialReason
from consentledger.testing.world import DAY, World
from tests.chain.persistence.conftest import chain_facts, embedded, restart


def test_the_ledger_comes_back_whole_and_keeps_serving(persisted: World) -> None:
    world = persisted
    solo, board = world.enterprises["solo"], world.enterprises["board"]
    bank, other = world.banks
    a = world.grant(world.terms(solo, bank))
    b = world.grant(world.terms(board, other, max_reads=2))
    first = world.record(
        [world.entry(a, bank), world.entry(a, bank), world.entry(b, other), world.entry(b, bank)]
    )
    assert [d.reason for d in first.decisions] == [DenialReason.NONE] * 3 + [
        DenialReason.BANK_MISMATCH
    ]
    world.consent_action("Revocation", b, board)
    before = chain_facts(world, [a, b])

    restart(world)
    assert chain_facts(world, [a, b]) == before
    assert world.bureau.consent(a).reads_used == 2

    # It keeps serving: the model (kept in step across the restart) agrees with every decision.
    c = world.grant(world.terms(solo, other, categories=[Category.TAX]))
    second = world.record(
        [
            world.entry(a, bank),
            world.entry(c, other, categories=[Category.TAX]),
            world.entry(b, other),
        ]
    )
    assert [d.reason for d in second.decisions] == [
        DenialReason.NONE,
        DenialReason.NONE,
        DenialReason.REVOKED,
    ]
    after = chain_facts(world, [a, b, c])
    assert after["hashes"][: len(before["hashes"])] == before["hashes"]

    restart(world)
    assert chain_facts(world, [a, b, c]) == after
    assert world.bureau.consent(a).reads_used == 3
    opened = embedded(world).tester.backend.opened
    assert opened.blocks == len(after["hashes"]) - 1
    assert opened.dropped_tail_bytes == 0


def test_time_travel_fund_and_queued_blocks_replay(persisted: World) -> None:
    world = persisted
    chain = embedded(world)
    funded, queued = Account.create().address, Account.create().address
    chain.fund(funded, 12_345)
    target = chain.now() + 10 * DAY
    chain.time_travel(target)
    travelled = chain.w3.eth.get_block("latest")

    # Automine off: two transactions from different senders wait for one mined block.
    chain.set_automine(False)
    chain.fund(queued, 777)
    bank = world.banks[0]
    signed = bank.sign_transaction(
        {
            "to": queued,
            "value": 1_000,
            "gas": 21_000,
            "maxFeePerGas": 2 * chain.w3.eth.gas_price,
            "maxPriorityFeePerGas": 1,
            "nonce": chain.w3.eth.get_transaction_count(bank.address),
            "chainId": chain.chain_id,
        }
    )
    tx_hash = chain.w3.eth.send_raw_transaction(signed.raw_transaction)
    with pytest.raises(TransactionNotFound):
        chain.w3.eth.get_transaction_receipt(tx_hash)  # queued, not mined: nothing acknowledged
    chain.mine()
    queued_block = chain.w3.eth.get_block("latest")
    assert len(queued_block["transactions"]) == 2
    chain.set_automine(True)  # eth-tester mines a block of its own here: logged too
    assert chain.w3.eth.block_number == queued_block["number"] + 1
    before = chain_facts(world)

    restart(world)
    chain = embedded(world)
    assert chain_facts(world) == before
    w3 = chain.w3
    assert w3.eth.get_balance(funded) == 12_345
    assert w3.eth.get_balance(queued) == 1_777
    assert w3.eth.get_block(travelled["number"])["timestamp"] == travelled["timestamp"]
    assert w3.eth.get_transaction_receipt(tx_hash)["blockNumber"] == queued_block["number"]
    # The faucet still funds after a restart, from where its nonce stood.
    chain.fund(funded, 1)
    assert w3.eth.get_balance(funded) == 12_346


def test_snapshot_and_revert_never_forget_a_logged_block(persisted: World) -> None:
    chain = embedded(persisted)
    somebody = Account.create().address
    chain.revert(chain.snapshot())  # nothing mined since: nothing to forget, allowed
    snapshot = chain.snapshot()
    chain.fund(somebody, 5)
    with pytest.raises(NotOnPersistentChainError, match="never forgets a mined block"):
        chain.revert(snapshot)
    with pytest.raises(NotOnPersistentChainError):
        chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    with pytest.raises(NotOnPersistentChainError):
        chain.tester.reset_to_genesis()
    assert chain.w3.eth.get_balance(somebody) == 5
    chain = restart(persisted)
    assert chain.w3.eth.get_balance(somebody) == 5


def test_a_data_directory_is_open_once(persisted: World) -> None:
    chain = embedded(persisted)
    data_dir = chain.data_dir
    assert data_dir is not None
    with pytest.raises(ChainLogLockedError, match="already open"):
        EmbeddedChain.open(data_dir)
    chain.close()
    chain.close()  # idempotent
    with pytest.raises(ChainLogWriteError, match="is closed"):
        chain.fund(Account.create().address, 1)  # a closed chain mines nothing more
    with EmbeddedChain.open(data_dir) as again:
        assert again.w3.eth.block_number > 0
    restart(persisted)


def test_a_new_chain_has_fixed_genesis_parameters(tmp_path: Path) -> None:
    hashes = []
    for name in ("one", "two"):
        data_dir = tmp_path / name / "chain"  # two directories to create
        with EmbeddedChain.open(data_dir, genesis_timestamp=1_750_000_000) as chain:
            genesis = chain.w3.eth.get_block(0)
            assert genesis["timestamp"] == 1_750_000_000
            before = wall_clock()
            assert before <= chain.now() <= wall_clock()  # the next block follows the clock
            hashes.append(genesis["hash"])
            backend = chain.tester.backend
            assert isinstance(backend, DurableBackend)
            assert backend.opened is not None
            assert backend.opened.created
        with EmbeddedChain.open(data_dir) as chain:
            assert chain.w3.eth.get_block(0)["hash"] == genesis["hash"]
            assert chain.w3.eth.block_number == 0
    assert hashes[0] == hashes[1]
    assert (tmp_path / "one" / "chain" / LOG_NAME).read_bytes().count(b"\n") == 1  # header only


def test_an_in_memory_chain_is_unchanged() -> None:
    chain = EmbeddedChain()
    assert chain.data_dir is None
    snapshot = chain.snapshot()
    chain.fund(Account.create().address, 1)
    chain.revert(snapshot)
    assert chain.w3.eth.block_number == 0
    chain.close()  # nothing to release
