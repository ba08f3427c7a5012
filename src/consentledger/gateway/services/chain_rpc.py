"""The embedded chain, read-only, as standard Ethereum JSON-RPC, without HTTP.

So the auditor (``consentledger audit --rpc http://gateway/rpc``) and any Ethereum tool can read
the ledger the gateway holds in process. Only reading methods are answered; every write is refused.

The embedded chain runs on the thread the relayer uses (eth-tester is not thread-safe), so nothing
here may hold that thread for long: ``eth_call`` runs only against the ledger's own code with at
most :data:`CALL_GAS_CAP` gas (no code of the caller's: no creation call, no other address), a
log query spans at most :data:`MAX_LOG_BLOCKS` blocks, a batch holds at most :data:`MAX_BATCH`
calls, and /rpc calls go to the chain thread one at a time, so a relayer's batch waits for at
most one bounded call. Every malformed call is a JSON-RPC error, never an HTTP 500.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from weakref import WeakKeyDictionary

from consentledger.chain.jsonrpc import EmbeddedJsonRpc, JsonRpcError
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import RpcNotEmbeddedError

log = logging.getLogger(__name__)

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
#: Gas an ``eth_call`` may use (the ledger's views need a few hundred thousand at most).
CALL_GAS_CAP = 2_000_000
#: Calls in one batch.
MAX_BATCH = 100
#: Blocks one ``eth_getLogs`` may span (the auditor asks for 1,000 at a time).
MAX_LOG_BLOCKS = 10_000

_PARSE_ERROR = -32700
_INVALID_REQUEST = -32600
_METHOD_NOT_FOUND = -32601
_INVALID_PARAMS = -32602
_INTERNAL = -32603
_REFUSED = -32003  # "transaction rejected" in EIP-1474's table: a write on a read-only endpoint
_LIMIT_EXCEEDED = -32005  # EIP-1474's "limit exceeded"

#: One lane to the chain thread per event loop (a semaphore belongs to the loop it waits in).
_LANES: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def parse_error() -> dict[str, Any]:
    """The answer to a body that is not JSON."""
    return _error(None, _PARSE_ERROR, "Parse error")


class RpcParamsError(ConsentLedgerError, ValueError):
    """Params a read method cannot take (answered as JSON-RPC "invalid params", never raised
    out of the service)."""

    code = "bad_rpc_params"


def _block(tag: Any, head: int) -> int:
    if tag in (None, "latest", "pending", "safe", "finalized"):
        return head
    if tag == "earliest":
        return 0
    try:
        return int(tag, 16)
    except (TypeError, ValueError):
        raise RpcParamsError(f"a block is a hex number or a tag, not {tag!r}") from None


class ChainRpcService:
    """Read-only JSON-RPC over a running gateway's embedded chain."""

    def __init__(self, context: GatewayContext) -> None:
        if context.chain is None:
            raise RpcNotEmbeddedError()
        self._context = context
        self._node = EmbeddedJsonRpc(context.chain)
        self._ledger = context.deployment.address.lower()

    async def answer(self, payload: Any) -> dict[str, Any] | list[dict[str, Any]]:
        """The answer to one call or a batch of at most :data:`MAX_BATCH` calls."""
        if isinstance(payload, list):
            if not payload:
                return _error(None, _INVALID_REQUEST, "empty batch")
            if len(payload) > MAX_BATCH:
                return _error(None, _LIMIT_EXCEEDED, f"a batch holds at most {MAX_BATCH} calls")
            return [await self._one(call) for call in payload]
        return await self._one(payload)

    async def _one(self, call: Any) -> dict[str, Any]:
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return _error(None, _INVALID_REQUEST, "Invalid request")
        request_id, method, params = call.get("id"), call["method"], call.get("params", [])
        if not isinstance(params, list):
            return _error(request_id, _INVALID_REQUEST, "params must be an array")
        if method not in READ_METHODS:
            if method.startswith(("eth_send", "eth_sign", "personal_", "evm_", "anvil_", "debug_")):
                return _error(
                    request_id, _REFUSED, f"{method} is refused: this endpoint is read-only"
                )
            return _error(request_id, _METHOD_NOT_FOUND, f"Method not found: {method}")
        lane = _LANES.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(1))
        try:
            async with lane:
                result = await self._context.on_chain(self._bounded, method, params)
        except JsonRpcError as exc:
            return _error(request_id, exc.rpc_code, exc.rpc_message, exc.data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            return _error(request_id, _INVALID_PARAMS, f"Invalid params: {exc}")
        except Exception:  # eth-tester's own errors: still an answer, never an HTTP 500
            log.exception("/rpc %s failed", method)
            return _error(request_id, _INTERNAL, f"{method} failed on these params")
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _bounded(self, method: str, params: list[Any]) -> Any:
        """``method`` on the chain thread, its params held to this endpoint's limits."""
        if method == "eth_call":
            return self._call(params)
        if method == "eth_getLogs":
            return self._logs(params)
        return self._node.request(method, params)

    def _call(self, params: list[Any]) -> Any:
        if not params or not isinstance(params[0], dict):
            raise RpcParamsError("eth_call takes a call object")
        call = params[0]
        target = call.get("to")
        if not isinstance(target, str) or target.lower() != self._ledger:
            raise RpcParamsError("eth_call reads the ledger only: 'to' must be its address")
        data = call.get("data", call.get("input", "0x"))
        if not isinstance(data, str):
            raise RpcParamsError("'data' must be hex")
        # The sender is ours (a node's calls need no funded sender; eth-tester's do).
        capped = {"to": target, "data": data, "gas": hex(CALL_GAS_CAP)}
        return self._node.request("eth_call", [capped, params[1] if len(params) > 1 else "latest"])

    def _logs(self, params: list[Any]) -> Any:
        if len(params) != 1 or not isinstance(params[0], dict):
            raise RpcParamsError("eth_getLogs takes one filter object")
        head = int(self._node.request("eth_blockNumber", []), 16)
        query = dict(params[0])
        first = _block(query.get("fromBlock"), head)
        last = min(_block(query.get("toBlock"), head), head)
        if last - first + 1 > MAX_LOG_BLOCKS:
            raise JsonRpcError(
                "eth_getLogs",
                _LIMIT_EXCEEDED,
                f"a log query spans at most {MAX_LOG_BLOCKS} blocks",
            )
        if first > last:
            return []
        query.update(fromBlock=hex(first), toBlock=hex(last))
        return self._node.request("eth_getLogs", [query])
