"""The ledger's state as the gateway follows it: the chain's follower, kept live.

A background task applies the deployment's events from its block on to the state model
(:class:`~consentledger.chain.follower.LedgerFollower`), then follows new blocks every
``poll_interval`` seconds, remembering the latest block's timestamp. The read path asks
:meth:`LiveLedger.judge` before it asks the chain's views.

The live model is only an optimisation, never an authority: the chain judges every recorded read.
A read the model grants is fetched and recorded at once (if the model was a moment behind and the
chain denies, nothing is released); a read the model denies, a consent it does not know yet, or a
follower that is behind (no step reached the head within ``max_lag`` seconds: node down, chain
thread busy) goes to the chain's views as before. A reorganisation, or a chain that went back,
starts the model again from the deployment block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from consentledger.chain.clock import next_block_time
from consentledger.chain.deploy import Deployment
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.follower import LedgerFollower
from consentledger.chain.jsonrpc import EmbeddedJsonRpc, JsonRpc, http_json_rpc
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.chain_events import ChainEvents
from consentledger.gateway.settings import Settings
from consentledger.ledger.types import AccessEntry, ConsentState, DenialReason

log = logging.getLogger(__name__)

#: Blocks per follower step on the embedded chain, whose one thread also mines the relayer's
#: batches: a catch-up over a long kept chain goes in slices, with batches in between.
EMBEDDED_BLOCKS_PER_STEP = 256

#: Runs one blocking follower step where chain calls belong (the chain thread, or any thread).
StepRunner = Callable[[Callable[[], None]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LiveJudgement:
    """What the live model says of a read of a consent it knows."""

    #: The consent's subject and history window (both fixed when the consent is granted).
    subject: bytes
    history_months: int
    #: The model's decision at the next block's earliest time (NONE: it would be granted).
    reason: DenialReason


@dataclass(slots=True)
class PrecheckCounts:
    """How the gateway's pre-checks were made, since the start."""

    #: Reads the live model granted (no chain call before the record).
    live: int = 0
    #: Reads pre-checked on the chain's views (model denial, unknown consent, follower behind).
    views: int = 0


class LiveLedger:
    """The deployment's state model, kept up to date from its events."""

    def __init__(
        self,
        rpc: JsonRpc,
        deployment: Deployment,
        *,
        poll_interval: float,
        max_lag: float,
        max_blocks: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        events: ChainEvents | None = None,
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self.rpc = rpc
        self.deployment = deployment
        self.poll_interval = poll_interval
        self.max_lag = max_lag
        self.counts = PrecheckCounts()
        self._clock = clock
        self._lock = threading.Lock()  # the model, between the follower and the reads
        #: ``max_blocks``: blocks applied per step at most (None: up to the head in one step).
        #: Gathers the domain events of the applied logs for the webhooks (None: none sent).
        self.events = events
        #: Called after new events were written to the outbox.
        self.on_published = on_published
        self._follower = LedgerFollower(
            rpc,
            deployment,
            max_blocks=max_blocks,
            lock=self._lock,
            on_applied=events.on_applied if events is not None else None,
        )
        self._reached_head_at: float | None = None
        self._failing = False
        self._behind = False
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ follow

    @property
    def followed_through(self) -> int:
        """The last block applied to the model (the deployment block - 1 before the first)."""
        return self._follower.followed_through

    @property
    def fresh(self) -> bool:
        """Whether the follower reached the chain's head within ``max_lag`` seconds."""
        reached = self._reached_head_at
        return reached is not None and self._clock() - reached <= self.max_lag

    def step(self) -> bool:
        """Apply the next blocks, up to the chain's head or ``max_blocks`` of them (blocking; on
        the chain thread for the embedded chain, which a long catch-up must not hold for long).
        Returns whether the model reached the head. Raises what the node raises; the model keeps
        what was applied; a reorganisation starts it again from the deployment block."""
        reached = self._follower.step()
        with self._lock:
            head = self._follower.head
            if head is None:
                self._reached_head_at = None
            elif reached:
                self._reached_head_at = self._clock()
            if head is not None and self.events is not None:
                self.events.passed(self._follower.state.model, head.timestamp)
        return reached

    def start(self, run: StepRunner) -> None:
        """Follow the chain in the background: catch up from the deployment block, then poll."""
        self._task = asyncio.create_task(self._follow(run), name="live-ledger")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.rpc.close()

    async def _follow(self, run: StepRunner) -> None:
        while True:
            try:
                await run(self._step_and_note)
                await self._publish()
            except Exception as exc:  # a node down or a bug: reads use the views meanwhile
                if not self._failing:
                    expected = isinstance(exc, ConsentLedgerError | OSError)
                    log.warning(
                        "the live ledger cannot follow the chain (reads use views): %s",
                        exc,
                        exc_info=not expected,
                    )
                self._failing = True
            else:
                if self._failing:
                    log.warning("the live ledger follows the chain again")
                self._failing = False
            # Behind (a catch-up in slices): the next slice at once, after whatever waits.
            await asyncio.sleep(0 if self._behind else self.poll_interval)

    async def _publish(self) -> None:
        """Write the gathered domain events to the outbox (kept gathered if that fails)."""
        if self.events is None or not self.events.gathered:
            return
        if await asyncio.to_thread(self.events.write) and self.on_published is not None:
            self.on_published()

    def _step_and_note(self) -> None:
        self._behind = not self.step()

    # ------------------------------------------------------------------- reads

    def judge(
        self, consent_id: bytes, bank: str, categories: int, purpose: int
    ) -> LiveJudgement | None:
        """The model's judgement of a read at the next block's earliest time; None when the
        model does not know the consent or the follower is not fresh."""
        with self._lock:
            if not self.fresh:
                return None
            head = self._follower.head
            model = self._follower.state.model
            consent = model.consents.get(consent_id)
            if consent is None or head is None:
                return None
            entry = AccessEntry(0, consent_id, bank, categories, purpose, b"")
            reason = model.judge(entry, next_block_time(head.timestamp))
            return LiveJudgement(consent.subject, consent.history_months, reason)

    def judge_request(self, entry: AccessEntry) -> DenialReason | None:
        """The model's judgement of a read's signed request (deadline, read signer) at the latest
        block's timestamp + 1; None when the follower is not fresh."""
        with self._lock:
            head = self._follower.head
            if not self.fresh or head is None:
                return None
            return self._follower.state.model.judge_request(entry, head.timestamp + 1)

    def consent(self, consent_id: bytes) -> ConsentState | None:
        """A copy of the consent as the model holds it (its terms never change; its status and
        reads may be a moment behind the chain); None if the model does not know it."""
        with self._lock:
            consent = self._follower.state.model.consents.get(consent_id)
            return None if consent is None else replace(consent)

    def counted(self, *, live: bool) -> None:
        """Count one pre-check, made on the live model or on the chain's views."""
        with self._lock:
            if live:
                self.counts.live += 1
            else:
                self.counts.views += 1


def open_live_ledger(
    settings: Settings,
    chain: EmbeddedChain | None,
    deployment: Deployment,
    events: ChainEvents | None = None,
) -> LiveLedger | None:
    """The gateway's live ledger on its chain (None when the settings turn off both the read
    pre-check and the webhooks)."""
    if not settings.live_precheck and not settings.webhooks:
        return None
    rpc: JsonRpc
    max_blocks = None
    if chain is not None:
        rpc = EmbeddedJsonRpc(chain)
        max_blocks = EMBEDDED_BLOCKS_PER_STEP
    else:
        token = settings.rpc_token.get_secret_value() if settings.rpc_token is not None else None
        rpc = http_json_rpc(settings.chain, token, timeout=10.0)
    return LiveLedger(
        rpc,
        deployment,
        poll_interval=settings.live_poll_interval_s,
        max_lag=settings.live_max_lag_s,
        max_blocks=max_blocks,
        events=events,
    )
