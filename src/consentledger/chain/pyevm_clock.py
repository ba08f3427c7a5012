"""py-evm and eth-tester stamping blocks by a :class:`~consentledger.chain.clock.BlockClock`.

Left alone, py-evm stamps the pending block when the block before it is mined, so a transaction
sent after nine idle minutes lands in a block nine minutes old, and a simulation (stamped when it
runs) and the block that later includes the same transaction see different times.
:class:`ClockedBackend` re-stamps the empty pending block with the clock whenever a transaction
arrives or a block is mined, and the VMs here stamp the temporary block of a simulation the same
way, so a simulation and its block see the same time (to the second). Once the pending block holds
a transaction its time is fixed: changing it would change what that transaction did.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth.vm.forks.prague import PragueVM
from eth_tester import PyEVMBackend
from eth_tester.backends.pyevm.main import ZERO_ADDRESS

from consentledger.chain.clock import BlockClock, next_block_time


class WallClockPragueVM(PragueVM):
    """Prague, each new block stamped with the wall clock and at least a second after its parent."""

    block_clock: ClassVar[BlockClock] = BlockClock.WALL

    @classmethod
    def create_header_from_parent(cls, parent_header: Any, **header_params: Any) -> Any:
        if parent_header is not None:  # None: the genesis header, stamped by its parameters
            header_params.setdefault(
                "timestamp", next_block_time(int(parent_header.timestamp), cls.block_clock)
            )
        return super().create_header_from_parent(parent_header, **header_params)


class SteadyClockPragueVM(WallClockPragueVM):
    """Prague, each new block one second after its parent unless time travel says otherwise."""

    block_clock: ClassVar[BlockClock] = BlockClock.STEADY


def vm_configuration(clock: BlockClock) -> tuple[tuple[int, type[Any]], ...]:
    """The embedded chain's fork schedule: Prague from genesis, stamped by ``clock``."""
    vm = WallClockPragueVM if clock is BlockClock.WALL else SteadyClockPragueVM
    return ((0, vm),)


class ClockedBackend(PyEVMBackend):  # type: ignore[misc]  # eth-tester is untyped
    """eth-tester's py-evm backend whose empty pending block keeps up with its VM's clock."""

    _travelling = False

    @property
    def block_clock(self) -> BlockClock:
        vm_class = self.chain.get_vm_class_for_block_number(self.chain.header.block_number)
        return getattr(vm_class, "block_clock", BlockClock.WALL)

    def follow_clock(self) -> None:
        """Re-stamp the pending block with the time it would get now, while it is empty."""
        chain = self.chain
        header = chain.header
        if self._travelling or header.gas_used:  # time travel, or a transaction fixed its time
            return
        if self.block_clock is not BlockClock.WALL:
            return
        parent = chain.get_canonical_block_header_by_number(header.block_number - 1)
        stamp = max(int(header.timestamp), next_block_time(int(parent.timestamp)))
        if stamp != header.timestamp:
            chain.header = header.copy(timestamp=stamp)

    def time_travel(self, to_timestamp: int) -> int:
        self._travelling = True
        try:
            return int(super().time_travel(to_timestamp))
        finally:
            self._travelling = False

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = ZERO_ADDRESS) -> tuple[Any, ...]:
        hashes: list[Any] = []
        for _ in range(num_blocks):
            self.follow_clock()
            hashes.extend(super().mine_blocks(1, coinbase))
        return tuple(hashes)

    def send_raw_transaction(self, raw_transaction: bytes) -> Any:
        self.follow_clock()
        return super().send_raw_transaction(raw_transaction)

    def send_signed_transaction(self, signed_transaction: Any, block_number: Any = "latest") -> Any:
        self.follow_clock()
        return super().send_signed_transaction(signed_transaction, block_number)

    def send_transaction(self, transaction: Any) -> Any:
        self.follow_clock()
        return super().send_transaction(transaction)
