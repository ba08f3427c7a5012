"""The replay: every event of the ledger, in chain order, through the state model.

Each event is applied to the state model by the chain's follower
(:class:`~consentledger.chain.follower.LedgerState`) with its block's timestamp. Where the model
says the contract could not have emitted the event (the rules refuse the action, or the state makes
the event impossible), or decides a read otherwise than the chain recorded it, the replay adds a
:class:`~consentledger.audit.findings.Finding` naming what the rules expected and what the chain
shows. The model then follows what the chain did, so that each
violation is reported once, where it happened.

Every rule is the model's, and the follower maps events to the model's replay methods; this module
only checks what the follower cannot see and compares outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consentledger.audit.findings import Finding, FindingCode, Location
from consentledger.audit.history import (
    ConsentLife,
    ExportRecord,
    LedgerHistory,
    ReadRecord,
    StatusChange,
)
from consentledger.chain.deploy import Deployment
from consentledger.chain.follower import TRANSITION_EVENTS, LedgerState, Start
from consentledger.chain.log_reader import LedgerEvent, LedgerItem, UndecodedLog
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import (
    ROLE_AUDITOR,
    ROLE_BANK,
    ROLE_BUREAU,
    ROLE_REGULATOR,
    ZERO_ADDRESS,
    AccessEntry,
    DenialReason,
)

#: The denials of a read whose bank did not sign it as recorded: a DataAccessed the rules deny for
#: one of these is a forged request, not only an unconsented read.
_REQUEST_REASONS = frozenset(
    {
        DenialReason.REQUEST_EXPIRED,
        DenialReason.REQUEST_LIFETIME_TOO_LONG,
        DenialReason.SIGNATURE_INVALID,
    }
)

_ROLE_NAMES = {
    ROLE_REGULATOR: "REGULATOR_ROLE",
    ROLE_BUREAU: "BUREAU_ROLE",
    ROLE_BANK: "BANK_ROLE",
    ROLE_AUDITOR: "AUDITOR_ROLE",
}


def hex0x(value: bytes) -> str:
    return "0x" + value.hex()


def _location(event: LedgerEvent) -> Location:
    log = event.log
    return Location(log.block_number, hex0x(log.transaction_hash), log.log_index, event.timestamp)


class Replayer:
    """Replays one deployment's events; findings are reported from block ``report_from`` on."""

    def __init__(
        self, deployment: Deployment, *, report_from: int = 0, subject: bytes | None = None
    ) -> None:
        self.deployment = deployment
        self.report_from = report_from
        self.state = LedgerState(deployment)
        self.history = LedgerHistory(subject=subject)
        self.findings: list[Finding] = []
        self._deploy_tx = deployment.deploy_tx.lower()
        #: Where each (bank, request id) was first recorded as a granted read.
        self._granted_requests: dict[tuple[str, int], Location] = {}
        self._handlers: dict[str, Callable[[LedgerEvent], None]] = {
            "RoleAdminChanged": self._role_admin_changed,
            "RoleGranted": self._role_granted,
            "RoleRevoked": self._role_revoked,
            "BankSuspended": self._bank_standing,
            "BankReinstated": self._bank_standing,
            "BankReadSignerChanged": self._read_signer_changed,
            "EnterpriseRegistered": self._enterprise,
            "ControllersChanged": self._enterprise,
            "CategoryRegistered": self._category_registered,
            "PurposeDefined": self._purpose_defined,
            "PurposeRetired": self._purpose_retired,
            "ConsentGranted": self._consent_granted,
            "ConsentPaused": self._consent_transition,
            "ConsentResumed": self._consent_transition,
            "ConsentRevoked": self._consent_transition,
            "DataAccessed": self._read,
            "AccessDenied": self._read,
            "PortabilityExported": self._export,
            "RecoveryStarted": self._recovery,
            "RecoveryCancelled": self._recovery,
            "RecoveryCompleted": self._recovery,
            "DisputeFiled": self._dispute,
            "DisputeAnswered": self._dispute,
        }
        #: Where each dispute was filed and answered.
        self.dispute_locations: dict[bytes, tuple[Location, Location | None]] = {}

    @property
    def model(self) -> LedgerModel:
        """The state model as the events so far left it."""
        return self.state.model

    # ------------------------------------------------------------------ entry

    def apply(self, item: LedgerItem) -> None:
        """Replay one log."""
        if isinstance(item, UndecodedLog):
            self._undecoded(item)
            return
        log = item.log
        start = self.state.begin(item)
        if start is Start.MISSING:
            self._missing_constructor(item)
        if self._in_window(log.block_number):
            self.history.count_event(log.event)
        if start is Start.CONSTRUCTOR:
            return
        if start is Start.OTHER_GRANT:
            self._other_constructor_grant(item)
            return
        handler = self._handlers.get(log.event)
        if handler is None:
            self._impossible(
                item,
                expected="no such event: the ledger never emits it",
                observed=log.event,
                message=f"{log.event} is in the ABI but the ledger's code never emits it",
            )
            return
        handler(item)

    def _in_window(self, block: int) -> bool:
        return block >= self.report_from

    def _flag(self, finding: Finding) -> None:
        block = finding.location.block_number
        if block is None or self._in_window(block):
            self.findings.append(finding)

    def _impossible(
        self,
        event: LedgerEvent,
        *,
        expected: str,
        observed: str,
        message: str,
        error: LedgerRevertError | None = None,
        **about: Any,
    ) -> None:
        self._flag(
            Finding(
                code=FindingCode.IMPOSSIBLE_EVENT,
                message=message,
                expected=expected,
                observed=observed,
                location=_location(event),
                event=event.log.event,
                rule=error.error if error is not None else None,
                **about,
            )
        )

    def _refused(
        self, event: LedgerEvent, error: LedgerRevertError | None, what: str, **about: Any
    ) -> None:
        """A finding when the rules refuse what ``event`` says happened."""
        if error is None:
            return
        self._impossible(
            event,
            expected=f"the call reverts with {error}",
            observed=what,
            message=f"{what} was emitted, but the rules refuse it: {error}",
            error=error,
            **about,
        )

    # ---------------------------------------------------------- constructor

    def _missing_constructor(self, event: LedgerEvent) -> None:
        """The first event outside the deployment transaction: the constructor's grant of the
        regulator role must have come before (the deployment record's regulator is assumed)."""
        self._impossible(
            event,
            expected=f"RoleGranted(REGULATOR_ROLE, {self.deployment.regulator}) in the deployment "
            f"transaction {self.deployment.deploy_tx}",
            observed="no such event before this one",
            message="the constructor's grant of the regulator role is missing; "
            "the deployment record's regulator is assumed",
        )

    def _role_admin_changed(self, event: LedgerEvent) -> None:
        args = event.log.args
        role, new_admin = args["role"], args["newAdminRole"]
        in_constructor = hex0x(event.log.transaction_hash) == self._deploy_tx
        if in_constructor and new_admin == LedgerModel.role_admin(role):
            return
        self._impossible(
            event,
            expected=f"admin {hex0x(LedgerModel.role_admin(role))} set by the constructor only",
            observed=f"RoleAdminChanged({hex0x(role)}, new admin {hex0x(new_admin)})",
            message="a role's admin changed, which only the constructor does, to the regulator",
        )

    # ---------------------------------------------------------------- roles

    def _role_granted(self, event: LedgerEvent) -> None:
        args = event.log.args
        role, account, sender = args["role"], args["account"], args["sender"]
        what = f"RoleGranted({_role(role)}, {account}, by {sender})"
        if self.model.has_role(role, account):
            self._impossible(
                event,
                expected="no event: the account already holds the role",
                observed=what,
                message="RoleGranted for an account that already holds the role",
            )
        self._refused(event, self.state.apply(event).error, what)

    def _other_constructor_grant(self, event: LedgerEvent) -> None:
        """The deployment's first grant is not the constructor's (the deployment record's
        regulator is assumed)."""
        args = event.log.args
        what = f"RoleGranted({_role(args['role'])}, {args['account']}, by {args['sender']})"
        self._impossible(
            event,
            expected=f"RoleGranted(REGULATOR_ROLE, {self.deployment.regulator})",
            observed=what,
            message="the constructor granted another role or account than the deployment "
            "record's regulator",
        )

    def _role_revoked(self, event: LedgerEvent) -> None:
        args = event.log.args
        role, account, sender = args["role"], args["account"], args["sender"]
        what = f"RoleRevoked({_role(role)}, {account}, by {sender})"
        if not self.model.has_role(role, account):
            self._impossible(
                event,
                expected="no event: the account does not hold the role",
                observed=what,
                message="RoleRevoked for an account that does not hold the role",
            )
        self._refused(event, self.state.apply(event).error, what)

    def _bank_standing(self, event: LedgerEvent) -> None:
        args = event.log.args
        error = self.state.apply(event).error
        what = f"{event.log.event}({args['bank']}, by {args['regulator']})"
        self._refused(event, error, what, bank=args["bank"])

    def _read_signer_changed(self, event: LedgerEvent) -> None:
        args = event.log.args
        error = self.state.apply(event).error
        what = f"BankReadSignerChanged({args['bank']}, {args['signer']})"
        self._refused(event, error, what, bank=args["bank"])

    # ------------------------------------------------------ enterprises, registries

    def _enterprise(self, event: LedgerEvent) -> None:
        args = event.log.args
        subject, controllers, threshold = args["subject"], args["controllers"], args["threshold"]
        error = self.state.apply(event).error
        what = f"{event.log.event}({hex0x(subject)}, {len(controllers)} controllers, k={threshold})"
        self._refused(event, error, what, subject=hex0x(subject))

    def _recovery(self, event: LedgerEvent) -> None:
        subject: bytes = event.log.args["subject"]
        error = self.state.apply(event).error
        what = f"{event.log.event}({hex0x(subject)})"
        self._refused(event, error, what, subject=hex0x(subject))

    def _category_registered(self, event: LedgerEvent) -> None:
        args = event.log.args
        error = self.state.apply(event).error
        self.history.category_names[args["code"]] = args["name"]
        self._refused(event, error, f"CategoryRegistered({args['code']}, {args['name']!r})")

    def _purpose_defined(self, event: LedgerEvent) -> None:
        a = event.log.args
        error = self.state.apply(event).error
        self._refused(event, error, f"PurposeDefined({a['code']}, {a['name']!r})")
        self.history.purpose_names[a["code"]] = a["name"]

    def _purpose_retired(self, event: LedgerEvent) -> None:
        code = event.log.args["code"]
        self._refused(event, self.state.apply(event).error, f"PurposeRetired({code})")

    # -------------------------------------------------------------- consents

    def _consent_granted(self, event: LedgerEvent) -> None:
        a = event.log.args
        consent_id: bytes = a["consentId"]
        about = {"consent_id": hex0x(consent_id), "subject": hex0x(a["subject"]), "bank": a["bank"]}
        if consent_id in self.model.consents:
            self._impossible(
                event,
                expected="each consent id granted once (the digest of a message whose nonce is "
                "used once)",
                observed=f"a second ConsentGranted({hex0x(consent_id)})",
                message="a consent id was granted again",
                **about,
            )
        applied = self.state.apply(event)
        error, granted = applied.error, applied.consent
        assert granted is not None  # a ConsentGranted states its consent
        if error is not None:
            self._flag(
                Finding(
                    code=FindingCode.GRANT_BREAKS_RULES,
                    message=f"a consent was granted against the rules: {error}",
                    expected=f"grantConsent reverts with {error}",
                    observed="ConsentGranted",
                    location=_location(event),
                    event="ConsentGranted",
                    rule=error.error,
                    **about,
                )
            )
        location = _location(event)
        life = ConsentLife(granted, location)
        life.changes.append(StatusChange("ACTIVE", event.timestamp, location, "ConsentGranted"))
        self.history.consents[consent_id] = life
        if self._in_window(event.log.block_number):
            self.history.figures.consents_granted += 1

    def _consent_transition(self, event: LedgerEvent) -> None:
        args = event.log.args
        consent_id: bytes = args["consentId"]
        subject: bytes = args["subject"]
        about: dict[str, Any] = {"consent_id": hex0x(consent_id), "subject": hex0x(subject)}
        what = f"{event.log.event}({hex0x(consent_id)})"
        stored = self.model.consents.get(consent_id)
        if stored is not None and stored.subject != subject:
            self._impossible(
                event,
                expected=f"subject {hex0x(stored.subject)} (the consent's)",
                observed=f"subject {hex0x(subject)}",
                message=f"{event.log.event} names another subject than the consent's",
                **about,
            )
        target = TRANSITION_EVENTS[event.log.event]
        error = self.state.apply(event).error
        self._refused(event, error, what, **about)
        life = self.history.consents.get(consent_id)
        if life is not None:
            life.changes.append(
                StatusChange(target.name, event.timestamp, _location(event), event.log.event)
            )

    # ------------------------------------------------------------------ reads

    def _read(self, event: LedgerEvent) -> None:
        applied = self.state.apply(event)
        read = applied.read
        assert read is not None  # a read event is a read
        assert applied.entry is not None
        entry, granted = applied.entry, read.granted
        consent = self.model.consents.get(entry.consent_id)

        def about() -> dict[str, Any]:
            """What a finding about this read names (built only for a finding: most reads
            have none, and the hex strings cost more than the checks)."""
            return {
                "consent_id": hex0x(entry.consent_id),
                "bank": entry.bank,
                "query_id": hex(entry.query_id),
                "subject": hex0x(consent.subject) if consent is not None else None,
            }

        query_error = applied.error
        if query_error is not None:
            self._refused(
                event, query_error, f"a read with query id {hex(entry.query_id)}", **about()
            )
        observed: DenialReason | None = DenialReason.NONE
        if not granted:
            observed = self._denial_reason(event, read.reason_code, about)
        expected = applied.expected
        if observed is None or expected is None:
            return
        if expected is not observed:
            self._compare_decision(event, expected, observed, about())
        if granted:
            self._check_replayed(event, entry, about)
        self._record_read(event, entry, observed)

    def _check_replayed(
        self, event: LedgerEvent, entry: AccessEntry, about: Callable[[], dict[str, Any]]
    ) -> None:
        """A bank's request id released data once: a second DataAccessed with the same bank and
        request id is a replayed request (the ledger bounds replays by the request's deadline;
        the auditor finds every one)."""
        if event.request is None:
            return
        key = (entry.bank, entry.request_id)
        first = self._granted_requests.get(key)
        if first is None:
            self._granted_requests[key] = _location(event)
            return
        self._flag(
            Finding(
                code=FindingCode.READ_REQUEST_REPLAYED,
                message=(
                    f"the bank's request {entry.request_id} was recorded as a granted read again "
                    f"(first in transaction {first.transaction_hash}, log {first.log_index})"
                ),
                expected="each signed read request recorded once",
                observed=f"request {entry.request_id} of {entry.bank} recorded twice",
                location=_location(event),
                event=event.log.event,
                rule="READ_REQUEST_REPLAYED",
                **about(),
            )
        )

    def _denial_reason(
        self, event: LedgerEvent, code: int, about: Callable[[], dict[str, Any]]
    ) -> DenialReason | None:
        try:
            reason = DenialReason(code)
        except ValueError:
            reason = None
        if reason is None or reason is DenialReason.NONE:
            self._impossible(
                event,
                expected=f"a denial reason 1..{max(DenialReason)}",
                observed=f"AccessDenied(reason {code})",
                message=f"an AccessDenied with reason code {code}, which the ledger never uses",
                **about(),
            )
            return None
        return reason

    def _compare_decision(
        self,
        event: LedgerEvent,
        expected: DenialReason,
        observed: DenialReason,
        about: dict[str, Any],
    ) -> None:
        if expected is observed:
            return
        shown = _decision(observed)
        wanted = _decision(expected)
        if observed is DenialReason.NONE and expected in _REQUEST_REASONS:
            code = FindingCode.READ_REQUEST_FORGED
            message = (
                f"data was released for a read its bank did not sign as recorded: {expected.name}"
            )
        elif observed is DenialReason.NONE:
            code = FindingCode.UNCONSENTED_RELEASE
            message = f"data was released although the rules deny the read: {expected.name}"
        elif expected is DenialReason.NONE:
            code = FindingCode.UNEXPECTED_DENIAL
            message = f"a consented read was denied as {observed.name}"
        else:
            code = FindingCode.WRONG_DENIAL_REASON
            message = f"a read was denied as {observed.name}; the rules say {expected.name}"
        self._flag(
            Finding(
                code=code,
                message=message,
                expected=wanted,
                observed=shown,
                location=_location(event),
                event=event.log.event,
                rule=expected.name,
                **about,
            )
        )

    def _record_read(self, event: LedgerEvent, entry: AccessEntry, observed: DenialReason) -> None:
        granted = observed is DenialReason.NONE
        life = self.history.consents.get(entry.consent_id)
        if life is not None:
            if granted:
                life.reads_granted += 1
            else:
                life.reads_denied += 1
        if self._in_window(event.log.block_number):
            self.history.count_read(
                entry.bank, entry.categories, granted, observed, event.timestamp
            )
        if life is not None and life.consent.subject == self.history.subject:
            self.history.subject_reads.append(
                ReadRecord(
                    query_id=entry.query_id,
                    consent_id=entry.consent_id,
                    bank=entry.bank,
                    categories=entry.categories,
                    purpose=entry.purpose,
                    granted=granted,
                    reason=observed,
                    response_hash=entry.response_hash if granted else None,
                    location=_location(event),
                    request_id=entry.request_id,
                    bank_signed=entry.signer != ZERO_ADDRESS
                    and entry.signer == self.model.read_signer(entry.bank),
                )
            )

    # ---------------------------------------------------------------- exports

    def _export(self, event: LedgerEvent) -> None:
        args = event.log.args
        subject: bytes = args["subject"]
        error = self.state.apply(event).error
        self._refused(
            event, error, f"PortabilityExported({hex0x(subject)})", subject=hex0x(subject)
        )
        if self._in_window(event.log.block_number):
            self.history.figures.exports += 1
        if subject == self.history.subject:
            self.history.subject_exports.append(
                ExportRecord(args["categories"], args["exportHash"], _location(event))
            )

    # --------------------------------------------------------------- disputes

    def _dispute(self, event: LedgerEvent) -> None:
        args = event.log.args
        dispute_id: bytes = args["disputeId"]
        error = self.state.apply(event).error
        self._refused(
            event,
            error,
            f"{event.log.event}({hex0x(dispute_id)})",
            subject=hex0x(args["subject"]),
        )
        if error is not None:
            return
        if event.log.event == "DisputeFiled":
            self.dispute_locations[dispute_id] = (_location(event), None)
        elif dispute_id in self.dispute_locations:
            filed, _ = self.dispute_locations[dispute_id]
            self.dispute_locations[dispute_id] = (filed, _location(event))

    def dispute_findings(self, now: int) -> list[Finding]:
        """The disputes answered after their 20 days, and those not answered within them as of
        ``now`` (the audit's last block time)."""
        found: list[Finding] = []
        for dispute in self.model.disputes.values():
            where = self.dispute_locations.get(dispute.dispute_id)
            if where is None:
                continue
            filed, answered = where
            due, name = dispute.answer_due, hex0x(dispute.dispute_id)
            if dispute.answered_late() and answered is not None:
                assert dispute.answered_at is not None
                code, location, event = (
                    FindingCode.DISPUTE_ANSWERED_LATE,
                    answered,
                    "DisputeAnswered",
                )
                message = f"dispute {name} was answered {_days(dispute.answered_at - due)} late"
                observed = f"answered at {dispute.answered_at}"
            elif dispute.overdue(now):
                code, location, event = FindingCode.DISPUTE_NOT_ANSWERED, filed, "DisputeFiled"
                message = f"dispute {name} has no answer {_days(now - due)} after its 20 days"
                observed = f"no answer as of {now}"
            else:
                continue
            finding = Finding(
                code=code,
                message=message,
                expected=f"an answer by {due} (filed at {dispute.filed_at})",
                observed=observed,
                location=location,
                event=event,
                subject=hex0x(dispute.subject),
                rule="征信业管理条例 art. 25",
            )
            self._flag_into(found, finding)
        return found

    def _flag_into(self, found: list[Finding], finding: Finding) -> None:
        block = finding.location.block_number
        if block is None or self._in_window(block):
            found.append(finding)

    # ----------------------------------------------------------- not decoded

    def _undecoded(self, item: UndecodedLog) -> None:
        location = Location(
            item.block_number, item.transaction_hash, item.log_index, item.timestamp
        )
        if item.problem is None:
            finding = Finding(
                code=FindingCode.UNKNOWN_EVENT,
                message=f"a log with topic {item.topic}, which is none of the ledger's events",
                expected="one of the ledger's events",
                observed=f"topic {item.topic}",
                location=location,
            )
        else:
            finding = Finding(
                code=FindingCode.MALFORMED_LOG,
                message=str(item.problem),
                expected=f"a well-formed {item.problem.event} log",
                observed=item.problem.reason,
                location=location,
                event=item.problem.event,
            )
        self._flag(finding)


def _days(seconds: int) -> str:
    """A span as days and hours, for a finding's message."""
    days, rest = divmod(max(0, seconds), 86_400)
    return f"{days} d {rest // 3600} h"


def _decision(reason: DenialReason) -> str:
    return "DataAccessed" if reason is DenialReason.NONE else f"AccessDenied({reason.name})"


def _role(role: bytes) -> str:
    return _ROLE_NAMES.get(role, hex0x(role))
