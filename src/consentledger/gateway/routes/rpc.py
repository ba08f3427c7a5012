"""``POST /rpc``: the embedded chain, read-only, as standard Ethereum JSON-RPC.

So the auditor (``consentledger audit --rpc http://gateway/rpc``) and any Ethereum tool can read
the ledger the gateway holds in process. Only reading methods are answered; every write is refused.
A permissioned ledger is not open to whoever reaches the port: the endpoint needs the bearer token
``CONSENTLEDGER_AUDITOR_TOKEN`` (unset: the endpoint is off).

The embedded chain runs on the thread the relayer uses (eth-tester is not thread-safe), so nothing
here may hold that thread for long: ``eth_call`` runs only against the ledger's own code with at
most :data:`CALL_GAS_CAP` gas (no code of the caller's: no creation call, no other address), a
log query spans at most :data:`MAX_LOG_BLOCKS` blocks, a batch holds at most :data:`MAX_BATCH`
calls, and the calls of every /rpc request go to the chain thread one at a time, so a relayer's
batch waits for at most one bounded call. Every malformed call is a JSON-RPC error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from consentledger.chain.jsonrpc import EmbeddedJsonRpc, JsonRpcError
from consentledger.gateway.deps import ContextDep, Credentials, throttle
from consentledger.gateway.problems import ProblemError, problem_responses

router = APIRouter(tags=["chain"])
log = logging.getLogger(__name__)

#: Gas an ``eth_call`` may use (the ledger's views need a few hundred thousand at most).
CALL_GAS_CAP = 2_000_000
#: Calls in one batch.
MAX_BATCH = 100
#: Blocks one ``eth_getLogs`` may span (the auditor reads in smaller ranges).
MAX_LOG_BLOCKS = 10_000

#: What /rpc answers: reads only.
READ_METHODS = frozenset(
    {
        "eth_chainId",
        "eth_blockNumber",
        "eth_getBlockByNumber",
        "eth_getLogs",
        "eth_getTransactionReceipt",
        "eth_call",
        "eth_getCode",
    }
)
_INVALID_REQUEST = -32600
_METHOD_NOT_FOUND = -32601
_INVALID_PARAMS = -32602
_INTERNAL = -32603
_REFUSED = -32003  # "transaction rejected" in EIP-1474's table: a write on a read-only endpoint
_LIMIT_EXCEEDED = -32005  # EIP-1474's "limit exceeded"


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
    eth_getLogs, eth_getTransactionReceipt, eth_call, eth_getCode. Writes are refused."""
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
    given = hashlib.sha256(credentials.credentials.encode()).digest()
    expected = hashlib.sha256(token.get_secret_value().encode()).digest()
    if not hmac.compare_digest(given, expected):
        limiter, client = throttle(request)
        raise limiter.refuse(
            client,
            ProblemError(
                401,
                "invalid_rpc_token",
                "the auditor token is not valid",
                headers={"WWW-Authenticate": "Bearer"},
            ),
        )
    if context.chain is None:
        raise ProblemError(404, "rpc_not_embedded", "this gateway uses a node: ask the node")
    try:
        payload = await request.json()
    except ValueError:
        return JSONResponse(_error(None, -32700, "Parse error"))
    node = EmbeddedJsonRpc(context.chain)
    lane = _lane(request)
    if isinstance(payload, list):
        if not payload:
            return JSONResponse(_error(None, _INVALID_REQUEST, "empty batch"))
        if len(payload) > MAX_BATCH:
            return JSONResponse(
                _error(None, _LIMIT_EXCEEDED, f"a batch holds at most {MAX_BATCH} calls")
            )
        answers = [await _one(context, node, lane, call) for call in payload]
        return JSONResponse(answers)
    return JSONResponse(await _one(context, node, lane, payload))


def _lane(request: Request) -> asyncio.Semaphore:
    """The app's one lane to the chain thread for /rpc calls (made on first use, one per event
    loop: a semaphore belongs to the loop it waits in)."""
    lanes: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = getattr(
        request.app.state, "rpc_lanes", None
    )
    if lanes is None:
        lanes = request.app.state.rpc_lanes = WeakKeyDictionary()
    return lanes.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(1))


class _ParamsError(ValueError):
    """Params a read method cannot take."""


def _block(tag: Any, head: int) -> int:
    if tag in (None, "latest", "pending", "safe", "finalized"):
        return head
    if tag == "earliest":
        return 0
    if not isinstance(tag, str):
        raise _ParamsError(f"a block is a hex number or a tag, not {tag!r}")
    try:
        return int(tag, 16)
    except ValueError:
        raise _ParamsError(f"a block is a hex number or a tag, not {tag!r}") from None


def _checked(context: ContextDep, node: EmbeddedJsonRpc, method: str, params: list[Any]) -> Any:
    """Run ``method`` on the chain thread with its params held to this endpoint's limits."""
    if method == "eth_call":
        if not params or not isinstance(params[0], dict):
            raise _ParamsError("eth_call takes a call object")
        call = params[0]
        target = call.get("to")
        if not isinstance(target, str) or target.lower() != context.deployment.address.lower():
            raise _ParamsError("eth_call reads the ledger only: 'to' must be its address")
        data = call.get("data", call.get("input", "0x"))
        if not isinstance(data, str):
            raise _ParamsError("'data' must be hex")
        # The sender is ours (a node's calls need no funded sender; eth-tester's do).
        capped = {"to": target, "data": data, "gas": hex(CALL_GAS_CAP)}
        return node.request(method, [capped, params[1] if len(params) > 1 else "latest"])
    if method == "eth_getLogs":
        if len(params) != 1 or not isinstance(params[0], dict):
            raise _ParamsError("eth_getLogs takes one filter object")
        head = int(node.request("eth_blockNumber", []), 16)
        query = dict(params[0])
        first = _block(query.get("fromBlock"), head)
        last = min(_block(query.get("toBlock"), head), head)
        if last - first + 1 > MAX_LOG_BLOCKS:
            raise JsonRpcError(
                method, _LIMIT_EXCEEDED, f"a log query spans at most {MAX_LOG_BLOCKS} blocks"
            )
        if first > last:
            return []
        query.update(fromBlock=hex(first), toBlock=hex(last))
        return node.request(method, [query])
    return node.request(method, params)


async def _one(
    context: ContextDep, node: EmbeddedJsonRpc, lane: asyncio.Semaphore, call: Any
) -> dict[str, Any]:
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
        async with lane:
            result = await context.on_chain(_checked, context, node, method, params)
    except JsonRpcError as exc:
        return _error(request_id, exc.rpc_code, exc.rpc_message, exc.data)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        return _error(request_id, _INVALID_PARAMS, f"Invalid params: {exc}")
    except Exception:  # eth-tester's own errors: still an answer, never an HTTP 500
        log.exception("/rpc %s failed", method)
        return _error(request_id, _INTERNAL, f"{method} failed on these params")
    return {"jsonrpc": "2.0", "id": request_id, "result": result}
