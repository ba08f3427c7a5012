"""``/rpc``: the embedded chain, read-only, behind a bearer token; the auditor reads it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from consentledger.categories import Category
from consentledger.cli import main
from tests.harness.gateway import Gateway, running_gateway, serve_live

TOKEN = "auditor-token-for-tests"


@pytest.fixture(scope="module")
def audited(
    tmp_path_factory: pytest.TempPathFactory, bureau_url: str
) -> Iterator[tuple[Gateway, Path]]:
    tmp = tmp_path_factory.mktemp("rpc")
    deployment = tmp / "deployment.json"
    with running_gateway(
        tmp, bureau_url, auditor_token=SecretStr(TOKEN), deployment_file=deployment
    ) as gateway:
        bank = gateway.add_bank("Audited Bank")
        chip = gateway.register("91440305MA5DKW7Q1B")
        consent = gateway.grant_on_chain(chip, bank, Category.BUSINESS_REGISTRATION.bit)
        assert gateway.read(bank, chip, consent, [1]).status == "granted"
        assert gateway.refused(bank, chip, consent, ["tax"]).status == 403
        yield gateway, deployment


def _rpc(url: str, payload: object, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/rpc", json=payload, headers=headers, timeout=30)


def test_reads_answer_like_a_node(audited: tuple[Gateway, Path]) -> None:
    gateway, _ = audited
    with serve_live(gateway.app) as url:
        answer = _rpc(url, {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        assert answer.json() == {
            "jsonrpc": "2.0",
            "id": 1,
            "result": hex(gateway.context.deployment.chain_id),
        }
        batch = _rpc(
            url,
            [
                {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
                {
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "eth_getBlockByNumber",
                    "params": ["0x1", False],
                },
            ],
        ).json()
        assert [a["id"] for a in batch] == [2, 3]
        assert int(batch[0]["result"], 16) > 1
        assert batch[1]["result"]["number"] == "0x1"


@pytest.mark.parametrize(
    ("token", "code"), [(None, "missing_rpc_token"), ("wrong", "invalid_rpc_token")]
)
def test_rpc_needs_the_auditor_token(
    audited: tuple[Gateway, Path], token: str | None, code: str
) -> None:
    gateway, _ = audited
    response = gateway.http.post(
        "/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 401
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    "method", ["eth_sendRawTransaction", "eth_sendTransaction", "evm_mine", "anvil_setBalance"]
)
def test_writes_are_refused(audited: tuple[Gateway, Path], method: str) -> None:
    gateway, _ = audited
    before = gateway.context.w3.eth.block_number
    response = gateway.http.post(
        "/rpc",
        json={"jsonrpc": "2.0", "id": 9, "method": method, "params": ["0x00"]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    assert response.json()["error"]["code"] == -32003
    assert gateway.context.w3.eth.block_number == before


def test_the_auditor_reads_the_gateway_chain_through_rpc(
    audited: tuple[Gateway, Path], tmp_path: Path
) -> None:
    gateway, deployment = audited
    with serve_live(gateway.app) as url:
        result = CliRunner().invoke(
            main,
            [
                *("audit", "--rpc", f"{url}/rpc"),
                *("--deployment", str(deployment), "--out", str(tmp_path)),
            ],
            env={"CONSENTLEDGER_RPC_TOKEN": TOKEN},
        )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["findings"] == []
    assert report["summary"]["reads_granted"] == 1
    assert report["summary"]["reads_denied"] == 1
    denied = {d["reason"]: d["count"] for d in report["denials_by_reason"] if d["count"]}
    assert denied == {"CATEGORY_NOT_CONSENTED": 1}
    assert (tmp_path / "report.html").exists()
