"""Node processes other than anvil, from the npm registry, for conformance tests and local runs.

* :class:`HardhatProcess`: Hardhat Network (npm ``hardhat``, version 2), mining every transaction
  at once, with Hardhat's well-known development accounts.
* :class:`EthereumJSProcess`: the EthereumJS execution client (npm ``@ethereumjs/client``) as a
  Clique proof-of-authority signer on a genesis generated here (:func:`clique_genesis`), alone or
  as one of several peers (``consentledger network``).

Every process binds to 127.0.0.1 only, on free ports, and dials nothing but the peers it is
given: the EthereumJS client hard-codes ``0.0.0.0`` for its peer-to-peer sockets, so it runs with
``loopback.mjs`` preloaded (it rewrites any wildcard bind to 127.0.0.1), with discovery (v4 and
DNS) off, its DNS server set to loopback, and the other signers as its only peers.

:class:`FundedNode` gives tests and scripts fresh funded accounts on any of them with nothing but
standard JSON-RPC (a transfer from a prefunded key), where anvil's own ``anvil_setBalance`` is
not served.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from consentledger.chain.anvil import free_port, stop_process
from consentledger.chain.jsonrpc import (
    ChainUnavailableError,
    HttpJsonRpc,
    JsonRpcError,
)
from consentledger.errors import ConsentLedgerError

#: Hardhat's first development account (from its public test mnemonic): prefunded, never a secret.
HARDHAT_FUNDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
HARDHAT_CHAIN_ID = 31337

#: The generated Clique network's chain id, block period and gas limit.
CLIQUE_CHAIN_ID = 48_723
CLIQUE_PERIOD_S = 1
CLIQUE_GAS_LIMIT = 30_000_000

LOOPBACK_PRELOAD = Path(__file__).with_name("loopback.mjs")
CLIQUE_PRELOAD = Path(__file__).with_name("ethereumjs_clique.mjs")


class NodeNotFoundError(ConsentLedgerError, FileNotFoundError):
    """A node's npm package is not installed."""

    code = "node_not_found"


class NodeStartError(ConsentLedgerError, RuntimeError):
    """A node process did not start or did not answer."""

    code = "node_start_failed"


def find_package_file(relative: str, start: Path | None = None) -> Path:
    """``node_modules/<relative>`` in a directory at or above ``start`` (default: this package,
    then the working directory)."""
    for origin in (start or Path(__file__).parent, Path.cwd()):
        here = origin.resolve()
        for directory in (here, *here.parents):
            candidate = directory / "node_modules" / relative
            if candidate.is_file():
                return candidate
    raise NodeNotFoundError(f"node_modules/{relative} not found: run `npm ci`")


def node_binary() -> str:
    """The Node.js interpreter on PATH."""
    found = shutil.which("node")
    if found is None:
        raise NodeNotFoundError("node (Node.js) is not on PATH")
    return found


class _Started:
    """A context manager that starts on entry and closes on exit."""

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class NodeProcess(_Started):
    """A node process on free loopback ports; a context manager that stops it.

    Subclasses say how to start it (:meth:`command`); its output goes to ``log_path``.
    """

    name = "node"

    def __init__(self, *, data_dir: Path | None = None, rpc_port: int | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix=f"consentledger-{self.name}-"))
        self.rpc_port = rpc_port or free_port()
        self.url = f"http://127.0.0.1:{self.rpc_port}"
        self.log_path = self.data_dir / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def workdir(self) -> Path:
        return self.data_dir

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 120.0) -> Self:
        """Start the process and wait until its JSON-RPC answers ``eth_blockNumber``."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own command line
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                cwd=self.workdir(),
            )
        rpc = HttpJsonRpc(self.url, timeout=5)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    failure = NodeStartError(
                        f"{self.name} exited with {self._process.returncode}: {self.log_tail()}"
                    )
                    self.close()
                    raise failure
                try:
                    rpc.request("eth_blockNumber", [])
                    return self
                except (ChainUnavailableError, JsonRpcError, OSError):
                    time.sleep(0.2)
        finally:
            rpc.close()
        failure = NodeStartError(f"{self.name} did not answer on {self.url} within {timeout:g} s")
        self.close()
        raise failure

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: the process ends at once, as a crashed machine would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the process (terminate, then kill if it does not exit)."""
        process, self._process = self._process, None
        stop_process(process, 10)

    def close(self) -> None:
        """Stop, and remove the data directory if this object made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class HardhatProcess(NodeProcess):
    """``hardhat node`` on 127.0.0.1, from a minimal config in its data directory."""

    name = "hardhat"
    funder_key = HARDHAT_FUNDER_KEY

    def command(self) -> list[str]:
        config = self.data_dir / "hardhat.config.js"
        config.write_text(
            f"module.exports = {{ networks: {{ hardhat: {{ chainId: {HARDHAT_CHAIN_ID} }} }} }};\n"
        )
        cli = find_package_file("hardhat/internal/cli/cli.js")
        return [
            node_binary(),
            str(cli),
            "node",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(self.rpc_port),
            "--config",
            str(config),
        ]

    def workdir(self) -> Path:
        # Hardhat runs only from the project that installed it (the node_modules' directory).
        return find_package_file("hardhat/package.json").parents[2]

    def environment(self) -> dict[str, str]:
        # No telemetry prompt, no analytics, no update check: nothing leaves the machine.
        return {
            **os.environ,
            "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
            "DO_NOT_TRACK": "1",
            "CI": "true",
        }


@dataclass(frozen=True)
class CliqueSigner:
    """One signer of a generated Clique network: its sealing key and its peer-to-peer port."""

    account: LocalAccount
    p2p_port: int

    @property
    def peer(self) -> str:
        """How the other signers reach it (the client's node key is its own, made at start)."""
        return f"127.0.0.1:{self.p2p_port}"


def clique_genesis(
    signers: Sequence[str],
    funded: Sequence[str],
    *,
    chain_id: int = CLIQUE_CHAIN_ID,
    period: int = CLIQUE_PERIOD_S,
    gas_limit: int = CLIQUE_GAS_LIMIT,
) -> dict[str, Any]:
    """A geth-format genesis for a Clique network: ``signers`` seal blocks every ``period``
    seconds (London rules from block 0, so EIP-1559 fees; see ethereumjs_clique.mjs for the
    Cancun opcodes the contracts use), each of ``funded`` holds 10^24 wei."""
    vanity = "00" * 32
    seal = "00" * 65
    addresses = "".join(
        Web3.to_checksum_address(s)[2:].lower() for s in sorted(signers, key=str.lower)
    )
    forks = [
        "homestead",
        "eip150",
        "eip155",
        "eip158",
        "byzantium",
        "constantinople",
        "petersburg",
        "istanbul",
        "berlin",
        "london",
    ]
    return {
        "config": {
            "chainId": chain_id,
            **{f"{fork}Block": 0 for fork in forks},
            "clique": {"period": period, "epoch": 30000},
        },
        "nonce": "0x0",
        "timestamp": hex(int(time.time())),
        "extraData": "0x" + vanity + addresses + seal,
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "alloc": {
            Web3.to_checksum_address(a)[2:].lower(): {"balance": hex(10**24)} for a in funded
        },
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
        "baseFeePerGas": hex(10**9),
    }


class EthereumJSProcess(NodeProcess):
    """The EthereumJS client as one Clique signer of ``genesis``, with ``peers`` (``ip:port`` of
    the other signers) as its only peers."""

    name = "ethereumjs"

    def __init__(
        self,
        signer: CliqueSigner,
        genesis: dict[str, Any],
        *,
        peers: Sequence[str] = (),
        data_dir: Path | None = None,
        rpc_port: int | None = None,
    ) -> None:
        super().__init__(data_dir=data_dir, rpc_port=rpc_port)
        self.signer = signer
        self.genesis = genesis
        self.peers = tuple(peers)

    def command(self) -> list[str]:
        # The file's stem names the chain for the client.
        genesis = self.data_dir / "consentledger.json"
        genesis.write_text(json.dumps(self.genesis))
        key = self.data_dir / "signer.key"
        key.write_text(bytes(self.signer.account.key).hex())
        key.chmod(0o600)
        cli = find_package_file("@ethereumjs/client/dist/esm/bin/cli.js")
        args = [
            node_binary(),
            "--import",
            LOOPBACK_PRELOAD.as_uri(),
            "--import",
            CLIQUE_PRELOAD.as_uri(),
            str(cli),
            f"--gethGenesis={genesis}",
            f"--dataDir={self.data_dir / 'chain'}",
            "--rpc",
            "--rpcAddr=127.0.0.1",
            f"--rpcPort={self.rpc_port}",
            f"--port={self.signer.p2p_port}",
            "--extIP=127.0.0.1",
            "--discV4=false",
            "--discDns=false",
            "--dnsAddr=127.0.0.1",
            "--mine",
            f"--unlock={key}",
            "--logLevel=" + os.environ.get("CONSENTLEDGER_NODE_LOG_LEVEL", "info"),
            "--logFile=false",
            "--prometheus=false",
            f"--maxPeers={max(1, len(self.peers))}",
        ]
        if self.peers:
            args += [f"--bootnodes={','.join(self.peers)}", "--minPeers=1"]
        else:
            args.append("--isSingleNode")
        return args

    def environment(self) -> dict[str, str]:
        vm = find_package_file("@ethereumjs/vm/dist/esm/index.js")
        block = find_package_file("@ethereumjs/block/dist/esm/index.js")
        evm = find_package_file("@ethereumjs/evm/dist/esm/index.js")
        common = find_package_file("@ethereumjs/common/dist/esm/index.js")
        client = find_package_file("@ethereumjs/client/dist/esm/src/index.js").parent
        return {
            **os.environ,
            "CONSENTLEDGER_ETHEREUMJS_VM": str(vm),
            "CONSENTLEDGER_ETHEREUMJS_BLOCK": str(block),
            "CONSENTLEDGER_ETHEREUMJS_EVM": str(evm),
            "CONSENTLEDGER_ETHEREUMJS_COMMON": str(common),
            "CONSENTLEDGER_ETHEREUMJS_FULLSYNC": str(client / "sync" / "fullsync.js"),
            "CONSENTLEDGER_ETHEREUMJS_MINER": str(client / "miner" / "miner.js"),
        }


def new_signer() -> CliqueSigner:
    """A fresh Clique signer: a sealing key and a free port."""
    return CliqueSigner(Account.create(), free_port())


def ethereumjs_dev(data_dir: Path | None = None) -> tuple[EthereumJSProcess, LocalAccount]:
    """A single-signer EthereumJS chain (one-second blocks) and a key its genesis funds."""
    signer, funder = new_signer(), Account.create()
    genesis = clique_genesis([signer.account.address], [funder.address, signer.account.address])
    return EthereumJSProcess(signer, genesis, data_dir=data_dir), funder


def _asked_again(rpc: HttpJsonRpc, method: str, params: list[Any], timeout: float = 30) -> Any:
    """A state lookup at the latest block, asked again while the node refuses it: the EthereumJS
    client answers "State trie does not contain state root" for a moment after it imports a
    block and before it has executed it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return rpc.request(method, params)
        except JsonRpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def send_until_mined(
    rpc: HttpJsonRpc, raws: Sequence[bytes], timeout: float = 120, resend_after: float = 5
) -> list[dict[str, Any]]:
    """Send signed transactions and wait for their receipts, sending each one still unmined
    again every ``resend_after`` seconds: on a chain that reorganises, a transaction of a dropped
    block may be lost by the node, where the same bytes sent again are taken (or refused as
    known)."""
    hashes = ["0x" + keccak(raw).hex() for raw in raws]
    receipts: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while True:
        for raw, tx_hash in zip(raws, hashes, strict=True):
            if tx_hash not in receipts:
                with contextlib.suppress(JsonRpcError):
                    rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        resend_at = min(deadline, time.monotonic() + resend_after)
        while time.monotonic() < resend_at:
            for tx_hash in hashes:
                if tx_hash not in receipts:
                    with contextlib.suppress(JsonRpcError):
                        receipt = rpc.request("eth_getTransactionReceipt", [tx_hash])
                        if isinstance(receipt, dict):
                            receipts[tx_hash] = receipt
            if len(receipts) == len(hashes):
                return [receipts[h] for h in hashes]
            time.sleep(0.2)
        if time.monotonic() >= deadline:
            missing = [h for h in hashes if h not in receipts]
            raise ChainUnavailableError(f"transactions {missing} not mined within {timeout:g} s")


class FundedNode:
    """A running node seen through standard JSON-RPC only: web3, the chain's time, and fresh
    accounts funded by transfers from ``funder`` (a key the node's genesis funds)."""

    def __init__(self, url: str, funder: LocalAccount | str) -> None:
        self.url = url
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
        self.funder: LocalAccount = (
            funder if isinstance(funder, LocalAccount) else Account.from_key(funder)
        )

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def now(self) -> int:
        """A timestamp no later than the next block's (the latest's plus one second)."""
        # Raw JSON-RPC: web3's block formatter refuses a Clique block's 97-byte extraData.
        rpc = HttpJsonRpc(self.url)
        try:
            block = rpc.request("eth_getBlockByNumber", ["latest", False])
        finally:
            rpc.close()
        return int(block["timestamp"], 16) + 1

    def new_accounts(self, count: int, wei: int = 10**21) -> list[LocalAccount]:
        """``count`` fresh accounts, funded by transfers sent together and waited for."""
        accounts: list[LocalAccount] = [Account.create() for _ in range(count)]
        rpc = HttpJsonRpc(self.url)
        try:
            nonce = int(
                _asked_again(rpc, "eth_getTransactionCount", [self.funder.address, "latest"]), 16
            )
            price = int(_asked_again(rpc, "eth_gasPrice", []), 16)
        finally:
            rpc.close()
        raws: list[bytes] = []
        for offset, account in enumerate(accounts):
            tx: dict[str, Any] = {
                "to": account.address,
                "value": wei,
                "gas": 21_000,
                "nonce": nonce + offset,
                "chainId": self.chain_id,
                "maxFeePerGas": 2 * price + 10**9,
                "maxPriorityFeePerGas": min(price, 10**9),
            }
            raws.append(bytes(self.funder.sign_transaction(tx).raw_transaction))
        rpc = HttpJsonRpc(self.url)
        try:
            for receipt in send_until_mined(rpc, raws):
                if receipt["status"] != "0x1":
                    raise NodeStartError(f"funding transfer {receipt['transactionHash']} failed")
        finally:
            rpc.close()
        return accounts

    def new_account(self, wei: int = 10**21) -> LocalAccount:
        return self.new_accounts(1, wei)[0]


class CliqueNetwork(_Started):
    """Several EthereumJS signers of one generated Clique network on loopback, each the others'
    only peers, with a funded key; a context manager that stops them and removes their data.

    A signer can be killed (SIGKILL, as a crashed machine) and started again on its data
    directory and ports; the others keep sealing as long as more than half of the signers run
    (Clique's recent-signer rule)."""

    def __init__(self, size: int = 3, *, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="consentledger-clique-"))
        self.funder: LocalAccount = Account.create()
        signers = [new_signer() for _ in range(size)]
        self.genesis = clique_genesis(
            [s.account.address for s in signers],
            [self.funder.address, *(s.account.address for s in signers)],
        )
        self.nodes = [
            EthereumJSProcess(
                signer,
                self.genesis,
                peers=[other.peer for other in signers if other is not signer],
                data_dir=self.root / f"signer-{index}",
            )
            for index, signer in enumerate(signers)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self, timeout: float = 120.0) -> Self:
        """Start every signer and wait until each has its peers and they agree on a block past
        the genesis."""
        try:
            for node in self.nodes:
                node.start(timeout)
            self.wait_connected(timeout)
            self.wait_agreed(1, timeout)
        except BaseException:
            self.close()
            raise
        return self

    def _rpc(self, node: EthereumJSProcess, method: str, params: list[Any]) -> Any:
        rpc = HttpJsonRpc(node.url, timeout=10)
        try:
            return rpc.request(method, params)
        finally:
            rpc.close()

    def head(self, node: EthereumJSProcess) -> tuple[int, str]:
        """The node's latest block: number and hash."""
        block = self._rpc(node, "eth_getBlockByNumber", ["latest", False])
        return int(block["number"], 16), str(block["hash"])

    def block_hash(self, node: EthereumJSProcess, number: int) -> str | None:
        block = self._rpc(node, "eth_getBlockByNumber", [hex(number), False])
        return None if block is None else str(block["hash"])

    def running(self) -> list[EthereumJSProcess]:
        return [node for node in self.nodes if node.running]

    def wait_connected(self, timeout: float = 120.0) -> None:
        """Until every running signer has every other running one as a peer."""
        deadline = time.monotonic() + timeout
        while True:
            nodes = self.running()
            counts = [int(self._rpc(n, "net_peerCount", []), 16) for n in nodes]
            if all(count >= len(nodes) - 1 for count in counts):
                return
            if time.monotonic() > deadline:
                raise NodeStartError(f"signers not connected within {timeout:g} s: {counts}")
            time.sleep(0.5)

    def wait_agreed(self, number: int, timeout: float = 120.0) -> str:
        """Until every running signer has the same block at ``number`` and is at or past it;
        returns that block's hash."""
        deadline = time.monotonic() + timeout
        while True:
            nodes = self.running()
            try:
                if all(self.head(n)[0] >= number for n in nodes):
                    hashes = {self.block_hash(n, number) for n in nodes}
                    if len(hashes) == 1 and None not in hashes:
                        return str(hashes.pop())
            except (ChainUnavailableError, JsonRpcError):
                pass
            if time.monotonic() > deadline:
                heads = [self.head(n) for n in nodes]
                raise NodeStartError(f"signers did not agree on block {number}: heads {heads}")
            time.sleep(0.5)

    def kill(self, index: int) -> None:
        """SIGKILL one signer."""
        self.nodes[index].kill()

    def restart(self, index: int, timeout: float = 120.0) -> None:
        """Start a killed signer again on its data directory and ports."""
        self.nodes[index].start(timeout)

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
