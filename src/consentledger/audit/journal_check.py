"""The gateway journal's cross-check: the journal's reads against the ledger's, both ways.

The gateway journals every bank read before it goes to the chain and resolves it from the chain's
event (:class:`consentledger.journal.schema.JournalEntry`). The auditor opens that database to read
it, never to write it, and checks every entry in the audited window:

- its response hash is keccak256(salt || document), so the journal still holds what it released
  (while it holds the document: the gateway deletes it after its delivery window and keeps the
  salt and hash, so an entry past the window is checked against the chain without it);
- a release (status granted) has the chain's ``DataAccessed`` for its query id, with the same
  consent, bank, categories, purpose and response hash, at the transaction, block and log index
  the entry names; a release the chain denied, or never recorded, is critical;
- a denial has the chain's ``AccessDenied`` for its query id, with the same terms and reason;
- a failed entry (never recorded) has no event on the chain;

and, the other way, that every ``DataAccessed`` of the bureau's relayers (the deployment record's;
a query id carries its relayer's address in its top 160 bits) has a release in the journal.

Entries still pending or batched are *open*: a figure in the report, not a finding, unless they
were created more than ``open_grace`` seconds before the block time of the audited head (the
gateway settles a read within seconds, and a restart settles what a crash left open; an entry
open for longer is stuck). The chain's clock, not the auditor's, decides, so an idle chain or an
audit that stops at an old ``--to-block`` never makes a fresh entry look stale.

An entry whose event is in a block before the audited window is not checked; one that names a
block beyond the audited head (the gateway kept serving while the chain was read) is counted and
left for the next audit. For every finding, "expected" is what the chain (or, for the response
hash, the entry's own salt and document) says and "observed" what the journal says.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from consentledger.audit.findings import Finding, FindingCode, Location, Source
from consentledger.audit.history import category_codes
from consentledger.audit.replay import hex0x
from consentledger.bureau.history import points_outside_window
from consentledger.categories import Category
from consentledger.chain.log_reader import LedgerEvent, LedgerItem
from consentledger.errors import ConsentLedgerError
from consentledger.journal.schema import Bank, JournalEntry, ReadStatus
from consentledger.ledger.types import RecordedAccess, query_id_relayer, unpack_request

#: Seconds an entry may stay pending or batched, measured against the audited head's block time,
#: before it is a finding (``--journal-open-grace``).
DEFAULT_OPEN_GRACE = 600

_OPEN = (ReadStatus.PENDING.value, ReadStatus.BATCHED.value)
_QUERY_ID = re.compile(r"^0x[0-9a-fA-F]{1,64}$")


class JournalUnreadableError(ConsentLedgerError, OSError):
    """The gateway database cannot be opened or its journal cannot be read."""

    code = "journal_unreadable"


def shown_url(url: str) -> str:
    """``url`` as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


# ------------------------------------------------------------------------------ the database


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One journal entry as the cross-check needs it (the document only as its recomputed
    hash)."""

    id: int
    status: str
    bank: str
    subject: str
    consent_id: str
    categories: int
    purpose: int
    response_hash: str
    #: keccak256(salt || document) of the stored salt and document, 0x-hex; None once the
    #: gateway deleted the document after its delivery window (the salt and hash stay).
    recomputed_hash: str | None
    query_id: str | None
    reason: str | None
    tx_hash: str | None
    block_number: int | None
    log_index: int | None
    created_at: datetime | None
    #: What a released query document says it holds: its category sections and its history
    #: window (None: not a query document, e.g. a size class, or not a document at all).
    released: ReleasedDocument | None = None


@dataclass(frozen=True, slots=True)
class ReleasedDocument:
    """The parts of a released bureau document (``BureauStore.fetch``) the auditor checks
    against the chain: the category sections it holds and the history window it was cut to."""

    categories: tuple[str, ...]
    history_months: int
    #: The data points the document holds that its own window (``history_months`` as of its
    #: ``as_of`` date, by the bureau's rule) does not show, as ``section.series period``.
    outside_window: tuple[str, ...] = ()

    @classmethod
    def of(cls, kind: str, document: bytes) -> ReleasedDocument | None:
        if kind != "query" or not document:
            return None
        try:
            loaded = json.loads(document)
            sections = loaded["categories"]
            months = int(loaded["history_months"])
            as_of = date.fromisoformat(loaded["as_of"])
        except (ValueError, TypeError, KeyError):
            return None
        try:
            outside = tuple(str(p) for p in points_outside_window(sections, as_of, months))
        except (ValueError, TypeError):
            outside = ("a series whose periods cannot be read",)
        return cls(tuple(sorted(sections)), months, outside)


class JournalDatabase:
    """A gateway database, opened to read its journal only.

    SQLite files are opened in SQLite's read-only mode with ``PRAGMA query_only`` (a missing file
    is an error, never created); any other database is only ever sent ``SELECT`` statements, in
    transactions that are rolled back. Opening reads the journal's size once, so a URL that does
    not lead to a journal fails before the chain is read.
    """

    def __init__(self, url: str) -> None:
        self.shown = shown_url(url)
        self._engine = _read_only_engine(url, self.shown)
        self.count()

    def count(self) -> int:
        """How many entries the journal holds."""
        with self._reading() as connection:
            return int(connection.execute(select(func.count()).select_from(_TABLE)).scalar() or 0)

    def rows(self) -> list[JournalRow]:
        """Every entry, by id."""
        columns = [_TABLE.c[name] for name in _COLUMNS]
        with self._reading() as connection:
            result = connection.execution_options(yield_per=1000).execute(
                select(*columns).order_by(_TABLE.c.id)
            )
            return [_row(self.shown, dict(zip(_COLUMNS, values, strict=True))) for values in result]

    def bank_names(self) -> dict[str, dict[str, str]]:
        """The legal names of the banks the gateway serves, by address (``name_zh``,
        ``name_en``, ``licence_number``); empty for a database from before legal names."""
        columns = (Bank.address, Bank.name, Bank.name_zh, Bank.licence_number)
        try:
            with self._reading() as connection:
                rows = connection.execute(select(*columns).where(Bank.name_zh.is_not(None))).all()
        except JournalUnreadableError:  # no legal-name columns yet: banks go by address
            return {}
        return {
            str(address): {
                "name_zh": str(name_zh),
                "name_en": str(name),
                "licence_number": str(licence or ""),
            }
            for address, name, name_zh, licence in rows
        }

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection whose transaction is rolled back at the end; a database error is
        :class:`JournalUnreadableError`."""
        try:
            with self._engine.connect() as connection:
                try:
                    yield connection
                finally:
                    connection.rollback()
        except SQLAlchemyError as exc:
            raise _unreadable(self.shown, exc) from exc


_TABLE = JournalEntry.__table__
_COLUMNS = (
    "id",
    "status",
    "bank_address",
    "subject",
    "consent_id",
    "categories",
    "purpose",
    "document",
    "salt",
    "response_hash",
    "query_id",
    "reason",
    "tx_hash",
    "block_number",
    "log_index",
    "created_at",
    "kind",
)


def _unreadable(shown: str, exc: BaseException) -> JournalUnreadableError:
    reason = getattr(exc, "orig", None) or exc
    return JournalUnreadableError(f"cannot read the gateway journal at {shown}: {reason}")


def _read_only_engine(url: str, shown: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise JournalUnreadableError(
            "--journal wants a SQLAlchemy database URL, such as sqlite:///gateway.db or "
            "postgresql://user@host/gateway"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        parsed = _sqlite_read_only(parsed, shown)
    try:
        engine = create_engine(parsed)
    except (SQLAlchemyError, ImportError) as exc:
        raise JournalUnreadableError(f"cannot open the gateway journal at {shown}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _query_only)
    return engine


def _sqlite_read_only(url: URL, shown: str) -> URL:
    """The URL of the same SQLite database in read-only mode (a missing file is an error)."""
    if str(url.query.get("uri", "")).lower() in ("true", "1"):
        return url.update_query_dict({"mode": "ro"})
    database = url.database or ""
    if database in ("", ":memory:"):
        raise JournalUnreadableError(f"{shown} is an empty in-memory database, not a journal")
    path = Path(database)
    if not path.is_file():
        raise JournalUnreadableError(f"cannot read the gateway journal at {shown}: no such file")
    query = {**url.query, "mode": "ro", "uri": "true"}
    return url.set(database=path.resolve().as_uri(), query=query)


def _query_only(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _row(shown: str, values: dict[str, Any]) -> JournalRow:
    entry = values["id"]
    try:
        salt = _bytes(values["salt"])
        document = _bytes(values["document"])
        return JournalRow(
            id=int(entry),
            status=str(values["status"]),
            bank=str(values["bank_address"]),
            subject=str(values["subject"]),
            consent_id=str(values["consent_id"]).lower(),
            categories=int(values["categories"]),
            purpose=int(values["purpose"]),
            response_hash=str(values["response_hash"]).lower(),
            recomputed_hash=hex0x(keccak(salt + document)) if document else None,
            query_id=_optional(values["query_id"], str),
            reason=_optional(values["reason"], str),
            tx_hash=_optional(values["tx_hash"], lambda v: str(v).lower()),
            block_number=_optional(values["block_number"], int),
            log_index=_optional(values["log_index"], int),
            created_at=_time(values["created_at"]),
            released=ReleasedDocument.of(str(values["kind"]), document),
        )
    except (TypeError, ValueError) as exc:
        raise JournalUnreadableError(
            f"cannot read the gateway journal at {shown}: entry {entry} is malformed ({exc})"
        ) from exc


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def _optional(value: Any, convert: Any) -> Any:
    return None if value is None else convert(value)


def _time(value: Any) -> datetime | None:
    """A stored time, as UTC (SQLite gives it back without its zone)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"created_at is {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------ the chain side


@dataclass(frozen=True, slots=True)
class ChainRead:
    """A read the ledger recorded: ``DataAccessed`` or ``AccessDenied``."""

    query_id: int
    event: str
    consent_id: str
    bank: str
    categories: int
    purpose: int
    response_hash: str | None  # DataAccessed only
    reason: str | None  # AccessDenied only: the reason's name (or its code if it has none)
    location: Location
    #: The history window the bank's signed request asked for (None: no request in the input).
    history_months: int | None = None

    @property
    def granted(self) -> bool:
        return self.event == "DataAccessed"

    @classmethod
    def of(cls, item: LedgerEvent) -> ChainRead:
        log = item.log
        read = RecordedAccess.of(log.event, log.args)
        reason = None
        if not read.granted:
            found = read.reason
            # the replay reports a reason code the ledger never uses
            reason = found.name if found is not None else str(read.reason_code)
        entry = read.entry
        history = None if item.request is None else unpack_request(item.request.request)[2]
        return cls(
            history_months=history,
            query_id=entry.query_id,
            event=log.event,
            consent_id=hex0x(entry.consent_id),
            bank=entry.bank,
            categories=entry.categories,
            purpose=entry.purpose,
            response_hash=hex0x(entry.response_hash) if read.granted else None,
            reason=reason,
            location=Location(
                log.block_number, hex0x(log.transaction_hash), log.log_index, item.timestamp
            ),
        )


# ------------------------------------------------------------------------------ the result


@dataclass
class JournalFigures:
    """What the cross-check counted (the audited window's)."""

    entries: int = 0  # in the journal, all of them
    checked: int = 0  # in the audited window, checked
    by_status: Counter[str] = field(default_factory=Counter)  # of those checked
    releases: int = 0  # checked entries with status granted
    releases_matched: int = 0  # ... with their DataAccessed, every field and the hash agreeing
    denials_matched: int = 0  # denied entries with their AccessDenied, everything agreeing
    failed_unrecorded: int = 0  # failed entries with no event: nothing recorded, nothing released
    open: int = 0  # pending or batched, within the grace (a warning, not a finding)
    open_too_long: int = 0  # pending or batched beyond the grace (each a finding)
    before_window: int = 0  # events before the audited window: not checked
    after_window: int = 0  # naming a block after the audited head: left for the next audit
    chain_releases: int = 0  # DataAccessed of the bureau's relayers in the window
    chain_denials: int = 0  # AccessDenied of the bureau's relayers in the window
    chain_denials_not_in_journal: int = 0  # of those, with no journal entry (nothing released)
    other_relayers_reads: int = 0  # reads in the window of relayers not in the record


@dataclass(frozen=True, slots=True)
class JournalResult:
    """The cross-check's findings and figures."""

    database: str
    relayers: tuple[str, ...]
    open_grace: int
    figures: JournalFigures
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        f = self.figures
        by_code = Counter(finding.code.value for finding in self.findings)
        return {
            "database": self.database,
            "relayers": list(self.relayers),
            "open_grace_seconds": self.open_grace,
            "entries": f.entries,
            "entries_checked": f.checked,
            "entries_by_status": {key: f.by_status[key] for key in sorted(f.by_status)},
            "releases": f.releases,
            "releases_matched": f.releases_matched,
            "denials_matched": f.denials_matched,
            "failed_unrecorded": f.failed_unrecorded,
            "open": f.open,
            "open_too_long": f.open_too_long,
            "entries_before_window": f.before_window,
            "entries_after_window": f.after_window,
            "chain_releases": f.chain_releases,
            "chain_denials": f.chain_denials,
            "chain_denials_not_in_journal": f.chain_denials_not_in_journal,
            "other_relayers_reads": f.other_relayers_reads,
            "findings": len(self.findings),
            "findings_by_code": {code: by_code[code] for code in sorted(by_code)},
        }


# ------------------------------------------------------------------------------ the check


class JournalCheck:
    """Collects the ledger's reads while the audit replays it; :meth:`check` then reads the
    journal and compares."""

    def __init__(
        self,
        database: JournalDatabase,
        relayers: Iterable[str],
        *,
        open_grace: int = DEFAULT_OPEN_GRACE,
    ) -> None:
        self.database = database
        self.relayers = tuple(relayers)
        self.open_grace = open_grace
        #: Every read the ledger recorded, by query id (the first, if an id repeats: the replay
        #: reports the repetition).
        self.reads: dict[int, ChainRead] = {}
        #: Each consent's history window, as granted.
        self.consent_history: dict[str, int] = {}

    def observe(self, item: LedgerItem) -> None:
        """Take note of one replayed log (only reads matter)."""
        if not isinstance(item, LedgerEvent):
            return
        if item.log.event == "ConsentGranted":
            args = item.log.args
            self.consent_history[hex0x(args["consentId"])] = int(args["historyMonths"])
            return
        if item.log.event not in ("DataAccessed", "AccessDenied"):
            return
        read = ChainRead.of(item)
        self.reads.setdefault(read.query_id, read)

    def check(self, window_first: int, window_last: int, head_timestamp: int) -> JournalResult:
        """Read the journal now and compare it with the reads of blocks
        ``window_first..window_last`` (``head_timestamp``: the block time of ``window_last``)."""
        rows = self.database.rows()
        comparison = _Comparison(
            self.reads,
            {r.lower() for r in self.relayers},
            window_first,
            window_last,
            head_timestamp,
            self.open_grace,
        )
        comparison.consent_history = self.consent_history
        comparison.run(rows)
        return JournalResult(
            database=self.database.shown,
            relayers=self.relayers,
            open_grace=self.open_grace,
            figures=comparison.figures,
            findings=tuple(comparison.findings),
        )


class _Comparison:
    """One pass over the journal against the chain's reads."""

    def __init__(
        self,
        reads: dict[int, ChainRead],
        relayers: set[str],
        first: int,
        last: int,
        head_timestamp: int,
        open_grace: int,
    ) -> None:
        self.reads = reads
        #: Each consent's history window, as granted (by 0x-hex consent id).
        self.consent_history: dict[str, int] = {}
        self.relayers = relayers
        self.first = first
        self.last = last
        self.head_timestamp = head_timestamp
        self.open_grace = open_grace
        self.figures = JournalFigures()
        self.findings: list[Finding] = []
        self._journaled: dict[int, int] = {}  # query id -> the first entry naming it

    def run(self, rows: list[JournalRow]) -> None:
        self.figures.entries = len(rows)
        for row in rows:
            self._entry(row)
        self._chain_side()

    # ---------------------------------------------------------------- findings

    def _flag(
        self,
        code: FindingCode,
        message: str,
        *,
        expected: str,
        observed: str,
        row: JournalRow | None,
        read: ChainRead | None,
        rule: str | None = None,
        query_id: str | None = None,
    ) -> None:
        if query_id is None:
            query_id = hex(read.query_id) if read is not None else None
        self.findings.append(
            Finding(
                code=code,
                message=message,
                expected=expected,
                observed=observed,
                location=read.location if read is not None else Location(),
                source=Source.JOURNAL,
                event=read.event if read is not None else None,
                rule=rule,
                consent_id=read.consent_id if read is not None else _of(row, "consent_id"),
                subject=row.subject if row is not None else None,
                bank=read.bank if read is not None else _of(row, "bank"),
                query_id=query_id,
                journal_entry=row.id if row is not None else None,
            )
        )

    # ---------------------------------------------------------------- entries

    def _entry(self, row: JournalRow) -> None:
        query_id = _query_id(row.query_id)
        shown_query = hex(query_id) if query_id is not None else row.query_id
        first = row.id if query_id is None else self._journaled.setdefault(query_id, row.id)
        read = self.reads.get(query_id) if query_id is not None else None
        block = read.location.block_number if read is not None else row.block_number
        if block is not None and block < self.first:
            self.figures.before_window += 1
            return
        if block is not None and block > self.last:
            self.figures.after_window += 1
            return
        self.figures.checked += 1
        self.figures.by_status[row.status] += 1
        before = len(self.findings)
        flag = _Flagger(self, row, read, shown_query)
        if row.query_id is not None and query_id is None:
            flag(
                FindingCode.JOURNAL_ENTRY_MISMATCH,
                f"journal entry {row.id} has a query id that is not one",
                expected="a query id: a uint256 in 0x-hex",
                observed=f"query id {row.query_id!r}",
                rule="query_id",
            )
        if first != row.id:
            flag(
                FindingCode.JOURNAL_ENTRY_MISMATCH,
                f"journal entries {first} and {row.id} have the same query id",
                expected=f"query id {shown_query} in one journal entry (entry {first})",
                observed=f"query id {shown_query} in journal entry {row.id} too",
                rule="query_id",
            )
        if row.recomputed_hash is not None and row.recomputed_hash != row.response_hash:
            flag(
                FindingCode.JOURNAL_RESPONSE_HASH_INVALID,
                f"journal entry {row.id}: its response hash is not keccak256(salt || document): "
                "the document or the salt was changed after the hash was taken",
                expected=f"response hash {row.recomputed_hash} (keccak256 of the entry's salt "
                "and document)",
                observed=f"response hash {row.response_hash}",
                rule="response_hash",
            )
        status = row.status
        if status in _OPEN:
            self._open(row, read, flag)
        elif status == ReadStatus.GRANTED:
            self.figures.releases += 1
            self._release(row, read, flag, shown_query)
            if len(self.findings) == before:
                self.figures.releases_matched += 1
        elif status == ReadStatus.DENIED:
            self._denial(row, read, flag, shown_query)
            if len(self.findings) == before:
                self.figures.denials_matched += 1
        elif status == ReadStatus.FAILED:
            self._failed(row, read, flag)
        else:
            flag(
                FindingCode.JOURNAL_ENTRY_MISMATCH,
                f"journal entry {row.id} has status {status!r}, which the gateway never writes",
                expected="status pending, batched, granted, denied or failed",
                observed=f"status {status!r}",
                rule="status",
            )

    def _open(self, row: JournalRow, read: ChainRead | None, flag: _Flagger) -> None:
        if read is not None:
            self._terms(row, read, flag)
            self._location(row, read, flag, resolved=False)
        age = self._age(row)
        if age is None or age <= self.open_grace:
            self.figures.open += 1
            return
        self.figures.open_too_long += 1
        created = row.created_at.isoformat() if row.created_at is not None else "?"
        chain = (
            f"the chain recorded {read.event} in block {read.location.block_number}"
            if read is not None
            else "the chain has no read with its query id"
        )
        flag(
            FindingCode.JOURNAL_OPEN_TOO_LONG,
            f"journal entry {row.id} is still {row.status} {age} s after it was created "
            f"(grace {self.open_grace} s); {chain}",
            expected=f"granted, denied or failed within {self.open_grace} s of its creation",
            observed=f"status {row.status} since {created}, {age} s before the audited head's "
            "block time",
            rule="status",
        )

    def _age(self, row: JournalRow) -> int | None:
        if row.created_at is None:
            return None
        return self.head_timestamp - int(row.created_at.timestamp())

    def _release(
        self, row: JournalRow, read: ChainRead | None, flag: _Flagger, shown_query: str | None
    ) -> None:
        where = _claimed(row)
        if read is None:
            flag(
                FindingCode.JOURNAL_RELEASE_NOT_ON_CHAIN,
                f"journal entry {row.id} released data, but the chain recorded no read with "
                f"its query id {shown_query or '(none)'}",
                expected=f"no release: no DataAccessed with query id {shown_query or '(none)'} "
                f"in blocks up to {self.last}",
                observed=f"status granted{where}",
                rule="status",
            )
            return
        if not read.granted:
            flag(
                FindingCode.JOURNAL_RELEASE_DENIED_ON_CHAIN,
                f"journal entry {row.id} released data for a read the chain denied ({read.reason})",
                expected=f"no release: AccessDenied({read.reason})",
                observed=f"status granted{where}",
                rule="status",
            )
            return
        self._terms(row, read, flag)
        self._released(row, read, flag)
        if read.response_hash != row.response_hash:
            flag(
                FindingCode.JOURNAL_RESPONSE_HASH_MISMATCH,
                f"journal entry {row.id}: its response hash is not the one the chain recorded",
                expected=f"response hash {read.response_hash} (DataAccessed)",
                observed=f"response hash {row.response_hash}",
                rule="response_hash",
            )
        self._location(row, read, flag, resolved=True)

    def _denial(
        self, row: JournalRow, read: ChainRead | None, flag: _Flagger, shown_query: str | None
    ) -> None:
        if read is None:
            flag(
                FindingCode.JOURNAL_ENTRY_MISMATCH,
                f"journal entry {row.id} says the chain denied it, but the chain recorded no "
                f"read with its query id {shown_query or '(none)'}",
                expected=f"no read with query id {shown_query or '(none)'} in blocks up to "
                f"{self.last}",
                observed=f"status denied ({row.reason}){_claimed(row)}",
                rule="status",
            )
            return
        if read.granted:
            self._unjournaled_release(row, read, flag)
            return
        self._terms(row, read, flag)
        if row.reason != read.reason:
            flag(
                FindingCode.JOURNAL_ENTRY_MISMATCH,
                f"journal entry {row.id} names another denial reason than the chain's",
                expected=f"reason {read.reason}",
                observed=f"reason {row.reason}",
                rule="reason",
            )
        self._location(row, read, flag, resolved=True)

    def _failed(self, row: JournalRow, read: ChainRead | None, flag: _Flagger) -> None:
        if read is None:
            self.figures.failed_unrecorded += 1
            return
        if read.granted:
            self._unjournaled_release(row, read, flag)
            return
        flag(
            FindingCode.JOURNAL_ENTRY_MISMATCH,
            f"journal entry {row.id} says the read was never recorded, but the chain denied it",
            expected=f"status denied ({read.reason}): the chain recorded AccessDenied",
            observed=f"status failed ({row.reason})",
            rule="status",
        )

    def _unjournaled_release(self, row: JournalRow, read: ChainRead, flag: _Flagger) -> None:
        flag(
            FindingCode.RELEASE_NOT_IN_JOURNAL,
            f"the chain recorded a release (DataAccessed) that journal entry {row.id} does "
            f"not show as released (status {row.status})",
            expected="status granted: the chain recorded DataAccessed",
            observed=f"status {row.status}" + (f" ({row.reason})" if row.reason else ""),
            rule="status",
        )

    def _terms(self, row: JournalRow, read: ChainRead, flag: _Flagger) -> None:
        """Consent, bank, categories and purpose: one finding per field that differs."""
        pairs: list[tuple[str, object, object, bool]] = [
            ("consent_id", read.consent_id, row.consent_id, read.consent_id == row.consent_id),
            ("bank", read.bank, row.bank, read.bank.lower() == row.bank.lower()),
            ("categories", read.categories, row.categories, read.categories == row.categories),
            ("purpose", read.purpose, row.purpose, read.purpose == row.purpose),
        ]
        for name, chain, journal, same in pairs:
            if same:
                continue
            flag(
                FindingCode.JOURNAL_ENTRY_MISMATCH,
                f"journal entry {row.id}: its {name} is not the one the chain recorded for "
                "its query id (changed after the fact)",
                expected=f"{name} {chain} ({read.event})",
                observed=f"{name} {journal}",
                rule=name,
            )

    def _released(self, row: JournalRow, read: ChainRead, flag: _Flagger) -> None:
        """The released document against its recorded read and the consent: no category
        section the chain did not record, no wider history window than the consent's and the
        bank's signed request's."""
        released = row.released
        if released is None:
            return
        recorded = {Category(code).slug for code in category_codes(read.categories)}
        extra = [slug for slug in released.categories if slug not in recorded]
        if extra:
            flag(
                FindingCode.RELEASED_CATEGORY_NOT_RECORDED,
                f"journal entry {row.id} released categories the chain did not record: "
                + ", ".join(extra),
                expected=f"only {', '.join(sorted(recorded))} (DataAccessed)",
                observed=f"document sections {', '.join(released.categories)}",
                rule="categories",
            )
        limits = [
            (f"the consent's {window} months", window)
            for window in [self._granted_history(read.consent_id)]
            if window is not None
        ]
        if read.history_months is not None:
            limits.append(
                (f"the signed request's {read.history_months} months", read.history_months)
            )
        for what, window in limits:
            if released.history_months > window:
                flag(
                    FindingCode.RELEASED_HISTORY_BEYOND_WINDOW,
                    f"journal entry {row.id} released {released.history_months} months of "
                    f"history, beyond {what}",
                    expected=f"a history window of at most {window} months ({what})",
                    observed=f"a document cut to {released.history_months} months",
                    rule="history_months",
                )
                return
        if released.outside_window:
            shown = ", ".join(released.outside_window[:5])
            more = len(released.outside_window) - 5
            flag(
                FindingCode.RELEASED_HISTORY_BEYOND_WINDOW,
                f"journal entry {row.id} released {len(released.outside_window)} data point(s) "
                f"outside its {released.history_months}-month window: {shown}"
                + (f" and {more} more" if more > 0 else ""),
                expected=f"only the points a {released.history_months}-month window shows",
                observed=f"points outside it: {shown}",
                rule="data_points",
            )

    def _granted_history(self, consent_id: str) -> int | None:
        window = self.consent_history.get(consent_id)
        return None if window is None else int(window)

    def _location(
        self, row: JournalRow, read: ChainRead, flag: _Flagger, *, resolved: bool
    ) -> None:
        """The transaction, block and log index the entry names against where the event is. An
        open entry is compared on what it already names."""
        where = read.location
        parts = [
            ("tx", where.transaction_hash, row.tx_hash),
            ("block", where.block_number, row.block_number),
            ("log index", where.log_index, row.log_index),
        ]
        wrong = [
            (name, chain, journal)
            for name, chain, journal in parts
            if (resolved or journal is not None) and chain != journal
        ]
        if not wrong:
            return
        flag(
            FindingCode.JOURNAL_LOCATION_MISMATCH,
            f"journal entry {row.id} names another place for its event than where it is: "
            + ", ".join(name for name, _, _ in wrong),
            expected=", ".join(f"{name} {chain}" for name, chain, _ in parts),
            observed=", ".join(f"{name} {journal}" for name, _, journal in parts),
            rule=", ".join(name for name, _, _ in wrong),
        )

    # ---------------------------------------------------------------- the chain's side

    def _chain_side(self) -> None:
        for query_id, read in self.reads.items():
            block = read.location.block_number or 0
            if not self.first <= block <= self.last:
                continue
            if query_id_relayer(query_id).lower() not in self.relayers:
                self.figures.other_relayers_reads += 1
                continue
            journaled = query_id in self._journaled
            if not read.granted:
                self.figures.chain_denials += 1
                if not journaled:
                    self.figures.chain_denials_not_in_journal += 1
                continue
            self.figures.chain_releases += 1
            if journaled:
                continue  # the entry's own check covers it
            self._flag(
                FindingCode.RELEASE_NOT_IN_JOURNAL,
                f"the chain recorded a release (DataAccessed, query id {hex(query_id)}) of the "
                "bureau's relayer that no journal entry shows",
                expected="a journal entry with this query id, status granted",
                observed="no journal entry with this query id",
                row=None,
                read=read,
            )


class _Flagger:
    """Flags findings about one entry (and its chain read, if any)."""

    def __init__(
        self, owner: _Comparison, row: JournalRow, read: ChainRead | None, query: str | None
    ) -> None:
        self.owner = owner
        self.row = row
        self.read = read
        self.query = query

    def __call__(
        self, code: FindingCode, message: str, *, expected: str, observed: str, rule: str
    ) -> None:
        self.owner._flag(
            code,
            message,
            expected=expected,
            observed=observed,
            row=self.row,
            read=self.read,
            rule=rule,
            query_id=self.query,
        )


def _query_id(text: str | None) -> int | None:
    """A journal entry's query id as a number (None: none, or not a query id)."""
    if text is None or not _QUERY_ID.match(text):
        return None
    return int(text, 16)


def _of(row: JournalRow | None, name: str) -> str | None:
    return None if row is None else str(getattr(row, name))


def _claimed(row: JournalRow) -> str:
    """Where the entry says its event is, for messages."""
    if row.tx_hash is None and row.block_number is None:
        return ""
    return f" (the journal names block {row.block_number}, tx {row.tx_hash}, log {row.log_index})"
