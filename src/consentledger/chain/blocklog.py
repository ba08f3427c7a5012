"""The embedded chain's block log: an append-only file that is on disk before a block is answered.

The log lives in a data directory as ``blocks.jsonl``: JSON lines, UTF-8, each line ended by
``\\n``. The first line is the header (:class:`LogHeader`: format, chain id, the genesis
parameters, the pre-funded accounts, the genesis hash and state root, the software that wrote it);
every further line is one mined block (:class:`BlockRecord`: number, timestamp, mix hash,
coinbase, the raw signed transactions in order, and the block hash and state root they gave).

Durability. The header is written to a temporary file, fsynced, renamed into place, and the
directory fsynced: a log either has a whole header or does not exist. A block is appended with one
``write`` of the whole line and an ``fsync`` before :meth:`BlockLog.append` returns; appends do not
change the directory, so it is not fsynced again. A crash can therefore leave only one kind of
damage: a last line without its ``\\n`` (a *torn tail*), whose block was never acknowledged because
the fsync that would have acknowledged it had not returned. :func:`read_log` reports it and
:meth:`BlockLog.drop_torn_tail` cuts it off; any other damage (a whole line that is not a record)
is refused with :class:`ChainLogCorruptError`.

One process at a time: the directory's ``lock`` file is held with ``flock`` while the log is open
(the kernel lets go when the process dies, even by SIGKILL).

This module knows nothing of py-evm: it stores and reads bytes; ``chain/persistent.py`` replays
them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentledger.errors import ConsentLedgerError
from consentledger.files import fsync_directory, open_no_follow, write_atomically

#: The first field of every header; a log in another format is refused.
FORMAT = "consentledger-blocklog/1"
LOG_NAME = "blocks.jsonl"
LOCK_NAME = "lock"


class ChainLogError(ConsentLedgerError):
    """The persistent chain's log cannot be used (the subclasses say why)."""

    code = "chain_log_error"
    exit_code = 9


class ChainLogCorruptError(ChainLogError, ValueError):
    """A whole line of the block log that is not a valid record (not a torn tail: refused)."""

    code = "chain_log_corrupt"

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"block log {path}, line {line}: {reason}; the chain was not opened")


class ChainLogLockedError(ChainLogError, BlockingIOError):
    """Another open chain (in this or another process) holds the data directory."""

    code = "chain_log_locked"
    exit_code = 8

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        super().__init__(f"the chain in {data_dir} is already open (its lock file is held)")


class ChainLogWriteError(ChainLogError, OSError):
    """A block could not be made durable; it was not acknowledged."""

    code = "chain_log_write_failed"


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes(value: Any, name: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"{name} is not a 0x-prefixed hex string")
    data = bytes.fromhex(value[2:])
    if size is not None and len(data) != size:
        raise ValueError(f"{name} has {len(data)} bytes, not {size}")
    return data


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} is not a non-negative integer")
    return value


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """One mined block: what it takes to mine it again, and what it must come out as."""

    number: int
    timestamp: int
    mix_hash: bytes
    coinbase: bytes
    transactions: tuple[bytes, ...]
    block_hash: bytes
    state_root: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "timestamp": self.timestamp,
            "mix_hash": _hex(self.mix_hash),
            "coinbase": _hex(self.coinbase),
            "transactions": [_hex(tx) for tx in self.transactions],
            "hash": _hex(self.block_hash),
            "state_root": _hex(self.state_root),
        }

    @classmethod
    def from_json(cls, data: Any) -> BlockRecord:
        """Parse a record; raises ValueError naming the first bad field."""
        if not isinstance(data, dict):
            raise ValueError("the record is not a JSON object")
        try:
            transactions = data["transactions"]
            if not isinstance(transactions, list):
                raise ValueError("transactions is not a list")
            return cls(
                number=_int(data["number"], "number"),
                timestamp=_int(data["timestamp"], "timestamp"),
                mix_hash=_bytes(data["mix_hash"], "mix_hash", 32),
                coinbase=_bytes(data["coinbase"], "coinbase", 20),
                transactions=tuple(
                    _bytes(tx, f"transaction {i}") for i, tx in enumerate(transactions)
                ),
                block_hash=_bytes(data["hash"], "hash", 32),
                state_root=_bytes(data["state_root"], "state_root", 32),
            )
        except KeyError as exc:
            raise ValueError(f"field {exc.args[0]} is missing") from None


@dataclass(frozen=True, slots=True)
class LogHeader:
    """What the chain is built on: replaying the records on top of it gives the same chain."""

    chain_id: int
    #: py-evm genesis header fields: ints, and bytes for the hashes, addresses and extra data.
    genesis: dict[str, int | bytes]
    #: The pre-funded accounts, (address, balance in wei), in the order of their keys.
    alloc: tuple[tuple[bytes, int], ...]
    #: The account :meth:`EmbeddedChain.fund` sends from (the first pre-funded account).
    faucet: bytes
    genesis_hash: bytes
    genesis_state_root: bytes
    #: Versions of the software that created the log (for the message when a replay differs).
    software: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "chain_id": self.chain_id,
            "genesis": {
                key: _hex(value) if isinstance(value, bytes) else value
                for key, value in sorted(self.genesis.items())
            },
            "alloc": [
                {"address": _hex(address), "balance": balance} for address, balance in self.alloc
            ],
            "faucet": _hex(self.faucet),
            "genesis_hash": _hex(self.genesis_hash),
            "genesis_state_root": _hex(self.genesis_state_root),
            "software": dict(self.software),
        }

    @classmethod
    def from_json(cls, data: Any) -> LogHeader:
        if not isinstance(data, dict):
            raise ValueError("the header is not a JSON object")
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        try:
            genesis_raw = data["genesis"]
            if not isinstance(genesis_raw, dict):
                raise ValueError("genesis is not an object")
            genesis: dict[str, int | bytes] = {
                str(key): _bytes(value, f"genesis.{key}")
                if isinstance(value, str)
                else _int(value, f"genesis.{key}")
                for key, value in genesis_raw.items()
            }
            alloc_raw = data["alloc"]
            if not isinstance(alloc_raw, list) or not alloc_raw:
                raise ValueError("alloc is not a non-empty list")
            alloc = tuple(
                (
                    _bytes(entry["address"], f"alloc {i} address", 20),
                    _int(entry["balance"], f"alloc {i} balance"),
                )
                for i, entry in enumerate(alloc_raw)
            )
            software = data.get("software", {})
            if not isinstance(software, dict):
                raise ValueError("software is not an object")
            return cls(
                chain_id=_int(data["chain_id"], "chain_id"),
                genesis=genesis,
                alloc=alloc,
                faucet=_bytes(data["faucet"], "faucet", 20),
                genesis_hash=_bytes(data["genesis_hash"], "genesis_hash", 32),
                genesis_state_root=_bytes(data["genesis_state_root"], "genesis_state_root", 32),
                software={str(k): str(v) for k, v in software.items()},
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"field {exc.args[0]} is missing or malformed") from None


def _line(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


@dataclass(frozen=True, slots=True)
class LogContents:
    """A block log as read from disk."""

    header: LogHeader
    records: tuple[BlockRecord, ...]
    #: Bytes after the last whole line (a record whose append never completed), or 0.
    torn_bytes: int
    #: The length of the whole lines: where the file is cut when the torn tail is dropped.
    good_length: int


def read_log(path: Path) -> LogContents:
    """Read and parse the log at ``path``; a torn last line is reported, not parsed."""
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1  # 0 when there is no whole line at all
    lines = data[:cut].split(b"\n")[:-1]
    if not lines:
        # The header is renamed into place whole, so a log without one was damaged afterwards.
        raise ChainLogCorruptError(path, 1, "the header line is missing or incomplete")
    try:
        header = LogHeader.from_json(json.loads(lines[0]))
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ChainLogCorruptError(path, 1, f"bad header: {exc}") from exc
    records = []
    for index, line in enumerate(lines[1:], start=2):
        try:
            records.append(BlockRecord.from_json(json.loads(line)))
        except ValueError as exc:
            raise ChainLogCorruptError(path, index, f"bad block record: {exc}") from exc
    return LogContents(header, tuple(records), len(data) - cut, cut)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def prepare_data_dir(data_dir: Path) -> int:
    """Create ``data_dir`` if needed (durably) and take its lock; returns the lock's descriptor."""
    missing = []
    ancestor = data_dir.resolve()
    while not ancestor.exists():
        missing.append(ancestor)
        ancestor = ancestor.parent
    data_dir.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):  # make each new directory's entry durable
        fsync_directory(created.parent)
    lock_fd = open_no_follow(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        raise ChainLogLockedError(data_dir) from None
    return lock_fd


class BlockLog:
    """An open block log: appends are on disk when :meth:`append` returns."""

    def __init__(self, data_dir: Path, lock_fd: int) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOG_NAME
        self._lock_fd: int | None = lock_fd
        self._fd: int | None = None
        self._size = 0
        #: Why the log refuses appends after a failed one (None while healthy).
        self.failure: str | None = None

    @staticmethod
    def create_file(data_dir: Path, header: LogHeader) -> None:
        """Write a new log holding only ``header``, atomically (temporary file, fsync, rename,
        directory fsync). The caller holds the directory's lock."""
        write_atomically(data_dir / LOG_NAME, _line(header.to_json()))

    def drop_torn_tail(self, good_length: int) -> None:
        """Cut the file back to its whole lines (after a crash in the middle of an append)."""
        fd = open_no_follow(self.path, os.O_WRONLY)
        try:
            os.ftruncate(fd, good_length)
            os.fsync(fd)
        finally:
            os.close(fd)

    def start_appending(self) -> None:
        self._fd = open_no_follow(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = os.fstat(self._fd).st_size

    def ensure_writable(self) -> None:
        """Raise ChainLogWriteError if an append would be refused (closed, or failed before)."""
        if self.failure is not None:
            raise ChainLogWriteError(
                f"the block log {self.path} failed earlier ({self.failure}); re-open the chain"
            )
        if self._fd is None:
            raise ChainLogWriteError(f"the block log {self.path} is closed")

    def append(self, record: BlockRecord) -> None:
        """Append ``record`` and fsync it; raises ChainLogWriteError if it may not be on disk.

        After a failed append the log refuses every later one: what reached the disk is then
        unknown, and re-opening the chain (which reads the disk) is the way back.
        """
        self.ensure_writable()
        assert self._fd is not None
        line = _line(record.to_json())
        try:
            _write_all(self._fd, line)
            os.fsync(self._fd)
        except OSError as exc:
            self.failure = f"block {record.number}: {exc}"
            with contextlib.suppress(OSError):  # best effort: keep the unacknowledged block out
                os.ftruncate(self._fd, self._size)
            raise ChainLogWriteError(
                f"block {record.number} could not be written to {self.path}: {exc}"
            ) from exc
        self._size += len(line)

    def close(self) -> None:
        """Stop appending and let go of the directory's lock. Idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    @property
    def closed(self) -> bool:
        return self._lock_fd is None
