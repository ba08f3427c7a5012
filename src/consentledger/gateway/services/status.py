"""The gateway's state for operators and clients, without HTTP: health and the EIP-712 types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from consentledger.chain import typed_data
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.metrics import GatewayMetrics, chain_state


class Health(BaseModel):
    #: "ok", or "degraded" while the relayer's balance is below MIN_RELAYER_BALANCE_WEI.
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
    #: The relayer key's balance: it pays for every batch.
    relayer_balance_wei: int
    #: The wall clock minus the latest block's timestamp, in seconds (negative: the chain runs
    #: ahead of the clock, having mined more than a block a second).
    chain_head_age_s: int


class Eip712Description(BaseModel):
    domain: dict[str, Any]
    types: dict[str, list[dict[str, str]]]
    primary_types: list[str]


class StatusService:
    """What a running gateway tells about itself."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def health(self) -> Health:
        """The chain and the relayer as the gateway sees them now."""
        context = self._context
        w3 = context.w3
        relayer_address = context.ledger.account.address

        def read_nonce() -> int:
            return int(w3.eth.get_transaction_count(relayer_address))

        state = await chain_state(context)
        nonce = await context.on_chain(context.ledger.rpc, read_nonce)
        live = context.live
        low = state.relayer_balance_wei < context.settings.min_relayer_balance_wei
        return Health(
            status="degraded" if low else "ok",
            chain_id=context.deployment.chain_id,
            latest_block=state.latest_block,
            embedded_chain=context.chain is not None,
            contract=context.deployment.address,
            deploy_block=context.deployment.deploy_block,
            relayer=relayer_address,
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
            relayer_balance_wei=state.relayer_balance_wei,
            chain_head_age_s=state.head_age_s,
        )

    async def metrics(self) -> bytes:
        """Every metric in Prometheus's text format, the costly ones read now."""
        metrics = self._context.metrics
        if metrics is None:  # a context used outside an app: nothing was counted
            metrics = self._context.metrics = GatewayMetrics()
        return await metrics.scrape(self._context)

    def eip712(self) -> Eip712Description:
        """The EIP-712 domain and types of every action an enterprise signs."""
        deployment = self._context.deployment
        domain = typed_data.Domain(deployment.chain_id, deployment.address)
        return Eip712Description(
            domain=domain.as_dict(),
            types={"EIP712Domain": typed_data.EIP712_DOMAIN_TYPE, **typed_data.TYPES},
            primary_types=list(typed_data.TYPES),
        )
