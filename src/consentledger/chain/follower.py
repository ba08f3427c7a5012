"""Following the ledger: its events, in chain order, applied to the state model.

:class:`LedgerState` moves a :class:`~consentledger.ledger.model.LedgerModel` by one decoded event
at a time through the model's ``replay_*`` methods and hands back what the rules say of it (the
error the contract should have raised instead, or for a read the model's decision); it reports
nothing itself. The auditor's replay adds its findings on top; the gateway's live model only keeps
the state.

:class:`LedgerFollower` reads a deployment's logs from its block on up to the node's head
(:class:`~consentledger.chain.log_reader.LedgerReader`), applies them, remembers the latest
block's timestamp, and starts again from the deployment block when the chain reorganises or goes
back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from consentledger.chain import typed_data
from consentledger.chain.deploy import Deployment
from consentledger.chain.jsonrpc import JsonRpc
from consentledger.chain.log_reader import (
    ChainReorganisedError,
    LedgerEvent,
    LedgerItem,
    LedgerReader,
    SignedRequestInput,
    UndecodedLog,
    signed_entry,
)
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import (
    ROLE_REGULATOR,
    AccessEntry,
    ConsentState,
    ConsentStatus,
    DenialReason,
    DisputeKind,
    DisputeState,
    RecordedAccess,
)

log = logging.getLogger(__name__)

#: The consent events that move a consent into another stored state.
TRANSITION_EVENTS = {
    "ConsentPaused": ConsentStatus.PAUSED,
    "ConsentResumed": ConsentStatus.ACTIVE,
    "ConsentRevoked": ConsentStatus.REVOKED,
}


class Start(Enum):
    """How the first events of a deployment set up the model (the constructor's grant)."""

    #: The constructor's grant of the regulator role to the deployment record's regulator.
    CONSTRUCTOR = "constructor"
    #: The deployment transaction's first grant is of another role or account.
    OTHER_GRANT = "other grant"
    #: An event outside the deployment transaction came before any grant in it.
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Applied:
    """What the rules say of one applied event."""

    #: The error the contract should have raised instead (None: the rules allow the event); for
    #: a read, the query id's.
    error: LedgerRevertError | None = None
    #: ``ConsentGranted``: the consent as the event states it.
    consent: ConsentState | None = None
    #: A read (``DataAccessed``, ``AccessDenied``): the event unpacked.
    read: RecordedAccess | None = None
    #: A read: its entry with the bank's signed request from the transaction's input and the
    #: signer that request's signature recovers to (the zero address when the input has none).
    entry: AccessEntry | None = None
    #: A read: the model's decision; None when the event carries a reason code the ledger never
    #: uses (such a read is not applied).
    expected: DenialReason | None = None


def granted_consent(args: dict[str, Any]) -> ConsentState:
    """The consent a ``ConsentGranted`` event states."""
    return ConsentState(
        consent_id=args["consentId"],
        subject=args["subject"],
        bank=args["bank"],
        categories=args["categories"],
        purpose=args["purpose"],
        not_before=args["notBefore"],
        expires_at=args["expiresAt"],
        max_reads=args["maxReads"],
        history_months=args["historyMonths"],
        receipt_hash=args["receiptHash"],
    )


def filed_dispute(args: dict[str, Any], now: int) -> DisputeState:
    """The dispute a ``DisputeFiled`` event at block time ``now`` states (a kind the ledger never
    uses is kept as its number)."""
    kind = args["kind"]
    return DisputeState(
        dispute_id=args["disputeId"],
        subject=args["subject"],
        kind=DisputeKind(kind) if kind in tuple(DisputeKind) else kind,
        target=args["target"],
        categories=args["categories"],
        reason_hash=args["reasonHash"],
        filed_at=now,
    )


class LedgerState:
    """One deployment's state model, moved by its events in chain order."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.model = LedgerModel()  # the state before the constructor ran
        self.constructed = False
        self._deploy_tx = deployment.deploy_tx.lower()
        self._domain = typed_data.Domain(deployment.chain_id, deployment.address)

    def follow(self, item: LedgerItem) -> Applied | None:
        """Apply one log, whatever the rules say of it, and say what they say (None: a log that
        is not decoded, which changes nothing, or the constructor's grant)."""
        if isinstance(item, UndecodedLog):
            return None
        if self.begin(item) in (Start.CONSTRUCTOR, Start.OTHER_GRANT):
            return None
        return self.apply(item)

    def begin(self, event: LedgerEvent) -> Start | None:
        """Before the constructor's grant: set the model up as the constructor left it, and say
        how (None once constructed, and for an event of the deployment transaction before its
        first grant). After ``CONSTRUCTOR`` or ``OTHER_GRANT`` the event is fully applied; after
        ``MISSING``, and None, :meth:`apply` it."""
        if self.constructed:
            return None
        log = event.log
        in_deployment = "0x" + log.transaction_hash.hex() == self._deploy_tx
        if in_deployment and log.event != "RoleGranted":
            return None
        self.constructed = True
        self.model = LedgerModel.deployed(self.deployment.regulator)
        if not in_deployment:
            return Start.MISSING
        args = log.args
        if args["role"] == ROLE_REGULATOR and args["account"] == self.deployment.regulator:
            return Start.CONSTRUCTOR
        return Start.OTHER_GRANT

    def apply(self, event: LedgerEvent) -> Applied:
        """Apply one event through the model's replay methods."""
        log, model, now = event.log, self.model, event.timestamp
        name, a = log.event, log.args
        error: LedgerRevertError | None
        if name in ("DataAccessed", "AccessDenied"):
            return self._read(RecordedAccess.of(name, a), event.request, now)
        if name == "RoleGranted":
            error = model.replay_role_granted(a["role"], a["account"], a["sender"])
        elif name == "RoleRevoked":
            error = model.replay_role_revoked(a["role"], a["account"], a["sender"])
        elif name in ("BankSuspended", "BankReinstated"):
            suspended = name == "BankSuspended"
            error = model.replay_bank_standing(a["bank"], a["regulator"], suspended=suspended)
        elif name == "BankReadSignerChanged":
            error = model.replay_read_signer_changed(a["bank"], a["signer"])
        elif name == "EnterpriseRegistered":
            error = model.replay_enterprise_registered(
                a["subject"], a["controllers"], a["threshold"]
            )
        elif name == "ControllersChanged":
            error = model.replay_controllers_changed(a["subject"], a["controllers"], a["threshold"])
        elif name == "CategoryRegistered":
            error = model.replay_category_registered(a["code"], a["name"])
        elif name == "PurposeDefined":
            error = model.replay_purpose_defined(
                a["code"], a["name"], a["allowedCategories"], a["maxDuration"], a["maxReads"],
                a["maxHistoryMonths"],
            )  # fmt: skip
        elif name == "PurposeRetired":
            error = model.replay_purpose_retired(a["code"])
        elif name == "ConsentGranted":
            granted = granted_consent(a)
            return Applied(model.replay_consent_granted(granted, now), consent=granted)
        elif name in TRANSITION_EVENTS:
            target = TRANSITION_EVENTS[name]
            error = model.replay_consent_transition(a["consentId"], target, now)
        elif name == "PortabilityExported":
            error = model.replay_export(a["subject"], a["categories"])
        elif name == "RecoveryStarted":
            error = model.replay_recovery_started(
                a["subject"], a["controllers"], a["threshold"], now
            )
        elif name == "RecoveryCancelled":
            error = model.replay_recovery_cancelled(a["subject"])
        elif name == "RecoveryCompleted":
            error = model.replay_recovery_completed(a["subject"], now)
        elif name == "DisputeFiled":
            error = model.replay_dispute_filed(filed_dispute(a, now))
        elif name == "DisputeAnswered":
            error = model.replay_dispute_answered(
                a["disputeId"], a["outcome"], a["answerHash"], now
            )
        else:  # RoleAdminChanged, or an event the ledger never emits: no state to change
            error = None
        return Applied(error)

    def _read(self, read: RecordedAccess, request: SignedRequestInput | None, now: int) -> Applied:
        entry = self.signed_entry(read.entry, request)
        query_error = self.model.replay_query_id(entry.query_id)
        if not read.granted and read.reason in (None, DenialReason.NONE):
            return Applied(query_error, read=read, entry=entry)  # a reason the ledger never uses
        expected = self.model.replay_access(entry, read.granted, now)
        return Applied(query_error, read=read, entry=entry, expected=expected)

    def signed_entry(self, entry: AccessEntry, request: SignedRequestInput | None) -> AccessEntry:
        """``entry`` (as its event recorded it) with the bank's request from its transaction's
        input and the signer that request's signature recovers to (unchanged, so unsigned,
        when the input has none)."""
        return signed_entry(self._domain, entry, request)


@dataclass(frozen=True, slots=True)
class Head:
    """The block applied last."""

    number: int
    hash: str
    timestamp: int


class LedgerFollower:
    """A deployment's state model, kept up to date from its logs by :meth:`step`.

    ``lock`` is held while the model changes (each log applied, a restart), so that another
    thread may read :attr:`state` under it."""

    def __init__(
        self,
        rpc: JsonRpc,
        deployment: Deployment,
        *,
        max_blocks: int | None = None,
        lock: threading.Lock | None = None,
        on_applied: Callable[[LedgerState, LedgerEvent, Applied], None] | None = None,
    ) -> None:
        self.deployment = deployment
        #: Called under ``lock`` after each event is applied, with the state it moved.
        self.on_applied = on_applied
        #: Blocks applied per step at most (None: up to the head in one step).
        self.max_blocks = max_blocks
        self.lock = lock if lock is not None else threading.Lock()
        self.state = LedgerState(deployment)
        #: The block applied last (None before the first step that reached the deployment).
        self.head: Head | None = None
        self._reader = LedgerReader(rpc, deployment, prefetch=0)
        self._next_block = deployment.deploy_block

    @property
    def followed_through(self) -> int:
        """The last block applied to the model (the deployment block - 1 before the first)."""
        return self._next_block - 1

    def step(self) -> bool:
        """Apply the next blocks, up to the chain's head or ``max_blocks`` of them (blocking).
        Returns whether the model reached the head. Raises what the node raises; the model keeps
        what was applied."""
        if self._next_block == self.deployment.deploy_block:
            self._reader.verify()
        head = self._reader.head()
        if self._went_back(head):
            self.restart(f"the chain went back to block {head}")
            return False
        last = (
            head if self.max_blocks is None else min(head, self._next_block + self.max_blocks - 1)
        )
        if last >= self._next_block:

            def applied_through(block: int) -> None:
                self._next_block = block + 1

            try:
                for item in self._reader.read(self._next_block, last, applied_through):
                    with self.lock:
                        applied = self.state.follow(item)
                        if applied is not None and self.on_applied is not None:
                            assert isinstance(item, LedgerEvent)
                            self.on_applied(self.state, item, applied)
            except ChainReorganisedError as exc:
                self.restart(str(exc))
                return False
        if last < self.deployment.deploy_block:
            return False  # a deployment record ahead of this node's head: nothing to follow yet
        header = self._reader.block(last)
        self._reader.forget_blocks()
        with self.lock:
            self.head = Head(header.number, header.hash, header.timestamp)
        return last == head

    def _went_back(self, head: int) -> bool:
        """Whether the block applied last is no longer the chain's (a shorter or other chain)."""
        if self.head is None:
            return False
        number = self.head.number
        return head < number or self._reader.block(number).hash != self.head.hash

    def restart(self, why: str) -> None:
        """Start again from the deployment block."""
        log.warning("the ledger follower starts again from the deployment block: %s", why)
        with self.lock:
            self._reader.forget_blocks()
            self.state = LedgerState(self.deployment)
            self._next_block = self.deployment.deploy_block
            self.head = None
