"""The node goes away mid-run: the gateway (a real process on a real anvil) answers 503 problems,
releases nothing, and recovers by itself when anvil is back on the same port with its state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.journal.schema import ReadStatus
from tests.reads.test_crash import _journal, consented_read, gateway_on_anvil


@pytest.fixture
def anvil_state(tmp_path: Path) -> Iterator[tuple[AnvilProcess, Path]]:
    state = tmp_path / "anvil-state.json"
    anvil = AnvilProcess(extra_args=("--state", str(state), "--state-interval", "1"))
    with anvil:
        yield anvil, state


@pytest.mark.slow
def test_node_outage_is_503_releases_nothing_and_recovers(
    anvil_state: tuple[AnvilProcess, Path], bureau_url: str, tmp_path: Path
) -> None:
    anvil, state = anvil_state
    assert state.parent == tmp_path
    node = AnvilChain(anvil.url)
    gateway, deployment, _relayer, relay, journal_url = gateway_on_anvil(node, bureau_url, tmp_path)
    try:
        gateway.start()
        headers, body = consented_read(gateway, node, deployment, relay)

        def read(key: str) -> httpx.Response:
            return httpx.post(
                f"{gateway.url}/v1/queries",
                json=body(key),
                headers={**headers, "Idempotency-Key": key},
                timeout=60,
            )

        assert read("before").status_code == 200
        time.sleep(1.5)  # let anvil dump its state at least once after the read
        last = node.w3.eth.get_block("latest")
        anvil.stop()  # SIGTERM: anvil dumps its state on the way out

        outage: list[Any] = []
        for i in range(5):
            response = read(f"outage-{i}")
            outage.append((response.status_code, response.headers.get("content-type")))
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert "data" not in response.json()
        health = httpx.get(f"{gateway.url}/v1/health", timeout=30)
        assert health.status_code == 503, health.text
        granted = [e for e in _journal(journal_url) if e.status == ReadStatus.GRANTED]
        assert len(granted) == 1  # the read before the outage only

        assert state.exists()
        anvil.start()  # same port, same state file: the chain as it was
        # Anvil reloads the blocks but not its clock offset: its next block would take the wall
        # clock, which is behind the chain here (one second a block, faster than real time), and
        # time would run backwards. A real chain's clock is monotonic; restore that.
        assert node.w3.eth.get_block("latest")["hash"] == last["hash"]
        node.w3.provider.make_request(
            "evm_setNextBlockTimestamp",  # type: ignore[arg-type]
            [int(last["timestamp"]) + 1],
        )
        # Back: the gateway's live model of the ledger follows the chain again (it could not
        # while the node was away: reads were pre-checked on the views, which answered 503).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            health = httpx.get(f"{gateway.url}/v1/health", timeout=30)
            if health.status_code == 200 and health.json()["live_ledger_fresh"]:
                break
            time.sleep(0.2)
        prechecked_live = health.json()["reads_prechecked_live"]
        after = read("after")
        assert after.status_code == 200, after.text
        health = httpx.get(f"{gateway.url}/v1/health", timeout=30)
        assert health.json()["reads_prechecked_live"] == prechecked_live + 1
    finally:
        gateway.stop()
