"""A damaged block log: a torn last record is dropped (it was never acknowledged); anything else
(a changed byte, a changed time, a garbage line) refuses to open and names where."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from eth_account import Account
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from consentledger.chain.blocklog import (
    LOG_NAME,
    ChainLogCorruptError,
    ChainLogWriteError,
)
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import ChainUnavailableError
from consentledger.chain.persistent import ChainLogMismatchError, DurableBackend
from consentledger.testing.world import World
from tests.chain.persistence.conftest import embedded, restart

Record = dict[str, Any]


def _closed_log(world: World) -> tuple[Path, list[bytes]]:
    """Close the world's chain; its data directory and the log's lines (with their newlines)."""
    chain = embedded(world)
    data_dir = chain.data_dir
    assert data_dir is not None
    chain.close()
    return data_dir, (data_dir / LOG_NAME).read_bytes().splitlines(keepends=True)


def _report(chain: EmbeddedChain) -> Any:
    backend = chain.tester.backend
    assert isinstance(backend, DurableBackend)
    return backend.opened


# ------------------------------------------------------------------------------------ torn tail


@pytest.mark.parametrize(
    "keep",
    [lambda n: n - 1, lambda n: n // 2, lambda n: 1],
    ids=["newline missing", "half a record", "one byte"],
)
def test_a_torn_last_record_is_dropped(persisted: World, keep: Callable[[int], int]) -> None:
    world = persisted
    chain = embedded(world)
    somebody = Account.create().address
    chain.fund(somebody, 1)
    torn_tx = cast(HexBytes, chain.w3.eth.get_block("latest")["transactions"][0])
    head = chain.w3.eth.block_number
    kept_hash = chain.w3.eth.get_block(head - 1)["hash"]
    data_dir, lines = _closed_log(world)
    path = data_dir / LOG_NAME
    whole = sum(len(line) for line in lines[:-1])
    kept = keep(len(lines[-1]))
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:kept])

    chain = restart(world)
    assert chain.w3.eth.block_number == head - 1
    assert chain.w3.eth.get_block("latest")["hash"] == kept_hash
    assert _report(chain).dropped_tail_bytes == kept
    assert path.stat().st_size == whole  # cut back to the whole records
    with pytest.raises(TransactionNotFound):
        chain.w3.eth.get_transaction_receipt(torn_tx)
    assert chain.w3.eth.get_balance(somebody) == 0

    chain.fund(somebody, 2)  # appends after the cut, and that survives too
    new_head = chain.w3.eth.get_block("latest")
    chain = restart(world)
    assert chain.w3.eth.get_block("latest")["hash"] == new_head["hash"]
    assert chain.w3.eth.get_balance(somebody) == 2
    assert _report(chain).dropped_tail_bytes == 0


# ------------------------------------------------------------------------------------- tampering


def _flip_nibble(hex_string: str, position: int) -> str:
    digit = hex_string[position]
    return hex_string[:position] + ("1" if digit != "1" else "2") + hex_string[position + 1 :]


def _tx_byte(record: Record) -> None:
    tx = record["transactions"][0]
    record["transactions"][0] = _flip_nibble(tx, len(tx) // 2)


def _last_tx_byte(record: Record) -> None:  # inside the signature's s value
    record["transactions"][0] = _flip_nibble(record["transactions"][0], -3)


def _drop_tx(record: Record) -> None:
    record["transactions"] = []


def _later(record: Record) -> None:
    record["timestamp"] += 1


def _before_parent(record: Record) -> None:
    record["timestamp"] -= 5


def _mix_hash(record: Record) -> None:
    record["mix_hash"] = "0x" + "ab" * 32


def _coinbase(record: Record) -> None:
    record["coinbase"] = "0x" + "11" * 20


def _recorded_hash(record: Record) -> None:
    record["hash"] = _flip_nibble(record["hash"], 10)


def _recorded_root(record: Record) -> None:
    record["state_root"] = _flip_nibble(record["state_root"], 10)


TAMPERS: list[tuple[str, Callable[[Record], None], str]] = [
    ("a byte of a transaction's calldata", _tx_byte, "transaction 0 cannot be applied|differs"),
    ("a byte of a transaction's signature", _last_tx_byte, "transaction 0 cannot be applied"),
    ("a transaction removed", _drop_tx, "state root differs"),
    ("a timestamp one second later", _later, "hash differs"),
    ("a timestamp before the parent's", _before_parent, "the block cannot be applied"),
    ("the mix hash", _mix_hash, "hash differs"),
    ("the coinbase", _coinbase, "state root differs|hash differs"),
    ("the recorded block hash", _recorded_hash, "hash differs"),
    ("the recorded state root", _recorded_root, "state root differs"),
]


@pytest.mark.parametrize(
    ("tamper", "message"), [t[1:] for t in TAMPERS], ids=[t[0] for t in TAMPERS]
)
def test_a_tampered_block_refuses_to_open_and_is_named(
    persisted: World, tamper: Callable[[Record], None], message: str
) -> None:
    data_dir, lines = _closed_log(persisted)
    path = data_dir / LOG_NAME
    block = len(lines) // 2  # line i (0-based) holds block i; the header is line 0
    record = json.loads(lines[block])
    assert record["number"] == block
    assert record["transactions"]
    tamper(record)
    lines[block] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    damaged = b"".join(lines)
    path.write_bytes(damaged)

    with pytest.raises(ChainLogMismatchError, match=f"block {block}: ({message})") as caught:
        EmbeddedChain.open(data_dir)
    assert caught.value.block_number == block
    assert caught.value.code == "chain_log_mismatch"
    assert path.read_bytes() == damaged  # refusing changes nothing, and lets go of the lock
    with pytest.raises(ChainLogMismatchError):
        EmbeddedChain.open(data_dir)


def test_records_out_of_order_name_the_missing_block(persisted: World) -> None:
    data_dir, lines = _closed_log(persisted)
    block = len(lines) // 2
    lines[block], lines[block + 1] = lines[block + 1], lines[block]
    (data_dir / LOG_NAME).write_bytes(b"".join(lines))
    with pytest.raises(ChainLogMismatchError, match=f"block {block}: its record is missing"):
        EmbeddedChain.open(data_dir)


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("timestamp", 1_600_000_000, "hash differs"),
        ("gas_limit", 30_000_000, "hash differs"),
    ],
    ids=["genesis timestamp", "genesis gas limit"],
)
def test_a_tampered_genesis_is_named_as_block_0(
    persisted: World, field: str, value: int, what: str
) -> None:
    data_dir, lines = _closed_log(persisted)
    header = json.loads(lines[0])
    header["genesis"][field] = value
    lines[0] = json.dumps(header).encode() + b"\n"
    (data_dir / LOG_NAME).write_bytes(b"".join(lines))
    with pytest.raises(ChainLogMismatchError, match=f"block 0: {what}") as caught:
        EmbeddedChain.open(data_dir)
    assert caught.value.block_number == 0


# ------------------------------------------------------------------------------------ corruption


def _garbage_in_the_middle(lines: list[bytes]) -> tuple[bytes, int]:
    return b"".join([*lines[:5], b"not json\n", *lines[5:]]), 6


def _trailing_whole_garbage(lines: list[bytes]) -> tuple[bytes, int]:
    return b"".join([*lines, b"{}\n"]), len(lines) + 1


def _short_hash(lines: list[bytes]) -> tuple[bytes, int]:
    record = json.loads(lines[3])
    record["hash"] = record["hash"][:-2]
    return b"".join([*lines[:3], json.dumps(record).encode() + b"\n", *lines[4:]]), 4


def _header_torn(lines: list[bytes]) -> tuple[bytes, int]:
    return lines[0][:40], 1


def _other_format(lines: list[bytes]) -> tuple[bytes, int]:
    header = json.loads(lines[0])
    header["format"] = "something-else/9"
    return b"".join([json.dumps(header).encode() + b"\n", *lines[1:]]), 1


def _unknown_genesis_field(lines: list[bytes]) -> tuple[bytes, int]:
    header = json.loads(lines[0])
    header["genesis"]["colour"] = 7
    return b"".join([json.dumps(header).encode() + b"\n", *lines[1:]]), 1


CORRUPTIONS = [
    ("a garbage line in the middle", _garbage_in_the_middle),
    ("a whole garbage line at the end", _trailing_whole_garbage),
    ("a hash one byte short", _short_hash),
    ("a torn header", _header_torn),
    ("another format", _other_format),
    ("a genesis field py-evm does not know", _unknown_genesis_field),
]


@pytest.mark.parametrize("corrupt", [c[1] for c in CORRUPTIONS], ids=[c[0] for c in CORRUPTIONS])
def test_an_unreadable_log_refuses_to_open_and_names_the_line(
    persisted: World, corrupt: Callable[[list[bytes]], tuple[bytes, int]]
) -> None:
    data_dir, lines = _closed_log(persisted)
    content, line = corrupt(lines)
    (data_dir / LOG_NAME).write_bytes(content)
    with pytest.raises(ChainLogCorruptError, match=f"line {line}:") as caught:
        EmbeddedChain.open(data_dir)
    assert caught.value.line == line
    assert (data_dir / LOG_NAME).read_bytes() == content


# --------------------------------------------------------------------------------- write failure


def test_a_block_that_cannot_be_made_durable_is_not_acknowledged(
    persisted: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = persisted
    chain = embedded(world)
    consent = world.grant(world.terms(world.enterprises["solo"], world.banks[0]))
    head = chain.w3.eth.get_block("latest")
    size = (chain.data_dir or Path()).joinpath(LOG_NAME).stat().st_size

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "simulated I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(ChainUnavailableError, match="could not be written"):
        world.bureau.record_accesses([world.entry(consent, world.banks[0])])
    monkeypatch.undo()

    # Not on disk, so not on the chain either: no receipt can be seen.
    assert chain.w3.eth.get_block("latest")["hash"] == head["hash"]
    assert world.bureau.consent(consent).reads_used == 0
    assert (chain.data_dir or Path()).joinpath(LOG_NAME).stat().st_size == size
    # After a failed write the log accepts nothing more until the chain is re-opened.
    with pytest.raises(ChainLogWriteError, match="failed earlier"):
        chain.fund(Account.create().address, 1)

    chain = restart(world)
    assert chain.w3.eth.get_block("latest")["hash"] == head["hash"]
    world.bureau.forget_nonce()
    result = world.record([world.entry(consent, world.banks[0])])
    assert result.decisions[0].granted
    chain = restart(world)
    assert world.bureau.consent(consent).reads_used == 1
