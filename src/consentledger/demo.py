"""``consentledger demo``: the whole mission, end to end, through the real HTTP API.

A gateway on the embedded chain is served by uvicorn on a free loopback port; the demo acts as
its clients (a bank with its API key, enterprises signing with eth-account, the bureau operator,
an auditor reading ``/rpc``) and tells the story of domain.md:

 1. deploy; 2. seed the bureau; 3. a bank (by its legal names and licence) and three
 enterprises, one 2-of-2; 4. the bank asks for a credit-underwriting consent and the enterprise,
 signed in once (a session), approves the request by signing it; 5. a granted read with its
 receipt; 6. the size class; 7. a read
 outside the consent, denied on the chain; 8. the 2-of-2 enterprise grants with both signatures;
 9. the chip distributor disputes a data item: the chain records it, the next document marks
 it, the bureau answers (corrected); 10. a revocation, then a read denied REVOKED; 11. the
 enterprise's webhooks (the bank's request among them), delivered to a receiver on loopback and
 checked; 12. the auditor replays the chain: clean; 13. the enterprise's portability report,
 naming it and the bank.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from web3 import HTTPProvider, Web3

from consentledger.audit.output import write_reports
from consentledger.audit.report import ReportNames
from consentledger.audit.runner import Audit
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import (
    CATERING_CHAIN_USCC,
    CHIP_DISTRIBUTOR_USCC,
    CONSTRUCTION_FIRM_USCC,
)
from consentledger.bureau.store import BureauStore
from consentledger.categories import Purpose, mask_of, parse_category
from consentledger.chain.anvil import free_port
from consentledger.chain.client import LedgerClient
from consentledger.chain.deploy import Deployment
from consentledger.chain.jsonrpc import HttpJsonRpc
from consentledger.chain.read_signer import BankReadSigner
from consentledger.chain.receipt_check import verify_receipt
from consentledger.client import AccessDeniedError, Gateway
from consentledger.client import Enterprise as EnterpriseClient
from consentledger.client.http import SyncRunner
from consentledger.client.models import QueryResult, Receipt
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.app import create_app
from consentledger.gateway.settings import Settings
from consentledger.webhook_receiver import LocalReceiver, describe

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
def _gateway(out_dir: Path, admin_token: str, auditor_token: str) -> Iterator[str]:
    """A gateway on a fresh embedded chain, served on a free loopback port; yields its URL."""
    port = free_port()
    settings = Settings(
        chain="embedded",
        database_url=f"sqlite:///{out_dir / 'gateway.db'}",
        bureau_database_url=f"sqlite:///{out_dir / 'bureau.db'}",
        deployment_file=out_dir / "deployment.json",
        admin_token=SecretStr(admin_token),
        auditor_token=SecretStr(auditor_token),
        subject_key=SecretStr(secrets.token_hex(32)),
        domain=f"127.0.0.1:{port}",
        # The demo's webhook receiver listens on loopback over plain http: development only.
        environment="development",
        webhook_allow_loopback_http=True,
        webhook_poll_interval_s=0.1,
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
    admin_token = secrets.token_urlsafe(24)
    auditor_token = secrets.token_urlsafe(24)

    console.rule("[bold]ConsentLedger[/]: consented, recorded access to enterprise credit data")
    console.print("[bold]1.[/] Seeding the city credit bureau ...")
    with BureauStore.open(f"sqlite:///{out_dir / 'bureau.db'}") as store:
        report = seed_store(store, enterprises=DEMO_ENTERPRISES, progress=False)
    console.print(f"   {report.enterprises} enterprises, 11 data categories each")

    with (
        _gateway(out_dir, admin_token, auditor_token) as url,
        Gateway(url) as api,
        LocalReceiver() as receiver,
    ):
        health = api.health()
        console.print(
            f"[bold]2.[/] Ledger deployed on the embedded chain {health.chain_id} at "
            f"[cyan]{health.contract}[/]; gateway at {url}"
        )

        console.print("[bold]3.[/] The operator admits a bank and registers three enterprises")
        operator = api.operator(admin_token)
        admitted = operator.add_bank(
            "Shenzhen SME Bank Co., Ltd.",
            name_zh="深圳小微银行股份有限公司",
            licence_number="B1234H144030001",
        )
        # The bank reads the chain (the consent's terms, the time) through the gateway's /rpc
        # and signs each read request with its key.
        deployment = Deployment.load(out_dir / "deployment.json")
        bank_view = _bank_view(url, auditor_token, deployment, admitted.private_key)
        signer = BankReadSigner(bank_view.account, bank_view)
        bank = api.bank(admitted.api_key, admitted.address, signer=signer)
        chip = Enterprise("Nanshan chip distributor", CHIP_DISTRIBUTOR_USCC, [Account.create()])
        catering = Enterprise("Futian restaurant chain", CATERING_CHAIN_USCC, [Account.create()])
        builder = Enterprise(
            "Longgang contractor (2-of-2)",
            CONSTRUCTION_FIRM_USCC,
            [Account.create(), Account.create()],
        )
        subjects: dict[str, str] = {}
        for enterprise in (chip, catering, builder):
            registered = operator.register_enterprise(
                enterprise.uscc, enterprise.controllers, len(enterprise.controllers)
            )
            subjects[enterprise.uscc] = registered.subject
        table = Table(show_header=True, header_style="bold")
        for column in ("who", "USCC / address", "signs with"):
            table.add_column(column)
        table.add_row(
            f"bank: {admitted.name_zh}", admitted.address, "API key (shown once, stored hashed)"
        )
        for enterprise in (chip, catering, builder):
            table.add_row(
                enterprise.name, enterprise.uscc, f"{len(enterprise.controllers)} controller key(s)"
            )
        console.print(table)
        chip_client = api.enterprise(chip.uscc, chip.controllers)
        subscription = chip_client.subscribe(
            receiver.url,
            ["consent.requested", "consent.granted", "consent.revoked", "read.granted",
             "read.denied", "dispute.filed", "dispute.answered"],
            "the chip distributor's treasury desk",
        )  # fmt: skip
        receiver.trust(subscription.secret)
        console.print(
            f"   the chip distributor subscribes {receiver.url} to its events "
            f"(secret {subscription.secret[:10]}..., shown once)"
        )

        console.print(
            "[bold]4.[/] The bank asks the chip distributor for a credit-underwriting consent "
            "(registration, social insurance, tax; 90 days; 24 months of history); the "
            "enterprise signs in once, sees the request and approves it by signing"
        )
        asked = bank.request_consent(
            chip.uscc,
            ["business_registration", "social_insurance", "tax"],
            "credit_underwriting",
            history_months=DEMO_HISTORY_MONTHS,
            duration_days=90,
            reason="贷前审查：流动资金贷款申请 (pre-loan review of a working-capital loan)",
            respond_within_days=7,
        )
        console.print(f"   request [cyan]{asked.request_id}[/] {asked.state}: {asked.reason}")
        session = chip_client.open_session()
        pending = chip_client.consent_requests(state="pending").requests
        if [r.request_id for r in pending] != [asked.request_id]:
            raise DemoError(f"the enterprise does not see the bank's request: {pending}")
        seen = pending[0]
        named = seen.bank_name.name_zh if seen.bank_name else seen.bank
        console.print(f"   session until {session.expires_at:%H:%M:%S} UTC; pending: from {named}")
        approved = chip_client.approve_request(asked.request_id)
        consent_id = approved.grant.consent_id
        console.print(
            f"   {approved.request.state}: consent [cyan]{consent_id}[/] "
            f"{approved.grant.status} in tx {approved.grant.tx_hash}"
        )

        console.print(
            "[bold]5.[/] The bank reads: the chain records the read, then data is released"
        )
        read = bank.read(
            chip.uscc,
            consent_id,
            ["business_registration", "social_insurance"],
            "credit_underwriting",
            idempotency_key="demo-read-1",
        )
        # The bank checks the receipt against the chain itself: the hash of what it received,
        # and the DataAccessed at the receipt's transaction and log (query id, bank, categories,
        # purpose, hash); a mismatch raises ReceiptMismatchError.
        verify_receipt(
            bank_view.node,
            deployment.address,
            read.receipt.model_dump(),
            read.data,
            bank=admitted.address,
            categories=mask_of(
                parse_category(c) for c in ["business_registration", "social_insurance"]
            ),
            purpose=int(Purpose.CREDIT_UNDERWRITING),
        )
        _receipt_table(console, read.receipt)
        console.print(f"   released: {', '.join(read.data['categories'])}")

        console.print("[bold]6.[/] The bank asks for the size class (itself a recorded read)")
        data = bank.size_class(chip.uscc, consent_id).data
        figures = ", ".join(
            f"{f['symbol']} = {f['value']} ({f['source']}, {f['period']})" for f in data["figures"]
        )
        console.print(f"   [bold]{data['size']}[/] ({data['sector']}): {figures}")

        console.print("[bold]7.[/] The bank asks for judicial records, outside the consent")
        denied = _denied(bank.read, chip.uscc, consent_id, ["judicial"], "demo-read-2")
        console.print(
            f"   [red]denied[/]: {denied.reason}, recorded in tx {denied.receipt['tx_hash']}"
        )

        console.print("[bold]8.[/] The contractor's two controllers both sign a consent")
        _grant(
            api.enterprise(builder.uscc, builder.controllers),
            admitted.address,
            ["business_registration", "judicial"],
            console,
        )

        console.print(
            "[bold]9.[/] The chip distributor disputes its registered capital (异议, "
            "征信业管理条例 art. 25)"
        )
        disputed = chip_client.dispute_item(
            "business_registration/registered_capital",
            ["business_registration"],
            "The capital increase of last year is missing.",
        )
        console.print(
            f"   dispute [cyan]{disputed.dispute_id[:18]}...[/] filed in tx {disputed.filed_tx}; "
            f"the bureau must answer by {_day(disputed.answer_due)}"
        )
        marked = bank.read(
            chip.uscc,
            consent_id,
            ["business_registration"],
            "credit_underwriting",
            idempotency_key="demo-read-disputed",
        )
        marks = marked.data.get("disputes", [])
        console.print(f"   the next document released marks it: {marks[0]['reference']}")
        answered = operator.answer_dispute(
            disputed.dispute_id, "corrected", "Registered capital updated from the 2025 filing."
        )
        console.print(
            f"   the bureau answers: [bold]{answered.outcome}[/] in tx {answered.answered_tx}"
        )

        console.print("[bold]10.[/] The chip distributor revokes; the bank reads again")
        revoked = chip_client.revoke(consent_id)
        console.print(f"   revoked in tx {revoked.tx_hash} (block {revoked.block_number})")
        again = _denied(bank.read, chip.uscc, consent_id, ["business_registration"], "demo-read-3")
        console.print(f"   [red]denied[/]: {again.reason}; nothing released")

        console.print(
            "[bold]11.[/] The chip distributor's webhooks, signed (Standard Webhooks) and checked"
        )
        # granted, 3 reads (granted, denied, granted), filed, answered, revoked, read denied
        arrived = receiver.wait_for(9, timeout=30)
        for received in arrived:
            console.print(f"   {received.webhook_id[:16]}... {describe(received)}")
        if len(arrived) < 9:
            raise DemoError(f"{len(arrived)} of 9 webhooks arrived")

        console.print(
            "[bold]12.[/] The auditor replays the chain through /rpc, trusting nothing else"
        )
        rpc = HttpJsonRpc(f"{url}/rpc", auditor_token)
        subject = bytes.fromhex(subjects[chip.uscc][2:])
        try:
            result = Audit(rpc, deployment, subject=subject).run()
        finally:
            rpc.close()
            bank_view.node.close()
        bank_names = {
            b.address: b.name.model_dump() for b in api.banks().banks if b.name is not None
        }
        chip_client.sign_out()
        with BureauStore.open(f"sqlite:///{out_dir / 'bureau.db'}") as store:
            chip_name = store.registered_name(chip.uscc)
        names = ReportNames(uscc=chip.uscc, enterprise_name=chip_name, banks=bank_names)
        written = write_reports(result, out_dir / "audit", subject=subject, names=names)
    verdict = "[green]clean[/]" if result.clean else f"[red]{len(result.findings)} findings[/]"
    console.print(
        f"   {result.events_replayed} events replayed: {verdict}; "
        f"report: [bold]{written.report_html}[/]"
    )
    console.print(f"[bold]13.[/] Portability report: [bold]{written.portability_html}[/]")
    console.rule(f"done in {time.perf_counter() - started:.1f} s")
    if not result.clean:
        raise DemoError(
            f"the audit found {len(result.findings)} findings: see {written.report_json}"
        )
    return out_dir


def _bank_view(url: str, token: str, deployment: Deployment, key: str | None) -> LedgerClient:
    """The bank's view of the ledger through the gateway's ``/rpc``, with its key."""
    if key is None:
        raise DemoError("the gateway made the bank no key pair")
    headers = {"Authorization": f"Bearer {token}"}
    w3 = Web3(HTTPProvider(f"{url}/rpc", request_kwargs={"headers": headers, "timeout": 60}))
    return LedgerClient(w3, deployment.address, Account.from_key(key))


def _day(timestamp: int | None) -> str:
    """A block time as a UTC date."""
    if timestamp is None:
        return "?"
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


#: The history window of the demo's consents (the bank's reads ask for all of it).
DEMO_HISTORY_MONTHS = 24


def _grant(
    enterprise: EnterpriseClient[SyncRunner], bank: str, categories: list[str], console: Console
) -> str:
    """Draft a consent, sign it with every controller, relay it; returns the consent id."""
    draft = enterprise.draft(
        bank,
        categories,
        "credit_underwriting",
        duration_days=90,
        history_months=DEMO_HISTORY_MONTHS,
    )
    granted = enterprise.grant_draft(draft)
    console.print(
        f"   consent [cyan]{granted.consent_id}[/] {granted.status} in tx "
        f"{granted.tx_hash} (receipt hash {draft.receipt_hash[:18]}...)"
    )
    return granted.consent_id


def _denied(
    read: Callable[..., QueryResult],
    uscc: str,
    consent_id: str,
    categories: list[str],
    key: str,
) -> AccessDeniedError:
    """The chain's denial of a read the story expects to be denied."""
    try:
        read(uscc, consent_id, categories, "credit_underwriting", idempotency_key=key)
    except AccessDeniedError as denied:
        return denied
    raise DemoError(f"the read of {categories} under {consent_id} was not denied")


def _receipt_table(console: Console, receipt: Receipt) -> None:
    table = Table(title="receipt", show_header=False)
    for key in ("query_id", "consent_id", "tx_hash", "block_number", "log_index", "response_hash"):
        table.add_row(key, str(getattr(receipt, key)))
    table.add_row(
        "bank's check", "keccak256(salt || data) and the DataAccessed event match (verify_receipt)"
    )
    console.print(table)
