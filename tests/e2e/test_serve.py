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

import pytest
from click.testing import CliRunner
from eth_account import Account
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from web3 import HTTPProvider, Web3

from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.bureau.store import BureauStore
from consentledger.chain.anvil import free_port
from consentledger.chain.client import LedgerClient
from consentledger.chain.read_signer import BankReadSigner
from consentledger.cli import main
from consentledger.client import Gateway as ClientGateway
from consentledger.journal.schema import JournalEntry, ReadStatus
from consentledger.testing.process import GatewayProcess
from tests.harness.processes import ConsentedRead


def _service(data_dir: Path) -> GatewayProcess:
    """``consentledger serve`` on the data directory, as a real process."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "consentledger.cli", "serve"),
        *("--data-dir", str(data_dir), "--port", str(port)),
    ]
    env = {**os.environ, "CONSENTLEDGER_BATCH_MAX_WAIT_MS": "20"}
    return GatewayProcess(env, port, command)


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
    api = ClientGateway(service.url, timeout=60)
    try:
        service.start()
        # the operator token serve generated on its first start
        operator = api.operator((data_dir / "keys" / "admin.token").read_text().strip())
        bank = operator.add_bank("B", name_zh="乙银行", licence_number="B0001H144030001")
        controller = Account.create()
        operator.register_enterprise(CHIP_DISTRIBUTOR_USCC, [controller.address])
        granted = api.enterprise(CHIP_DISTRIBUTOR_USCC, [controller]).grant(
            bank.address,
            ["business_registration"],
            "post_loan_monitoring",
            duration_days=90,
            history_months=12,
        )
        # The bank reads the chain (its time, the consent's terms) through the gateway's /rpc.
        token = (data_dir / "keys" / "auditor.token").read_text().strip()
        rpc = HTTPProvider(
            f"{service.url}/rpc", request_kwargs={"headers": {"Authorization": f"Bearer {token}"}}
        )
        assert bank.private_key is not None
        bank_key = Account.from_key(bank.private_key)
        view = LedgerClient(Web3(rpc), api.health().contract, bank_key)
        signer = BankReadSigner(bank_key, view, lifetime=3000, refresh_s=60)
        consented = ConsentedRead(bank.api_key, bank.address, granted.consent_id, signer)

        def read(key: str) -> int | None:
            return consented.status(service.url, key)

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
        consent = api.consent(granted.consent_id)
        assert consent.status == "ACTIVE"
        entries = _entries(data_dir)
        granted_entries = [e for e in entries if e.status == ReadStatus.GRANTED]
        assert {e.status for e in entries} <= {ReadStatus.GRANTED, ReadStatus.FAILED}
        assert consent.reads_used == len(granted_entries)
        assert len(granted_entries) >= len(acknowledged)
        for key in acknowledged:  # every acknowledged read is still there, same outcome
            assert consented.status(service.url, key) == 200

        out = tmp_path / "audit"
        result = CliRunner().invoke(
            main,
            [
                *("audit", "--rpc", f"{service.url}/rpc"),
                *("--rpc-token-file", str(data_dir / "keys" / "auditor.token")),
                *("--deployment", str(data_dir / "deployment.json")),
                *("--journal", f"sqlite:///{data_dir / 'gateway.db'}", "--out", str(out)),
            ],
        )
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text())
        assert report["summary"]["reads_granted"] == len(granted_entries)
    finally:
        api.close()
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
