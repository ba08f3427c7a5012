"""``POST /rpc``: the embedded chain, read-only, as standard Ethereum JSON-RPC.

So the auditor (``consentledger audit --rpc http://gateway/rpc --rpc-token T``) and any Ethereum
tool can read the ledger the gateway holds in process. Only reading methods are answered; every
write is refused. A permissioned ledger is not open to whoever reaches the port: the endpoint
needs the bearer token ``CONSENTLEDGER_AUDITOR_TOKEN`` (unset: the endpoint is off).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from consentledger.chain.jsonrpc import EmbeddedJsonRpc, JsonRpcError
from consentledger.gateway.deps import ContextDep, Credentials, throttle
from consentledger.gateway.problems import ProblemError, problem_responses

router = APIRouter(tags=["chain"])

#: What /rpc answers: reads only.
READ_METHODS = frozenset(
    {
        "eth_chainId",
        "eth_blockNumber",
        "eth_getBlockByNumber",
        "eth_getLogs",
        "eth_getTransactionReceipt",
        "eth_getTransactionByHash",
        "eth_call",
        "eth_getCode",
    }
)
_INVALID_REQUEST = -32600
_METHOD_NOT_FOUND = -32601
_REFUSED = -32003  # "transaction rejected" in EIP-1474's table: a write on a read-only endpoint


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


@router.post(
    "/rpc",
    responses=problem_responses(400, 401, 404, 413, 422, 429, 503),
    summary="Read-only Ethereum JSON-RPC over the embedded chain (bearer token)",
)
async def rpc(request: Request, context: ContextDep, credentials: Credentials) -> JSONResponse:
    """JSON-RPC 2.0, single or batch: eth_chainId, eth_blockNumber, eth_getBlockByNumber,
    eth_getLogs, eth_getTransactionReceipt, eth_getTransactionByHash, eth_call, eth_getCode.
    Writes are refused."""
    token = context.settings.auditor_token
    if token is None:
        raise ProblemError(404, "rpc_disabled", "set CONSENTLEDGER_AUDITOR_TOKEN to open /rpc")
    if credentials is None:
        raise ProblemError(
            401,
            "missing_rpc_token",
            "send the auditor token as a Bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    limiter, client = throttle(request)
    limiter.check(client)
    given = hashlib.sha256(credentials.credentials.encode()).digest()
    expected = hashlib.sha256(token.get_secret_value().encode()).digest()
    if not hmac.compare_digest(given, expected):
        limiter.failed(client)
        raise ProblemError(
            401,
            "invalid_rpc_token",
            "the auditor token is not valid",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if context.chain is None:
        raise ProblemError(404, "rpc_not_embedded", "this gateway uses a node: ask the node")
    try:
        payload = await request.json()
    except ValueError:
        return JSONResponse(_error(None, -32700, "Parse error"))
    node = EmbeddedJsonRpc(context.chain)
    if isinstance(payload, list):
        if not payload:
            return JSONResponse(_error(None, _INVALID_REQUEST, "empty batch"))
        answers = [await _one(context, node, call) for call in payload[:1000]]
        return JSONResponse(answers)
    return JSONResponse(await _one(context, node, payload))


async def _one(context: ContextDep, node: EmbeddedJsonRpc, call: Any) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return _error(None, _INVALID_REQUEST, "Invalid request")
    request_id, method, params = call.get("id"), call["method"], call.get("params", [])
    if not isinstance(params, list):
        return _error(request_id, _INVALID_REQUEST, "params must be an array")
    if method not in READ_METHODS:
        if method.startswith(("eth_send", "eth_sign", "personal_", "evm_", "anvil_", "debug_")):
            return _error(request_id, _REFUSED, f"{method} is refused: this endpoint is read-only")
        return _error(request_id, _METHOD_NOT_FOUND, f"Method not found: {method}")
    try:
        result = await context.on_chain(node.request, method, params)
    except JsonRpcError as exc:
        return _error(request_id, exc.rpc_code, exc.rpc_message, exc.data)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return _error(request_id, -32602, f"Invalid params: {exc}")
    return {"jsonrpc": "2.0", "id": request_id, "result": result}
