"""Webhooks survive a SIGKILL of the gateway: events published to the outbox while the receiver was
down are delivered after the gateway's restart, each once by id and in order per consent."""

from __future__ import annotations

import time
from pathlib import Path

from consentledger.chain.anvil import AnvilChain
from consentledger.client import Gateway as ClientGateway
from tests.harness.processes import consented_read, gateway_on_anvil
from tests.harness.webhook_receiver import Receiver

READS = 4


def test_undelivered_events_are_delivered_after_a_sigkill(
    node: AnvilChain, bureau_url: str, tmp_path: Path
) -> None:
    gateway, deployment, _relayer, relay, _journal = gateway_on_anvil(
        node,
        bureau_url,
        tmp_path,
        CONSENTLEDGER_WEBHOOK_ALLOW_LOOPBACK_HTTP="true",
        CONSENTLEDGER_WEBHOOK_POLL_INTERVAL_S="0.05",
        CONSENTLEDGER_WEBHOOK_BACKOFF_BASE_S="0.2",
        CONSENTLEDGER_WEBHOOK_BACKOFF_MAX_S="1",
    )
    receiver = Receiver(tmp_path / "received.jsonl")
    try:
        gateway.start()
        consented = consented_read(gateway, node, deployment, relay)
        with ClientGateway(gateway.url, timeout=60) as api:
            bank = api.bank(consented.api_key, consented.bank_address)
            created = bank.subscribe(receiver.url, ["read.granted", "read.denied"])
            receiver.secret = created.secret
            for i in range(READS):
                assert consented.status(gateway.url, f"read-{i}") == 200

            def waiting() -> bool:  # all in the outbox, the first tried against a dead receiver
                page = bank.deliveries(created.id)
                return len(page.deliveries) == READS and page.deliveries[0].attempts >= 1

            deadline = time.monotonic() + 60
            while not waiting():
                assert time.monotonic() < deadline, "the deliveries were not tried in time"
                time.sleep(0.05)
            expected = [d.event_id for d in bank.deliveries(created.id).deliveries]
        gateway.kill()
        receiver.start()
        gateway.start()
        received = receiver.wait_for(READS)
        time.sleep(1.0)  # nothing more comes (a replay of the chain at start adds nothing)
        received = receiver.received()
    finally:
        gateway.stop()
        receiver.kill()
    assert [r["id"] for r in received] == expected
    assert all(r["verified"] for r in received)
    query_ids = [int(r["body"]["data"]["query_id"], 16) for r in received]
    assert query_ids == sorted(query_ids)
