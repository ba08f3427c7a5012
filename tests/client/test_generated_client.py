"""A client generated from the API document by a well-kept generator (openapi-python-client) reads
through a real gateway served over HTTP: the document is worth generating from.

The generated package is written to a temporary directory and imported from there; the bank's
request is signed here (its EIP-712 ``ReadRequest``), as any bank's own code would.
"""

from __future__ import annotations

import importlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.testing.gateway import serve_live
from tests.harness.gateway import Gateway

PACKAGE = "consentledger_generated_client"


@pytest.fixture(scope="module")
def generated(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated client package, imported from where the generator wrote it."""
    work = tmp_path_factory.mktemp("generated")
    spec = work / "openapi.json"
    spec.write_text(gateway.http.get("/openapi.json").text)
    generator = Path(sys.executable).with_name("openapi-python-client")
    proc = subprocess.run(
        [
            *(str(generator), "generate", "--path", str(spec)),
            *("--meta", "none", "--output-path", str(work / PACKAGE)),
        ],
        env={**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_reads_through_a_real_gateway(
    gateway: Gateway, generated: ModuleType
) -> None:
    bank = gateway.add_bank("Generated Client Bank")
    chip = gateway.register(CHIP_DISTRIBUTOR_USCC)
    consent_id = gateway.grant(chip, bank, categories=["business_registration", "tax"])
    models = _module("models")
    record_read = _module("api.bank_reads.record_read")
    get_read = _module("api.bank_reads.get_read")
    signed = gateway.signed(bank, consent_id, ["tax"], "credit_underwriting")
    body = models.QueryRequest(
        uscc=chip.uscc,
        consent_id=consent_id,
        categories=[models.CategoryName.TAX],
        purpose=models.PurposeName.CREDIT_UNDERWRITING,
        **signed,
    )
    with serve_live(gateway.app) as url:
        client = generated.AuthenticatedClient(base_url=url, token=bank.api_key)
        with client as open_client:
            key = secrets.token_hex(8)
            result = record_read.sync(client=open_client, body=body, idempotency_key=key)
            assert isinstance(result, models.QueryResult), result
            assert result.receipt.consent_id == consent_id
            assert set(result.data.to_dict()["categories"]) == {"tax"}
            stored = get_read.sync(result.receipt.query_id, client=open_client)
            assert isinstance(stored, models.QueryResult)
            assert stored.receipt.tx_hash == result.receipt.tx_hash

            # A category the consent does not grant: the chain denies it, and the generated
            # client gets the problem with its code.
            other = gateway.signed(bank, consent_id, ["judicial"], "credit_underwriting")
            denied = record_read.sync(
                client=open_client,
                body=models.QueryRequest(
                    uscc=chip.uscc,
                    consent_id=consent_id,
                    categories=[models.CategoryName.JUDICIAL],
                    purpose=models.PurposeName.CREDIT_UNDERWRITING,
                    **other,
                ),
                idempotency_key=secrets.token_hex(8),
            )
            assert isinstance(denied, models.Problem), denied
            assert denied.code == "access_denied"
            assert denied.additional_properties["reason"] == "CATEGORY_NOT_CONSENTED"
