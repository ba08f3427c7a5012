"""Forwarded headers are believed from configured proxies only, and no answer is cached."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import httpx
import pytest

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.categories import Category
from consentledger.chain.anvil import free_port
from consentledger.testing.process import GatewayProcess
from tests.harness.gateway import ADMIN, Bank, Enterprise, Gateway


def _serve(data_dir: Path, **settings: str) -> GatewayProcess:
    port = free_port()
    command = [
        *(sys.executable, "-m", "consentledger.cli", "serve"),
        *("--data-dir", str(data_dir), "--port", str(port)),
    ]
    env = {
        **os.environ,
        "CONSENTLEDGER_AUTH_FAILURES_PER_MINUTE": "3",
        **{f"CONSENTLEDGER_{name.upper()}": value for name, value in settings.items()},
    }
    return GatewayProcess(env, port, command)


def _failures(service: GatewayProcess, attempts: int) -> list[int]:
    """Wrong operator tokens, each naming another client in X-Forwarded-For."""
    statuses = []
    for i in range(attempts):
        headers = {
            "Authorization": f"Bearer {secrets.token_urlsafe(24)}",
            "X-Forwarded-For": f"203.0.113.{i + 1}",
        }
        statuses.append(httpx.get(f"{service.url}/v1/admin/banks", headers=headers).status_code)
    return statuses


@pytest.mark.slow
def test_forwarded_addresses_are_believed_from_configured_proxies_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with BureauStore.open(f"sqlite:///{data_dir / 'bureau.db'}") as store:
        seed_store(store, enterprises=2, progress=False)
    service = _serve(data_dir)
    try:
        service.start()
        # A client on the machine names a new address each time: still one client, throttled.
        assert _failures(service, 5) == [401, 401, 401, 429, 429]
    finally:
        service.stop()
    behind_proxy = _serve(data_dir, trusted_proxies="127.0.0.1")
    try:
        behind_proxy.start()
        # The configured proxy's word is taken: five clients, one failure each.
        assert _failures(behind_proxy, 5) == [401] * 5
    finally:
        behind_proxy.stop()


def test_no_answer_is_cached(gateway: Gateway, bank: Bank, chip: Enterprise) -> None:
    consent = gateway.grant_on_chain(chip, bank, Category.BUSINESS_REGISTRATION.bit)
    answers = {
        "read": gateway.post_read(bank, chip, consent, [1]),
        "refused read": gateway.post_read(bank, chip, consent, ["tax"]),
        "new bank and key": gateway.http.post(
            "/v1/admin/banks",
            json={
                "name": f"cached-{secrets.token_hex(4)}",
                "name_zh": "缓存银行",
                "licence_number": "B0043H144030001",
            },
            headers=ADMIN,
        ),
        "wrong token": gateway.http.get(
            "/v1/admin/banks", headers={"Authorization": "Bearer wrong-token-for-a-401"}
        ),
        "challenge": gateway.http.post(
            "/v1/auth/challenge", json={"uscc": chip.uscc, "address": chip.controller.address}
        ),
        "health": gateway.http.get("/health"),
    }
    assert {name: r.headers.get("cache-control") for name, r in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )
