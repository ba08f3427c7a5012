"""An enterprise the bureau knows only from imported feeds: a consented read through the gateway
releases its records, and a disputed correction is named in the document the receipt hashes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner
from eth_utils.crypto import keccak

from consentledger.categories import Category
from consentledger.cli import main
from tests.bureau.test_feeds import ANNUAL_REPORT, REAL_USCC, REGISTRATION
from tests.harness.gateway import Bank, Enterprise, Gateway


def _import(url: str, source: str, path: Path, *records: dict[str, Any]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    result = CliRunner().invoke(
        main,
        ["bureau", "import", "--db", url, "--source", source, str(path), "--as-of", "2026-11-30"],
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def bureau_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bureau that holds nothing but one imported enterprise (no synthetic data at all)."""
    directory = tmp_path_factory.mktemp("imported-bureau")
    url = f"sqlite:///{directory / 'bureau.db'}"
    _import(url, "market_regulation", directory / "reg.jsonl", REGISTRATION, ANNUAL_REPORT)
    months = [
        {
            "record": "social_insurance_month",
            "uscc": REAL_USCC,
            "version": 1,
            "month": f"2026-{m:02d}",
            "insured_headcount": 80 + m,
        }
        for m in range(1, 12)
    ]
    _import(url, "social_insurance", directory / "si.jsonl", *months)
    return url


@pytest.fixture(scope="module")
def real(gateway: Gateway) -> Enterprise:
    return gateway.register(REAL_USCC)


def test_a_consented_read_releases_imported_records_and_names_corrections(
    gateway: Gateway, bank: Bank, real: Enterprise, bureau_url: str, tmp_path: Path
) -> None:
    mask = Category.BUSINESS_REGISTRATION.bit | Category.SOCIAL_INSURANCE.bit
    consent = gateway.grant_on_chain(real, bank, mask)
    first = gateway.post_read(bank, real, consent, [1, 2])
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert data["categories"]["business_registration"]["name"] == REGISTRATION["name"]
    assert data["categories"]["social_insurance"]["insured_headcount"][-1]["headcount"] == 91
    assert "corrections" not in data

    corrected = {**ANNUAL_REPORT, "version": 2, "employees": 88, "dispute": "SZCB-2026-0042"}
    _import(bureau_url, "market_regulation", tmp_path / "fix.jsonl", corrected)
    second = gateway.post_read(bank, real, consent, [1, 2])
    assert second.status_code == 200, second.text
    body = second.json()
    reports = body["data"]["categories"]["business_registration"]["annual_reports"]
    assert reports[-1]["employees"] == 88
    assert body["data"]["corrections"] == [
        {
            "record": f"annual_report/{REAL_USCC}/2025",
            "version": 2,
            "category": "business_registration",
            "source": "market_regulation",
            "dispute": "SZCB-2026-0042",
        }
    ]
    receipt = body["receipt"]
    salt = bytes.fromhex(receipt["salt"][2:])
    assert "0x" + keccak(salt + rfc8785.dumps(body["data"])).hex() == receipt["response_hash"]
    assert receipt["versions"] == body["data"]["versions"]
    registration = receipt["versions"]["business_registration"]
    assert registration["source"] == "market_regulation"
    assert [f"annual_report/{REAL_USCC}/2025", 2] in registration["records"]
    assert [f"annual_report/{REAL_USCC}/2025", 1] in first.json()["receipt"]["versions"][
        "business_registration"
    ]["records"]

    # Kept by the journal for the receipt after the document is gone.
    stored = gateway.context.journal.find(bank.address, second.request.headers["idempotency-key"])
    assert stored is not None
    assert json.loads(stored.versions or "null") == body["data"]["versions"]
