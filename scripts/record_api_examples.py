"""Record the API document's examples: a real request and answer of every operation.

Starts a gateway in process (embedded chain, a small seeded bureau), drives every operation once
through the typed client as the parties would (the operator admits a bank and registers
enterprises, a bank asks for consents and the enterprise approves one and declines another in a
session, controllers sign consents and actions, the bank reads, the enterprise views and exports
and signs out, the regulator starts a recovery that the controllers cancel and they hand the
enterprise to a new controller, a department pushes a batch with the credential the operator
issued it, the auditor calls /rpc; the enterprise disputes a read and the operator answers; both
parties subscribe to webhooks and look at their deliveries), and keeps the first successful
exchange of each operation: the request body and the answer. Secrets in the answers (a new
bank's API key and private key, a feed credential, a session token, a webhook signing secret)
are replaced with placeholders of their shape. The gateway puts them in its OpenAPI document
(``gateway/api_schema.py``); ``tests/gateway/test_openapi_document.py`` checks that every
operation has them and that they match the schemas. Rerun after changing an answer's shape:

    python scripts/record_api_examples.py [--out src/consentledger/gateway/api_examples.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from fastapi import FastAPI

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.client import AccessDeniedError
from consentledger.client import Bank as ClientBank
from consentledger.client import Enterprise as ClientEnterprise
from consentledger.client.http import SyncRunner
from consentledger.client.models import CreatedSubscription
from consentledger.gateway.api_schema import EXAMPLES_FILE
from consentledger.gateway.operations import api_routes
from consentledger.testing.gateway import TestGateway, running_gateway, seeded_bureau

#: A webhook receiver on loopback that is not there (port 9, discard): deliveries die at once.
NOWHERE = "http://127.0.0.1:9/hooks"
AUDITOR_TOKEN = "example-auditor-token"  # noqa: S105 - a throwaway gateway's, for /rpc
#: Answer members that hold secrets (a bank's API key and private key, a source's feed
#: credential, an enterprise's session token), and the placeholders shown instead.
SECRETS = {
    "api_key": "clk_0123456789abcdef_" + "x" * 43,
    "private_key": "0x" + "5e" * 32,
    "credential": "cfs_0123456789abcdef_" + "x" * 43,
    "token": "cls_" + "x" * 43,
    "secret": "whsec_" + "x" * 44,
}


def _operation_of(app: FastAPI, request: httpx.Request) -> str | None:
    for route in api_routes(app.routes):
        if request.method in (route.methods or ()) and route.path_regex.match(request.url.path):
            return route.operation_id
    return None


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: SECRETS[k] if k in SECRETS and isinstance(v, str) else _redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


class Recorder:
    """Keeps the first successful exchange of each operation."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.examples: dict[str, dict[str, Any]] = {}

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        operation_id = _operation_of(self.app, response.request)
        if operation_id is None or operation_id in self.examples or response.status_code >= 300:
            return
        body = response.request.content
        self.examples[operation_id] = {
            "request": json.loads(body) if body else None,
            "status": response.status_code,
            "response": _redacted(response.json()) if response.content else None,
        }


def _drive(gateway: TestGateway) -> None:
    api, operator = gateway.api, gateway.operator
    api.health()
    api.eip712()
    bank = gateway.add_bank(
        "Shenzhen SME Bank", name_zh="深圳中小企业银行", licence="B0011H144030001"
    )
    operator.banks()
    operator.api_key(bank.address)
    api.banks()
    chip = gateway.register(CHIP_DISTRIBUTOR_USCC, controllers=1, threshold=1)
    client = gateway.client_of(bank)
    enterprise = gateway.enterprise_client(chip)
    hooks = (
        enterprise.subscribe(NOWHERE, ["consent.granted"], "treasury desk"),
        client.subscribe(NOWHERE, ["consent.granted"], "credit desk"),
    )
    _consent_requests(client, enterprise)
    asked = client.ask_consent(
        chip.uscc,
        ["business_registration", "tax"],
        "credit_underwriting",
        history_months=12,
        duration_days=90,
    )
    consent_id = enterprise.grant_draft(asked).consent_id
    api.consent(consent_id)
    read = client.read(chip.uscc, consent_id, ["tax"], "credit_underwriting")
    client.stored(read.receipt.query_id)
    client.size_class(chip.uscc, consent_id)
    _disputes(gateway, enterprise, read.receipt.query_id)
    _webhooks(client, enterprise, hooks)
    gateway.act(consent_id, "pause", chip.controllers)
    gateway.act(consent_id, "resume", chip.controllers)
    enterprise.accesses()
    enterprise.consents()
    enterprise.export()
    gateway.act(consent_id, "revoke", chip.controllers)
    enterprise.sign_out()
    with contextlib.suppress(AccessDeniedError):  # problems' examples come from their classes
        client.read(chip.uscc, consent_id, ["tax"], "credit_underwriting")
    _feeds(gateway, chip.uscc)
    _controllers(gateway, chip.uscc)
    operator.suspend_bank(bank.address)
    operator.reinstate_bank(bank.address)
    rotated = operator.rotate_key(bank.address)
    operator.revoke_key(bank.address, rotated.key_id)
    gateway.http.post(
        "/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        headers={"Authorization": f"Bearer {AUDITOR_TOKEN}"},
    )


def _disputes(
    gateway: TestGateway, enterprise: ClientEnterprise[SyncRunner], query_id: str
) -> None:
    """The enterprise disputes a read; the operator answers it."""
    filed = enterprise.dispute_read(query_id, "this read was never asked for")
    enterprise.disputes()
    enterprise.dispute(filed.dispute_id)
    gateway.operator.open_disputes()
    gateway.operator.answer_dispute(filed.dispute_id, "upheld", "The read was consented.")


def _webhooks(
    bank: ClientBank[SyncRunner],
    enterprise: ClientEnterprise[SyncRunner],
    hooks: tuple[CreatedSubscription, CreatedSubscription],
) -> None:
    """Both parties list their subscriptions and deliveries (to a receiver that is not there:
    dead after one attempt), send a dead one again, and unsubscribe."""
    for party, hook in ((enterprise, hooks[0]), (bank, hooks[1])):
        party.webhooks()
        deadline = time.monotonic() + 60
        while not (dead := party.deliveries(hook.id, status="dead").deliveries):
            if time.monotonic() > deadline:
                raise RuntimeError("no delivery was given up in time")
            time.sleep(0.05)
        party.deliveries(hook.id)
        party.redeliver(hook.id, dead[0].id)
        party.unsubscribe(hook.id)


def _consent_requests(
    bank: ClientBank[SyncRunner], enterprise: ClientEnterprise[SyncRunner]
) -> None:
    """A bank asks twice; the enterprise, in a session, approves one and declines the other
    (the enterprise's view of a pending request, with the consent to sign, is recorded first)."""
    terms: dict[str, Any] = {
        "history_months": 12,
        "duration_days": 90,
        "max_reads": 20,
    }
    approved = bank.request_consent(
        enterprise.uscc,
        ["business_registration", "tax"],
        "credit_underwriting",
        reason="working-capital loan application: two years' tax filings",
        **terms,
    )
    declined = bank.request_consent(
        enterprise.uscc,
        ["social_insurance"],
        "post_loan_monitoring",
        reason="post-loan review of headcount",
        **terms,
    )
    enterprise.open_session()
    enterprise.consent_requests(state="pending")
    enterprise.approve_request(approved.request_id)
    enterprise.decline_request(declined.request_id, "we do not share payroll data")
    bank.consent_requests()
    bank.consent_request(approved.request_id)


def _controllers(gateway: TestGateway, taken: str) -> None:
    """The regulator starts a lost-key recovery of an enterprise with two controllers, who
    cancel it; they then hand the enterprise to one new controller."""
    uscc = next(u for u in gateway.usccs if u != taken)
    board = gateway.register(uscc, controllers=2, threshold=2)
    gateway.operator.start_recovery(board.uscc, [Account.create()], 1)
    client = gateway.enterprise_client(board)
    client.cancel_recovery()
    client.change_controllers([Account.create().address], 1)


def _feeds(gateway: TestGateway, uscc: str) -> None:
    """The operator issues the social insurance department its credential; the department
    pushes a month of headcount; the operator reads the enterprise's document as known before
    the push, and revokes the credential."""
    operator = gateway.operator
    issued = operator.issue_feed_credential("social_insurance", ["social_insurance_month"])
    operator.feed_credential("social_insurance")
    before = datetime.now(UTC).replace(microsecond=0).isoformat()
    month = {
        "record": "social_insurance_month",
        "uscc": uscc,
        "version": 1,
        "month": "2025-07",
        "insured_headcount": 47,
    }
    gateway.api.source("social_insurance", issued.credential).push([month], "si-2025-07")
    operator.document_known_at(uscc, before, ["social_insurance"], history_months=6)
    operator.revoke_feed_credential("social_insurance", issued.key_id)


def record(out: Path) -> dict[str, dict[str, Any]]:
    """Drive every operation on a fresh gateway and write the examples to ``out``."""
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work)
        bureau = seeded_bureau(directory, enterprises=3)
        with running_gateway(
            directory,
            bureau,
            environment="development",
            auditor_token=AUDITOR_TOKEN,
            webhook_allow_loopback_http=True,
            webhook_max_attempts=1,
            webhook_poll_interval_s=0.05,
        ) as gateway:
            recorder = Recorder(gateway.app)
            gateway.http.event_hooks["response"].append(recorder)
            _drive(gateway)
    examples = dict(sorted(recorder.examples.items()))
    out.write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n")
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=EXAMPLES_FILE)
    args = parser.parse_args()
    examples = record(args.out)
    print(f"{len(examples)} operations recorded to {args.out}")


if __name__ == "__main__":
    main()
