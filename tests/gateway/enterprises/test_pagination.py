"""Cursor pagination and filters on the enterprise's views: pages add up to the whole list in
order; a cursor is opaque, tamper-evident, and valid only for its list, enterprise and filters."""

from __future__ import annotations

import pytest

from consentledger.categories import Category, Purpose
from consentledger.client import GatewayProblemError
from consentledger.gateway.errors import InvalidCursorError
from consentledger.gateway.pagination import Cursors, scope_of
from tests.harness.gateway import Enterprise, Gateway


def _reads(gateway: Gateway, enterprise: Enterprise) -> str:
    """A consent and five reads under it: three granted, two denied (tax is not consented)."""
    consent_id = gateway.grant(enterprise)
    bank = gateway.bank.address
    underwriting = int(Purpose.CREDIT_UNDERWRITING)
    registration, tax = Category.BUSINESS_REGISTRATION.bit, Category.TAX.bit
    gateway.record_reads(
        [(consent_id, bank, c, underwriting) for c in (registration, tax, registration)]
    )
    gateway.record_reads([(consent_id, bank, c, underwriting) for c in (tax, registration)])
    return consent_id


def test_pages_of_accesses_add_up_to_the_whole_log(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    consent_id = _reads(gateway, enterprise)
    client = gateway.enterprise_client(enterprise)
    client.open_session()
    whole = client.accesses().accesses
    assert len(whole) == 5
    assert client.accesses().next_cursor is None

    paged, cursor = [], None
    while True:
        page = client.accesses(limit=2, cursor=cursor)
        assert (page.granted, page.denied) == (3, 2)  # totals, whatever the page
        paged += page.accesses
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [(r.block_number, r.log_index) for r in paged] == [
        (r.block_number, r.log_index) for r in whole
    ]
    denied = client.accesses(outcome="denied").accesses
    assert [r.outcome for r in denied] == ["denied", "denied"]
    first = client.accesses(outcome="denied", limit=1)
    second = client.accesses(outcome="denied", limit=1, cursor=first.next_cursor)
    assert [first.accesses[0].query_id, second.accesses[0].query_id] == [r.query_id for r in denied]
    assert client.accesses(consent_id=consent_id).accesses == whole
    assert client.accesses(bank="0x" + "11" * 20).accesses == []


def test_pages_of_consents_and_their_filters(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    granted = [gateway.grant(enterprise) for _ in range(3)]
    gateway.act(granted[1], "pause", enterprise.controllers)
    client = gateway.enterprise_client(enterprise)
    first = client.consents(limit=2)
    second = client.consents(limit=2, cursor=first.next_cursor)
    assert [c.consent_id for c in first.consents + second.consents] == granted
    assert second.next_cursor is None
    paused = client.consents(status="PAUSED").consents
    assert [c.consent_id for c in paused] == [granted[1]]


def test_a_cursor_from_another_list_or_filter_or_changed_is_refused(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    _reads(gateway, enterprise)
    client = gateway.enterprise_client(enterprise)
    client.open_session()
    cursor = client.accesses(limit=1).next_cursor
    assert cursor is not None
    body, tag = cursor.split(".")
    changed = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + tag
    for attempt in (
        lambda: client.accesses(limit=1, cursor=changed),
        lambda: client.accesses(limit=1, cursor="garbage"),
        lambda: client.accesses(outcome="denied", limit=1, cursor=cursor),
        lambda: client.consents(limit=1, cursor=cursor),
    ):
        with pytest.raises(GatewayProblemError) as refused:
            attempt()
        assert (refused.value.status, refused.value.code) == (422, "invalid_cursor")


def test_a_cursor_is_bound_to_its_key_and_scope() -> None:
    cursors, other = Cursors.from_secret(b"k" * 32), Cursors.from_secret(b"j" * 32)
    scope = scope_of("accesses", "91440300MA5FUTURE8", outcome="denied", bank=None)
    assert scope == "accesses|91440300MA5FUTURE8|outcome=denied"
    cursor = cursors.encode(scope, (12, 3))
    assert cursors.decode(cursor, scope) == (12, 3)
    assert cursors.decode(None, scope) is None
    with pytest.raises(InvalidCursorError):
        other.decode(cursor, scope)
    with pytest.raises(InvalidCursorError):
        cursors.decode(cursor, scope_of("accesses", "914403001922038216", outcome="denied"))
    page = cursors.page(list(range(5)), lambda n: (n,), scope=scope, cursor=None, limit=2)
    assert page.items == [0, 1]
    rest = cursors.page(
        list(range(5)), lambda n: (n,), scope=scope, cursor=page.next_cursor, limit=9
    )
    assert (rest.items, rest.next_cursor) == ([2, 3, 4], None)
