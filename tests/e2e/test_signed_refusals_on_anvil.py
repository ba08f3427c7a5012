"""The gateway's refusals of bad signed read requests, on anvil: a gateway process relaying to a
real node answers each one with its problem code before anything is journaled or sent, exactly as
the in-process gateway on eth-tester does (the same table: ``tests/harness/signed_requests.py``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_account import Account

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.chain.anvil import AnvilChain
from consentledger.chain.client import LedgerClient
from consentledger.chain.deploy import Deployment
from tests.harness.gateway import Bank, signed_read
from tests.harness.processes import consented_read, gateway_on_anvil, journal_entries
from tests.harness.signed_requests import SIGNED_REQUEST_REFUSALS, Change


@dataclass
class OnAnvil:
    url: str
    journal_url: str
    deployment: Deployment
    ledger: LedgerClient
    bank: Bank
    consent: bytes


@pytest.fixture(scope="module")
def on_anvil(
    anvil_url: str, bureau_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OnAnvil]:
    node = AnvilChain(anvil_url)
    tmp = tmp_path_factory.mktemp("signed-refusals")
    gateway, deployment, _relayer, relay, journal_url = gateway_on_anvil(node, bureau_url, tmp)
    gateway.start()
    try:
        read = consented_read(gateway, node, deployment, relay)
        key = Account.from_key(read.signer.account.key)
        bank = Bank("B", read.bank_address, read.api_key, key)
        ledger = LedgerClient(node.w3, deployment.address, key)
        consent = bytes.fromhex(read.consent_id[2:])
        yield OnAnvil(gateway.url, journal_url, deployment, ledger, bank, consent)
    finally:
        gateway.stop()


def _post(on: OnAnvil, fields: dict[str, Any]) -> httpx.Response:
    purpose = int(on.ledger.consent(on.consent).purpose)
    body = {
        "uscc": CHIP_DISTRIBUTOR_USCC,
        "consent_id": "0x" + on.consent.hex(),
        "categories": [1],
        "purpose": purpose,
        **fields,
    }
    headers = {**on.bank.headers, "Idempotency-Key": secrets.token_hex(8)}
    return httpx.post(f"{on.url}/v1/queries", json=body, headers=headers, timeout=60)


def _signed(on: OnAnvil, **signing: Any) -> dict[str, Any]:
    fields = signing.pop("fields", None)
    if fields is not None:
        return dict(fields)
    purpose = int(on.ledger.consent(on.consent).purpose)
    return signed_read(on.ledger, on.bank, on.consent, [1], purpose, **signing)


def _as_json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in fields.items()}


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [c[1:] for c in SIGNED_REQUEST_REFUSALS],
    ids=[c[0] for c in SIGNED_REQUEST_REFUSALS],
)
def test_a_bad_signed_request_is_refused_before_anything_is_written(
    on_anvil: OnAnvil, change: Change, status: int, code: str
) -> None:
    journaled = len(journal_entries(on_anvil.journal_url))
    head = on_anvil.ledger.w3.eth.block_number
    fields = _signed(on_anvil, **change(on_anvil.ledger, on_anvil.bank, on_anvil.consent))
    response = _post(on_anvil, _as_json(fields))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert len(journal_entries(on_anvil.journal_url)) == journaled
    assert on_anvil.ledger.w3.eth.block_number == head  # nothing sent to the node
    assert on_anvil.ledger.consent(on_anvil.consent).reads_used == 0


def test_a_well_signed_request_is_granted_once_and_its_replay_refused(on_anvil: OnAnvil) -> None:
    """The control (the fixture's consent and bank read fine with a good signature), then the
    same signed request again under a new Idempotency-Key: refused, nothing written."""
    signed = _as_json(_signed(on_anvil))
    response = _post(on_anvil, signed)
    assert response.status_code == 200, response.text
    assert on_anvil.ledger.consent(on_anvil.consent).reads_used == 1
    journaled = len(journal_entries(on_anvil.journal_url))
    head = on_anvil.ledger.w3.eth.block_number
    replay = _post(on_anvil, signed)
    assert replay.status_code == 409, replay.text
    assert replay.json()["code"] == "request_replayed"
    assert len(journal_entries(on_anvil.journal_url)) == journaled
    assert on_anvil.ledger.w3.eth.block_number == head
    assert on_anvil.ledger.consent(on_anvil.consent).reads_used == 1
