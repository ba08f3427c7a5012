"""The embedded chain, read-only, as standard Ethereum JSON-RPC, without HTTP.

So the auditor (``consentledger audit --rpc http://gateway/rpc --rpc-token T``) and any Ethereum
tool can read the ledger the gateway holds in process. Only reading methods are answered; every
write is refused.
"""

from __future__ import annotations

from typing import Any

from consentledger.chain.jsonrpc import EmbeddedJsonRpc, JsonRpcError
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import RpcNotEmbeddedError

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


_PARSE_ERROR = -32700


def parse_error() -> dict[str, Any]:
    """The answer to a body that is not JSON."""
    return _error(None, _PARSE_ERROR, "Parse error")


class ChainRpcService:
    """Read-only JSON-RPC over a running gateway's embedded chain."""

    def __init__(self, context: GatewayContext) -> None:
        if context.chain is None:
            raise RpcNotEmbeddedError()
        self._context = context
        self._node = EmbeddedJsonRpc(context.chain)

    async def answer(self, payload: Any) -> dict[str, Any] | list[dict[str, Any]]:
        """The answer to one call or a batch (at most 1,000 calls are answered)."""
        if isinstance(payload, list):
            if not payload:
                return _error(None, _INVALID_REQUEST, "empty batch")
            return [await self._one(call) for call in payload[:1000]]
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
        try:
            result = await self._context.on_chain(self._node.request, method, params)
        except JsonRpcError as exc:
            return _error(request_id, exc.rpc_code, exc.rpc_message, exc.data)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return _error(request_id, -32602, f"Invalid params: {exc}")
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
