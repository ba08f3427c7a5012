"""``/v1/health`` and ``/v1/eip712``: what a client needs before it talks to the gateway."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from consentledger.chain import typed_data
from consentledger.gateway.deps import ContextDep
from consentledger.gateway.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["meta"])


class Health(BaseModel):
    status: str
    chain_id: int
    latest_block: int
    embedded_chain: bool
    contract: str
    deploy_block: int
    relayer: str
    relayer_nonce: int
    batches_in_flight: int
    batches_sent: int
    #: Times a batch was found not mined within BATCH_STUCK_AFTER_S, since the start.
    batches_stuck: int
    #: Replacements (same nonce, higher fees) sent for stuck batches, since the start.
    batch_replacements_sent: int
    open_journal_entries: int
    #: The last block the live model of the ledger applied (null: the live pre-check is off),
    #: and whether it reached the chain's head recently enough to pre-check reads.
    live_ledger_block: int | None
    live_ledger_fresh: bool
    #: Reads pre-checked on the live model alone, and on the chain's views, since the start.
    reads_prechecked_live: int
    reads_prechecked_on_views: int


@router.get("/health", response_model=Health, responses=problem_responses(503))
async def health(context: ContextDep) -> Health:
    """The chain and the relayer as the gateway sees them now."""
    w3 = context.w3

    def read_chain() -> tuple[int, int]:
        return int(w3.eth.block_number), int(
            w3.eth.get_transaction_count(context.ledger.account.address)
        )

    latest, nonce = await context.on_chain(context.ledger.rpc, read_chain)
    live = context.live
    return Health(
        status="ok",
        chain_id=context.deployment.chain_id,
        latest_block=latest,
        embedded_chain=context.chain is not None,
        contract=context.deployment.address,
        deploy_block=context.deployment.deploy_block,
        relayer=context.ledger.account.address,
        relayer_nonce=nonce,
        batches_in_flight=context.relayer.batches_in_flight,
        batches_sent=context.relayer.batches_sent,
        batches_stuck=context.relayer.batches_stuck,
        batch_replacements_sent=context.relayer.replacements_sent,
        open_journal_entries=await context.in_thread(context.journal.open_count),
        live_ledger_block=live.followed_through if live is not None else None,
        live_ledger_fresh=live is not None and live.fresh,
        reads_prechecked_live=live.counts.live if live is not None else 0,
        reads_prechecked_on_views=live.counts.views if live is not None else 0,
    )


class Eip712Description(BaseModel):
    domain: dict[str, Any]
    types: dict[str, list[dict[str, str]]]
    primary_types: list[str]


@router.get("/eip712", response_model=Eip712Description)
async def eip712(context: ContextDep) -> Eip712Description:
    """The EIP-712 domain and types of every action an enterprise signs."""
    domain = typed_data.Domain(context.deployment.chain_id, context.deployment.address)
    return Eip712Description(
        domain=domain.as_dict(),
        types={"EIP712Domain": typed_data.EIP712_DOMAIN_TYPE, **typed_data.TYPES},
        primary_types=list(typed_data.TYPES),
    )
