"""One audit: verify the node, replay the ledger through a block, check storage; then follow.

The replay always starts at the deployment block, because every decision depends on the state
that came before it. ``from_block`` and ``to_block`` choose the audited window: the blocks whose
findings and figures the report shows. With follow, the audit goes on block by block as the chain
grows, and the caller rewrites the reports after each step. With a gateway journal, each result
also cross-checks the journal, read afresh, against the reads replayed so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from consentledger.audit.findings import Finding
from consentledger.audit.replay import Replayer
from consentledger.audit.storage import check_consent_storage
from consentledger.chain.deploy import Deployment
from consentledger.chain.jsonrpc import JsonRpc
from consentledger.chain.log_reader import DEFAULT_BLOCK_RANGE, LedgerEvent, LedgerReader
from consentledger.errors import ConsentLedgerError
from consentledger.gcpause import gc_paused

if TYPE_CHECKING:
    from consentledger.audit.journal_check import JournalCheck, JournalResult

#: Called with (last block read, first block, last block) while a range is replayed.
ProgressHook = Callable[[int, int, int], None]


class AuditRangeError(ConsentLedgerError, ValueError):
    """The blocks asked for cannot be audited (before the deployment, beyond the head, reversed)."""

    code = "bad_block_range"


@dataclass(frozen=True, slots=True)
class AuditResult:
    """What an audit found, through which block, and how fast."""

    deployment: Deployment
    window_first: int
    window_last: int
    window_last_timestamp: int
    replay: Replayer
    storage_findings: tuple[Finding, ...]
    ignored_logs: int
    events_replayed: int
    replay_seconds: float
    requests: dict[str, int]
    journal: JournalResult | None = None  # the gateway journal's cross-check, when asked for

    @property
    def findings(self) -> list[Finding]:
        """Every finding, in chain order."""
        journal = self.journal.findings if self.journal is not None else ()
        disputes = self.replay.dispute_findings(self.window_last_timestamp)
        return sorted(
            [*self.replay.findings, *self.storage_findings, *journal, *disputes],
            key=Finding.sort_key,
        )

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def events_per_second(self) -> float:
        return self.events_replayed / self.replay_seconds if self.replay_seconds else 0.0


class Audit:
    """An audit of one deployment through one JSON-RPC connection."""

    def __init__(
        self,
        rpc: JsonRpc,
        deployment: Deployment,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        block_range: int = DEFAULT_BLOCK_RANGE,
        subject: bytes | None = None,
        check_storage: bool = True,
        progress: ProgressHook | None = None,
        journal: JournalCheck | None = None,
    ) -> None:
        self.deployment = deployment
        self.reader = LedgerReader(rpc, deployment, block_range=block_range)
        self.window_first = max(deployment.deploy_block, from_block or 0)
        self.to_block = to_block
        self.check_storage = check_storage
        self.progress = progress
        self.journal = journal
        self.replay = Replayer(deployment, report_from=self.window_first, subject=subject)
        self._next_block = deployment.deploy_block
        self._storage: dict[tuple[str, str], Finding] = {}
        self._events = 0
        self._seconds = 0.0
        self._verified = False
        if to_block is not None and to_block < self.window_first:
            raise AuditRangeError(
                f"--to-block {to_block} is before the first audited block {self.window_first} "
                f"(the deployment is at block {deployment.deploy_block})"
            )

    @property
    def audited_through(self) -> int:
        """The last block replayed (the deployment block - 1 before the first step)."""
        return self._next_block - 1

    def run(self, confirmations: int = 0) -> AuditResult:
        """Verify the node, then audit through ``to_block`` (default: the head less
        ``confirmations``)."""
        last = self.target(confirmations)
        if last < self.window_first:
            raise AuditRangeError(
                f"the first audited block {self.window_first} is beyond the last block to audit "
                f"{last} (the chain's head less {confirmations} confirmations)"
            )
        self.advance(last)
        return self.result()

    def target(self, confirmations: int = 0) -> int:
        """The block to audit through now."""
        head = self.reader.head()
        if self.to_block is not None:
            if self.to_block > head:
                raise AuditRangeError(
                    f"--to-block {self.to_block} is beyond the chain's latest block {head}"
                )
            return self.to_block
        return head - confirmations

    def advance(self, last: int) -> bool:
        """Replay through block ``last``; returns whether any block was new."""
        if not self._verified:
            self.reader.verify()
            self._verified = True
        if last < self._next_block:
            return False
        first = self._next_block
        touched: set[bytes] = set()
        started = time.perf_counter()
        hook = None
        if self.progress is not None:
            progress = self.progress

            def hook(done: int) -> None:
                progress(done, first, last)

        apply = self.replay.apply
        journal = self.journal
        with gc_paused():  # millions of short-lived objects, no cycles (see gcpause)
            for item in self.reader.read(first, last, hook):
                apply(item)
                if journal is not None:
                    journal.observe(item)
                if isinstance(item, LedgerEvent):
                    self._events += 1
                    consent_id = item.log.args.get("consentId")
                    if isinstance(consent_id, bytes):
                        touched.add(consent_id)
        self._seconds += time.perf_counter() - started
        self._next_block = last + 1
        if self.check_storage:
            self._check_storage(touched if first > self.deployment.deploy_block else None, last)
        return True

    def _check_storage(self, touched: set[bytes] | None, block: int) -> None:
        model = self.replay.model
        ids = set(model.consents) if touched is None else touched & set(model.consents)
        if not ids:
            return
        checked = {"0x" + c.hex() for c in ids}
        self._storage = {k: f for k, f in self._storage.items() if k[0] not in checked}
        for finding in check_consent_storage(self.reader, model, ids, block):
            self._storage[(finding.consent_id or "", finding.expected)] = finding

    def result(self) -> AuditResult:
        """The findings and figures so far (the journal, if any, read now)."""
        last_timestamp = self.reader.block(self.audited_through).timestamp
        journal = None
        if self.journal is not None:
            journal = self.journal.check(self.window_first, self.audited_through, last_timestamp)
        return AuditResult(
            deployment=self.deployment,
            window_first=self.window_first,
            window_last=self.audited_through,
            window_last_timestamp=last_timestamp,
            replay=self.replay,
            storage_findings=tuple(self._storage.values()),
            ignored_logs=self.reader.ignored_logs,
            events_replayed=self._events,
            replay_seconds=self._seconds,
            requests=dict(self.reader.requests),
            journal=journal,
        )


def follow(
    audit: Audit,
    *,
    poll_interval: float,
    duration: float | None,
    confirmations: int,
    on_update: Callable[[AuditResult], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Keep auditing new blocks every ``poll_interval`` seconds, for ``duration`` seconds (None:
    until interrupted), calling ``on_update`` after each step that audited new blocks. Ctrl-C
    ends it quietly."""
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while True:
            wait = poll_interval
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return
            sleep(wait)
            if audit.advance(audit.target(confirmations)):
                on_update(audit.result())
    except KeyboardInterrupt:
        return
