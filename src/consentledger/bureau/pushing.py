"""Batches a source pushes: parsed, imported through :func:`~consentledger.bureau.importing.
import_records` (the file import's one path, all or nothing), and kept by Idempotency-Key.

A batch is JSON Lines (one record a line) or a JSON array of records. An accepted batch is kept
(table ``bureau_feed_batch``) with its report and the fingerprint of what was asked, written in
the batch's own transaction: the same key with the same request answers the same report again,
with another request it is refused. A refused batch writes nothing, its key included, so the
source can send the batch again, corrected, under the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import msgspec
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from consentledger.bureau.feeds import FeedSource
from consentledger.bureau.importing import ImportReport, RawRecord, import_records
from consentledger.bureau.models import FeedBatch
from consentledger.bureau.store import BureauStore
from consentledger.errors import ConsentLedgerError

#: The media types a batch may come in.
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")
JSON_ARRAY_TYPE = "application/json"
#: The most records a batch may hold (a larger delivery is several batches).
MAX_BATCH_RECORDS = 50_000

_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


class MalformedBatchError(ConsentLedgerError, ValueError):
    """A body that is no batch at all: not JSON Lines, not a JSON array, empty, or too many
    records."""

    code = "malformed_batch"


class UnsupportedBatchTypeError(ConsentLedgerError, ValueError):
    """A body in a media type the push API does not take."""

    code = "unsupported_batch_type"

    def __init__(self, media_type: str) -> None:
        self.media_type = media_type
        known = ", ".join((*JSON_LINES_TYPES, JSON_ARRAY_TYPE))
        super().__init__(f"a batch is sent as one of {known}, not {media_type or '(none)'}")


class BatchKeyReusedError(ConsentLedgerError, ValueError):
    """An Idempotency-Key the source used before for another request."""

    code = "idempotency_key_reused"

    def __init__(self, source: str, key: str) -> None:
        self.source = source
        self.key = key
        super().__init__(
            f"source {source} sent another batch with Idempotency-Key {key!r}: "
            "a new batch needs a new key"
        )


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What a push came to: the batch's report (as JSON) and whether it is the answer given
    before to the same request (``replayed``)."""

    report: dict[str, object]
    replayed: bool

    @property
    def accepted(self) -> bool:
        """Whether the batch was written (now or before)."""
        return bool(self.report["accepted"])


def parse_batch(body: bytes, media_type: str) -> list[RawRecord]:
    """The raw records of a pushed body (numbered by line, or by place in the array)."""
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind in JSON_LINES_TYPES:
        raws: list[RawRecord] = [
            (n, line) for n, line in enumerate(body.splitlines(), 1) if line.strip()
        ]
    elif kind == JSON_ARRAY_TYPE:
        try:
            items = _ARRAY.decode(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise MalformedBatchError(f"not a JSON array of records: {exc}") from None
        raws = [(n, bytes(item)) for n, item in enumerate(items, 1)]
    else:
        raise UnsupportedBatchTypeError(kind)
    if not raws:
        raise MalformedBatchError("the batch holds no record")
    if len(raws) > MAX_BATCH_RECORDS:
        raise MalformedBatchError(
            f"the batch holds {len(raws)} records; at most {MAX_BATCH_RECORDS} go in one batch"
        )
    return raws


def fingerprint(body: bytes, as_of: date | None) -> str:
    """The SHA-256 of a push request: its as-of date as asked (none: today, whichever day that
    is, so a retry after midnight is the same request) and its body."""
    asked = as_of.isoformat() if as_of is not None else ""
    return hashlib.sha256(asked.encode() + b"\n" + body).hexdigest()


def _stored(store: BureauStore, source: str, key: str, asked: str) -> PushOutcome | None:
    with store.engine.connect() as conn:
        found = conn.execute(
            select(FeedBatch.fingerprint, FeedBatch.report).where(
                FeedBatch.source == source, FeedBatch.idempotency_key == key
            )
        ).first()
    if found is None:
        return None
    if found.fingerprint != asked:
        raise BatchKeyReusedError(source, key)
    return PushOutcome(json.loads(found.report), replayed=True)


def push_batch(
    store: BureauStore,
    source: FeedSource,
    body: bytes,
    media_type: str,
    *,
    idempotency_key: str,
    as_of: date | None,
    kinds: frozenset[str] | None = None,
) -> PushOutcome:
    """Import one pushed batch of ``source`` (all or nothing), once per Idempotency-Key.

    ``as_of`` is the date the source's data is current to (None: today, UTC). Raises
    :class:`MalformedBatchError`, :class:`UnsupportedBatchTypeError` and
    :class:`BatchKeyReusedError`; a batch with refused records is an outcome, not an error
    (its report says why each was refused).
    """
    store.create_schema()
    asked = fingerprint(body, as_of)
    before = _stored(store, source.name, idempotency_key, asked)
    if before is not None:
        return before
    raws = parse_batch(body, media_type)

    def keep(conn: Connection, report: ImportReport) -> None:
        conn.execute(
            insert(FeedBatch),
            [
                {
                    "source": source.name,
                    "idempotency_key": idempotency_key,
                    "fingerprint": asked,
                    "report": json.dumps(report.to_json(), ensure_ascii=False),
                    "received_at": datetime.now(UTC),
                }
            ],
        )

    for attempt in range(2):
        try:
            report = import_records(
                store,
                source,
                raws,
                name=f"batch {idempotency_key}",
                as_of=as_of or datetime.now(UTC).date(),
                kinds=kinds,
                on_accepted=keep,
            )
            break
        except IntegrityError:
            # A batch pushed at the same moment won: with the same key, its answer is this
            # one's; with records in common, importing again sees them as imported.
            again = _stored(store, source.name, idempotency_key, asked)
            if again is not None:
                return again
            if attempt:
                raise
    return PushOutcome(report.to_json(), replayed=False)


__all__ = [
    "JSON_ARRAY_TYPE",
    "JSON_LINES_TYPES",
    "MAX_BATCH_RECORDS",
    "BatchKeyReusedError",
    "MalformedBatchError",
    "PushOutcome",
    "UnsupportedBatchTypeError",
    "fingerprint",
    "parse_batch",
    "push_batch",
]
