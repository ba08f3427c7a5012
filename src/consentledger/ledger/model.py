"""The consent rules, once, as a pure state model.

This module is the single Python statement of what the ConsentLedger contract decides: which
signed action it accepts (and, if not, which custom error it reverts with, in the same order of
checks), and for every recorded read whether it is granted or denied and why. It is the oracle of
the contract tests and the engine of the auditor's replay; nothing else in the package re-states
these rules.

The model does no cryptography: a signed action arrives with the signer addresses already recovered
from its signatures (the chain client does that), so the model sees exactly what the contract's
signature loop sees.

The auditor replays the chain's events, which carry neither signatures nor nonces and only some of
them the caller: the ``replay_*`` methods apply what an event says the contract did, after every
check the contract made that the event's data allows, and return the error the contract should
have raised instead (None when the event is consistent with the rules). Each action is written as
its checks and its effect, so that the signed or role-checked action and its replay share both;
no rule is stated twice.

Time is always passed in explicitly (``now``: the block timestamp of the transaction).

Every action is all or nothing, like a transaction: it checks everything before it changes
anything, so a refused action leaves the model exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.types import (
    MAX_CATEGORY_CODE,
    MAX_CONSENT_DURATION,
    MAX_CONTROLLERS,
    MAX_READ_REQUEST_LIFETIME,
    RECOVERY_DELAY,
    ROLE_AUDITOR,
    ROLE_BANK,
    ROLE_BUREAU,
    ROLE_REGULATOR,
    ZERO_ADDRESS,
    AccessEntry,
    BankState,
    ConsentState,
    ConsentStatus,
    ConsentTerms,
    Decision,
    DenialReason,
    DisputeKind,
    DisputeOutcome,
    DisputeState,
    EnterpriseState,
    PendingRecovery,
    PurposeCaps,
    checksummed,
    nonce_account,
    query_id_relayer,
    record_accesses_args,
    split_nonce,
)


@dataclass(slots=True)
class LedgerModel:
    """Everything the contract stores that its decisions depend on."""

    roles: dict[bytes, set[str]] = field(default_factory=dict)
    categories: int = 0
    purposes: dict[int, PurposeCaps] = field(default_factory=dict)
    banks: dict[str, BankState] = field(default_factory=dict)
    enterprises: dict[bytes, EnterpriseState] = field(default_factory=dict)
    consents: dict[bytes, ConsentState] = field(default_factory=dict)
    nonces: dict[tuple[str, int], int] = field(default_factory=dict)
    last_query_id: dict[str, int] = field(default_factory=dict)
    recoveries: dict[bytes, PendingRecovery] = field(default_factory=dict)
    disputes: dict[bytes, DisputeState] = field(default_factory=dict)

    @classmethod
    def deployed(cls, regulator: str) -> LedgerModel:
        """The state right after the constructor."""
        model = cls()
        model.roles[ROLE_REGULATOR] = {checksummed(regulator)}
        return model

    # ----------------------------------------------------------------- roles

    def has_role(self, role: bytes, account: str) -> bool:
        return checksummed(account) in self.roles.get(role, set())

    def _only(self, role: bytes, caller: str) -> None:
        if not self.has_role(role, caller):
            raise LedgerRevertError("AccessControlUnauthorizedAccount", checksummed(caller), role)

    @staticmethod
    def role_admin(role: bytes) -> bytes:
        """The role that administers ``role``: the regulator for the ledger's four roles."""
        known = (ROLE_REGULATOR, ROLE_BUREAU, ROLE_BANK, ROLE_AUDITOR)
        return ROLE_REGULATOR if role in known else bytes(32)

    def grant_role(self, caller: str, role: bytes, account: str) -> bool:
        """``grantRole``. Returns whether anything changed."""
        self._only(self.role_admin(role), caller)
        return self._add_role(role, account)

    def revoke_role(self, caller: str, role: bytes, account: str) -> bool:
        """``revokeRole``."""
        self._only(self.role_admin(role), caller)
        return self._remove_role(role, account)

    def renounce_role(self, caller: str, role: bytes, confirmation: str) -> bool:
        """``renounceRole``: an account gives up its own role (``confirmation`` must be itself)."""
        self._check_renounce(caller, confirmation)
        return self._remove_role(role, caller)

    @staticmethod
    def _check_renounce(caller: str, confirmation: str) -> None:
        if checksummed(confirmation) != checksummed(caller):
            raise LedgerRevertError("AccessControlBadConfirmation")

    def _add_role(self, role: bytes, account: str) -> bool:
        account = checksummed(account)
        holders = self.roles.setdefault(role, set())
        if account in holders:
            return False
        holders.add(account)
        if role == ROLE_BANK:
            self.banks.setdefault(account, BankState(member=False)).member = True
        return True

    def _remove_role(self, role: bytes, account: str) -> bool:
        account = checksummed(account)
        holders = self.roles.setdefault(role, set())
        if account not in holders:
            return False
        holders.discard(account)
        if role == ROLE_BANK:
            self.banks[account].member = False
        return True

    # ----------------------------------------------------------- membership

    def suspend_bank(self, caller: str, bank: str) -> None:
        self._check_suspension(caller, bank, suspend=True)
        self._set_suspended(bank, suspended=True)

    def reinstate_bank(self, caller: str, bank: str) -> None:
        self._check_suspension(caller, bank, suspend=False)
        self._set_suspended(bank, suspended=False)

    def _check_suspension(self, caller: str, bank: str, *, suspend: bool) -> None:
        self._only(ROLE_REGULATOR, caller)
        bank = checksummed(bank)
        record = self.banks.get(bank)
        if suspend:
            if not self.has_role(ROLE_BANK, bank):
                raise LedgerRevertError("MembershipNotABank", bank)
            if record is not None and record.suspended:
                raise LedgerRevertError("MembershipBankAlreadySuspended", bank)
        elif record is None or not record.suspended:
            raise LedgerRevertError("MembershipBankNotSuspended", bank)

    def _set_suspended(self, bank: str, *, suspended: bool) -> None:
        self.banks.setdefault(checksummed(bank), BankState(member=False)).suspended = suspended

    def set_read_signer(self, caller: str, signer: str) -> None:
        """``setReadSigner``: a bank chooses (or rotates) the key that signs its read requests."""
        self._only(ROLE_BANK, caller)
        self._set_read_signer(caller, signer)

    def _set_read_signer(self, bank: str, signer: str) -> None:
        chosen = None if checksummed(signer) == ZERO_ADDRESS else checksummed(signer)
        self.banks.setdefault(checksummed(bank), BankState(member=False)).read_signer = chosen

    def read_signer(self, bank: str) -> str:
        """The address whose signature the ledger accepts on ``bank``'s read requests."""
        record = self.banks.get(checksummed(bank))
        if record is None or record.read_signer is None:
            return checksummed(bank)
        return record.read_signer

    def bank_active(self, bank: str) -> bool:
        bank = checksummed(bank)
        record = self.banks.get(bank)
        return self.has_role(ROLE_BANK, bank) and record is not None and not record.suspended

    def register_enterprise(
        self,
        caller: str,
        subject: bytes,
        controllers: Sequence[str],
        threshold: int,
        deadline: int,
        provers: Sequence[str],
        now: int,
    ) -> None:
        """``registerEnterprise``: ``provers[i]`` is the address ``controllers[i]``'s signature of
        the ``Registration`` recovers to."""
        self._only(ROLE_BUREAU, caller)
        self._check_new_subject(subject)
        self.enterprises[subject] = _proven_set(controllers, threshold, deadline, provers, now)

    def _check_new_subject(self, subject: bytes) -> None:
        if subject == bytes(32):
            raise LedgerRevertError("MembershipZeroSubject")
        if subject in self.enterprises:
            raise LedgerRevertError("MembershipEnterpriseAlreadyRegistered", subject)

    def change_controllers(
        self,
        subject: bytes,
        controllers: Sequence[str],
        threshold: int,
        nonce: int,
        deadline: int,
        signers: Sequence[str],
        now: int,
    ) -> None:
        use_nonce = self._authorize(subject, nonce, deadline, signers, now)
        self.enterprises[subject] = _controller_set(controllers, threshold)
        use_nonce()

    def nonce(self, subject: bytes, key: int = 0) -> int:
        """The next unused nonce of ``subject`` under ``key`` (key prefix included)."""
        return (key << 64) | self.nonces.get((nonce_account(subject), key), 0)

    def _authorize(
        self, subject: bytes, nonce: int, deadline: int, signers: Sequence[str], now: int
    ) -> Callable[[], None]:
        """Check a signed action like the contract's ``_authorize``. Changes nothing: returns the
        nonce use, for the caller to commit once every later check has passed too (a revert
        undoes the contract's nonce use, so the model must not make it early)."""
        if now > deadline:
            raise LedgerRevertError("MembershipSignatureExpired", deadline, now)
        enterprise = self._enterprise(subject)
        account = nonce_account(subject)
        key, sequence = split_nonce(nonce)
        current = self.nonces.get((account, key), 0)
        if sequence != current:
            raise LedgerRevertError("InvalidAccountNonce", account, (key << 64) | current)
        if len(signers) < enterprise.threshold:
            raise LedgerRevertError("MembershipThresholdNotMet", len(signers), enterprise.threshold)
        seen: set[str] = set()
        controllers = {checksummed(c) for c in enterprise.controllers}
        for raw in signers:
            signer = checksummed(raw)
            if signer not in controllers:
                raise LedgerRevertError("MembershipSignerNotController", subject, signer)
            if signer in seen:
                raise LedgerRevertError("MembershipDuplicateSigner", signer)
            seen.add(signer)

        def use_nonce() -> None:
            self.nonces[(account, key)] = current + 1

        return use_nonce

    def _enterprise(self, subject: bytes) -> EnterpriseState:
        enterprise = self.enterprises.get(subject)
        if enterprise is None:
            raise LedgerRevertError("MembershipUnknownEnterprise", subject)
        return enterprise

    # ------------------------------------------------------------ registries

    def register_category(self, caller: str, code: int, name: str) -> None:
        self._only(ROLE_REGULATOR, caller)
        self._check_category(code, name)
        self.categories |= 1 << code

    def _check_category(self, code: int, name: str) -> None:
        if code == 0 or code > MAX_CATEGORY_CODE:
            raise LedgerRevertError("RegistriesInvalidCategoryCode", code)
        if self.categories & (1 << code):
            raise LedgerRevertError("RegistriesCategoryAlreadyRegistered", code)
        if not name:
            raise LedgerRevertError("RegistriesEmptyName")

    def define_purpose(
        self,
        caller: str,
        code: int,
        name: str,
        allowed_categories: int,
        max_duration: int,
        max_reads: int,
        max_history_months: int,
    ) -> None:
        self._only(ROLE_REGULATOR, caller)
        self.purposes[code] = self._check_purpose(
            code, name, allowed_categories, max_duration, max_reads, max_history_months
        )

    def _check_purpose(
        self,
        code: int,
        name: str,
        allowed_categories: int,
        max_duration: int,
        max_reads: int,
        max_history_months: int,
    ) -> PurposeCaps:
        if code == 0:
            raise LedgerRevertError("RegistriesInvalidPurposeCode")
        if not name:
            raise LedgerRevertError("RegistriesEmptyName")
        if max_duration == 0 or max_duration > MAX_CONSENT_DURATION:
            raise LedgerRevertError(
                "RegistriesDurationCapOutOfRange", max_duration, MAX_CONSENT_DURATION
            )
        if max_reads == 0:
            raise LedgerRevertError("RegistriesZeroReadCap")
        if allowed_categories == 0 or allowed_categories & ~self.categories:
            raise LedgerRevertError(
                "RegistriesInvalidCategoryMask", allowed_categories, self.categories
            )
        return PurposeCaps(True, allowed_categories, max_duration, max_reads, max_history_months)

    def retire_purpose(self, caller: str, code: int) -> None:
        self._only(ROLE_REGULATOR, caller)
        self.purposes[code] = replace(self._active_purpose(code), active=False)

    def _active_purpose(self, code: int) -> PurposeCaps:
        caps = self.purposes.get(code)
        if caps is None or not caps.active:
            raise LedgerRevertError("RegistriesUnknownPurpose", code)
        return caps

    # --------------------------------------------------------------- consents

    def grant_consent(
        self, terms: ConsentTerms, consent_id: bytes, signers: Sequence[str], now: int
    ) -> ConsentState:
        """``grantConsent``: ``consent_id`` is the EIP-712 digest the signers signed."""
        use_nonce = self._authorize(terms.subject, terms.nonce, terms.deadline, signers, now)
        requested = ConsentState(
            consent_id=consent_id,
            subject=terms.subject,
            bank=terms.bank,
            categories=terms.categories,
            purpose=terms.purpose,
            not_before=terms.not_before,
            expires_at=terms.expires_at,
            max_reads=terms.max_reads,
            history_months=terms.history_months,
            receipt_hash=terms.receipt_hash,
        )
        consent = self._check_terms(requested, now)
        use_nonce()
        self.consents[consent_id] = consent
        return consent

    def _check_terms(self, requested: ConsentState, now: int) -> ConsentState:
        """The grant-time rules on a consent's terms, in the contract's order: bank active, purpose
        active, categories registered and allowed for the purpose, window, duration and read and
        history caps. Returns the consent as stored (``max_reads`` 0 becomes the purpose's cap)."""
        if not self.bank_active(requested.bank):
            raise LedgerRevertError("ConsentsBankNotActive", checksummed(requested.bank))
        caps = self.purposes.get(requested.purpose)
        if caps is None or not caps.active:
            raise LedgerRevertError("ConsentsUnknownPurpose", requested.purpose)
        categories = requested.categories
        if categories == 0 or categories & ~self.categories:
            raise LedgerRevertError("ConsentsInvalidCategories", categories, self.categories)
        disallowed = categories & ~caps.allowed_categories
        if disallowed:
            raise LedgerRevertError("ConsentsCategoriesNotAllowed", requested.purpose, disallowed)
        not_before, expires_at = requested.not_before, requested.expires_at
        if not_before >= expires_at:
            raise LedgerRevertError("ConsentsInvalidWindow", not_before, expires_at)
        if expires_at <= now:
            raise LedgerRevertError("ConsentsExpiryInPast", expires_at, now)
        duration = expires_at - not_before
        if duration > caps.max_duration:
            raise LedgerRevertError("ConsentsDurationExceedsCap", duration, caps.max_duration)
        latest = now + caps.max_duration
        if expires_at > latest:
            raise LedgerRevertError("ConsentsExpiryTooFar", expires_at, latest)
        if requested.max_reads > caps.max_reads:
            raise LedgerRevertError("ConsentsReadsExceedCap", requested.max_reads, caps.max_reads)
        if requested.history_months > caps.max_history_months:
            raise LedgerRevertError(
                "ConsentsHistoryExceedsCap", requested.history_months, caps.max_history_months
            )
        return replace(
            requested,
            bank=checksummed(requested.bank),
            max_reads=requested.max_reads or caps.max_reads,
            reads_used=0,
            state=ConsentStatus.ACTIVE,
        )

    def pause_consent(
        self, consent_id: bytes, nonce: int, deadline: int, signers: Sequence[str], now: int
    ) -> None:
        self._signed_transition(consent_id, ConsentStatus.PAUSED, nonce, deadline, signers, now)

    def resume_consent(
        self, consent_id: bytes, nonce: int, deadline: int, signers: Sequence[str], now: int
    ) -> None:
        self._signed_transition(consent_id, ConsentStatus.ACTIVE, nonce, deadline, signers, now)

    def revoke_consent(
        self, consent_id: bytes, nonce: int, deadline: int, signers: Sequence[str], now: int
    ) -> None:
        self._signed_transition(consent_id, ConsentStatus.REVOKED, nonce, deadline, signers, now)

    def _signed_transition(
        self,
        consent_id: bytes,
        target: ConsentStatus,
        nonce: int,
        deadline: int,
        signers: Sequence[str],
        now: int,
    ) -> None:
        consent, use_nonce = self._authorize_on_consent(consent_id, nonce, deadline, signers, now)
        self._require_status(consent, now, *_TRANSITIONS_INTO[target])
        use_nonce()
        consent.state = target

    def consent_status(self, consent_id: bytes, now: int) -> ConsentStatus:
        consent = self.consents.get(consent_id)
        return ConsentStatus.NONE if consent is None else consent.status(now)

    def _authorize_on_consent(
        self, consent_id: bytes, nonce: int, deadline: int, signers: Sequence[str], now: int
    ) -> tuple[ConsentState, Callable[[], None]]:
        consent = self._consent(consent_id)
        return consent, self._authorize(consent.subject, nonce, deadline, signers, now)

    def _consent(self, consent_id: bytes) -> ConsentState:
        consent = self.consents.get(consent_id)
        if consent is None:
            raise LedgerRevertError("ConsentsUnknownConsent", consent_id)
        return consent

    @staticmethod
    def _require_status(consent: ConsentState, now: int, *allowed: ConsentStatus) -> None:
        status = consent.status(now)
        if status not in allowed:
            raise LedgerRevertError("ConsentsInvalidTransition", consent.consent_id, status)

    # ---------------------------------------------------------- access ledger

    def decide(self, entry: AccessEntry, now: int) -> DenialReason:
        """The chain's decision for one entry at time ``now``: the bank's signed request first,
        then the consent (:meth:`judge`); without counting the read."""
        reason = self.judge_request(entry, now)
        if reason is DenialReason.NONE:
            reason = self.judge(entry, now)
        return reason

    def judge_request(self, entry: AccessEntry, now: int) -> DenialReason:
        """The bank's side of an entry at time ``now`` (:func:`request_denial` with the bank's
        read signer)."""
        return request_denial(entry, now, self.read_signer(entry.bank))

    def judge(self, entry: AccessEntry, now: int) -> DenialReason:
        """The decision for one entry at time ``now``, without counting the read."""
        consent = self.consents.get(entry.consent_id)
        if consent is None:
            return DenialReason.NO_CONSENT
        if checksummed(entry.bank) != consent.bank:
            return DenialReason.BANK_MISMATCH
        if not self.bank_active(entry.bank):
            return DenialReason.BANK_SUSPENDED
        if consent.state is ConsentStatus.REVOKED:
            return DenialReason.REVOKED
        if now >= consent.expires_at:
            return DenialReason.EXPIRED
        if consent.state is ConsentStatus.PAUSED:
            return DenialReason.PAUSED
        if now < consent.not_before:
            return DenialReason.NOT_YET_VALID
        if entry.purpose != consent.purpose:
            return DenialReason.PURPOSE_MISMATCH
        if entry.categories == 0 or entry.categories & ~consent.categories:
            return DenialReason.CATEGORY_NOT_CONSENTED
        if consent.reads_used >= consent.max_reads:
            return DenialReason.READS_EXHAUSTED
        return DenialReason.NONE

    def record_accesses(
        self, caller: str, entries: Sequence[AccessEntry], now: int
    ) -> list[Decision]:
        """``recordAccesses``: judge and count each entry in order; all or nothing."""
        self._only(ROLE_BUREAU, caller)
        if not entries:
            raise LedgerRevertError("AccessLedgerEmptyBatch")
        relayer = checksummed(caller)
        record_accesses_args(entries)  # the ids must be consecutive to be sent at all
        last = self._check_query_ids(relayer, [entry.query_id for entry in entries])
        decisions = [self.apply_access(entry, now) for entry in entries]
        self.last_query_id[relayer] = last
        return decisions

    def _check_query_ids(self, relayer: str, query_ids: Iterable[int]) -> int:
        """Each id carries ``relayer`` in its top 160 bits and is above the one before; returns
        the last."""
        last = self.last_query_id.get(relayer, 0)
        prefix = int(relayer, 16)
        for query_id in query_ids:
            if query_id >> 96 != prefix:
                raise LedgerRevertError("AccessLedgerForeignQueryId", query_id, relayer)
            if query_id <= last:
                raise LedgerRevertError("AccessLedgerStaleQueryId", query_id, last)
            last = query_id
        return last

    def apply_access(self, entry: AccessEntry, now: int) -> Decision:
        """Judge one entry and count it if granted (what the contract does per entry)."""
        reason = self.decide(entry, now)
        if reason is DenialReason.NONE:
            self._count_read(entry.consent_id)
        return Decision(entry, reason)

    def _count_read(self, consent_id: bytes) -> None:
        self.consents[consent_id].reads_used += 1

    def record_export(
        self,
        caller: str,
        subject: bytes,
        categories: int,
        nonce: int,
        deadline: int,
        signers: Sequence[str],
        now: int,
    ) -> None:
        """``recordExport``: the bureau records an export k of the enterprise's controllers
        signed (``Export``), as they sign a consent."""
        self._only(ROLE_BUREAU, caller)
        use_nonce = self._authorize(subject, nonce, deadline, signers, now)
        self._check_export(subject, categories)
        use_nonce()

    def _check_export(self, subject: bytes, categories: int) -> None:
        self._enterprise(subject)
        if categories == 0 or categories & ~self.categories:
            raise LedgerRevertError("RegistriesInvalidCategoryMask", categories, self.categories)

    # --------------------------------------------------------------- recovery

    def start_recovery(
        self,
        caller: str,
        subject: bytes,
        controllers: Sequence[str],
        threshold: int,
        deadline: int,
        provers: Sequence[str],
        now: int,
    ) -> PendingRecovery:
        """``startRecovery``: the regulator proposes new controllers (each proving its key, as at
        registration), effective :data:`RECOVERY_DELAY` from ``now``; replaces a pending one."""
        self._only(ROLE_REGULATOR, caller)
        self._enterprise(subject)
        proposed = _proven_set(controllers, threshold, deadline, provers, now)
        pending = PendingRecovery(proposed.controllers, threshold, now + RECOVERY_DELAY)
        self.recoveries[subject] = pending
        return pending

    def cancel_recovery(
        self, subject: bytes, nonce: int, deadline: int, signers: Sequence[str], now: int
    ) -> None:
        """``cancelRecovery``: k of the current controllers stop a pending recovery."""
        use_nonce = self._authorize(subject, nonce, deadline, signers, now)
        self._pending_recovery(subject)
        use_nonce()
        del self.recoveries[subject]

    def complete_recovery(
        self, subject: bytes, controllers: Sequence[str], threshold: int, now: int
    ) -> None:
        """``completeRecovery``: anyone, once the delay has passed, with the set started."""
        pending = self._check_completion(subject, now)
        listed = tuple(checksummed(c) for c in controllers)
        if (listed, threshold) != (pending.controllers, pending.threshold):
            raise LedgerRevertError("RecoveryOtherControllers", subject)
        del self.recoveries[subject]
        self.enterprises[subject] = _controller_set(controllers, threshold)

    def _pending_recovery(self, subject: bytes) -> PendingRecovery:
        pending = self.recoveries.get(subject)
        if pending is None:
            raise LedgerRevertError("RecoveryNotPending", subject)
        return pending

    def _check_completion(self, subject: bytes, now: int) -> PendingRecovery:
        pending = self._pending_recovery(subject)
        if now < pending.effective_at:
            raise LedgerRevertError("RecoveryNotYetEffective", subject, pending.effective_at)
        return pending

    # --------------------------------------------------------------- disputes

    def file_dispute(self, caller: str, dispute: DisputeState) -> None:
        """``fileDispute``: the bureau records an enterprise's dispute (``dispute.filed_at`` is
        the block time; outcome, answer and its time unset)."""
        self._only(ROLE_BUREAU, caller)
        self._check_filing(dispute)
        self.disputes[dispute.dispute_id] = replace(dispute)

    def _check_filing(self, dispute: DisputeState) -> None:
        if dispute.dispute_id in self.disputes:
            raise LedgerRevertError("DisputesAlreadyFiled", dispute.dispute_id)
        self._enterprise(dispute.subject)
        if dispute.kind not in tuple(DisputeKind):
            raise LedgerRevertError("DisputesInvalidKind", int(dispute.kind))
        self._check_export(dispute.subject, dispute.categories)

    def answer_dispute(
        self, caller: str, dispute_id: bytes, outcome: int, answer_hash: bytes, now: int
    ) -> DisputeState:
        """``answerDispute``: the bureau's written answer, once, with its outcome and the hash
        of the answer's text. Returns the dispute as answered."""
        self._only(ROLE_BUREAU, caller)
        dispute = self._open_dispute(dispute_id, outcome)
        dispute.outcome = DisputeOutcome(outcome)
        dispute.answer_hash = answer_hash
        dispute.answered_at = now
        return dispute

    def _open_dispute(self, dispute_id: bytes, outcome: int) -> DisputeState:
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise LedgerRevertError("DisputesUnknownDispute", dispute_id)
        if dispute.outcome is not None:
            raise LedgerRevertError("DisputesAlreadyAnswered", dispute_id)
        if outcome not in tuple(DisputeOutcome):
            raise LedgerRevertError("DisputesInvalidOutcome", outcome)
        return dispute

    def open_disputes(self, subject: bytes) -> list[DisputeState]:
        """The enterprise's disputes not answered yet, oldest first."""
        found = [d for d in self.disputes.values() if d.subject == subject and d.open()]
        return sorted(found, key=lambda d: d.filed_at)

    def overdue_disputes(self, now: int) -> list[DisputeState]:
        """The disputes not answered within :data:`DISPUTE_ANSWER_PERIOD` as of ``now``."""
        return [d for d in self.disputes.values() if d.overdue(now)]

    # ----------------------------------------------------------------- replay
    #
    # One method per event. Each runs the checks the contract made before emitting the event, as
    # far as the event's data allows (signatures, nonces, deadlines and, for most events, the
    # caller are not in it), applies the event's effect even when a check fails (the chain did
    # apply it, so the model stays in step with the chain's storage and a violation is reported
    # once, where it happened), and returns the error the contract should have raised, or None.

    def replay_role_granted(
        self, role: bytes, account: str, sender: str
    ) -> LedgerRevertError | None:
        """``RoleGranted(role, account, sender)``."""
        error = _refusal(lambda: self._only(self.role_admin(role), sender))
        self._add_role(role, account)
        return error

    def replay_role_revoked(
        self, role: bytes, account: str, sender: str
    ) -> LedgerRevertError | None:
        """``RoleRevoked(role, account, sender)``: by the role's admin, or renounced by the account
        itself (``sender == account``), which is always allowed."""
        error = None
        if checksummed(account) != checksummed(sender):
            error = _refusal(lambda: self._only(self.role_admin(role), sender))
        self._remove_role(role, account)
        return error

    def replay_bank_standing(
        self, bank: str, regulator: str, *, suspended: bool
    ) -> LedgerRevertError | None:
        """``BankSuspended(bank, regulator)`` (``suspended``) or ``BankReinstated``."""
        error = _refusal(lambda: self._check_suspension(regulator, bank, suspend=suspended))
        self._set_suspended(bank, suspended=suspended)
        return error

    def replay_enterprise_registered(
        self, subject: bytes, controllers: Sequence[str], threshold: int
    ) -> LedgerRevertError | None:
        """``EnterpriseRegistered`` (the bureau's call; the event names neither the caller nor the
        controllers' proofs)."""
        error = _refusal(lambda: self._check_new_subject(subject)) or _refusal(
            lambda: _controller_set(controllers, threshold)
        )
        self.enterprises[subject] = _as_listed(controllers, threshold)
        return error

    def replay_controllers_changed(
        self, subject: bytes, controllers: Sequence[str], threshold: int
    ) -> LedgerRevertError | None:
        """``ControllersChanged`` (threshold-signed; the event carries no signatures)."""
        error = _refusal(lambda: self._enterprise(subject)) or _refusal(
            lambda: _controller_set(controllers, threshold)
        )
        self.enterprises[subject] = _as_listed(controllers, threshold)
        return error

    def replay_category_registered(self, code: int, name: str) -> LedgerRevertError | None:
        """``CategoryRegistered`` (the regulator's call; the event does not name the caller)."""
        error = _refusal(lambda: self._check_category(code, name))
        self.categories |= 1 << code
        return error

    def replay_purpose_defined(
        self,
        code: int,
        name: str,
        allowed_categories: int,
        max_duration: int,
        max_reads: int,
        max_history_months: int,
    ) -> LedgerRevertError | None:
        """``PurposeDefined``."""
        error = _refusal(
            lambda: self._check_purpose(
                code, name, allowed_categories, max_duration, max_reads, max_history_months
            )
        )
        self.purposes[code] = PurposeCaps(
            True, allowed_categories, max_duration, max_reads, max_history_months
        )
        return error

    def replay_purpose_retired(self, code: int) -> LedgerRevertError | None:
        """``PurposeRetired``."""
        error = _refusal(lambda: self._active_purpose(code))
        caps = self.purposes.get(code)
        if caps is not None:
            self.purposes[code] = replace(caps, active=False)
        return error

    def replay_consent_granted(self, granted: ConsentState, now: int) -> LedgerRevertError | None:
        """``ConsentGranted``: ``granted`` holds the event's fields (``max_reads`` is the effective
        limit the chain stored). Checks that the subject is registered and every grant-time rule
        on the terms at block time ``now``, then stores the consent as the event says."""
        error = _refusal(lambda: self._enterprise(granted.subject)) or _refusal(
            lambda: self._check_terms(granted, now)
        )
        self.consents[granted.consent_id] = replace(
            granted, bank=checksummed(granted.bank), reads_used=0, state=ConsentStatus.ACTIVE
        )
        return error

    def replay_consent_transition(
        self, consent_id: bytes, target: ConsentStatus, now: int
    ) -> LedgerRevertError | None:
        """``ConsentPaused`` (target PAUSED), ``ConsentResumed`` (ACTIVE) or ``ConsentRevoked``
        (REVOKED) at block time ``now``. An unknown consent is refused and changes nothing."""
        consent = self.consents.get(consent_id)
        if consent is None:
            return _refusal(lambda: self._consent(consent_id))
        error = _refusal(lambda: self._require_status(consent, now, *_TRANSITIONS_INTO[target]))
        consent.state = target
        return error

    def replay_query_id(self, query_id: int) -> LedgerRevertError | None:
        """The relayer-integrity checks of ``recordAccesses`` for one recorded query id: the
        relayer in its top bits holds the BUREAU role, and the id is above its last one."""
        relayer = query_id_relayer(query_id)
        error = _refusal(lambda: self._only(ROLE_BUREAU, relayer)) or _refusal(
            lambda: self._check_query_ids(relayer, [query_id])
        )
        self.last_query_id[relayer] = max(query_id, self.last_query_id.get(relayer, 0))
        return error

    def replay_access(self, entry: AccessEntry, granted: bool, now: int) -> DenialReason:
        """A recorded read (``DataAccessed`` when ``granted``, else ``AccessDenied``) at block time
        ``now``: returns the model's decision, and counts the read when the chain granted it (as
        the chain's counter did), whatever the model decided. ``entry`` carries the bank's
        request and the signer recovered from the transaction's input."""
        reason = self.decide(entry, now)
        if granted and entry.consent_id in self.consents:
            self._count_read(entry.consent_id)
        return reason

    def replay_read_signer_changed(self, bank: str, signer: str) -> LedgerRevertError | None:
        """``BankReadSignerChanged(bank, signer)``: only a bank may choose its read signer."""
        error = _refusal(lambda: self._only(ROLE_BANK, bank))
        self._set_read_signer(bank, signer)
        return error

    def replay_export(self, subject: bytes, categories: int) -> LedgerRevertError | None:
        """``PortabilityExported`` (the bureau's call; the event names neither the caller nor the
        controllers who signed it)."""
        return _refusal(lambda: self._check_export(subject, categories))

    def replay_recovery_started(
        self, subject: bytes, controllers: Sequence[str], threshold: int, now: int
    ) -> LedgerRevertError | None:
        """``RecoveryStarted`` at block time ``now`` (the regulator's call; the event names
        neither the caller nor the new controllers' proofs). The recovery may be completed
        :data:`RECOVERY_DELAY` after ``now``, whatever time the event names."""
        error = _refusal(lambda: self._enterprise(subject)) or _refusal(
            lambda: _controller_set(controllers, threshold)
        )
        listed = _as_listed(controllers, threshold).controllers
        self.recoveries[subject] = PendingRecovery(listed, threshold, now + RECOVERY_DELAY)
        return error

    def replay_recovery_cancelled(self, subject: bytes) -> LedgerRevertError | None:
        """``RecoveryCancelled`` (threshold-signed; the event carries no signatures)."""
        error = _refusal(lambda: self._enterprise(subject)) or _refusal(
            lambda: self._pending_recovery(subject)
        )
        self.recoveries.pop(subject, None)
        return error

    def replay_recovery_completed(self, subject: bytes, now: int) -> LedgerRevertError | None:
        """``RecoveryCompleted`` at block time ``now``: a recovery was pending and its delay had
        passed (the ``ControllersChanged`` that follows carries the new set)."""
        error = _refusal(lambda: self._check_completion(subject, now))
        self.recoveries.pop(subject, None)
        return error

    def replay_dispute_filed(self, dispute: DisputeState) -> LedgerRevertError | None:
        """``DisputeFiled`` (the bureau's call): a first filing of a registered enterprise's
        dispute with a known kind and registered categories. A repeated id changes nothing."""
        error = _refusal(lambda: self._check_filing(dispute))
        if dispute.dispute_id not in self.disputes:
            self.disputes[dispute.dispute_id] = replace(dispute)
        return error

    def replay_dispute_answered(
        self, dispute_id: bytes, outcome: int, answer_hash: bytes, now: int
    ) -> LedgerRevertError | None:
        """``DisputeAnswered``: the answer of a dispute filed and not answered yet."""
        error = _refusal(lambda: self._open_dispute(dispute_id, outcome))
        dispute = self.disputes.get(dispute_id)
        if dispute is not None and dispute.outcome is None and outcome in tuple(DisputeOutcome):
            dispute.outcome = DisputeOutcome(outcome)
            dispute.answer_hash = answer_hash
            dispute.answered_at = now
        return error


#: The stored states a consent may be in for a signed action to move it into the key's state.
_TRANSITIONS_INTO: dict[ConsentStatus, tuple[ConsentStatus, ...]] = {
    ConsentStatus.PAUSED: (ConsentStatus.ACTIVE,),
    ConsentStatus.ACTIVE: (ConsentStatus.PAUSED,),
    ConsentStatus.REVOKED: (ConsentStatus.ACTIVE, ConsentStatus.PAUSED),
}


def request_denial(entry: AccessEntry, now: int, read_signer: str) -> DenialReason:
    """The bank's side of an entry at time ``now``: its ``ReadRequest`` deadline (not passed, at
    most :data:`MAX_READ_REQUEST_LIFETIME` ahead), and that its signature recovered to
    ``read_signer``, the bank's read signer. NONE when the request stands."""
    if now > entry.deadline:
        return DenialReason.REQUEST_EXPIRED
    if entry.deadline - now > MAX_READ_REQUEST_LIFETIME:
        return DenialReason.REQUEST_LIFETIME_TOO_LONG
    if checksummed(entry.signer) != checksummed(read_signer):
        return DenialReason.SIGNATURE_INVALID
    return DenialReason.NONE


def _refusal(check: Callable[[], object]) -> LedgerRevertError | None:
    """The error ``check`` raises, or None when it passes."""
    try:
        check()
    except LedgerRevertError as exc:
        return exc
    return None


def _proven_set(
    controllers: Sequence[str],
    threshold: int,
    deadline: int,
    provers: Sequence[str],
    now: int,
) -> EnterpriseState:
    """The contract's ``_requireProofs``: the deadline, a valid set, and one proof per controller,
    in order (``provers[i]``: the address ``controllers[i]``'s signature recovers to)."""
    if now > deadline:
        raise LedgerRevertError("MembershipSignatureExpired", deadline, now)
    proposed = _controller_set(controllers, threshold)
    if len(provers) != len(proposed.controllers):
        raise LedgerRevertError("MembershipProofsMismatch", len(provers), len(proposed.controllers))
    for controller, prover in zip(proposed.controllers, provers, strict=True):
        if checksummed(prover) != controller:
            raise LedgerRevertError("MembershipControllerNotProven", controller)
    return proposed


def _as_listed(controllers: Iterable[str], threshold: int) -> EnterpriseState:
    """A controller set as an event lists it, valid or not (replay follows the chain)."""
    return EnterpriseState(tuple(checksummed(c) for c in controllers), threshold)


def _controller_set(controllers: Iterable[str], threshold: int) -> EnterpriseState:
    listed = list(controllers)
    if not listed or len(listed) > MAX_CONTROLLERS or threshold == 0 or threshold > len(listed):
        raise LedgerRevertError("MembershipInvalidControllerSet", len(listed), threshold)
    seen: list[str] = []
    for raw in listed:
        controller = checksummed(raw)
        if controller == ZERO_ADDRESS:
            raise LedgerRevertError("MembershipZeroController")
        if controller in seen:
            raise LedgerRevertError("MembershipDuplicateController", controller)
        seen.append(controller)
    return EnterpriseState(tuple(seen), threshold)
