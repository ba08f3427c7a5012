"""``/v1/health`` and ``/v1/eip712``: what a client needs before it talks to the gateway; and
``/metrics``, what an operator's Prometheus scrapes."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from consentledger.gateway.deps import StatusServiceDep
from consentledger.gateway.operations import CHAIN_READ, operation
from consentledger.gateway.services.status import Eip712Description, Health

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/health", response_model=Health, **operation("getHealth", CHAIN_READ))
async def health(status: StatusServiceDep) -> Health:
    """The chain and the relayer as the gateway sees them now."""
    return await status.health()


@router.get("/eip712", response_model=Eip712Description, **operation("getEip712Domain"))
async def eip712(status: StatusServiceDep) -> Eip712Description:
    """The EIP-712 domain and types of every action an enterprise signs."""
    return status.eip712()


#: Outside /v1 and the API's schema, where Prometheus looks by default.
metrics_router = APIRouter()


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(status: StatusServiceDep) -> Response:
    """Prometheus metrics (text exposition format); see ``gateway/metrics.py``."""
    return Response(await status.metrics(), media_type=CONTENT_TYPE_LATEST)
