"""``POST /rpc``: the embedded chain, read-only, as standard Ethereum JSON-RPC.

A permissioned ledger is not open to whoever reaches the port: the endpoint needs the bearer token
``CONSENTLEDGER_AUDITOR_TOKEN`` (unset: the endpoint is off). The calls are answered by
:mod:`consentledger.gateway.services.chain_rpc`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from consentledger.gateway.deps import ChainRpcServiceDep, auditor
from consentledger.gateway.errors import RpcNotEmbeddedError
from consentledger.gateway.operations import operation
from consentledger.gateway.services.chain_rpc import parse_error

router = APIRouter(tags=["chain"])


@router.post(
    "/rpc",
    **operation("callChainRpc", (RpcNotEmbeddedError,)),
    summary="Read-only Ethereum JSON-RPC over the embedded chain (bearer token)",
    dependencies=[Depends(auditor)],
)
async def rpc(request: Request, node: ChainRpcServiceDep) -> JSONResponse:
    """JSON-RPC 2.0, single or batch: eth_chainId, eth_blockNumber, eth_getBlockByNumber,
    eth_getLogs, eth_getTransactionReceipt, eth_getTransactionByHash, eth_call, eth_getCode.
    Writes are refused."""
    try:
        payload = await request.json()
    except ValueError:
        return JSONResponse(parse_error())
    return JSONResponse(await node.answer(payload))
