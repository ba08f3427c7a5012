"""An enterprise's disputes through the gateway: filed on the chain, marked in every document
released about the disputed categories while open, answered by the bureau, each state visible to
the enterprise; the refusals by code; the dispute events delivered to the enterprise's webhook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from consentledger.client import GatewayProblemError
from consentledger.ledger.types import DISPUTE_ANSWER_PERIOD
from tests.harness.gateway import Bank, Gateway, running_gateway
from tests.harness.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, bureau_url: str) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path_factory.mktemp("disputes"),
        bureau_url,
        webhook_allow_loopback_http=True,
        webhook_poll_interval_s=0.05,
        webhook_backoff_base_s=0.2,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def bank(gateway: Gateway) -> Bank:
    return gateway.add_bank("Disputed Bank")


def test_an_item_dispute_is_on_the_chain_marked_in_reads_and_answered(
    gateway: Gateway, bank: Bank, tmp_path: Path
) -> None:
    chip = gateway.new_enterprise()
    enterprise = gateway.enterprise_client(chip)
    receiver = Receiver(tmp_path / "disputes.jsonl")
    subscription = enterprise.subscribe(receiver.url, ["dispute.filed", "dispute.answered"])
    receiver.secret = subscription.secret
    receiver.start()
    consent = gateway.grant(chip, bank=bank.address)  # business_registration and category 2
    try:
        filed = enterprise.dispute_item(
            "annual_reports/2024/employees", ["business_registration"], "we had 88 staff, not 8"
        )
        assert filed.state == "open"
        assert filed.filed_at is not None
        assert filed.answer_due == filed.filed_at + DISPUTE_ANSWER_PERIOD
        # On the chain: the filing names the enterprise's subject and hashes of what it says.
        mined = gateway.context.ledger.receipt(bytes.fromhex(filed.filed_tx[2:]))  # type: ignore[index]
        assert mined is not None
        (event,) = [e for e in mined.events if e.event == "DisputeFiled"]
        assert event.args["subject"] == chip.subject
        assert event.args["target"] == keccak(text="annual_reports/2024/employees")
        # A read of the disputed category names the dispute in the released document ...
        marked = gateway.read(bank, chip, consent, ["business_registration"])
        assert marked.data["disputes"] == [
            {
                "dispute_id": filed.dispute_id,
                "kind": "item",
                "reference": "annual_reports/2024/employees",
                "categories": ["business_registration"],
                "filed_at": filed.filed_at,
            }
        ]
        # ... a read of another category does not.
        assert "disputes" not in gateway.read(bank, chip, consent, [2]).data
        answered = gateway.operator.answer_dispute(
            filed.dispute_id, "corrected", "The 2024 annual report now says 88 employees."
        )
        assert answered.state == "answered"
        assert answered.outcome == "corrected"
        assert answered.answered_late is False
        seen = enterprise.dispute(filed.dispute_id)
        assert seen.answer == "The 2024 annual report now says 88 employees."
        assert [d.dispute_id for d in enterprise.disputes().disputes] == [filed.dispute_id]
        assert "disputes" not in gateway.read(bank, chip, consent, [1]).data
        received = receiver.wait_for(2)
    finally:
        receiver.kill()
    assert [r["body"]["type"] for r in received] == ["dispute.filed", "dispute.answered"]
    assert all(r["verified"] for r in received)
    assert received[1]["body"]["data"]["outcome"] == "corrected"
    with pytest.raises(GatewayProblemError) as again:
        gateway.operator.answer_dispute(filed.dispute_id, "upheld", "no")
    assert (again.value.status, again.value.code) == (409, "dispute_not_open")


def test_a_read_dispute_names_a_read_of_the_enterprises_own_data(
    gateway: Gateway, bank: Bank
) -> None:
    chip, other = gateway.new_enterprise(), gateway.new_enterprise()
    consent = gateway.grant(chip, bank=bank.address)
    read = gateway.read(bank, chip, consent, [1, 2])
    enterprise = gateway.enterprise_client(chip)
    filed = enterprise.dispute_read(read.receipt.query_id, "this read was never asked for")
    assert filed.kind == "read"
    assert [c.code for c in filed.categories] == [1, 2]
    narrowed = enterprise.dispute_read(read.receipt.query_id, "the tax part", [2])
    assert [c.code for c in narrowed.categories] == [2]
    enterprise.open_session()  # a session sees the disputes as a sign-in does; one per page
    first = enterprise.disputes(limit=1)
    second = enterprise.disputes(limit=1, cursor=first.next_cursor)
    paged = [d.dispute_id for d in first.disputes + second.disputes]
    assert sorted(paged) == sorted([filed.dispute_id, narrowed.dispute_id])
    assert second.next_cursor is None
    with pytest.raises(GatewayProblemError) as foreign:
        gateway.enterprise_client(other).disputes(cursor=first.next_cursor)
    assert foreign.value.code == "invalid_cursor"
    assert {d.state for d in gateway.operator.open_disputes()} == {"open"}
    refusals: dict[str, Callable[[], object]] = {
        "outside": lambda: enterprise.dispute_read(read.receipt.query_id, "x", ["tax"]),
        "unknown": lambda: enterprise.dispute_read("0x" + "ab" * 32, "x"),
        "not-ours": lambda: gateway.enterprise_client(other).dispute_read(
            read.receipt.query_id, "x"
        ),
        "other's-dispute": lambda: gateway.enterprise_client(other).dispute(filed.dispute_id),
    }
    codes = {}
    for name, attempt in refusals.items():
        with pytest.raises(GatewayProblemError) as refused:
            attempt()
        codes[name] = (refused.value.status, refused.value.code)
    assert codes == {
        "outside": (422, "dispute_categories_outside_read"),
        "unknown": (404, "disputed_read_unknown"),
        "not-ours": (404, "disputed_read_unknown"),
        "other's-dispute": (404, "unknown_dispute"),
    }


def test_a_dispute_must_say_what_it_disputes(gateway: Gateway) -> None:
    chip = gateway.new_enterprise()
    headers = gateway.signed_in(chip)
    path = f"/v1/enterprises/{chip.uscc}/disputes"
    missing = gateway.http.post(path, json={"kind": "read", "reason": "x"}, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["code"] == "dispute_needs_query_id"
    headers = gateway.signed_in(chip)
    bare = gateway.http.post(path, json={"kind": "item", "reason": "x"}, headers=headers)
    assert bare.json()["code"] == "dispute_needs_item"
    unsigned = gateway.http.post(path, json={"kind": "item", "reason": "x"})
    assert unsigned.status_code == 401
