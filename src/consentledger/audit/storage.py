"""The events against the contract's own storage: each consent as replayed against ``consent(id)``.

The replay rebuilds every consent from events alone; the contract keeps each consent's terms,
state and read counter in storage. Reading them back with ``eth_call`` at the audited block and
comparing catches what events alone cannot show: a granted read whose DataAccessed is missing
from the logs (the counter is higher than the events say), a log range the node skipped, a
consent whose state moved without an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_utils.address import to_checksum_address

from consentledger.audit.findings import Finding, FindingCode, Location, Source
from consentledger.chain.log_reader import LedgerReader
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import ConsentState, ConsentStatus

#: Consents per batch of eth_call requests.
BATCH = 200

#: (field of the consent view, attribute of the model's consent); status is compared apart.
_FIELDS = (
    ("subject", "subject"),
    ("bank", "bank"),
    ("categories", "categories"),
    ("purpose", "purpose"),
    ("notBefore", "not_before"),
    ("expiresAt", "expires_at"),
    ("maxReads", "max_reads"),
    ("historyMonths", "history_months"),
)


def _shown(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, ConsentStatus):
        return value.name
    return str(value)


def check_consent_storage(
    reader: LedgerReader,
    model: LedgerModel,
    consent_ids: Iterable[bytes],
    block: int,
) -> list[Finding]:
    """Findings for every consent whose storage at ``block`` differs from the replayed model."""
    header = reader.block(block)
    location = Location(block_number=block, timestamp=header.timestamp)
    ids = sorted(set(consent_ids))
    findings: list[Finding] = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        views = reader.consent_views(chunk, block)
        for consent_id in chunk:
            consent = model.consents.get(consent_id)
            if consent is None:
                continue
            findings.extend(_compare(consent, views[consent_id], header.timestamp, location))
    return findings


def _compare(
    consent: ConsentState, view: tuple[Any, ...], timestamp: int, location: Location
) -> list[Finding]:
    (status, subject, bank, categories, purpose, not_before, expires_at) = view[:7]
    max_reads, reads_used, history_months = view[7:10]
    stored = {
        "subject": bytes(subject),
        "bank": to_checksum_address(bank),
        "categories": int(categories),
        "purpose": int(purpose),
        "notBefore": int(not_before),
        "expiresAt": int(expires_at),
        "maxReads": int(max_reads),
        "historyMonths": int(history_months),
    }
    about: dict[str, Any] = {
        "consent_id": "0x" + consent.consent_id.hex(),
        "subject": "0x" + consent.subject.hex(),
    }
    findings: list[Finding] = []
    if int(reads_used) != consent.reads_used:
        findings.append(
            Finding(
                code=FindingCode.READ_COUNT_MISMATCH,
                message=f"the contract counted {reads_used} granted reads of the consent, "
                f"its DataAccessed events {consent.reads_used}",
                expected=f"readsUsed {consent.reads_used} (DataAccessed events replayed)",
                observed=f"readsUsed {reads_used} (contract storage)",
                location=location,
                source=Source.STORAGE,
                **about,
            )
        )
    mismatches = [
        (name, getattr(consent, attribute), stored[name])
        for name, attribute in _FIELDS
        if getattr(consent, attribute) != stored[name]
    ]
    expected_status = consent.status(timestamp)
    if int(status) != int(expected_status):
        mismatches.append(("status", expected_status, ConsentStatus(int(status))))
    for name, replayed, in_storage in mismatches:
        findings.append(
            Finding(
                code=FindingCode.CONSENT_STATE_MISMATCH,
                message=f"the consent's {name} in storage differs from its replayed events",
                expected=f"{name} {_shown(replayed)} (events replayed)",
                observed=f"{name} {_shown(in_storage)} (contract storage)",
                location=location,
                source=Source.STORAGE,
                **about,
            )
        )
    return findings
