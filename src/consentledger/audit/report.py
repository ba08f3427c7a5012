"""The reports as data: ``report.json`` for machines, and an enterprise's portability report.

Both are plain JSON-ready dicts, deterministic for a given ledger and window: lists are sorted,
times are block times, and the one wall-clock value is ``generated_at``, which comparisons leave
out. Query ids, ids and hashes are hex strings (query ids exceed what a JSON number holds). A
``journal`` section is there only when the audit cross-checked a gateway journal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from consentledger.audit.findings import Severity
from consentledger.audit.history import (
    ConsentLife,
    StatusChange,
    category_codes,
    iso_time,
)
from consentledger.audit.replay import hex0x
from consentledger.audit.runner import AuditResult
from consentledger.ledger.types import ROLE_BANK, ConsentStatus, DenialReason

REPORT_FORMAT = "consentledger-audit-report/1"
PORTABILITY_FORMAT = "consentledger-portability-report/2"
#: Where the gateway serves the enterprise's dashboard.
DASHBOARD_PATH = "/dashboard"


@dataclass(frozen=True, slots=True)
class ReportNames:
    """What the chain does not say, for an enterprise's portability report: who the enterprise
    is (its USCC, and its registered name where the bureau's data was given), the banks' legal
    names (from the gateway's database, where given), and where its dashboard is."""

    uscc: str | None = None
    enterprise_name: str | None = None
    banks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    gateway_url: str | None = None

    @property
    def dashboard(self) -> str:
        base = (self.gateway_url or "").rstrip("/")
        return f"{base}{DASHBOARD_PATH}"


def withdrawal_in_words(dashboard: str) -> str:
    """How an enterprise withdraws a consent, in words."""
    return (
        "You can withdraw this consent at any time, without giving a reason. Sign in to your "
        f"enterprise dashboard ({dashboard}) with a controller's wallet, open the consent and "
        "choose Revoke; the wallet asks each controller whose signature is needed (as many as "
        "granting the consent needed) to sign the revocation. The bureau records it on the "
        "ledger at no cost to you. From the next block on, the bank's reads under this consent "
        "are refused, and each refusal is recorded too. Revoking is final: to share data with "
        "the bank again, grant a new consent. To stop the bank's reads for a while instead, "
        "choose Pause, and Resume later."
    )


def _category(result: AuditResult, code: int) -> dict[str, Any]:
    name = result.replay.history.category_names.get(code, f"category {code}")
    return {"code": code, "name": name}


def _purpose(result: AuditResult, code: int) -> dict[str, Any]:
    name = result.replay.history.purpose_names.get(code, f"purpose {code}")
    return {"code": code, "name": name}


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    return {key: counter[key] for key in sorted(counter)}


def audit_report(
    result: AuditResult, generated_at: str, evidence: dict[str, str] | None = None
) -> dict[str, Any]:
    """The machine-readable audit report (``evidence``: the recorded ledger it was made from,
    by its SHA-256)."""
    replay = result.replay
    figures = replay.history.figures
    model = replay.model
    findings = result.findings
    end = result.window_last_timestamp
    statuses = Counter(model.consent_status(c, end).name for c in model.consents)
    deployment = result.deployment
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "generated_at": generated_at,
        "clean": result.clean,
        "deployment": {
            "chain_id": deployment.chain_id,
            "address": deployment.address,
            "deploy_block": deployment.deploy_block,
            "deploy_tx": deployment.deploy_tx,
            "artifact_hash": deployment.artifact_hash,
            "regulator": deployment.regulator,
        },
        "window": {
            "first_block": result.window_first,
            "last_block": result.window_last,
            "last_block_time": iso_time(end),
            "replayed_from_block": deployment.deploy_block,
        },
        "summary": {
            "events": sum(figures.events.values()),
            "events_by_name": _sorted_counts(figures.events),
            "logs_ignored": result.ignored_logs,
            "reads": figures.reads(),
            "reads_granted": figures.reads(granted=True),
            "reads_denied": figures.reads(granted=False),
            "consents_granted": figures.consents_granted,
            "consents_by_status": _sorted_counts(statuses),
            "enterprises": len(model.enterprises),
            "banks": len(model.roles.get(ROLE_BANK, set())),
            "banks_suspended": sum(1 for b in model.banks.values() if b.suspended),
            "exports": figures.exports,
            "findings": len(findings),
            "findings_by_code": _sorted_counts(Counter(f.code.value for f in findings)),
            "findings_by_severity": {
                s.value: sum(1 for f in findings if f.severity is s) for s in Severity
            },
        },
        "findings": [f.to_json() for f in findings],
        "reads_by_bank": [
            {
                "bank": bank,
                "granted": figures.reads_by_bank[(bank, True)],
                "denied": figures.reads_by_bank[(bank, False)],
            }
            for bank in sorted({bank for bank, _ in figures.reads_by_bank})
        ],
        "reads_by_category": [
            {
                **_category(result, code),
                "granted": figures.reads_by_category[(code, True)],
                "denied": figures.reads_by_category[(code, False)],
            }
            for code in sorted({code for code, _ in figures.reads_by_category})
        ],
        "denials_by_reason": [
            {"code": int(r), "reason": r.name, "count": figures.denials_by_reason[r.name]}
            for r in DenialReason
            if r is not DenialReason.NONE
        ],
        "reads_by_day": _reads_by_day(result),
    }
    if result.journal is not None:
        report["journal"] = result.journal.to_json()
    if evidence is not None:
        report["evidence"] = evidence
    return report


def _reads_by_day(result: AuditResult) -> list[dict[str, Any]]:
    """Reads per UTC day, every day from the first read's to the last read's."""
    by_day = result.replay.history.figures.reads_by_day
    days = sorted({day for day, _ in by_day})
    if not days:
        return []
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    out: list[dict[str, Any]] = []
    current = first
    while current <= last:
        key = current.isoformat()
        out.append({"day": key, "granted": by_day[(key, True)], "denied": by_day[(key, False)]})
        current += timedelta(days=1)
    return out


# ---------------------------------------------------------------------------- portability


def _where(location: Any) -> dict[str, Any]:
    return {
        "time": iso_time(location.timestamp),
        "block": location.block_number,
        "transaction_hash": location.transaction_hash,
        "log_index": location.log_index,
    }


def _status_history(life: ConsentLife, end: int) -> list[StatusChange]:
    """The recorded changes, with EXPIRED at ``expiresAt`` when it came before a revocation and
    before the end of the audited window."""
    changes = list(life.changes)
    revoked_before_expiry = any(
        c.status == "REVOKED" and c.timestamp < life.consent.expires_at for c in changes
    )
    if life.consent.expires_at <= end and not revoked_before_expiry:
        changes.append(StatusChange("EXPIRED", life.consent.expires_at, None, None))
    return sorted(changes, key=lambda c: (c.timestamp, c.location is None))


def _bank(names: ReportNames, address: str) -> dict[str, Any]:
    """A bank by its address and, where known, its legal names."""
    known = names.banks.get(address)
    return {
        "address": address,
        "name_zh": known["name_zh"] if known else None,
        "name_en": known["name_en"] if known else None,
        "licence_number": known["licence_number"] if known else None,
    }


def _consent_record(result: AuditResult, life: ConsentLife, names: ReportNames) -> dict[str, Any]:
    end = result.window_last_timestamp
    terms = life.consent
    deployment = result.deployment
    model_consent = result.replay.model.consents.get(terms.consent_id)
    status = (
        model_consent.status(end).name if model_consent is not None else ConsentStatus.NONE.name
    )
    return {
        "record_id": hex0x(terms.consent_id),
        "schema": "ISO/IEC TS 27560 consent record (ConsentLedger profile)",
        "data_subject": {"subject_id": hex0x(terms.subject)},
        "recipient": {"role": "bank", **_bank(names, terms.bank)},
        "purpose": {**_purpose(result, terms.purpose), "legal_basis": "consent"},
        "data_categories": [_category(result, code) for code in category_codes(terms.categories)],
        "period": {
            "not_before": iso_time(terms.not_before),
            "expires_at": iso_time(terms.expires_at),
            "history_months": terms.history_months,
        },
        "max_reads": terms.max_reads,
        "reads_used": model_consent.reads_used if model_consent is not None else 0,
        "receipt_hash": hex0x(terms.receipt_hash),
        "granted": _where(life.granted),
        "status": status,
        "status_history": [
            {
                "status": change.status,
                "event": change.event,
                **(
                    _where(change.location)
                    if change.location is not None
                    else {"time": iso_time(change.timestamp), "derived": "block time >= expiresAt"}
                ),
            }
            for change in _status_history(life, end)
        ],
        "withdrawal": {
            "how": withdrawal_in_words(names.dashboard),
            "dashboard": names.dashboard,
            "api": f"POST /v1/consents/{hex0x(terms.consent_id)}/revoke (the gateway drafts "
            "what to sign: POST .../actions/draft)",
            "chain_id": deployment.chain_id,
            "contract": deployment.address,
        },
    }


def portability_report(
    result: AuditResult, subject: bytes, generated_at: str, names: ReportNames | None = None
) -> dict[str, Any]:
    """One enterprise's view of the ledger: who it is, its consents, every read of its data
    (each bank named where ``names`` knows it), its exports, and how to withdraw."""
    names = names or ReportNames()
    history = result.replay.history
    model = result.replay.model
    enterprise = model.enterprises.get(subject)
    lives = sorted(
        (life for life in history.consents.values() if life.consent.subject == subject),
        key=lambda life: (life.granted.block_number or 0, life.granted.log_index or 0),
    )
    reads = [
        {
            "query_id": hex(read.query_id),
            **_where(read.location),
            "bank": read.bank,
            "bank_name": _bank(names, read.bank)["name_en"],
            "bank_name_zh": _bank(names, read.bank)["name_zh"],
            "consent_id": hex0x(read.consent_id),
            "purpose": _purpose(result, read.purpose),
            "categories": [_category(result, code) for code in category_codes(read.categories)],
            "outcome": "granted" if read.granted else "denied",
            "reason": None if read.granted else read.reason.name,
            "response_hash": hex0x(read.response_hash) if read.response_hash else None,
            "request_id": str(read.request_id),
            "bank_signed": read.bank_signed,
        }
        for read in history.subject_reads
    ]
    exports = [
        {
            **_where(export.location),
            "categories": [_category(result, code) for code in category_codes(export.categories)],
            "export_hash": hex0x(export.export_hash),
        }
        for export in history.subject_exports
    ]
    return {
        "format": PORTABILITY_FORMAT,
        "generated_at": generated_at,
        "data_subject": {
            "uscc": names.uscc,
            "name": names.enterprise_name,
            "subject_id": hex0x(subject),
            "identifier": "HMAC-SHA256 of the enterprise's USCC under the bureau's subject key",
            "registered": enterprise is not None,
            "controllers": list(enterprise.controllers) if enterprise is not None else [],
            "threshold": enterprise.threshold if enterprise is not None else 0,
        },
        "ledger": {
            "chain_id": result.deployment.chain_id,
            "contract": result.deployment.address,
            "through_block": result.window_last,
            "through_time": iso_time(result.window_last_timestamp),
        },
        "summary": {
            "consents": len(lives),
            "reads_granted": sum(1 for r in history.subject_reads if r.granted),
            "reads_denied": sum(1 for r in history.subject_reads if not r.granted),
            "banks": [
                _bank(names, address)
                for address in sorted(
                    {r.bank for r in history.subject_reads} | {c.consent.bank for c in lives}
                )
            ],
            "exports": len(exports),
        },
        "dashboard": names.dashboard,
        "consent_records": [_consent_record(result, life, names) for life in lives],
        "reads": reads,
        "exports": exports,
    }


def reads_chart_days(report: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(day, granted, denied) per day of a report, for the chart."""
    return [(d["day"], d["granted"], d["denied"]) for d in report["reads_by_day"]]
