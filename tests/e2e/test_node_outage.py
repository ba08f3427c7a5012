"""The node goes away mid-run: the gateway (a real process on a real anvil) answers 503 problems,
releases nothing, and recovers by itself when anvil is back on the same port with its state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.client import Gateway as ClientGateway
from consentledger.client import GatewayProblemError, UnavailableError
from consentledger.journal.schema import ReadStatus
from tests.harness.processes import consented_read, gateway_on_anvil, journal_entries


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
    api = ClientGateway(gateway.url, timeout=60)
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)
        assert consented.status(gateway.url, "before") == 200
        time.sleep(1.5)  # let anvil dump its state at least once after the read
        last = node.w3.eth.get_block("latest")
        anvil.stop()  # SIGTERM: anvil dumps its state on the way out

        for i in range(5):
            # A problem document (not a bare 500, not a dropped connection), releasing nothing.
            answer = consented.outcome(gateway.url, f"outage-{i}")
            assert isinstance(answer, UnavailableError), answer
            assert answer.status == 503
            assert "data" not in answer.problem
        with pytest.raises(UnavailableError) as unhealthy:
            api.health()
        assert unhealthy.value.status == 503
        granted = [e for e in journal_entries(journal_url) if e.status == ReadStatus.GRANTED]
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
            try:
                if api.health().live_ledger_fresh:
                    break
            except GatewayProblemError:
                pass  # still 503
            time.sleep(0.2)
        prechecked_live = api.health().reads_prechecked_live
        assert consented.status(gateway.url, "after") == 200
        assert api.health().reads_prechecked_live == prechecked_live + 1
    finally:
        api.close()
        gateway.stop()
