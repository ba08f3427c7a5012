"""The node goes away mid-run: the gateway (a real process on a real anvil) answers 503 problems,
releases nothing, and recovers by itself when anvil is back on the same port with its state."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.chain.anvil import AnvilChain, AnvilProcess, free_port
from consentledger.chain.client import LedgerClient
from consentledger.chain.deploy import deploy_ledger
from consentledger.gateway.db import ReadStatus
from consentledger.gateway.process import GatewayProcess
from tests.reads.conftest import ADMIN
from tests.reads.test_crash import _grant, _journal


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
    regulator, relayer, relay = node.new_account(), node.new_account(), node.new_account()
    deployment, _ = deploy_ledger(node.w3, regulator, relayers=[relayer.address])
    deployment.save(tmp_path / "deployment.json")
    (tmp_path / "relayer.key").write_text(bytes(relayer.key).hex())
    (tmp_path / "regulator.key").write_text(bytes(regulator.key).hex())
    journal_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    env = {
        **os.environ,
        "CONSENTLEDGER_CHAIN": node.url,
        "CONSENTLEDGER_DEPLOYMENT_FILE": str(tmp_path / "deployment.json"),
        "CONSENTLEDGER_RELAYER_KEY_FILE": str(tmp_path / "relayer.key"),
        "CONSENTLEDGER_REGULATOR_KEY_FILE": str(tmp_path / "regulator.key"),
        "CONSENTLEDGER_DATABASE_URL": journal_url,
        "CONSENTLEDGER_BUREAU_DATABASE_URL": bureau_url,
        "CONSENTLEDGER_BATCH_MAX_WAIT_MS": "20",
    }
    gateway = GatewayProcess(env, free_port())
    try:
        gateway.start()
        bank = httpx.post(f"{gateway.url}/v1/admin/banks", json={"name": "B"}, headers=ADMIN).json()
        controller = Account.create()
        enterprise = httpx.post(
            f"{gateway.url}/v1/admin/enterprises",
            json={"uscc": CHIP_DISTRIBUTOR_USCC, "controllers": [controller.address]},
            headers=ADMIN,
        ).json()
        consent_id = _grant(
            LedgerClient(node.w3, deployment.address, relay),
            bytes.fromhex(enterprise["subject"][2:]),
            bank["address"],
            controller.key,
            node.now(),
        )
        headers = {"Authorization": f"Bearer {bank['api_key']}"}
        body = {
            "uscc": CHIP_DISTRIBUTOR_USCC,
            "consent_id": "0x" + consent_id.hex(),
            "categories": [1],
            "purpose": "post_loan_monitoring",
        }

        def read(key: str) -> httpx.Response:
            return httpx.post(
                f"{gateway.url}/v1/queries",
                json=body,
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
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if httpx.get(f"{gateway.url}/v1/health", timeout=30).status_code == 200:
                break
            time.sleep(0.2)
        after = read("after")
        assert after.status_code == 200, after.text
    finally:
        gateway.stop()
