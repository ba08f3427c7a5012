"""A gateway as a separate OS process: for crash tests, benchmarks and soak runs.

By default it runs ``uvicorn consentledger.gateway.app:create_app --factory`` with settings from
the environment given; ``command`` can run ``consentledger serve`` instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from consentledger.chain.anvil import free_port
from consentledger.errors import ConsentLedgerError
from consentledger.serve import WORKER_HEALTHCHECK_TIMEOUT_S


class GatewayProcessError(ConsentLedgerError, RuntimeError):
    """The gateway process exited or did not become healthy."""

    code = "gateway_process_failed"


def uvicorn_command(port: int, workers: int = 1) -> list[str]:
    """The command that serves the gateway app on ``port`` (settings from the environment), in
    ``workers`` processes (more than one: each claims a key of CONSENTLEDGER_RELAYER_KEY_DIR)."""
    return [
        *(sys.executable, "-m", "uvicorn", "consentledger.gateway.app:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        *(
            (
                "--workers",
                str(workers),
                "--timeout-worker-healthcheck",
                str(WORKER_HEALTHCHECK_TIMEOUT_S),
            )
            if workers > 1
            else ()
        ),
    ]


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc: each process's parent)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


class GatewayProcess:
    """Start, wait for health, kill (SIGKILL), stop (SIGTERM), read its memory."""

    def __init__(
        self,
        env: Mapping[str, str],
        port: int | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.env = dict(env)
        self.port = port or free_port()
        self.command = list(command) if command is not None else uvicorn_command(self.port)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        """Start the process and wait until ``/v1/health`` answers 200."""
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            self.command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise GatewayProcessError(f"the gateway exited: {err[-3000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise GatewayProcessError(f"the gateway did not become healthy within {timeout:g} s")

    def kill(self) -> None:
        """SIGKILL, to the gateway's workers too: no shutdown code runs."""
        assert self.process is not None
        workers = self.processes()[1:]
        self.process.send_signal(signal.SIGKILL)  # first, so it cannot start a worker again
        self.process.wait(timeout=10)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def processes(self) -> list[int]:
        """The process ids of the gateway: its process and, with several workers, theirs."""
        assert self.process is not None
        return _descendants(self.process.pid)

    def rss_kib(self) -> int:
        """The resident memory (VmRSS) of the gateway's processes together, in KiB."""
        total = 0
        for pid in self.processes():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        if total == 0:
            raise GatewayProcessError("no VmRSS in /proc")
        return total

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the gateway's running processes have used so far."""
        ticks = 0
        for pid in self.processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")
