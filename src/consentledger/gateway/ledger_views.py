"""What the chain says about an enterprise: its consents and every read of its data, from events.

Everything here is read from the ledger itself with ``eth_getLogs`` on the contract, filtered by
indexed topics and decoded by the client's :class:`~consentledger.chain.abi.LogDecoder`:

* an enterprise's consents: ``ConsentGranted``, ``ConsentPaused``, ``ConsentResumed`` and
  ``ConsentRevoked`` all carry the subject as their second topic, so one query finds them; each
  consent's status and read counter now come from the ``consent(id)`` view;
* reads of its data: ``DataAccessed`` and ``AccessDenied`` by consent id (first topic), in chunks
  of :data:`TOPIC_CHUNK` ids;
* its own exports: ``PortabilityExported`` by subject.

A read recorded under a consent id that is not the enterprise's (an unknown id, say) names no
subject on the chain, so it cannot be found by subject; the gateway's pre-check never sends one
for a consent of another subject. Block times come from ``eth_getBlockByNumber``, cached per
block hash (a hash names one block on one chain, so the cache never answers for another block).
All functions here block: run them on the chain thread.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from web3 import Web3

from consentledger.chain.abi import DecodedLog, FunctionCodec
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.client import ConsentView, LedgerClient
from consentledger.chain.deploy import CONTRACT
from consentledger.chain.log_reader import (
    SignedRequestInput,
    matching_logs,
    signed_entry,
    signed_requests,
)
from consentledger.gateway.api_schema import CategoryNameOut, DenialReasonOut, PurposeNameOut
from consentledger.gateway.banks import BankName
from consentledger.gateway.receipts import category_refs, purpose_name
from consentledger.ledger.types import (
    ZERO_ADDRESS,
    RecordedAccess,
)

#: Consent ids per ``eth_getLogs`` topic list (nodes bound the size of a filter).
TOPIC_CHUNK = 200
#: Block timestamps kept per chain.
CLOCK_CAPACITY = 50_000

LIFECYCLE = ("ConsentGranted", "ConsentPaused", "ConsentResumed", "ConsentRevoked")
READS = ("DataAccessed", "AccessDenied")


class CategoryRef(BaseModel):
    """A data category, by code and (where this release knows it) by name."""

    code: int
    name: CategoryNameOut


class PurposeRef(BaseModel):
    """A purpose, by code and (where this release knows it) by name."""

    code: int
    name: PurposeNameOut


class ChainEvent(BaseModel):
    """Where an event sits on the chain, and when."""

    event: str
    block_number: int
    block_time: datetime
    tx_hash: str
    log_index: int


class ConsentDetails(BaseModel):
    """A consent as the chain sees it now, with its life in events."""

    consent_id: str
    status: Literal["ACTIVE", "PAUSED", "REVOKED", "EXPIRED"]
    subject: str
    bank: str
    bank_name: BankName | None = Field(
        default=None, description="the bank's legal names (null: a bank without them)"
    )
    categories: list[CategoryRef]
    categories_mask: str = Field(description="uint256 bitmask (bit i: category i), decimal")
    purpose: PurposeRef
    not_before: datetime
    expires_at: datetime
    max_reads: int = Field(description="the effective limit (the purpose's cap when signed as 0)")
    reads_used: int
    reads_left: int
    history_months: int
    receipt_hash: str | None = Field(description="from ConsentGranted: keccak256 of the receipt")
    events: list[ChainEvent]


class AccessRecord(BaseModel):
    """One bank read of the enterprise's data, as the chain judged and recorded it."""

    outcome: Literal["granted", "denied"]
    reason: DenialReasonOut = Field(description="the denial reason (null when granted)")
    bank: str
    bank_name: BankName | None = Field(
        default=None, description="the bank's legal names (null: a bank without them)"
    )
    consent_id: str
    categories: list[CategoryRef]
    categories_mask: str
    purpose: PurposeRef
    query_id: str = Field(description="uint256 as 0x-hex")
    request_id: str | None = Field(
        description="the bank's own id of its signed request (from the transaction's input)"
    )
    signed_by: str | None = Field(
        description="the address the bank's request signature recovers to (null: none)"
    )
    bank_signed: bool = Field(
        description="the request is signed by the bank (its address or its read signer now)"
    )
    response_hash: str | None = Field(description="salted hash of what was released (granted)")
    block_number: int
    block_time: datetime
    tx_hash: str
    log_index: int


class ExportRecord(BaseModel):
    """One export of the enterprise's own data to it (portability)."""

    categories: list[CategoryRef]
    categories_mask: str
    export_hash: str
    block_number: int
    block_time: datetime
    tx_hash: str
    log_index: int


class BlockClock:
    """Block timestamps, fetched once per block (``eth_getBlockByNumber``), LRU-bounded."""

    def __init__(self, client: LedgerClient, capacity: int = CLOCK_CAPACITY) -> None:
        self.client = client
        self.capacity = capacity
        self._times: OrderedDict[bytes, int] = OrderedDict()

    def time_of(self, event: DecodedLog) -> datetime:
        """The time of the block ``event`` is in."""
        timestamp = self._times.get(event.block_hash)
        if timestamp is None:
            node = self.client.node
            block = node.request("eth_getBlockByNumber", [hex(event.block_number), False])
            if block is None or block["hash"] != _hex(event.block_hash):  # reorganised meanwhile
                block = node.request("eth_getBlockByHash", [_hex(event.block_hash), False])
            timestamp = int(block["timestamp"], 16)
            self._times[event.block_hash] = timestamp
            if len(self._times) > self.capacity:
                self._times.popitem(last=False)
        else:
            self._times.move_to_end(event.block_hash)
        return datetime.fromtimestamp(timestamp, UTC)


_clocks: weakref.WeakKeyDictionary[Web3, BlockClock] = weakref.WeakKeyDictionary()
_clocks_lock = threading.Lock()


def block_clock(client: LedgerClient) -> BlockClock:
    """The block clock of ``client``'s chain (one per Web3 connection, dropped with it)."""
    with _clocks_lock:
        clock = _clocks.get(client.w3)
        if clock is None:
            clock = _clocks[client.w3] = BlockClock(client)
        return clock


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _chunks(items: Sequence[bytes], size: int = TOPIC_CHUNK) -> Iterable[Sequence[bytes]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get_logs(
    client: LedgerClient, topics: list[Any], from_block: int, to_block: int
) -> list[DecodedLog]:
    """The contract's events matching ``topics`` (bytes or lists of bytes, None for any), decoded,
    in chain order."""
    as_hex: list[Any] = []
    for topic in topics:
        if topic is None:
            as_hex.append(None)
        elif isinstance(topic, bytes):
            as_hex.append(_hex(topic))
        else:
            as_hex.append([_hex(t) for t in topic])
    return matching_logs(client.node, client.address, client.logs, as_hex, from_block, to_block)


def latest_block(client: LedgerClient) -> int:
    return int(client.node.request("eth_blockNumber", []), 16)


def _chain_event(event: DecodedLog, clock: BlockClock, name: str) -> ChainEvent:
    return ChainEvent(
        event=name,
        block_number=event.block_number,
        block_time=clock.time_of(event),
        tx_hash=_hex(event.transaction_hash),
        log_index=event.log_index,
    )


def _details(view: ConsentView, lifecycle: list[DecodedLog], clock: BlockClock) -> ConsentDetails:
    granted = next((e for e in lifecycle if e.event == "ConsentGranted"), None)
    names = {
        "ConsentGranted": "granted",
        "ConsentPaused": "paused",
        "ConsentResumed": "resumed",
        "ConsentRevoked": "revoked",
    }
    return ConsentDetails(
        consent_id=_hex(view.consent_id),
        status=view.status.name,  # type: ignore[arg-type]  # NONE is answered 404 before
        subject=_hex(view.subject),
        bank=view.bank,
        categories=[CategoryRef(**ref) for ref in category_refs(view.categories)],
        categories_mask=str(view.categories),
        purpose=PurposeRef(code=view.purpose, name=purpose_name(view.purpose)),
        not_before=datetime.fromtimestamp(view.not_before, UTC),
        expires_at=datetime.fromtimestamp(view.expires_at, UTC),
        max_reads=view.max_reads,
        reads_used=view.reads_used,
        reads_left=view.reads_left,
        history_months=view.history_months,
        receipt_hash=_hex(granted.args["receiptHash"]) if granted else None,
        events=[_chain_event(e, clock, names[e.event]) for e in lifecycle],
    )


def _topic0(client: LedgerClient, names: Iterable[str]) -> list[bytes]:
    return [client.logs.topics[name] for name in names]


def consent_details(
    client: LedgerClient, view: ConsentView, from_block: int, to_block: int | None = None
) -> ConsentDetails:
    """One consent (its view must exist) with its lifecycle events."""
    end = latest_block(client) if to_block is None else to_block
    lifecycle = get_logs(client, [_topic0(client, LIFECYCLE), view.consent_id], from_block, end)
    return _details(view, lifecycle, block_clock(client))


def subject_consents(
    client: LedgerClient, subject: bytes, from_block: int, to_block: int
) -> list[ConsentDetails]:
    """Every consent of ``subject``, oldest first, with its status now and its events."""
    events = get_logs(client, [_topic0(client, LIFECYCLE), None, subject], from_block, to_block)
    by_consent: dict[bytes, list[DecodedLog]] = {}
    for event in events:
        by_consent.setdefault(event.args["consentId"], []).append(event)
    clock = block_clock(client)
    return [
        _details(client.consent(consent_id), lifecycle, clock)
        for consent_id, lifecycle in by_consent.items()
        if lifecycle[0].event == "ConsentGranted"
    ]


def subject_accesses(
    client: LedgerClient, subject: bytes, from_block: int, to_block: int
) -> list[AccessRecord]:
    """Every read recorded under one of ``subject``'s consents, granted or denied, in chain
    order."""
    granted = get_logs(
        client, [client.logs.topics["ConsentGranted"], None, subject], from_block, to_block
    )
    consent_ids = [event.args["consentId"] for event in granted]
    reads: list[DecodedLog] = []
    first = min((event.block_number for event in granted), default=from_block)  # no read before
    for chunk in _chunks(consent_ids):
        reads += get_logs(client, [_topic0(client, READS), list(chunk)], first, to_block)
    reads.sort(key=lambda e: (e.block_number, e.log_index))
    clock = block_clock(client)
    requests = _signed_requests(client, {event.transaction_hash for event in reads})
    domain = client.domain
    signers: dict[str, str] = {}
    records: list[AccessRecord] = []
    for event in reads:
        read = RecordedAccess.of(event.event, event.args)
        entry, denied = read.entry, not read.granted
        request = requests.get(entry.query_id)
        signed_by: str | None = None
        if request is not None:
            entry = signed_entry(domain, entry, request)
            signed_by = None if entry.signer == ZERO_ADDRESS else entry.signer
        if entry.bank not in signers:
            signers[entry.bank] = client.read_signer(entry.bank)
        records.append(
            AccessRecord(
                outcome="denied" if denied else "granted",
                reason=_reason_name(read) if denied else None,
                bank=entry.bank,
                consent_id=_hex(entry.consent_id),
                categories=[CategoryRef(**ref) for ref in category_refs(entry.categories)],
                categories_mask=str(entry.categories),
                purpose=PurposeRef(code=entry.purpose, name=purpose_name(entry.purpose)),
                query_id=f"0x{entry.query_id:064x}",
                request_id=None if request is None else str(entry.request_id),
                signed_by=signed_by,
                bank_signed=signed_by is not None
                and signed_by in (entry.bank, signers[entry.bank]),
                response_hash=None if denied else _hex(entry.response_hash),
                block_number=event.block_number,
                block_time=clock.time_of(event),
                tx_hash=_hex(event.transaction_hash),
                log_index=event.log_index,
            )
        )
    return records


#: Decodes the signed requests out of a ``recordAccesses`` transaction's input.
_RECORD_ACCESSES = FunctionCodec(load_artifact(CONTRACT)["abi"], "recordAccesses")


def _signed_requests(
    client: LedgerClient, tx_hashes: Iterable[bytes]
) -> dict[int, SignedRequestInput]:
    """The banks' signed requests of the reads in these transactions, by query id."""
    requests: dict[int, SignedRequestInput] = {}
    for tx_hash in tx_hashes:
        transaction = client.transaction_input(tx_hash)
        if transaction is None or transaction[0].lower() != client.address.lower():
            continue
        requests.update(signed_requests(_RECORD_ACCESSES, transaction[1]))
    return requests


def _reason_name(read: RecordedAccess) -> str:
    """The denial reason's name (its code, for one the ledger never uses)."""
    reason = read.reason
    return reason.name if reason is not None else str(read.reason_code)


def subject_exports(
    client: LedgerClient, subject: bytes, from_block: int, to_block: int
) -> list[ExportRecord]:
    """Every export of ``subject``'s data to it, in chain order."""
    events = get_logs(
        client, [client.logs.topics["PortabilityExported"], subject], from_block, to_block
    )
    clock = block_clock(client)
    return [
        ExportRecord(
            categories=[CategoryRef(**ref) for ref in category_refs(e.args["categories"])],
            categories_mask=str(e.args["categories"]),
            export_hash=_hex(e.args["exportHash"]),
            block_number=e.block_number,
            block_time=clock.time_of(e),
            tx_hash=_hex(e.transaction_hash),
            log_index=e.log_index,
        )
        for e in events
    ]
