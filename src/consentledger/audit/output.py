"""Writing the reports: JSON for machines, HTML (Jinja2, inline CSS and SVG) for people.

Every file is written atomically (a temporary file renamed over the old one), so a reader, or a
report rewritten while following the chain, never sees half a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from consentledger.audit.chart import reads_per_day_svg
from consentledger.audit.report import (
    ReportNames,
    audit_report,
    portability_report,
    reads_chart_days,
)
from consentledger.audit.runner import AuditResult
from consentledger.errors import ConsentLedgerError
from consentledger.files import write_atomically


class ReportWriteError(ConsentLedgerError, OSError):
    """A report could not be written."""

    code = "report_not_written"


@dataclass(frozen=True, slots=True)
class WrittenReports:
    """The files one write produced."""

    report_json: Path
    report_html: Path
    portability_json: Path | None = None
    portability_html: Path | None = None


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("consentledger.audit", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _version() -> str:
    try:
        return version("consentledger")
    except PackageNotFoundError:
        return "unknown"


def now_iso() -> str:
    """The wall-clock time, for ``generated_at`` only."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def to_json_text(document: dict[str, Any]) -> str:
    """The canonical text of a report: sorted keys, two-space indent, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write(path: Path, text: str) -> None:
    try:
        write_atomically(path, text, durable=False)
    except OSError as exc:
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_reports(
    result: AuditResult,
    out_dir: Path,
    *,
    subject: bytes | None = None,
    generated_at: str | None = None,
    names: ReportNames | None = None,
    evidence: dict[str, str] | None = None,
) -> WrittenReports:
    """Write ``report.json`` and ``report.html`` (and, for ``subject``, its portability report)
    into ``out_dir``; ``evidence`` names the recorded ledger audited."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    stamp = generated_at or now_iso()
    env = _environment()
    report = audit_report(result, stamp, evidence)
    written = WrittenReports(out_dir / "report.json", out_dir / "report.html")
    _write(written.report_json, to_json_text(report))
    html = env.get_template("report.html.j2").render(
        r=report,
        chart=reads_per_day_svg(reads_chart_days(report)),
        generated_at=stamp,
        version=_version(),
    )
    _write(written.report_html, html)
    if subject is None:
        return written
    portability = portability_report(result, subject, stamp, names)
    stem = f"portability-0x{subject.hex()}"
    json_path, html_path = out_dir / f"{stem}.json", out_dir / f"{stem}.html"
    _write(json_path, to_json_text(portability))
    _write(
        html_path,
        env.get_template("portability.html.j2").render(
            p=portability, generated_at=stamp, version=_version()
        ),
    )
    return WrittenReports(written.report_json, written.report_html, json_path, html_path)
