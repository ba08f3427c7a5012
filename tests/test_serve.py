"""``consentledger serve`` on the embedded chain, killed with kill -9 in the middle of traffic and
restarted: every consent and every read is still there, and the auditor, pointed at ``/rpc``
with the gateway's journal, is clean."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.bureau.store import BureauStore
from consentledger.categories import Category, Purpose
from consentledger.chain.anvil import free_port
from consentledger.chain.typed_data import Domain
from consentledger.cli import main
from consentledger.gateway.process import GatewayProcess
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from consentledger.journal.schema import JournalEntry, ReadStatus
from tests.reads.test_crash import post_read
from tests.support import SignedReads

ADMIN = {"Authorization": f"Bearer {DEVELOPMENT_ADMIN_TOKEN}"}


def _service(data_dir: Path) -> GatewayProcess:
    """``consentledger serve`` on the data directory, as a real process."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "consentledger.cli", "serve"),
        *("--data-dir", str(data_dir), "--port", str(port)),
    ]
    env = {**os.environ, "CONSENTLEDGER_BATCH_MAX_WAIT_MS": "20"}
    return GatewayProcess(env, port, command)


def _sign(document: dict[str, Any], key: bytes) -> str:
    signable = encode_typed_data(full_message=document)
    return "0x" + bytes(Account.sign_message(signable, key).signature).hex()


def _entries(data_dir: Path) -> list[JournalEntry]:
    engine = create_engine(f"sqlite:///{data_dir / 'gateway.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(JournalEntry)))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_9_in_the_middle_of_traffic_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with BureauStore.open(f"sqlite:///{data_dir / 'bureau.db'}") as store:
        seed_store(store, enterprises=10, progress=False)
    service = _service(data_dir)
    try:
        service.start()
        http = httpx.Client(base_url=service.url, timeout=60)
        bank = http.post("/v1/admin/banks", json={"name": "B"}, headers=ADMIN).json()
        controller = Account.create()
        http.post(
            "/v1/admin/enterprises",
            json={"uscc": CHIP_DISTRIBUTOR_USCC, "controllers": [controller.address]},
            headers=ADMIN,
        ).raise_for_status()
        draft = http.post(
            "/v1/consents/draft",
            json={
                "uscc": CHIP_DISTRIBUTOR_USCC,
                "bank": bank["address"],
                "categories": ["business_registration"],
                "purpose": "post_loan_monitoring",
                "duration_days": 90,
                "history_months": 12,
            },
        ).json()
        granted = http.post(
            "/v1/consents",
            json={
                "message": draft["typed_data"]["message"],
                "signatures": [_sign(draft["typed_data"], controller.key)],
            },
        )
        assert granted.status_code == 201, granted.text
        consent_id = granted.json()["consent_id"]
        token = (data_dir / "keys" / "auditor.token").read_text().strip()
        latest = {"method": "eth_getBlockByNumber", "params": ["latest", False]}
        head = http.post(
            "/rpc",
            json={"jsonrpc": "2.0", "id": 1, **latest},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["result"]
        domain = draft["typed_data"]["domain"]
        body = SignedReads(
            {
                "uscc": CHIP_DISTRIBUTOR_USCC,
                "consent_id": consent_id,
                "categories": [1],
                "purpose": "post_loan_monitoring",
            },
            Account.from_key(bank["private_key"]),
            Domain(domain["chainId"], domain["verifyingContract"]),
            bytes.fromhex(consent_id[2:]),
            Category.BUSINESS_REGISTRATION.bit,
            int(Purpose.POST_LOAN_MONITORING),
            history_months=12,
            deadline=int(head["timestamp"], 16) + 3000,
        )
        headers = {"Authorization": f"Bearer {bank['api_key']}"}

        def read(key: str) -> int | None:
            return post_read(service, headers, body, key)

        keys = [f"traffic-{i}" for i in range(150)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(read, key) for key in keys]
            deadline = time.monotonic() + 30
            while len(_entries(data_dir)) < 15 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(secrets.randbelow(200) / 1000)
            service.kill()
            answered = [f.result() for f in futures]
        assert None in answered, "the service died after every read was answered"
        acknowledged = [k for k, status in zip(keys, answered, strict=True) if status == 200]

        service.start()  # the chain is replayed and verified, the journal reconciled
        http = httpx.Client(base_url=service.url, timeout=60)
        consent = http.get(f"/v1/consents/{consent_id}").json()
        assert consent["status"] == "ACTIVE"
        entries = _entries(data_dir)
        granted_entries = [e for e in entries if e.status == ReadStatus.GRANTED]
        assert {e.status for e in entries} <= {ReadStatus.GRANTED, ReadStatus.FAILED}
        assert consent["reads_used"] == len(granted_entries)
        assert len(granted_entries) >= len(acknowledged)
        for key in acknowledged:  # every acknowledged read is still there, same outcome
            again = http.post(
                "/v1/queries", json=body(key), headers={**headers, "Idempotency-Key": key}
            )
            assert again.status_code == 200

        out = tmp_path / "audit"
        result = CliRunner().invoke(
            main,
            [
                *("audit", "--rpc", f"{service.url}/rpc", "--rpc-token", token),
                *("--deployment", str(data_dir / "deployment.json")),
                *("--journal", f"sqlite:///{data_dir / 'gateway.db'}", "--out", str(out)),
            ],
        )
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text())
        assert report["summary"]["reads_granted"] == len(granted_entries)
    finally:
        service.stop()


def test_the_sign_in_domain_follows_host_and_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consentledger.serve import serve_settings

    monkeypatch.delenv("CONSENTLEDGER_DOMAIN", raising=False)
    settings, _notes = serve_settings("embedded", tmp_path, host="10.1.2.3", port=9443)
    assert settings.domain == "10.1.2.3:9443"
    monkeypatch.setenv("CONSENTLEDGER_DOMAIN", "credit.example.cn")  # set: it wins
    settings, _notes = serve_settings("embedded", tmp_path, host="10.1.2.3", port=9443)
    assert settings.domain == "credit.example.cn"
