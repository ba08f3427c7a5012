"""``/rpc`` holds the chain thread the relayer shares for no longer than one bounded call, and
answers every malformed call with a JSON-RPC error, never an HTTP 500."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from consentledger.categories import Category
from consentledger.gateway.services.chain_rpc import MAX_BATCH
from tests.harness.gateway import Bank, Enterprise, Gateway, running_gateway, serve_live

TOKEN = "auditor-token-for-the-limits"
#: Init code that loops until its gas runs out: JUMPDEST PUSH1 0 JUMP.
LOOP = "0x5b600056"


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, bureau_url: str
) -> Iterator[tuple[Gateway, Bank, Enterprise, bytes]]:
    tmp: Path = tmp_path_factory.mktemp("rpc-limits")
    with running_gateway(
        tmp, bureau_url, auditor_token=SecretStr(TOKEN), read_timeout_s=5.0
    ) as gateway:
        bank = gateway.add_bank("Limited Bank")
        chip = gateway.register("91440305MA5DKW7Q1B")
        consent = gateway.grant_on_chain(chip, bank, Category.BUSINESS_REGISTRATION.bit)
        yield gateway, bank, chip, consent


def _call(method: str, params: Any, request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _post(gateway: Gateway, payload: object) -> httpx.Response:
    response: httpx.Response = gateway.http.post(
        "/rpc", json=payload, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    return response


MALFORMED = {
    "call-from-unfunded": lambda ledger: _call(
        "eth_call", [{"from": "0x" + "77" * 20, "to": ledger, "data": "0x"}, "latest"]
    ),
    "call-no-object": lambda _ledger: _call("eth_call", ["0x1234"]),
    "call-no-params": lambda _ledger: _call("eth_call", []),
    "transaction-count": lambda ledger: _call("eth_getTransactionCount", [ledger, "latest"]),
    "logs-past-head": lambda ledger: _call(
        "eth_getLogs", [{"address": ledger, "fromBlock": "0xfffff0", "toBlock": "0xffffff"}]
    ),
    "logs-not-object": lambda _ledger: _call("eth_getLogs", ["latest"]),
    "logs-bad-tag": lambda _ledger: _call("eth_getLogs", [{"fromBlock": "soon"}]),
    "block-bad-tag": lambda _ledger: _call("eth_getBlockByNumber", ["soon", False]),
    "code-no-params": lambda _ledger: _call("eth_getCode", []),
    "receipt-not-hash": lambda _ledger: _call("eth_getTransactionReceipt", [{"x": 1}]),
}


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_call_is_a_json_rpc_answer(
    limited: tuple[Gateway, Bank, Enterprise, bytes], make: Any
) -> None:
    gateway = limited[0]
    response = _post(gateway, make(gateway.context.deployment.address))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] == 1
    assert "error" in answer or answer["result"] in ([], None, "0x"), answer


def test_eth_call_runs_no_code_of_the_callers(
    limited: tuple[Gateway, Bank, Enterprise, bytes],
) -> None:
    gateway = limited[0]
    creation = _post(gateway, _call("eth_call", [{"data": LOOP}, "latest"])).json()
    elsewhere = _post(gateway, _call("eth_call", [{"to": "0x" + "00" * 19 + "04"}])).json()
    assert creation["error"]["code"] == -32602
    assert elsewhere["error"]["code"] == -32602
    assert "ledger only" in creation["error"]["message"]


def test_a_batch_is_bounded(limited: tuple[Gateway, Bank, Enterprise, bytes]) -> None:
    gateway = limited[0]
    batch = [_call("eth_chainId", [], i) for i in range(MAX_BATCH + 1)]
    answer = _post(gateway, batch).json()
    assert answer["error"]["code"] == -32005
    assert len(_post(gateway, batch[:MAX_BATCH]).json()) == MAX_BATCH


@pytest.mark.slow
def test_looping_calls_do_not_stall_a_read(
    limited: tuple[Gateway, Bank, Enterprise, bytes],
) -> None:
    gateway, bank, chip, consent = limited
    loops = [_call("eth_call", [{"data": LOOP, "gas": hex(10**9)}, "latest"], i) for i in range(8)]

    async def attack_and_read(url: str) -> tuple[list[int], int]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            attacks = [
                asyncio.create_task(http.post("/rpc", json=loops, headers=headers))
                for _ in range(4)
            ]
            await asyncio.sleep(0.2)  # the loops are queued on the chain thread
            read = await asyncio.to_thread(gateway.post_read, bank, chip, consent, [1])
            answered = [r.status_code for r in await asyncio.gather(*attacks)]
            return answered, read.status_code

    with serve_live(gateway.app) as url:
        answered, read = asyncio.run(attack_and_read(url))
    assert answered == [200] * 4
    assert read == 200
