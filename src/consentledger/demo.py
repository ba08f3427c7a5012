"""``consentledger demo``: the whole mission, end to end, through the real HTTP API.

A gateway on the embedded chain is served by uvicorn on a free loopback port; the demo acts as
its clients (a bank with its API key, enterprises signing with eth-account, the bureau operator,
an auditor reading ``/rpc``) and tells the story of domain.md:

 1. deploy; 2. seed the bureau; 3. a bank and three enterprises, one 2-of-2; 4. a signed
 credit-underwriting consent; 5. a granted read with its receipt; 6. the size class; 7. a read
 outside the consent, denied on the chain; 8. the 2-of-2 enterprise grants with both signatures;
 9. a revocation, then a read denied REVOKED; 10. the auditor replays the chain: clean;
 11. the enterprise's portability report.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from consentledger.audit.output import write_reports
from consentledger.audit.runner import Audit
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import (
    CATERING_CHAIN_USCC,
    CHIP_DISTRIBUTOR_USCC,
    CONSTRUCTION_FIRM_USCC,
)
from consentledger.bureau.store import BureauStore
from consentledger.categories import Purpose, mask_of, parse_category
from consentledger.chain import typed_data
from consentledger.chain.anvil import free_port
from consentledger.chain.deploy import Deployment
from consentledger.chain.jsonrpc import HttpJsonRpc
from consentledger.chain.receipt_check import verify_receipt
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.app import create_app
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN, Settings

#: Synthetic enterprises seeded next to the showcase ones.
DEMO_ENTERPRISES = 200


class DemoError(ConsentLedgerError, RuntimeError):
    """A step of the demo did not go as the story says."""

    code = "demo_failed"


@dataclass
class Enterprise:
    name: str
    uscc: str
    controllers: list[LocalAccount]

    @property
    def addresses(self) -> list[str]:
        return [c.address for c in self.controllers]


@contextmanager
def _gateway(out_dir: Path, auditor_token: str) -> Iterator[str]:
    """A gateway on a fresh embedded chain, served on a free loopback port; yields its URL."""
    port = free_port()
    settings = Settings(
        chain="embedded",
        database_url=f"sqlite:///{out_dir / 'gateway.db'}",
        bureau_database_url=f"sqlite:///{out_dir / 'bureau.db'}",
        deployment_file=out_dir / "deployment.json",
        auditor_token=SecretStr(auditor_token),
        domain=f"127.0.0.1:{port}",
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise DemoError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class _Client:
    """httpx against the gateway; a problem answer where success was expected is a DemoError."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code != expect:
            raise DemoError(
                f"{method} {path} answered {response.status_code}, expected {expect}: "
                f"{response.text[:500]}"
            )
        return response.json()


def _sign(document: dict[str, Any], signers: list[LocalAccount]) -> list[str]:
    """Sign EIP-712 typed data as a wallet would (eth_signTypedData_v4)."""
    signable = encode_typed_data(full_message=document)
    return ["0x" + bytes(s.sign_message(signable).signature).hex() for s in signers]


def run_demo(console: Console, out_dir: Path) -> Path:
    """Tell the story; returns the directory holding the reports."""
    started = time.perf_counter()
    if out_dir.exists():
        for name in ("gateway.db", "bureau.db", "deployment.json", "audit"):
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    admin = {"Authorization": f"Bearer {DEVELOPMENT_ADMIN_TOKEN}"}
    auditor_token = secrets.token_urlsafe(24)

    console.rule("[bold]ConsentLedger[/]: consented, recorded access to enterprise credit data")
    console.print("[bold]1.[/] Seeding the city credit bureau ...")
    with BureauStore.open(f"sqlite:///{out_dir / 'bureau.db'}") as store:
        report = seed_store(store, enterprises=DEMO_ENTERPRISES, progress=False)
    console.print(f"   {report.enterprises} enterprises, 11 data categories each")

    with _gateway(out_dir, auditor_token) as url:
        api = _Client(url)
        health = api.call("GET", "/v1/health")
        console.print(
            f"[bold]2.[/] Ledger deployed on the embedded chain {health['chain_id']} at "
            f"[cyan]{health['contract']}[/]; gateway at {url}"
        )

        console.print("[bold]3.[/] The operator admits a bank and registers three enterprises")
        bank = api.call(
            "POST", "/v1/admin/banks", expect=201, json={"name": "Shenzhen SME Bank"}, headers=admin
        )
        bank_headers = {"Authorization": f"Bearer {bank['api_key']}"}
        signer = _BankSigner(
            Account.from_key(bank["private_key"]),
            Deployment.load(out_dir / "deployment.json"),
            HttpJsonRpc(f"{url}/rpc", auditor_token),
        )
        chip = Enterprise("Nanshan chip distributor", CHIP_DISTRIBUTOR_USCC, [Account.create()])
        catering = Enterprise("Futian restaurant chain", CATERING_CHAIN_USCC, [Account.create()])
        builder = Enterprise(
            "Longgang contractor (2-of-2)",
            CONSTRUCTION_FIRM_USCC,
            [Account.create(), Account.create()],
        )
        subjects: dict[str, str] = {}
        for enterprise in (chip, catering, builder):
            registered = api.call(
                "POST",
                "/v1/admin/enterprises",
                expect=201,
                headers=admin,
                json={
                    "uscc": enterprise.uscc,
                    "controllers": enterprise.addresses,
                    "threshold": len(enterprise.controllers),
                },
            )
            subjects[enterprise.uscc] = registered["subject"]
        table = Table(show_header=True, header_style="bold")
        for column in ("who", "USCC / address", "signs with"):
            table.add_column(column)
        table.add_row("bank", bank["address"], "API key (shown once, stored hashed)")
        for enterprise in (chip, catering, builder):
            table.add_row(
                enterprise.name, enterprise.uscc, f"{len(enterprise.controllers)} controller key(s)"
            )
        console.print(table)

        console.print(
            "[bold]4.[/] The chip distributor signs a credit-underwriting consent "
            "(registration, social insurance, tax; 90 days; 24 months of history)"
        )
        consent_id = _grant(
            api,
            chip,
            bank["address"],
            ["business_registration", "social_insurance", "tax"],
            console,
        )

        console.print(
            "[bold]5.[/] The bank reads: the chain records the read, then data is released"
        )
        read = api.call(
            "POST",
            "/v1/queries",
            headers={**bank_headers, "Idempotency-Key": "demo-read-1"},
            json=signer.read(chip.uscc, consent_id, ["business_registration", "social_insurance"]),
        )
        receipt = read["receipt"]
        # The bank checks the receipt against the chain itself: the hash of what it received,
        # and the DataAccessed at the receipt's transaction and log (query id, bank, categories,
        # purpose, hash); a mismatch raises ReceiptMismatchError.
        verify_receipt(
            signer.rpc,
            signer.deployment.address,
            receipt,
            read["data"],
            bank=bank["address"],
            categories=mask_of(
                parse_category(c) for c in ["business_registration", "social_insurance"]
            ),
            purpose=int(Purpose.CREDIT_UNDERWRITING),
        )
        _receipt_table(console, receipt)
        console.print(f"   released: {', '.join(read['data']['categories'])}")

        console.print("[bold]6.[/] The bank asks for the size class (itself a recorded read)")
        size_categories = ["business_registration", "social_insurance", "tax"]
        signed = signer.signed(consent_id, size_categories)
        size = api.call(
            "GET",
            f"/v1/enterprises/{chip.uscc}/size-class",
            params={"consent_id": consent_id, **signed},
            headers=bank_headers,
        )
        data = size["data"]
        figures = ", ".join(
            f"{f['symbol']} = {f['value']} ({f['source']}, {f['period']})" for f in data["figures"]
        )
        console.print(f"   [bold]{data['size']}[/] ({data['sector']}): {figures}")

        console.print("[bold]7.[/] The bank asks for judicial records, outside the consent")
        denied = api.call(
            "POST",
            "/v1/queries",
            expect=403,
            headers={**bank_headers, "Idempotency-Key": "demo-read-2"},
            json=signer.read(chip.uscc, consent_id, ["judicial"]),
        )
        console.print(
            f"   [red]denied[/]: {denied['reason']}, recorded in tx {denied['receipt']['tx_hash']}"
        )

        console.print("[bold]8.[/] The contractor's two controllers both sign a consent")
        _grant(api, builder, bank["address"], ["business_registration", "judicial"], console)

        console.print("[bold]9.[/] The chip distributor revokes; the bank reads again")
        drafted = api.call(
            "POST", f"/v1/consents/{consent_id}/actions/draft", json={"action": "revoke"}
        )
        document = drafted["typed_data"]
        revoked = api.call(
            "POST",
            f"/v1/consents/{consent_id}/revoke",
            json={
                "nonce": document["message"]["nonce"],
                "deadline": document["message"]["deadline"],
                "signatures": _sign(document, chip.controllers),
            },
        )
        console.print(f"   revoked in tx {revoked['tx_hash']} (block {revoked['block_number']})")
        again = api.call(
            "POST",
            "/v1/queries",
            expect=403,
            headers={**bank_headers, "Idempotency-Key": "demo-read-3"},
            json=signer.read(chip.uscc, consent_id, ["business_registration"]),
        )
        console.print(f"   [red]denied[/]: {again['reason']}; nothing released")

        console.print(
            "[bold]10.[/] The auditor replays the chain through /rpc, trusting nothing else"
        )
        deployment = Deployment.load(out_dir / "deployment.json")
        rpc = HttpJsonRpc(f"{url}/rpc", auditor_token)
        subject = bytes.fromhex(subjects[chip.uscc][2:])
        try:
            result = Audit(rpc, deployment, subject=subject).run()
        finally:
            rpc.close()
            signer.rpc.close()
        written = write_reports(result, out_dir / "audit", subject=subject)
    verdict = "[green]clean[/]" if result.clean else f"[red]{len(result.findings)} findings[/]"
    console.print(
        f"   {result.events_replayed} events replayed: {verdict}; "
        f"report: [bold]{written.report_html}[/]"
    )
    console.print(f"[bold]11.[/] Portability report: [bold]{written.portability_html}[/]")
    console.rule(f"done in {time.perf_counter() - started:.1f} s")
    if not result.clean:
        raise DemoError(
            f"the audit found {len(result.findings)} findings: see {written.report_json}"
        )
    return out_dir


@dataclass
class _BankSigner:
    """The bank's side of a read: it signs each request as an EIP-712 ``ReadRequest`` in the
    ledger's domain, with a deadline ten minutes after the chain's latest block."""

    key: LocalAccount
    deployment: Deployment
    rpc: HttpJsonRpc

    def signed(self, consent_id: str, categories: list[str]) -> dict[str, Any]:
        latest = self.rpc.request("eth_getBlockByNumber", ["latest", False])
        return typed_data.signed_read_fields(
            self.key,
            typed_data.Domain(self.deployment.chain_id, self.deployment.address),
            consent_id=bytes.fromhex(consent_id[2:]),
            categories=mask_of(parse_category(c) for c in categories),
            purpose=int(Purpose.CREDIT_UNDERWRITING),
            history_months=DEMO_HISTORY_MONTHS,
            deadline=int(latest["timestamp"], 16) + 600,
        )

    def read(self, uscc: str, consent_id: str, categories: list[str]) -> dict[str, Any]:
        """The body of a credit-underwriting read, signed."""
        return {
            "uscc": uscc,
            "consent_id": consent_id,
            "categories": categories,
            "purpose": "credit_underwriting",
            **self.signed(consent_id, categories),
        }


#: The history window of the demo's consents (and of the bank's reads under them).
DEMO_HISTORY_MONTHS = 24


def _grant(
    api: _Client, enterprise: Enterprise, bank: str, categories: list[str], console: Console
) -> str:
    """Draft a consent, sign it with every controller, relay it; returns the consent id."""
    draft = api.call(
        "POST",
        "/v1/consents/draft",
        json={
            "uscc": enterprise.uscc,
            "bank": bank,
            "categories": categories,
            "purpose": "credit_underwriting",
            "duration_days": 90,
            "history_months": DEMO_HISTORY_MONTHS,
        },
    )
    granted = api.call(
        "POST",
        "/v1/consents",
        expect=201,
        json={
            "message": draft["typed_data"]["message"],
            "signatures": _sign(draft["typed_data"], enterprise.controllers),
            "receipt": draft["receipt"],
        },
    )
    console.print(
        f"   consent [cyan]{granted['consent_id']}[/] {granted['status']} in tx "
        f"{granted['tx_hash']} (receipt hash {draft['receipt_hash'][:18]}...)"
    )
    consent_id: str = granted["consent_id"]
    return consent_id


def _receipt_table(console: Console, receipt: dict[str, Any]) -> None:
    table = Table(title="receipt", show_header=False)
    for key in ("query_id", "consent_id", "tx_hash", "block_number", "log_index", "response_hash"):
        table.add_row(key, str(receipt[key]))
    table.add_row(
        "bank's check", "keccak256(salt || data) and the DataAccessed event match (verify_receipt)"
    )
    console.print(table)
