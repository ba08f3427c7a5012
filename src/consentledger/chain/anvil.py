"""anvil, a real node process, for the tests, the benchmarks and local runs.

The binary comes from the npm package ``@foundry-rs/anvil`` (in ``node_modules``: npm installs
the platform's own package beside it, ``@foundry-rs/anvil-linux-amd64``, ``-darwin-arm64``...) or
from PATH. :class:`AnvilChain` offers the same development controls as the embedded chain
(snapshot, revert, time travel, funding), through anvil's own JSON-RPC methods, so a test can run
unchanged on either.
"""

from __future__ import annotations

import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from consentledger.chain.clock import BlockClock, next_block_time
from consentledger.errors import ConsentLedgerError

#: Foundry's npm packages name architectures their own way.
_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def foundry_binary(tool: str) -> Path:
    """Where ``node_modules`` holds a foundry tool's binary (``anvil``, ``forge``) on this
    platform: in the per-platform package that npm installs for ``@foundry-rs/<tool>``."""
    system = "win32" if sys.platform == "win32" else sys.platform.rstrip("0123456789")
    machine = _ARCHITECTURES.get(platform.machine().lower(), platform.machine().lower())
    binary = f"{tool}.exe" if system == "win32" else tool
    return Path("node_modules") / "@foundry-rs" / f"{tool}-{system}-{machine}" / "bin" / binary


ANVIL_PACKAGE = foundry_binary("anvil")

#: anvil's chain id by default.
ANVIL_CHAIN_ID = 31337


class AnvilNotFoundError(ConsentLedgerError, FileNotFoundError):
    """No anvil binary in node_modules or on PATH."""

    code = "anvil_not_found"
    exit_code = 15

    def __init__(self) -> None:
        super().__init__(
            "anvil not found: run `npm ci` (it installs @foundry-rs/anvil) or put anvil on PATH"
        )


class AnvilStartError(ConsentLedgerError, RuntimeError):
    """anvil did not start or did not answer."""

    code = "anvil_start_failed"
    exit_code = 16


def find_anvil(start: Path | None = None) -> Path:
    """The anvil binary: in a node_modules at or above ``start`` (default: cwd), then at or above
    this package (the project's own, wherever the command runs), else on PATH."""
    for origin in (start or Path.cwd(), Path(__file__).parent):
        here = origin.resolve()
        for directory in (here, *here.parents):
            candidate = directory / ANVIL_PACKAGE
            if candidate.is_file():
                return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilNotFoundError


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Terminate a node process and wait for it; kill it if it has not exited by ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class AnvilProcess:
    """An anvil process on a free loopback port; a context manager that stops it."""

    def __init__(
        self,
        *,
        binary: Path | None = None,
        port: int | None = None,
        block_time_interval: int | None = 1,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.binary = binary or find_anvil(Path(__file__).parent)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.block_time_interval = block_time_interval
        self.extra_args = extra_args
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> AnvilProcess:
        """Start anvil and wait until it answers."""
        args = [str(self.binary), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [*args, *self.extra_args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        w3 = Web3(HTTPProvider(self.url, request_kwargs={"timeout": 5}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise AnvilStartError(f"anvil exited with {self._process.returncode}: {err}")
            try:
                if w3.is_connected():
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            self.stop()
            raise AnvilStartError(f"anvil did not answer on {self.url} within {timeout} s")
        if self.block_time_interval is not None:
            w3.provider.make_request("anvil_setBlockTimestampInterval", [self.block_time_interval])  # type: ignore[arg-type]
        return self

    def stop(self) -> None:
        """Stop anvil (terminate, then kill if it does not exit)."""
        process, self._process = self._process, None
        stop_process(process, 5)

    def __enter__(self) -> AnvilProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class AnvilChain:
    """Development controls over a running anvil, mirroring :class:`EmbeddedChain`'s."""

    def __init__(self, url: str, *, clock: BlockClock = BlockClock.STEADY) -> None:
        """``clock``: how the node stamps blocks; STEADY for an :class:`AnvilProcess` with its
        default 1-s timestamp interval, WALL for one started with ``block_time_interval=None``."""
        self.url = url
        self.clock = clock
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise AnvilStartError(f"{method} failed: {response['error']}")
        return response.get("result")

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def fund(self, address: str, wei: int = 10**21) -> None:
        self._rpc("anvil_setBalance", [address, hex(wei)])

    def new_account(self, wei: int = 10**21) -> LocalAccount:
        account: LocalAccount = Account.create()
        self.fund(account.address, wei)
        return account

    def snapshot(self) -> int:
        return int(self._rpc("evm_snapshot", []), 16)

    def revert(self, snapshot_id: int) -> None:
        if not self._rpc("evm_revert", [hex(snapshot_id)]):
            raise AnvilStartError(f"evm_revert to snapshot {snapshot_id} failed")

    def now(self) -> int:
        """The timestamp the next block will carry at the earliest (``chain/clock.py``)."""
        return next_block_time(int(self.w3.eth.get_block("latest")["timestamp"]), self.clock)

    def time_travel(self, to_timestamp: int) -> None:
        """Mine a block at ``to_timestamp``."""
        self._rpc("evm_mine", [to_timestamp])

    def set_automine(self, enabled: bool) -> None:
        """Mine each transaction as it arrives (default), or queue them until :meth:`mine`."""
        self._rpc("evm_setAutomine", [enabled])

    def mine(self) -> None:
        """Mine one block with whatever is queued."""
        self._rpc("evm_mine", [])
