"""The embedded chain on disk: every mined block is logged before it is answered, and replayed.

eth-tester keeps py-evm's state in a dictionary. :class:`DurableBackend` is eth-tester's py-evm
backend with one more step after every block it mines: the block's inputs (timestamp, mix hash,
coinbase, raw signed transactions) and outputs (hash, state root) are appended to the block log
(``chain/blocklog.py``) and fsynced. Every way a block is mined goes through
``PyEVMBackend.mine_blocks`` (a raw transaction with automine on, ``fund``, ``time_travel``,
``mine`` with automine off, ``evm_mine``), and the call that mined the block returns only after the
fsync, so a transaction whose receipt anyone has seen is on disk.

:func:`open_backend` builds the genesis from the log's header (fixed genesis parameters and
pre-funded accounts; eth-tester's default genesis would take the wall clock), re-executes every
logged block with the logged timestamp, mix hash and coinbase, and compares each block's hash and
state root with the log. The first block that differs is named in
:class:`ChainLogMismatchError`, and nothing is opened. A torn last record (a crash in the middle
of an append, never acknowledged) is dropped.

A persistent chain never forgets a mined block: reverting to an earlier snapshot, resetting to
genesis and mining withdrawals (a path that bypasses the log) are refused.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from eth.vm.forks.cancun.state import get_total_blob_gas
from eth_tester import PyEVMBackend

from consentledger.chain.blocklog import (
    BlockLog,
    BlockRecord,
    ChainLogCorruptError,
    ChainLogError,
    ChainLogWriteError,
    LogHeader,
    prepare_data_dir,
    read_log,
)
from consentledger.chain.pyevm_clock import ClockedBackend
from consentledger.errors import ConsentLedgerError

log = logging.getLogger(__name__)

ZERO_ADDRESS = bytes(20)


class ChainLogMismatchError(ChainLogError, ValueError):
    """Replaying the block log does not give the chain the log recorded: refused to open."""

    code = "chain_log_mismatch"
    exit_code = 9

    def __init__(
        self,
        path: Path,
        block_number: int,
        what: str,
        expected: str | None,
        computed: str,
        note: str = "",
    ) -> None:
        self.path = path
        self.block_number = block_number
        self.what = what
        #: The logged value (None when the block could not be re-executed at all).
        self.expected = expected
        #: The replayed value, or the error that stopped the replay.
        self.computed = computed
        if expected is None:
            detail = f"{what} {computed}"
        else:
            detail = f"{what} differs: expected {expected}, computed {computed}"
        super().__init__(
            f"the chain in {path.parent} does not replay from its log: block {block_number}: "
            f"{detail}{note}; the chain was not opened"
        )


class NotOnPersistentChainError(ConsentLedgerError, RuntimeError):
    """An operation that would forget or bypass logged blocks, refused on a persistent chain."""

    code = "not_on_persistent_chain"


def software_versions() -> dict[str, str]:
    """The versions that decide how a block executes (written to the header, quoted on a
    mismatch)."""
    found = {}
    for name in ("py-evm", "eth-tester"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            found[name] = "unknown"
    return found


def record_of(block: Any) -> BlockRecord:
    """The log record of a mined py-evm block."""
    header = block.header
    return BlockRecord(
        number=int(header.block_number),
        timestamp=int(header.timestamp),
        mix_hash=bytes(header.mix_hash),
        coinbase=bytes(header.coinbase),
        transactions=tuple(bytes(tx.encode()) for tx in block.transactions),
        block_hash=bytes(block.hash),
        state_root=bytes(header.state_root),
    )


@dataclass(frozen=True, slots=True)
class OpenReport:
    """What opening a data directory found and did."""

    created: bool
    blocks: int
    transactions: int
    #: Bytes of a torn last record, dropped (0 after a clean shutdown).
    dropped_tail_bytes: int
    replay_seconds: float


class DurableBackend(ClockedBackend):
    """eth-tester's py-evm backend, logging every mined block durably once a log is attached."""

    block_log: BlockLog | None = None
    opened: OpenReport | None = None

    def attach(self, block_log: BlockLog, report: OpenReport) -> None:
        self.block_log = block_log
        self.opened = report

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = ZERO_ADDRESS) -> tuple[Any, ...]:
        if self.block_log is None:
            return tuple(super().mine_blocks(num_blocks, coinbase))
        hashes = []
        for _ in range(num_blocks):
            # Refuse before mining: the in-memory chain must not run ahead of the disk.
            self.block_log.ensure_writable()
            parent = self.chain.get_canonical_head()
            (block_hash,) = super().mine_blocks(1, coinbase)
            try:
                self.block_log.append(record_of(self.chain.get_block_by_hash(block_hash)))
            except ChainLogWriteError:
                # Not on disk, so not acknowledged: forget it in memory too.
                PyEVMBackend.revert_to_snapshot(self, parent.hash)
                raise
            hashes.append(block_hash)
        return tuple(hashes)

    def revert_to_snapshot(self, snapshot: bytes) -> None:
        # eth-tester itself reverts to the head block to validate a queued transaction (automine
        # off); that forgets nothing and is allowed.
        if self.block_log is not None and snapshot != self.chain.get_canonical_head().hash:
            target = self.chain.get_block_by_hash(snapshot).number
            head = self.chain.get_canonical_head().block_number
            raise NotOnPersistentChainError(
                f"a persistent chain never forgets a mined block: reverting from block {head} to "
                f"the snapshot at block {target} is refused"
            )
        super().revert_to_snapshot(snapshot)

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        if self.block_log is not None:
            raise NotOnPersistentChainError("a persistent chain cannot be reset to genesis")
        super().reset_to_genesis(*args, **kwargs)

    def apply_withdrawals(self, withdrawals_list: Any) -> None:
        if self.block_log is not None:
            raise NotOnPersistentChainError("withdrawals are not logged on a persistent chain")
        super().apply_withdrawals(withdrawals_list)

    def close(self) -> None:
        if self.block_log is not None:
            self.block_log.close()


def _genesis_backend(
    header: LogHeader, vm_configuration: tuple[tuple[int, type[Any]], ...]
) -> DurableBackend:
    genesis_state = {
        address: {"balance": balance, "nonce": 0, "code": b"", "storage": {}}
        for address, balance in header.alloc
    }
    return DurableBackend(
        genesis_parameters=dict(header.genesis),
        genesis_state=genesis_state,
        vm_configuration=vm_configuration,
    )


def _new_header(
    vm_configuration: tuple[tuple[int, type[Any]], ...], genesis_timestamp: int
) -> LogHeader:
    """Fixed genesis parameters (eth-tester's defaults, at ``genesis_timestamp``) and
    eth-tester's ten pre-funded accounts."""
    params = PyEVMBackend.generate_genesis_params(overrides={"timestamp": genesis_timestamp})
    state = PyEVMBackend.generate_genesis_state()
    backend = DurableBackend(
        genesis_parameters=params, genesis_state=state, vm_configuration=vm_configuration
    )
    genesis = backend.chain.get_canonical_head()
    return LogHeader(
        chain_id=int(backend.chain.chain_id),
        genesis=dict(params),
        alloc=tuple(
            (bytes(address), int(account["balance"])) for address, account in state.items()
        ),
        faucet=bytes(backend.get_accounts()[0]),
        genesis_hash=bytes(genesis.hash),
        genesis_state_root=bytes(genesis.state_root),
        software=software_versions(),
    )


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class _Replayer:
    """Re-executes logged blocks on a genesis backend and checks each against the log."""

    def __init__(self, path: Path, header: LogHeader, backend: DurableBackend) -> None:
        self.path = path
        self.header = header
        self.backend = backend
        now = software_versions()
        self.note = (
            ""
            if now == header.software
            else f" (the log was written with {header.software}, this is {now})"
        )

    def mismatch(
        self, block: int, what: str, expected: str | None, computed: str
    ) -> ChainLogMismatchError:
        return ChainLogMismatchError(self.path, block, what, expected, computed, self.note)

    def check_genesis(self) -> None:
        chain = self.backend.chain
        genesis = chain.get_canonical_head()
        checks = [
            ("chain id", str(self.header.chain_id), str(chain.chain_id)),
            ("state root", _hex(self.header.genesis_state_root), _hex(genesis.state_root)),
            ("hash", _hex(self.header.genesis_hash), _hex(genesis.hash)),
            ("faucet", _hex(self.header.faucet), _hex(self.backend.get_accounts()[0])),
        ]
        for what, expected, computed in checks:
            if expected != computed:
                raise self.mismatch(0, what, expected, computed)

    def replay(self, record: BlockRecord) -> None:
        """Mine ``record`` again, the way eth-tester mined it, and compare."""
        chain = self.backend.chain
        number = int(chain.header.block_number)
        if record.number != number:
            raise self.mismatch(
                number, "its record", None, f"is missing: the next record is block {record.number}"
            )
        step = "its timestamp"
        try:
            if chain.header.timestamp != record.timestamp:
                # What time_travel does: re-stamp the pending header, then mine.
                chain.header = chain.header.copy(timestamp=record.timestamp)
            builder = chain.get_vm().get_transaction_builder()
            for index, raw in enumerate(record.transactions):
                step = f"transaction {index}"
                chain.apply_transaction(builder.decode(raw))
            step = "the block"
            blob_gas = sum(get_total_blob_gas(tx) for tx in chain.get_block().transactions)
            block = chain.mine_block(
                coinbase=record.coinbase, mix_hash=record.mix_hash, blob_gas_used=blob_gas
            )
        except Exception as exc:  # anything py-evm refuses is a block that does not replay
            failure = f"cannot be applied: {type(exc).__name__}: {' '.join(str(exc).split())}"
            raise self.mismatch(record.number, step, None, failure) from exc
        if block.header.state_root != record.state_root:
            raise self.mismatch(
                record.number, "state root", _hex(record.state_root), _hex(block.header.state_root)
            )
        if block.hash != record.block_hash:
            raise self.mismatch(record.number, "hash", _hex(record.block_hash), _hex(block.hash))


def open_backend(
    data_dir: Path,
    vm_configuration: tuple[tuple[int, type[Any]], ...],
    *,
    genesis_timestamp: int | None = None,
) -> DurableBackend:
    """The chain in ``data_dir``, created (genesis at ``genesis_timestamp``, default now) or
    replayed from its log and verified; new blocks are logged from then on.

    Raises ChainLogLockedError if the directory is open elsewhere, ChainLogCorruptError for a log
    that cannot be read, ChainLogMismatchError if the replay differs from the log.
    """
    data_dir = Path(data_dir)
    lock_fd = prepare_data_dir(data_dir)
    block_log = BlockLog(data_dir, lock_fd)
    try:
        started = time.perf_counter()
        created = not block_log.path.exists()
        if created:
            stamp = int(time.time()) if genesis_timestamp is None else genesis_timestamp
            header = _new_header(vm_configuration, stamp)
            BlockLog.create_file(data_dir, header)
        # Read back even a new log: what is replayed is what the disk holds.
        contents = read_log(block_log.path)
        try:
            backend = _genesis_backend(contents.header, vm_configuration)
        except Exception as exc:  # a header whose genesis py-evm refuses to build
            reason = f"bad header: no genesis can be built from it ({type(exc).__name__}: {exc})"
            raise ChainLogCorruptError(block_log.path, 1, reason) from exc
        replayer = _Replayer(block_log.path, contents.header, backend)
        replayer.check_genesis()
        for record in contents.records:
            replayer.replay(record)
        if contents.torn_bytes:
            log.warning(
                "block log %s: dropped a torn last record (%d bytes, never acknowledged)",
                block_log.path,
                contents.torn_bytes,
            )
            block_log.drop_torn_tail(contents.good_length)
        block_log.start_appending()
    except BaseException:
        block_log.close()
        raise
    report = OpenReport(
        created=created,
        blocks=len(contents.records),
        transactions=sum(len(r.transactions) for r in contents.records),
        dropped_tail_bytes=contents.torn_bytes,
        replay_seconds=time.perf_counter() - started,
    )
    backend.attach(block_log, report)
    log.info(
        "opened the chain in %s: %d blocks, %d transactions replayed in %.2f s",
        data_dir,
        report.blocks,
        report.transactions,
        report.replay_seconds,
    )
    return backend
