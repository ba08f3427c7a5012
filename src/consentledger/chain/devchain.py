"""What a development chain offers beyond JSON-RPC: the controls tests and demos use."""

from __future__ import annotations

from typing import Protocol

from eth_account.signers.local import LocalAccount
from web3 import Web3


class DevChain(Protocol):
    """The embedded chain and anvil both provide these controls."""

    w3: Web3

    @property
    def chain_id(self) -> int: ...

    def fund(self, address: str, wei: int = ...) -> None: ...

    def new_account(self, wei: int = ...) -> LocalAccount: ...

    def snapshot(self) -> int: ...

    def revert(self, snapshot_id: int) -> None: ...

    def now(self) -> int: ...

    def time_travel(self, to_timestamp: int) -> None: ...

    def set_automine(self, enabled: bool) -> None: ...

    def mine(self) -> None: ...
