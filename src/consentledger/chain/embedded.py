"""The embedded chain: eth-tester on py-evm, in process, answering like a real node.

web3.py's own eth-tester provider turns a revert into a Python exception whose message holds the
revert bytes as text, so custom errors cannot be decoded the way they are from a real node. The
:class:`EmbeddedProvider` here answers a revert the way geth and anvil do (JSON-RPC error code 3,
``data`` = the revert bytes as hex), so the same client code handles every chain.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, cast

from eth.consensus.applier import ConsensusApplier
from eth.consensus.noproof import NoProofConsensus
from eth.exceptions import BlockNotFound, HeaderNotFound
from eth.exceptions import TransactionNotFound as PyEVMTransactionNotFound
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm import main as pyevm_backend
from eth_tester.exceptions import TransactionFailed
from eth_utils.conversions import to_hex
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse

from consentledger.chain.clock import BlockClock, next_block_time
from consentledger.chain.persistent import open_backend
from consentledger.chain.pyevm_clock import ClockedBackend, vm_configuration

#: eth-tester's chain id (fixed by eth-tester's py-evm chain class).
EMBEDDED_CHAIN_ID = 131277322940537


def _revert_data(exc: TransactionFailed) -> str | None:
    """The revert bytes carried by an eth-tester failure, as hex, if it carries bytes."""
    first = exc.args[0] if exc.args else None
    if isinstance(first, Exception) and first.args:
        first = first.args[0]
    if isinstance(first, bytes | bytearray):
        return to_hex(bytes(first))
    return None


class EmbeddedProvider(EthereumTesterProvider):
    """eth-tester provider whose reverts look like a real node's (code 3, hex ``data``)."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_estimateGas" and len(params) > 1 and params[1] == "pending":
            # eth-tester estimates in a child of the latest block, which is what "pending" means
            # on a node that mines every transaction at once; it refuses the "pending" tag itself.
            params = [params[0], "latest", *params[2:]]
        namespace, _, endpoint = method.partition("_")
        delegator = (self.api_endpoints or {}).get(namespace, {}).get(endpoint)
        if delegator is None:
            return super().make_request(method, params)
        request_id = self._current_request_id
        self._current_request_id += 1
        try:
            result = delegator(self.ethereum_tester, params)
        except TransactionFailed as exc:
            data = _revert_data(exc)
            if data is None:
                return super().make_request(method, params)
            error = {"code": 3, "message": "execution reverted", "data": data}
            return cast(RPCResponse, {"id": request_id, "jsonrpc": "2.0", "error": error})
        except NotImplementedError:
            return super().make_request(method, params)
        return cast(RPCResponse, {"id": request_id, "jsonrpc": "2.0", "result": result})


def single_run_gas_estimate(state: Any, transaction: Any) -> int:
    """Estimate gas from one execution at the block gas limit.

    py-evm's default estimator binary-searches with ~9 executions (~100 ms a call here); one run
    gives the gas used before refunds, which is what the limit must cover. 64/63 covers the
    EIP-150 reserve of the one external call the ledger makes (the ecrecover precompile).
    """
    from eth.vm.spoof import SpoofTransaction

    trial = SpoofTransaction(transaction, gas=state.gas_limit, gas_price=0)
    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(trial)
        if computation.is_error:
            raise computation.error
        used = int(state.gas_limit) - int(computation.get_gas_remaining())
    finally:
        state.revert(snapshot)
    return min(int(state.gas_limit), used * 64 // 63 + 1)


def indexed_transaction_lookup(chain: Any, transaction_hash: bytes) -> tuple[Any, Any, int]:
    """Find a transaction by its hash through py-evm's canonical index.

    eth-tester scans every block from the head down for each receipt it builds, so
    ``eth_getLogs`` over n blocks costs O(n^2) block reads (10 s at 145 blocks). The index answers
    at once; the head block (not indexed yet) is searched first, and an index entry that no longer
    names this transaction (after a revert to a snapshot) falls back to eth-tester's own scan.
    """
    head = chain.get_block()
    for index, transaction in enumerate(head.transactions):
        if transaction.hash == transaction_hash:
            return head, transaction, index
    try:
        number, index = chain.chaindb.get_transaction_index(transaction_hash)
        block = chain.get_canonical_block_by_number(number)
        if index < len(block.transactions) and block.transactions[index].hash == transaction_hash:
            return block, block.transactions[index], index
    except (PyEVMTransactionNotFound, HeaderNotFound, BlockNotFound):
        pass
    return cast(tuple[Any, Any, int], _scan_for_transaction(chain, transaction_hash))


_scan_for_transaction = pyevm_backend._get_transaction_by_hash
pyevm_backend._get_transaction_by_hash = indexed_transaction_lookup


class EmbeddedChain:
    """An in-process chain with snapshot, revert and time travel, and a Web3 bound to it.

    ``EmbeddedChain()`` lives in memory; :meth:`open` keeps it in a data directory. Its blocks
    follow the wall clock (``chain/clock.py``); ``clock=BlockClock.STEADY`` moves time one second
    a block instead, for tests that keep a state model in step with the chain.
    """

    def __init__(
        self,
        backend: PyEVMBackend | None = None,
        *,
        clock: BlockClock = BlockClock.WALL,
        genesis_timestamp: int | None = None,
    ) -> None:
        """``genesis_timestamp`` (default now) for a new in-memory chain, without ``backend``."""
        if backend is None:
            overrides = None if genesis_timestamp is None else {"timestamp": genesis_timestamp}
            backend = ClockedBackend(
                genesis_parameters=PyEVMBackend.generate_genesis_params(overrides=overrides),
                vm_configuration=vm_configuration(clock),
            )
        self.clock = clock
        self.tester = EthereumTester(backend)
        # The class attribute covers chain objects eth-tester re-creates on revert; the instance
        # attribute replaces the default the constructor already chose.
        chain = self.tester.backend.chain
        type(chain).gas_estimator = staticmethod(single_run_gas_estimate)
        chain.gas_estimator = single_run_gas_estimate
        self.w3 = Web3(EmbeddedProvider(self.tester))
        self._faucet = self.tester.get_accounts()[0]

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        genesis_timestamp: int | None = None,
        clock: BlockClock = BlockClock.WALL,
    ) -> EmbeddedChain:
        """The chain kept in ``data_dir``: created there (genesis at ``genesis_timestamp``,
        default now), or re-opened by replaying its block log and checking every block's hash
        and state root (``chain/persistent.py``). Every block mined afterwards is on disk before
        the call that mined it returns. Close it (or use ``with``) to let go of the directory.

        Raises ChainLogMismatchError naming the first block that does not replay,
        ChainLogCorruptError for an unreadable log, ChainLogLockedError if it is already open.
        """
        backend = open_backend(
            data_dir, vm_configuration(clock), genesis_timestamp=genesis_timestamp
        )
        return cls(backend, clock=clock)

    @property
    def data_dir(self) -> Path | None:
        """Where the chain is kept, or None for an in-memory chain."""
        block_log = getattr(self.tester.backend, "block_log", None)
        return None if block_log is None else cast(Path, block_log.data_dir)

    def close(self) -> None:
        """Release a persistent chain's data directory (nothing to do in memory). Idempotent."""
        close = getattr(self.tester.backend, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def fund(self, address: str, wei: int = 10**21) -> None:
        """Give ``address`` ether from the chain's pre-funded faucet account."""
        self.tester.send_transaction(
            {"from": self._faucet, "to": address, "value": wei, "gas": 21_000}
        )

    def new_account(self, wei: int = 10**21) -> LocalAccount:
        """A fresh key pair, funded."""
        account: LocalAccount = Account.create()
        self.fund(account.address, wei)
        return account

    def snapshot(self) -> int:
        """Remember the current head; :meth:`revert` returns to it (on a persistent chain only
        while no block has been mined since: a logged block is never forgotten)."""
        return int(self.tester.take_snapshot())

    def revert(self, snapshot_id: int) -> None:
        """Return the chain to a snapshot."""
        self.tester.revert_to_snapshot(snapshot_id)

    def set_clock(self, clock: BlockClock) -> None:
        """Stamp blocks by ``clock`` from the next one on (``serve`` sets its ledger up on the
        steady clock a minute in the past, then follows the wall clock: setting up mines more
        than a block a second, which would run a wall-clock chain ahead of the clock)."""
        # eth-tester builds a chain class for each backend (its VMs amended for no-proof
        # consensus, as here): changing its schedule touches no other chain.
        amended = ConsensusApplier(NoProofConsensus).amend_vm_configuration(vm_configuration(clock))
        type(self.tester.backend.chain).vm_configuration = amended
        self.clock = clock

    def now(self) -> int:
        """The timestamp the next block will carry at the earliest (``chain/clock.py``)."""
        return next_block_time(int(self.w3.eth.get_block("latest")["timestamp"]), self.clock)

    def time_travel(self, to_timestamp: int) -> None:
        """Mine a block at ``to_timestamp`` (must be later than the latest block)."""
        # eth-tester stamps the pending block with its argument - 1, counting on a "+ 1 s" when
        # mining that the clocked backend does not add during time travel: ask one second later.
        self.tester.time_travel(to_timestamp + 1)

    def set_automine(self, enabled: bool) -> None:
        """Mine each transaction as it arrives (default), or queue them until :meth:`mine`.

        With automine off, eth-tester can only queue one transaction per sender (it validates each
        against the latest state), so queue transactions from different senders.
        """
        if enabled:
            self.tester.enable_auto_mine_transactions()
        else:
            self.tester.disable_auto_mine_transactions()

    def mine(self) -> None:
        """Mine one block with whatever is queued."""
        self.tester.mine_blocks(1)
