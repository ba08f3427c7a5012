"""``consentledger node``: a local anvil whose state survives a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from consentledger.chain.anvil import AnvilChain, free_port
from consentledger.chain.deploy import deploy_ledger, verify_deployment


def _start(port: int, state: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "consentledger.cli",
            "node",
            "--port",
            str(port),
            "--state",
            str(state),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    w3 = Web3(HTTPProvider(f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if w3.is_connected():
                return process
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("the node did not start")


@pytest.mark.slow
def test_node_keeps_the_ledger_across_a_restart(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "state"
    process = _start(port, state)
    try:
        chain = AnvilChain(f"http://127.0.0.1:{port}")
        deployment, _client = deploy_ledger(chain.w3, chain.new_account())
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert (state / "state.json").exists()
    process = _start(port, state)
    try:
        verify_deployment(Web3(HTTPProvider(f"http://127.0.0.1:{port}")), deployment)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_the_node_command_finds_the_projects_anvil_from_any_directory(tmp_path: Path) -> None:
    from consentledger.chain.anvil import find_anvil

    found = find_anvil(tmp_path)  # no node_modules at or above tmp_path
    assert found.is_file()
    assert "node_modules" in found.parts  # the project's own (npm ci), not a guess on PATH
