"""What the replay saw, kept for the reports: every consent's life, the figures of the audited
window, and (for one enterprise's portability report) each of its reads and exports.

Figures are counted only for events in the audited window; consents' lives and the one subject's
reads and exports are kept from the deployment on, because an enterprise's portability report
shows its whole history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from consentledger.audit.findings import Location
from consentledger.ledger.types import ConsentState, DenialReason


def day_of(timestamp: int) -> str:
    """The UTC calendar day of a block timestamp, ``YYYY-MM-DD``."""
    return _day(timestamp // _SECONDS_PER_DAY)


_SECONDS_PER_DAY = 86_400


@lru_cache(maxsize=4096)
def _day(days: int) -> str:
    """The day ``days`` days after 1970-01-01 (UTC days are 86,400 s in POSIX time), cached:
    the replay asks once per read, and a ledger's reads fall on few days."""
    return datetime.fromtimestamp(days * _SECONDS_PER_DAY, UTC).date().isoformat()


def iso_time(timestamp: int) -> str:
    """A block timestamp as ISO 8601 UTC."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def category_codes(mask: int) -> list[int]:
    """The category codes set in a mask, ascending."""
    return list(_codes(mask))


@lru_cache(maxsize=4096)
def _codes(mask: int) -> tuple[int, ...]:
    """:func:`category_codes` as a tuple, cached (a ledger uses few masks)."""
    return tuple(code for code in range(mask.bit_length()) if mask >> code & 1)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One step of a consent's life as the chain recorded it."""

    status: str  # ACTIVE, PAUSED, REVOKED, EXPIRED (EXPIRED: at expiresAt, derived from time)
    timestamp: int
    location: Location | None  # None for EXPIRED, which no event records
    event: str | None


@dataclass(slots=True)
class ConsentLife:
    """A consent as granted, and every change of its status."""

    #: The consent as its ``ConsentGranted`` event states it (never changed afterwards: the
    #: model keeps its own copy, whose status and reads move).
    consent: ConsentState
    granted: Location
    changes: list[StatusChange] = field(default_factory=list)
    reads_granted: int = 0
    reads_denied: int = 0


@dataclass(frozen=True, slots=True)
class ReadRecord:
    """One recorded read of the portability subject's data, granted or denied."""

    query_id: int
    consent_id: bytes
    bank: str
    categories: int
    purpose: int
    granted: bool
    reason: DenialReason
    response_hash: bytes | None
    location: Location
    #: The bank's own id of the request (from the transaction's input).
    request_id: int = 0
    #: Whether the request's signature recovers to the bank's read signer at the time.
    bank_signed: bool = False


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One PortabilityExported of the portability subject."""

    categories: int
    export_hash: bytes
    location: Location


@dataclass(slots=True)
class WindowFigures:
    """Counts over the events of the audited window."""

    events: Counter[str] = field(default_factory=Counter)
    reads_by_bank: Counter[tuple[str, bool]] = field(default_factory=Counter)
    reads_by_category: Counter[tuple[int, bool]] = field(default_factory=Counter)
    reads_by_day: Counter[tuple[str, bool]] = field(default_factory=Counter)
    denials_by_reason: Counter[str] = field(default_factory=Counter)
    consents_granted: int = 0
    exports: int = 0

    def reads(self, granted: bool | None = None) -> int:
        return sum(n for (_, g), n in self.reads_by_bank.items() if granted is None or g == granted)


@dataclass(slots=True)
class LedgerHistory:
    """Consents, figures and the portability subject's records."""

    subject: bytes | None = None
    consents: dict[bytes, ConsentLife] = field(default_factory=dict)
    category_names: dict[int, str] = field(default_factory=dict)
    purpose_names: dict[int, str] = field(default_factory=dict)
    figures: WindowFigures = field(default_factory=WindowFigures)
    subject_reads: list[ReadRecord] = field(default_factory=list)
    subject_exports: list[ExportRecord] = field(default_factory=list)

    def count_event(self, name: str) -> None:
        self.figures.events[name] += 1

    def count_read(
        self, bank: str, categories: int, granted: bool, reason: DenialReason, timestamp: int
    ) -> None:
        figures = self.figures
        figures.reads_by_bank[(bank, granted)] += 1
        for code in _codes(categories):
            figures.reads_by_category[(code, granted)] += 1
        figures.reads_by_day[(day_of(timestamp), granted)] += 1
        if not granted:
            figures.denials_by_reason[reason.name] += 1
