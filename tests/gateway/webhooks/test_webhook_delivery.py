"""Webhooks from the outbox to a real receiver process on loopback: signed the Standard Webhooks
way, every event once by id, in order per consent, through a receiver that goes down and comes
back; retries to a dead letter and a redelivery on request; the subscriptions' owners."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consentledger.client import GatewayProblemError
from consentledger.client.models import WebhookEventType
from tests.harness.gateway import Bank, Enterprise, Gateway, running_gateway
from tests.harness.webhook_receiver import Receiver

CONSENT_EVENTS: list[WebhookEventType] = [
    "consent.granted",
    "consent.paused",
    "consent.resumed",
    "consent.revoked",
    "read.granted",
    "read.denied",
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, bureau_url: str) -> Iterator[Gateway]:
    """A gateway that may send http to loopback, polls often and retries soon."""
    with running_gateway(
        tmp_path_factory.mktemp("webhooks"),
        bureau_url,
        webhook_allow_loopback_http=True,
        webhook_poll_interval_s=0.05,
        webhook_backoff_base_s=0.2,
        webhook_backoff_max_s=1.0,
        webhook_max_attempts=30,
        webhook_timeout_s=5.0,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def bank(gateway: Gateway) -> Bank:
    return gateway.add_bank("Webhook Bank")


def _wait(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


def _by_consent(received: list[dict[str, Any]], consent_id: str) -> list[str]:
    return [r["body"]["type"] for r in received if r["body"]["data"]["consent_id"] == consent_id]


def test_a_receiver_that_comes_back_gets_every_event_once_in_order(
    gateway: Gateway, bank: Bank, tmp_path: Path
) -> None:
    chip = gateway.new_enterprise()
    enterprise = gateway.enterprise_client(chip)
    receiver = Receiver(tmp_path / "received.jsonl")
    created = enterprise.subscribe(receiver.url, CONSENT_EVENTS, "treasury")
    assert created.secret.startswith("whsec_")
    receiver.secret = created.secret
    # The receiver is down while everything happens.
    first = gateway.grant(chip, bank=bank.address)
    second = gateway.grant(chip, bank=bank.address)
    assert gateway.read(bank, chip, first, [1])
    gateway.act(first, "pause", chip.controllers)
    gateway.refused(bank, chip, first, [1])
    gateway.act(first, "resume", chip.controllers)
    gateway.act(second, "revoke", chip.controllers)
    gateway.act(first, "revoke", chip.controllers)
    expected = {
        first: [
            "consent.granted", "read.granted", "consent.paused", "read.denied",
            "consent.resumed", "consent.revoked",
        ],
        second: ["consent.granted", "consent.revoked"],
    }  # fmt: skip
    total = sum(len(v) for v in expected.values())

    def attempted() -> bool:
        page = enterprise.deliveries(created.id)
        tried = [d for d in page.deliveries if d.attempts >= 1]
        return len(page.deliveries) == total and len(tried) == len(expected)

    # Every event is in the outbox; only each consent's first was tried (the receiver is down),
    # the others wait behind it.
    _wait(attempted)
    receiver.start()
    try:
        received = receiver.wait_for(total)
        time.sleep(0.5)  # nothing more comes
        received = receiver.received()
    finally:
        receiver.kill()
    assert all(r["verified"] for r in received)
    ids = [r["id"] for r in received]
    assert len(ids) == len(set(ids)) == total
    for consent, types in expected.items():
        assert _by_consent(received, consent) == types
    page = enterprise.deliveries(created.id, status="delivered")
    assert len(page.deliveries) == total
    assert all(d.attempt_log[-1].status_code == 204 for d in page.deliveries)
    assert any(d.attempt_log[0].status_code is None for d in page.deliveries)  # refused first
    head = enterprise.deliveries(created.id, limit=2)
    rest = enterprise.deliveries(created.id, cursor=head.next_cursor)
    every = [d.id for d in page.deliveries]
    assert [d.id for d in head.deliveries + rest.deliveries] == sorted(every)  # oldest first
    assert rest.next_cursor is None
    with pytest.raises(GatewayProblemError) as elsewhere:  # another filter's cursor
        enterprise.deliveries(created.id, status="dead", cursor=head.next_cursor)
    assert elsewhere.value.code == "invalid_cursor"


def test_a_bank_gets_its_own_events_and_no_one_elses(
    gateway: Gateway, bank: Bank, tmp_path: Path
) -> None:
    other = gateway.add_bank("Other Webhook Bank")
    chip = gateway.new_enterprise()
    receiver = Receiver(tmp_path / "bank.jsonl")
    created = gateway.client_of(bank).subscribe(receiver.url, ["consent.granted", "read.granted"])
    receiver.secret = created.secret
    receiver.start()
    try:
        mine = gateway.grant(chip, bank=bank.address)
        gateway.grant(chip, bank=other.address)
        gateway.read(bank, chip, mine, [1])
        received = receiver.wait_for(2)
        time.sleep(0.5)
        received = receiver.received()
    finally:
        receiver.kill()
    assert [r["body"]["type"] for r in received] == ["consent.granted", "read.granted"]
    assert {r["body"]["data"]["bank"] for r in received} == {bank.address}
    assert gateway.client_of(other).webhooks() == []
    with pytest.raises(GatewayProblemError) as refused:
        gateway.client_of(other).deliveries(created.id)
    assert refused.value.code == "unknown_subscription"


def test_retries_end_in_a_dead_letter_that_can_be_sent_again(
    gateway: Gateway, bank: Bank, tmp_path: Path
) -> None:
    context = gateway.context
    chip = gateway.new_enterprise()
    enterprise = gateway.enterprise_client(chip)
    failing = Receiver(tmp_path / "failing.jsonl", status=500)
    created = enterprise.subscribe(failing.url, ["consent.granted"])
    failing.secret = created.secret
    failing.start()
    limit = context.settings.webhook_max_attempts
    context.settings.webhook_max_attempts = 3
    try:
        gateway.grant(chip, bank=bank.address)

        def dead() -> bool:
            return len(enterprise.deliveries(created.id, status="dead").deliveries) == 1

        _wait(dead)
    finally:
        context.settings.webhook_max_attempts = limit
        failing.kill()
    (delivery,) = enterprise.deliveries(created.id).deliveries
    assert delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_log] == [500, 500, 500]
    with pytest.raises(GatewayProblemError) as refused:
        enterprise.redeliver(created.id, delivery.id + 1000)
    assert refused.value.code == "unknown_delivery"
    working = Receiver(failing.log_path, secret=created.secret, port=failing.port)
    working.start()
    try:
        again = enterprise.redeliver(created.id, delivery.id)
        assert again.status in ("pending", "delivered")
        received = working.wait_for(4)  # three failures logged, then the one that worked
        # The receiver logs before it answers: it stays up until the gateway has its answer.
        _wait(lambda: enterprise.deliveries(created.id).deliveries[0].status == "delivered")
    finally:
        working.kill()
    assert [r["status"] for r in received] == [500, 500, 500, 204]
    assert len({r["id"] for r in received}) == 1  # one event, one id, on every attempt
    with pytest.raises(GatewayProblemError) as refused:
        enterprise.redeliver(created.id, delivery.id)
    assert refused.value.code == "delivery_not_dead"


def test_a_redirect_is_not_followed(gateway: Gateway, bank: Bank, tmp_path: Path) -> None:
    chip = gateway.new_enterprise()
    enterprise = gateway.enterprise_client(chip)
    redirecting = Receiver(tmp_path / "redirect.jsonl", status=307)
    created = enterprise.subscribe(redirecting.url, ["consent.granted"])
    redirecting.secret = created.secret
    redirecting.start()
    try:
        gateway.grant(chip, bank=bank.address)
        redirecting.wait_for(1)

        def recorded() -> bool:
            page = enterprise.deliveries(created.id)
            return bool(page.deliveries and page.deliveries[0].attempt_log)

        _wait(recorded)
    finally:
        redirecting.kill()
    (delivery,) = enterprise.deliveries(created.id).deliveries
    assert delivery.status == "pending"
    assert delivery.attempt_log[0].status_code == 307
    assert delivery.last_error == "a redirect (never followed)"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/x", "webhook_url_not_https"),
        ("http://10.0.0.7/x", "webhook_url_not_https"),
        ("https://127.0.0.1/x", "webhook_url_not_public"),
        ("https://[::1]/x", "webhook_url_not_public"),
        ("https://169.254.169.254/latest/meta-data", "webhook_url_not_public"),
        ("https://192.168.1.1/x", "webhook_url_not_public"),
        ("https://user:pw@hooks.example.com/x", "webhook_url_invalid"),
        ("ftp://hooks.example.com/x", "webhook_url_invalid"),
        ("https://localhost/x", "webhook_url_not_public"),
    ],
    ids=[
        "http-public", "http-private", "https-loopback", "https-v6-loopback", "metadata",
        "private", "credentials", "ftp", "localhost-resolves-to-loopback",
    ],
)  # fmt: skip
def test_targets_that_could_reach_the_bureaus_network_are_refused(
    gateway: Gateway, url: str, code: str
) -> None:
    chip: Enterprise = gateway.new_enterprise()
    with pytest.raises(GatewayProblemError) as refused:
        gateway.enterprise_client(chip).subscribe(url, ["consent.granted"])
    assert refused.value.status == 422
    assert refused.value.code == code


def test_an_unknown_event_type_is_refused(gateway: Gateway, bank: Bank) -> None:
    response = gateway.http.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["consent.exploded"]},
        headers=bank.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


REQUEST_EVENTS: list[WebhookEventType] = [
    "consent.requested",
    "consent.granted",
    "consent.request_declined",
    "consent.request_expired",
]


def test_consent_requests_reach_the_enterprise_and_the_bank(
    gateway: Gateway, bank: Bank, tmp_path: Path
) -> None:
    """The enterprise subscribes in its session; both sides hear of a request, its approval
    (the chain's grant) and a declined one, each once."""
    chip = gateway.new_enterprise()
    enterprise = gateway.enterprise_client(chip)
    enterprise.open_session()
    banker = gateway.client_of(bank)
    theirs = Receiver(tmp_path / "enterprise.jsonl")
    ours = Receiver(tmp_path / "bank.jsonl")
    theirs.secret = enterprise.subscribe(theirs.url, REQUEST_EVENTS).secret
    ours.secret = banker.subscribe(ours.url, REQUEST_EVENTS).secret
    terms: dict[str, Any] = {"history_months": 12, "duration_days": 30, "reason": "贷前审查"}
    approved = banker.request_consent(chip.uscc, [1], "credit_underwriting", **terms)
    declined = banker.request_consent(chip.uscc, [1], "credit_underwriting", **terms)
    granted = enterprise.approve_request(approved.request_id)
    enterprise.decline_request(declined.request_id, "we bank elsewhere")
    theirs.start()
    ours.start()
    try:
        seen = {"enterprise": theirs.wait_for(4), "bank": ours.wait_for(4)}
        time.sleep(0.5)
        seen = {"enterprise": theirs.received(), "bank": ours.received()}
    finally:
        theirs.kill()
        ours.kill()
    for received in seen.values():
        assert all(r["verified"] for r in received)
        events = {(r["body"]["type"], r["body"]["data"].get("request_id")) for r in received}
        assert events == {
            ("consent.requested", approved.request_id),
            ("consent.requested", declined.request_id),
            ("consent.granted", None),
            ("consent.request_declined", declined.request_id),
        }
        assert len(received) == 4
        grant = next(r for r in received if r["body"]["type"] == "consent.granted")
        assert grant["body"]["data"]["consent_id"] == granted.grant.consent_id
        refusal = next(r for r in received if r["body"]["type"] == "consent.request_declined")
        assert refusal["body"]["data"]["decline_reason"] == "we bank elsewhere"
