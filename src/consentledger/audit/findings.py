"""What the auditor reports: findings, each a typed mismatch between what the rules expect and what
the chain shows, with where it shows it.

A finding names its ``source`` (what was checked: the ledger's events, the contract's storage, the
gateway's journal), so each check adds its own codes and source without changing how findings are
collected, sorted, counted or reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FindingCode(StrEnum):
    """Every kind of finding, with a stable code reports and tools rely on."""

    #: A DataAccessed the rules deny: data was released without a valid consent.
    UNCONSENTED_RELEASE = "unconsented_release"
    #: A DataAccessed whose bank did not sign the request as recorded: no signature in the
    #: transaction's input, one that recovers to another key or over other fields, or a deadline
    #: the ledger should have refused.
    READ_REQUEST_FORGED = "read_request_forged"
    #: A second DataAccessed for a bank's request id already recorded as a granted read.
    READ_REQUEST_REPLAYED = "read_request_replayed"
    #: A ConsentGranted whose terms break a grant-time rule (purpose caps, bank, categories ...).
    GRANT_BREAKS_RULES = "grant_breaks_rules"
    #: An AccessDenied whose reason is not the one the rules give.
    WRONG_DENIAL_REASON = "wrong_denial_reason"
    #: An AccessDenied for a read the rules grant.
    UNEXPECTED_DENIAL = "unexpected_denial"
    #: An event the contract cannot emit in the state the ledger was in (wrong order, unknown
    #: consent, unauthorised caller, repeated query id, ...).
    IMPOSSIBLE_EVENT = "impossible_event"
    #: A log from the ledger's address whose topic is none of its events.
    UNKNOWN_EVENT = "unknown_event"
    #: A log of one of the ledger's events that does not decode.
    MALFORMED_LOG = "malformed_log"
    #: A consent's read counter in the contract's storage differs from the reads its events show.
    READ_COUNT_MISMATCH = "read_count_mismatch"
    #: Another field of a consent in storage (status, terms) differs from its replayed events.
    CONSENT_STATE_MISMATCH = "consent_state_mismatch"

    #: A dispute the bureau answered after its 20 days (征信业管理条例 art. 25).
    DISPUTE_ANSWERED_LATE = "dispute_answered_late"
    #: A dispute not answered within its 20 days, as of the audit's last block.
    DISPUTE_NOT_ANSWERED = "dispute_not_answered"

    # The gateway journal's cross-check (source ``journal``).
    #: A release in the journal (status granted) whose query id the chain never recorded.
    JOURNAL_RELEASE_NOT_ON_CHAIN = "journal_release_not_on_chain"
    #: A release in the journal for a read the chain denied (AccessDenied).
    JOURNAL_RELEASE_DENIED_ON_CHAIN = "journal_release_denied_on_chain"
    #: A DataAccessed of the bureau's relayer with no release in the journal (no entry, or an entry
    #: that is not granted).
    RELEASE_NOT_IN_JOURNAL = "release_not_in_journal"
    #: A journal entry whose response hash is not keccak256(salt || document).
    JOURNAL_RESPONSE_HASH_INVALID = "journal_response_hash_invalid"
    #: A journal release whose response hash is not the chain's DataAccessed responseHash.
    JOURNAL_RESPONSE_HASH_MISMATCH = "journal_response_hash_mismatch"
    #: A journal entry whose consent, bank, categories, purpose, denial reason or outcome differ
    #: from the chain's event for its query id.
    JOURNAL_ENTRY_MISMATCH = "journal_entry_mismatch"
    #: A journal entry whose transaction, block or log index is not where its event is.
    JOURNAL_LOCATION_MISMATCH = "journal_location_mismatch"
    #: A released document with a category section the chain did not record for its read.
    RELEASED_CATEGORY_NOT_RECORDED = "released_category_not_recorded"
    #: A released document cut to a longer history window than its consent (or the bank's signed
    #: request) allows.
    RELEASED_HISTORY_BEYOND_WINDOW = "released_history_beyond_window"
    #: A journal entry still pending or batched long after the chain moved on.
    JOURNAL_OPEN_TOO_LONG = "journal_open_too_long"
    #: A signed revocation the gateway received (journaled) that the chain did not show revoked
    #: within the grace.
    REVOCATION_NOT_RELAYED = "revocation_not_relayed"


class Severity(StrEnum):
    """How bad a finding is. Every finding makes the audit fail (exit code 1)."""

    #: Consent was broken: data released, or a consent granted, against the rules (or released
    #: without the chain's record of a granted read).
    CRITICAL = "critical"
    #: The ledger disagrees with the rules or with itself.
    ERROR = "error"


_CRITICAL = {
    FindingCode.UNCONSENTED_RELEASE,
    FindingCode.READ_REQUEST_FORGED,
    FindingCode.READ_REQUEST_REPLAYED,
    FindingCode.GRANT_BREAKS_RULES,
    FindingCode.JOURNAL_RELEASE_NOT_ON_CHAIN,
    FindingCode.JOURNAL_RELEASE_DENIED_ON_CHAIN,
    FindingCode.RELEASED_CATEGORY_NOT_RECORDED,
    FindingCode.RELEASED_HISTORY_BEYOND_WINDOW,
}


class Source(StrEnum):
    """What a finding was found in."""

    LEDGER = "ledger"  # the ledger's events, replayed
    STORAGE = "storage"  # the contract's storage, read with eth_call
    JOURNAL = "journal"  # the gateway's journal, against the ledger's read events


@dataclass(frozen=True, slots=True)
class Location:
    """Where on the chain a finding is: a log (block, transaction, log index) or a block."""

    block_number: int | None = None
    transaction_hash: str | None = None
    log_index: int | None = None
    timestamp: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "block_number": self.block_number,
            "transaction_hash": self.transaction_hash,
            "log_index": self.log_index,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One mismatch: what the rules (or the other record) expected, and what was observed."""

    code: FindingCode
    message: str
    expected: str
    observed: str
    location: Location
    source: Source = Source.LEDGER
    event: str | None = None
    #: The denial reason or contract error the rules name; for the journal, the field compared.
    rule: str | None = None
    consent_id: str | None = None
    subject: str | None = None
    bank: str | None = None
    query_id: str | None = None  # hex: query ids exceed what JSON numbers hold exactly
    journal_entry: int | None = None  # the journal row's id (the journal's findings)

    @property
    def severity(self) -> Severity:
        return Severity.CRITICAL if self.code in _CRITICAL else Severity.ERROR

    def sort_key(self) -> tuple[int, int, str, str, str]:
        """Chain order, then code, then the subject of the finding."""
        return (
            self.location.block_number if self.location.block_number is not None else -1,
            self.location.log_index if self.location.log_index is not None else -1,
            self.code.value,
            self.consent_id or "",
            self.message,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "source": self.source.value,
            "message": self.message,
            "expected": self.expected,
            "observed": self.observed,
            "rule": self.rule,
            "event": self.event,
            "location": self.location.to_json(),
            "consent_id": self.consent_id,
            "subject": self.subject,
            "bank": self.bank,
            "query_id": self.query_id,
            "journal_entry": self.journal_entry,
        }
