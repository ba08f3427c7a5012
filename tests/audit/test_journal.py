"""The gateway journal's cross-check on a real journal.

A gateway on the embedded chain, with a seeded bureau, serves granted and denied reads through
HTTP (``tests.gateway.reads.conftest.running_gateway``); the auditor replays that chain through
:class:`EmbeddedJsonRpc` with the gateway's database and finds the two in agreement. Copies of the
database, each tampered in one way, must each give the finding that names the tampering, at the
journal entry and, where there is one, the chain's event. The command line is tested through
the same chain behind a local HTTP front.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner, Result
from eth_utils.crypto import keccak

from consentledger.audit.findings import Finding, FindingCode, Severity, Source
from consentledger.audit.journal_check import JournalCheck, JournalDatabase
from consentledger.audit.report import audit_report
from consentledger.audit.runner import Audit, AuditResult
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.bureau.store import BureauStore
from consentledger.categories import Category, Purpose
from consentledger.chain.deploy import Deployment
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc, JsonRpcError
from consentledger.cli import main
from consentledger.client import AccessDeniedError
from tests.audit.conftest import GOLDEN
from tests.harness.gateway import running_gateway

REGISTRATION_AND_STAFF = Category.BUSINESS_REGISTRATION.bit | Category.SOCIAL_INSURANCE.bit
GRANTED = 3
DENIED = 5


@dataclass(frozen=True)
class Served:
    """What the gateway left: its chain, its deployment record, its (closed) database."""

    chain: EmbeddedChain
    deployment: Deployment
    record: Path
    journal: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    tmp = tmp_path_factory.mktemp("journal")
    bureau = f"sqlite:///{tmp / 'bureau.db'}"
    with BureauStore.open(bureau) as store:
        seed_store(store, enterprises=2, progress=False)
    with running_gateway(tmp, bureau) as gateway:
        bank, other = gateway.add_bank("Journal Bank"), gateway.add_bank("Other Bank")
        chip = gateway.register(CHIP_DISTRIBUTOR_USCC)
        consent = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
        once = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF, max_reads=1)
        revoked = gateway.grant_on_chain(chip, bank, REGISTRATION_AND_STAFF)
        gateway.act_on_chain("Revocation", revoked, chip)
        gateway.read(bank, chip, consent, ["business_registration", 2])
        gateway.read(bank, chip, consent, ["social_insurance"])
        gateway.read(bank, chip, once, [1])
        denied = [
            gateway.refused(bank, chip, once, [1]),  # READS_EXHAUSTED
            gateway.refused(bank, chip, consent, ["tax"]),  # CATEGORY_NOT_CONSENTED
            gateway.refused(other, chip, consent, [1]),  # BANK_MISMATCH
            gateway.refused(bank, chip, revoked, [1]),  # REVOKED
            gateway.refused(bank, chip, secrets.token_bytes(32), [1]),  # NO_CONSENT
        ]
        assert all(isinstance(refused, AccessDeniedError) for refused in denied), denied
        chain, deployment = gateway.context.chain, gateway.context.deployment
        assert chain is not None
    record = tmp / "deployment.json"
    deployment.save(record)
    return Served(chain, deployment, record, tmp / "gateway.db")


def _copy(served: Served, directory: Path) -> Path:
    """A consistent copy of the gateway's database (SQLite's backup API)."""
    target = directory / "journal-copy.db"
    source = sqlite3.connect(f"file:{served.journal}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return target


def _audit(served: Served, database: Path, **options: Any) -> AuditResult:
    journal = JournalDatabase(f"sqlite:///{database}")
    window = {k: options.pop(k) for k in ("from_block", "to_block") if k in options}
    try:
        check = JournalCheck(journal, served.deployment.relayers, **options)
        return Audit(
            EmbeddedJsonRpc(served.chain), served.deployment, journal=check, **window
        ).run()
    finally:
        journal.close()


# ---------------------------------------------------------------------------------- clean


def test_the_gateways_journal_agrees_with_the_chain(served: Served) -> None:
    before = hashlib.sha256(served.journal.read_bytes()).hexdigest()
    result = _audit(served, served.journal)
    assert result.findings == []
    assert result.clean
    assert result.journal is not None
    figures = result.journal.figures
    chain = result.replay.history.figures
    assert chain.reads(granted=True) == GRANTED
    assert chain.reads(granted=False) == DENIED
    assert figures.entries == figures.checked == GRANTED + DENIED
    assert figures.releases == figures.releases_matched == figures.chain_releases == GRANTED
    assert figures.denials_matched == figures.chain_denials == DENIED
    assert dict(figures.by_status) == {"granted": GRANTED, "denied": DENIED}
    assert figures.open == figures.open_too_long == figures.chain_denials_not_in_journal == 0
    report = audit_report(result, "-")
    assert report["clean"] is True
    assert report["journal"]["entries_checked"] == GRANTED + DENIED
    assert report["journal"]["releases_matched"] == GRANTED
    assert report["journal"]["findings_by_code"] == {}
    # Read only: the database file is byte for byte what the gateway left.
    assert hashlib.sha256(served.journal.read_bytes()).hexdigest() == before


# ------------------------------------------------------------------------------- tampering


@dataclass(frozen=True)
class Target:
    """The entry a tampering touched and where its event is on the chain (None: nowhere)."""

    entry: int | None
    query_id: int
    where: tuple[int, str, int] | None


Tamper = Callable[[sqlite3.Connection], Target]


def _one(db: sqlite3.Connection, where: str) -> dict[str, Any]:
    """The first journal row matching ``where``, as a dict."""
    db.row_factory = sqlite3.Row
    row = db.execute(f"SELECT * FROM journal WHERE {where} ORDER BY id LIMIT 1").fetchone()  # noqa: S608
    assert row is not None, where
    return dict(row)


def _target(row: dict[str, Any], *, entry: bool = True, on_chain: bool = True) -> Target:
    where = (row["block_number"], row["tx_hash"], row["log_index"]) if on_chain else None
    return Target(row["id"] if entry else None, int(row["query_id"], 16), where)


def _set(db: sqlite3.Connection, row: dict[str, Any], **values: Any) -> None:
    assignments = ", ".join(f"{column} = ?" for column in values)
    db.execute(f"UPDATE journal SET {assignments} WHERE id = ?", [*values.values(), row["id"]])  # noqa: S608


def _granted(db: sqlite3.Connection) -> dict[str, Any]:
    return _one(db, "status = 'granted'")


def _edited(document: bytes) -> bytes:
    data = json.loads(document)
    data["uscc"] = "91440304MA5EU3R884"  # another enterprise's code
    edited: bytes = rfc8785.dumps(data)
    return edited


def row_deleted(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    db.execute("DELETE FROM journal WHERE id = ?", [row["id"]])
    return _target(row, entry=False)


def granted_marked_failed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, status="failed", reason="not sent before restart")
    return _target(row)


def response_edited(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, document=_edited(row["document"]))
    return _target(row)


def salt_changed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, salt=secrets.token_bytes(32))
    return _target(row)


def response_edited_and_rehashed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    document = _edited(row["document"])
    _set(db, row, document=document, response_hash="0x" + keccak(row["salt"] + document).hex())
    return _target(row)


def extra_release(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    highest = max(int(q, 16) for (q,) in db.execute("SELECT query_id FROM journal"))
    extra = {
        **row,
        "idempotency_key": "added-later",
        "request_id": "added-later",
        "query_id": f"0x{highest + 7:064x}",
    }
    del extra["id"]
    columns = ", ".join(extra)
    cursor = db.execute(
        f"INSERT INTO journal ({columns}) VALUES ({', '.join('?' * len(extra))})",  # noqa: S608
        list(extra.values()),
    )
    assert cursor.lastrowid is not None
    return Target(cursor.lastrowid, highest + 7, None)


def denied_flipped_to_granted(db: sqlite3.Connection) -> Target:
    row = _one(db, "status = 'denied'")
    _set(db, row, status="granted", reason=None)
    return _target(row)


def consent_changed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, consent_id="0x" + secrets.token_bytes(32).hex())
    return _target(row)


def bank_changed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    other = _one(db, f"bank_address != '{row['bank_address']}'")
    _set(db, row, bank_address=other["bank_address"])
    return _target(row)


def categories_changed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, categories=row["categories"] | Category.TAX.bit)
    return _target(row)


def purpose_changed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, purpose=int(Purpose.POST_LOAN_MONITORING))
    return _target(row)


def denial_reason_changed(db: sqlite3.Connection) -> Target:
    row = _one(db, "status = 'denied' AND reason = 'REVOKED'")
    _set(db, row, reason="EXPIRED")
    return _target(row)


def denied_marked_failed(db: sqlite3.Connection) -> Target:
    row = _one(db, "status = 'denied'")
    _set(db, row, status="failed", reason="batch replaced")
    return _target(row)


def denial_not_on_chain(db: sqlite3.Connection) -> Target:
    """A denial moved to a query id the chain never recorded (its own AccessDenied is then a
    denial with no entry: a figure, since nothing was released)."""
    row = _one(db, "status = 'denied'")
    highest = max(int(q, 16) for (q,) in db.execute("SELECT query_id FROM journal"))
    _set(db, row, query_id=f"0x{highest + 3:064x}")
    return Target(row["id"], highest + 3, None)


def log_index_moved(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, log_index=row["log_index"] + 1)
    return _target(row)


def tx_hash_changed(db: sqlite3.Connection) -> Target:
    row = _granted(db)
    _set(db, row, tx_hash="0x" + secrets.token_bytes(32).hex())
    return _target(row)


def open_too_long(db: sqlite3.Connection) -> Target:
    row = _one(db, "status = 'denied'")
    _set(db, row, status="batched", reason=None, created_at="2000-01-01 00:00:00.000000")
    return _target(row)


def _rehashed_document(db: sqlite3.Connection, change: Callable[[dict[str, Any]], None]) -> Target:
    """A granted query's released document changed by ``change`` and hashed again with its salt
    (a journal that hides the change from its own hash check)."""
    row = _one(db, "status = 'granted' AND kind = 'query'")
    data = json.loads(row["document"])
    change(data)
    document = rfc8785.dumps(data)
    _set(db, row, document=document, response_hash="0x" + keccak(row["salt"] + document).hex())
    return _target(row)


def document_with_an_extra_category(db: sqlite3.Connection) -> Target:
    return _rehashed_document(
        db, lambda data: data["categories"].update(judicial={"cases": [], "note": "added"})
    )


def document_beyond_the_history_window(db: sqlite3.Connection) -> Target:
    return _rehashed_document(db, lambda data: data.update(history_months=120))


def document_with_months_outside_the_window(db: sqlite3.Connection) -> Target:
    """The document still says its window, but a series carries a point from years before it."""

    def add_old_point(data: dict[str, Any]) -> None:
        series = data["categories"]["social_insurance"]["insured_headcount"]
        year, month = series[0]["month"].split("-")
        series.insert(0, {"month": f"{int(year) - 3}-{month}", "headcount": 7})

    return _rehashed_document(db, add_old_point)


CASES: list[tuple[Tamper, FindingCode, str | None]] = [
    (row_deleted, FindingCode.RELEASE_NOT_IN_JOURNAL, None),
    (granted_marked_failed, FindingCode.RELEASE_NOT_IN_JOURNAL, "status"),
    (response_edited, FindingCode.JOURNAL_RESPONSE_HASH_INVALID, "response_hash"),
    (salt_changed, FindingCode.JOURNAL_RESPONSE_HASH_INVALID, "response_hash"),
    (response_edited_and_rehashed, FindingCode.JOURNAL_RESPONSE_HASH_MISMATCH, "response_hash"),
    (extra_release, FindingCode.JOURNAL_RELEASE_NOT_ON_CHAIN, "status"),
    (denied_flipped_to_granted, FindingCode.JOURNAL_RELEASE_DENIED_ON_CHAIN, "status"),
    (consent_changed, FindingCode.JOURNAL_ENTRY_MISMATCH, "consent_id"),
    (bank_changed, FindingCode.JOURNAL_ENTRY_MISMATCH, "bank"),
    (categories_changed, FindingCode.JOURNAL_ENTRY_MISMATCH, "categories"),
    (purpose_changed, FindingCode.JOURNAL_ENTRY_MISMATCH, "purpose"),
    (denial_reason_changed, FindingCode.JOURNAL_ENTRY_MISMATCH, "reason"),
    (denied_marked_failed, FindingCode.JOURNAL_ENTRY_MISMATCH, "status"),
    (denial_not_on_chain, FindingCode.JOURNAL_ENTRY_MISMATCH, "status"),
    (log_index_moved, FindingCode.JOURNAL_LOCATION_MISMATCH, "log index"),
    (tx_hash_changed, FindingCode.JOURNAL_LOCATION_MISMATCH, "tx"),
    (open_too_long, FindingCode.JOURNAL_OPEN_TOO_LONG, "status"),
    (document_with_an_extra_category, FindingCode.RELEASED_CATEGORY_NOT_RECORDED, "categories"),
    (document_beyond_the_history_window, FindingCode.RELEASED_HISTORY_BEYOND_WINDOW,
     "history_months"),
    (document_with_months_outside_the_window, FindingCode.RELEASED_HISTORY_BEYOND_WINDOW,
     "data_points"),
]  # fmt: skip


#: Tamperings of a released document: also a hash mismatch with the chain.
REHASHED = (
    document_with_an_extra_category,
    document_beyond_the_history_window,
    document_with_months_outside_the_window,
)


def _tampered(served: Served, directory: Path, tamper: Tamper) -> tuple[Path, Target]:
    path = _copy(served, directory)
    db = sqlite3.connect(path)
    try:
        target = tamper(db)
        db.commit()
    finally:
        db.close()
    return path, target


@pytest.mark.parametrize(
    ("tamper", "code", "rule"), CASES, ids=[tamper.__name__ for tamper, _, _ in CASES]
)
def test_each_tampering_is_found_and_named(
    served: Served, tmp_path: Path, tamper: Tamper, code: FindingCode, rule: str | None
) -> None:
    path, target = _tampered(served, tmp_path, tamper)
    result = _audit(served, path)
    assert not result.clean
    findings = list(result.findings)
    if tamper in REHASHED:
        # A document changed after the fact no longer hashes to what the chain recorded either.
        codes = sorted(f.code for f in findings)
        assert codes == sorted([code, FindingCode.JOURNAL_RESPONSE_HASH_MISMATCH]), codes
        findings = [f for f in findings if f.code is code]
    assert len(findings) == 1, [f.to_json() for f in findings]
    finding: Finding = findings[0]
    assert finding.code is code
    assert finding.source is Source.JOURNAL
    assert finding.rule == rule
    assert finding.journal_entry == target.entry
    assert finding.query_id == hex(target.query_id)
    assert finding.expected != finding.observed
    where = finding.location
    if target.where is None:
        assert (where.block_number, where.transaction_hash, where.log_index) == (None, None, None)
    else:
        assert (where.block_number, where.transaction_hash, where.log_index) == target.where
    critical = code in (
        FindingCode.JOURNAL_RELEASE_NOT_ON_CHAIN,
        FindingCode.JOURNAL_RELEASE_DENIED_ON_CHAIN,
        FindingCode.RELEASED_CATEGORY_NOT_RECORDED,
        FindingCode.RELEASED_HISTORY_BEYOND_WINDOW,
    )
    assert (finding.severity is Severity.CRITICAL) == critical
    report = audit_report(result, "-")
    by_code = report["journal"]["findings_by_code"]
    assert by_code[code.value] == 1
    assert sum(by_code.values()) == len(result.findings)
    assert all(f["journal_entry"] == target.entry for f in report["findings"])


# --------------------------------------------------------------------------- open, windows


def test_an_entry_open_within_the_grace_is_a_figure_not_a_finding(
    served: Served, tmp_path: Path
) -> None:
    """A read the chain recorded whose entry is not yet settled (the gateway between the
    receipt and its journal write): open, counted, not a finding."""
    head_time = int(served.chain.tester.get_block_by_number("latest")["timestamp"])

    def in_flight(db: sqlite3.Connection) -> Target:
        row = _granted(db)
        created = f"{datetime.fromtimestamp(head_time - 5, UTC):%Y-%m-%d %H:%M:%S}"
        _set(db, row, status="batched", block_number=None, log_index=None, created_at=created)
        return _target(row)

    path, _target_row = _tampered(served, tmp_path, in_flight)
    result = _audit(served, path)
    assert result.clean, [f.to_json() for f in result.findings]
    assert result.journal is not None
    figures = result.journal.figures
    assert figures.open == 1
    assert figures.releases == figures.releases_matched == GRANTED - 1
    assert figures.chain_releases == GRANTED
    # The same entry with no grace at all is stuck.
    stuck = _audit(served, path, open_grace=0)
    assert [f.code for f in stuck.findings] == [FindingCode.JOURNAL_OPEN_TOO_LONG]


def test_only_the_audited_window_is_checked(served: Served) -> None:
    journal = JournalDatabase(f"sqlite:///{served.journal}")
    try:
        rows = journal.rows()
    finally:
        journal.close()
    blocks = sorted(row.block_number for row in rows if row.block_number is not None)
    middle = blocks[len(blocks) // 2]
    later = _audit(served, served.journal, from_block=middle)
    earlier = _audit(served, served.journal, to_block=middle - 1)
    assert later.clean
    assert earlier.clean
    assert later.journal is not None
    assert earlier.journal is not None
    assert later.journal.figures.before_window == sum(1 for b in blocks if b < middle)
    assert earlier.journal.figures.after_window == sum(1 for b in blocks if b >= middle)
    assert later.journal.figures.checked + earlier.journal.figures.checked == len(rows)


# ------------------------------------------------------------------------------ the command


class _Node(BaseHTTPRequestHandler):
    """The embedded chain's EmbeddedJsonRpc behind HTTP, for the command line."""

    rpc: EmbeddedJsonRpc

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        answer = [self._answer(r) for r in body] if isinstance(body, list) else self._answer(body)
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            reply["result"] = self.rpc.request(request["method"], request.get("params", []))
        except JsonRpcError as error:
            reply["error"] = {"code": error.rpc_code, "message": error.rpc_message}
        return reply

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def node(served: Served) -> Iterator[str]:
    handler = type("Node", (_Node,), {"rpc": EmbeddedJsonRpc(served.chain)})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["audit", *args], env={"COLUMNS": "200"})


def _text(result: Result) -> str:
    return " ".join(result.output.split())


def test_command_clean_journal_exits_0(served: Served, node: str, tmp_path: Path) -> None:
    result = _run(
        *("--rpc", node, "--deployment", str(served.record), "--out", str(tmp_path)),
        *("--journal", f"sqlite:///{served.journal}"),
    )
    assert result.exit_code == 0, result.output
    text = _text(result)
    assert f"journal: {GRANTED + DENIED} entries checked, {GRANTED} of {GRANTED} releases" in text
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["clean"] is True
    journal = report["journal"]
    assert journal["entries_checked"] == GRANTED + DENIED
    assert journal["releases_matched"] == journal["chain_releases"] == GRANTED
    assert journal["relayers"] == list(served.deployment.relayers)
    assert journal["open_grace_seconds"] == 600
    html = (tmp_path / "report.html").read_text()
    assert "Gateway journal" in html
    assert "the gateway's journal agrees with the ledger" in html


def test_command_tampered_journal_exits_1(served: Served, node: str, tmp_path: Path) -> None:
    path, target = _tampered(served, tmp_path, extra_release)
    out = tmp_path / "out"
    result = _run(
        *("--rpc", node, "--deployment", str(served.record), "--out", str(out)),
        *("--journal", f"sqlite:///{path}", "--journal-open-grace", "60"),
    )
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["findings_by_code"] == {"journal_release_not_on_chain": 1}
    assert report["summary"]["findings_by_severity"]["critical"] == 1
    assert report["journal"]["findings_by_code"] == {"journal_release_not_on_chain": 1}
    assert report["journal"]["open_grace_seconds"] == 60
    finding = report["findings"][0]
    assert (finding["source"], finding["journal_entry"]) == ("journal", target.entry)
    html = (out / "report.html").read_text()
    assert "journal_release_not_on_chain" in html
    assert "not on the chain" in html


def _no_table(tmp_path: Path) -> str:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    return f"sqlite:///{path}"


def _not_a_database(tmp_path: Path) -> str:
    path = tmp_path / "notes.db"
    path.write_text("not a database, " * 100)
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (lambda p: f"sqlite:///{p / 'missing.db'}", "no such file"),
        (_not_a_database, "file is not a database"),
        (_no_table, "no such table: journal"),
        (lambda p: "gateway.db", "wants a SQLAlchemy database URL"),
        (lambda p: "nosuchdb://user:hunter2@host/db", "cannot open the gateway journal"),
        (lambda p: "sqlite://", "in-memory database"),
    ],
    ids=["missing_file", "not_a_database", "no_journal_table", "not_a_url", "unknown_dialect",
         "in_memory"],
)  # fmt: skip
def test_command_unreadable_journal_exits_2(
    tmp_path: Path, url: Callable[[Path], str], message: str
) -> None:
    journal_url = url(tmp_path)
    result = _run(
        *("--logs", str(GOLDEN / "ledger.json"), "--deployment", str(GOLDEN / "deployment.json")),
        *("--out", str(tmp_path / "out"), "--journal", journal_url),
    )
    assert result.exit_code == 2, result.output
    text = _text(result)
    assert "journal_unreadable" in text
    assert message in text
    assert "hunter2" not in text
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "missing.db").exists()  # never created
    assert not (tmp_path / "out").exists()  # nothing audited, nothing written


def test_cli_default_open_grace_is_the_journals() -> None:
    from consentledger.audit import cli, journal_check

    assert cli.DEFAULT_OPEN_GRACE == journal_check.DEFAULT_OPEN_GRACE
