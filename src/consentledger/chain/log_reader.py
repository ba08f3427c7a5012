"""Reading the ledger off a node: raw ``eth_getLogs`` in block ranges, decoded by the project.

The reader asks for the deployment's logs a range at a time (at most ``block_range`` blocks; when
a node answers that a range is too large, it halves the range and goes on with the smaller size),
fetches the timestamp of each block that has logs once (``eth_getBlockByNumber``, batched), and
decodes every log with :class:`~consentledger.chain.abi.LogDecoder`. Before anything, it checks
that the node is the deployment's chain and that the ledger's code is there.

Ranges adapt to the ledger's density: after each answer the next range is sized for about
``TARGET_LOGS`` logs (never more than ``block_range`` blocks), so a busy stretch of the chain comes
in answers small enough to pipeline and a quiet one in few requests. Over a transport that may be
shared between threads (HTTP), up to ``prefetch`` ranges are fetched and parsed ahead on worker
threads while the caller decodes and replays the current one; the items still come out in chain
order, and an error surfaces where the serial reader would have raised it.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from consentledger.chain import typed_data
from consentledger.chain.abi import DecodedLog, FunctionCodec, LogDecodeError, LogDecoder
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.deploy import CONTRACT, Deployment, check_chain_id, check_code
from consentledger.chain.jsonrpc import LIMIT_EXCEEDED, JsonRpc, JsonRpcError, is_thread_safe
from consentledger.errors import ConsentLedgerError
from consentledger.gcpause import gc_paused
from consentledger.ledger.types import AccessEntry, full_signature, unpack_request

#: Blocks per eth_getLogs request unless told otherwise (many hosted nodes cap ranges near this).
DEFAULT_BLOCK_RANGE = 1000
#: Logs per eth_getLogs answer that the adaptive range aims at.
TARGET_LOGS = 4000
#: Ranges fetched ahead of the one being decoded, over a transport shared between threads.
DEFAULT_PREFETCH = 3

_RANGE_TOO_LARGE = re.compile(
    r"range|too (many|large|big)|more than|limit|exceed|response size|results", re.IGNORECASE
)


class ChainReorganisedError(ConsentLedgerError, RuntimeError):
    """A block changed under the auditor (a reorganisation): the audit must start again."""

    code = "chain_reorganised"

    def __init__(self, block_number: int) -> None:
        self.block_number = block_number
        super().__init__(
            f"block {block_number} changed while it was being audited (a chain reorganisation): "
            "audit again, or with --confirmations"
        )


class NodeAnswerError(ConsentLedgerError, ValueError):
    """The node answered a request with something that is not what JSON-RPC promises."""

    code = "bad_node_answer"


@dataclass(frozen=True, slots=True)
class SignedRequestInput:
    """The bank's signed request of one recorded read, as its transaction's input carries it:
    the entry's ``request`` word and its ERC-2098 signature ``(r, vs)``."""

    request: int
    r: bytes
    vs: bytes


#: Bytes of one ``AccessEntry`` in a ``recordAccesses`` call: six static words.
_ENTRY_SIZE = 6 * 32


def _canonical_entries(
    record_accesses: FunctionCodec, raw: bytes
) -> dict[int, SignedRequestInput] | None:
    """The signed requests of a ``recordAccesses`` input in the canonical ABI layout (the array
    right after its offset word, nothing after it), sliced straight from the words; None for any
    other input, which the ABI decoder then reads (the contract's decoder accepts other
    offsets, so a relayer may send them). Equal to the decoder's answer where it applies (a
    test holds them together)."""
    if raw[:4] != record_accesses.selector or len(raw) < 100:
        return None
    if int.from_bytes(raw[36:68], "big") != 64:
        return None
    count = int.from_bytes(raw[68:100], "big")
    if len(raw) != 100 + count * _ENTRY_SIZE:
        return None
    first = int.from_bytes(raw[4:36], "big")
    requests: dict[int, SignedRequestInput] = {}
    for offset, base in enumerate(range(100, len(raw), _ENTRY_SIZE)):
        requests[first + offset] = SignedRequestInput(
            int.from_bytes(raw[base + 96 : base + 128], "big"),
            raw[base + 128 : base + 160],
            raw[base + 160 : base + 192],
        )
    return requests


def signed_requests(
    record_accesses: FunctionCodec, calldata: str | bytes
) -> dict[int, SignedRequestInput]:
    """The signed request of each query id of a ``recordAccesses`` call's input (decoded with
    that function's codec; empty when the input is not such a call)."""
    try:
        raw = (
            bytes.fromhex(calldata.removeprefix("0x").removeprefix("0X"))
            if isinstance(calldata, str)
            else bytes(calldata)
        )
    except ValueError:
        return {}
    canonical = _canonical_entries(record_accesses, raw)
    if canonical is not None:
        return canonical
    decoded = record_accesses.decode_input(raw)
    if decoded is None:
        return {}
    first, entries = decoded
    return {
        int(first) + offset: SignedRequestInput(int(entry[3]), bytes(entry[4]), bytes(entry[5]))
        for offset, entry in enumerate(entries)
    }


def signed_entry(
    domain: typed_data.Domain, entry: AccessEntry, request: SignedRequestInput | None
) -> AccessEntry:
    """``entry`` (as its event recorded it) with the bank's request from its transaction's input
    and the signer that request's signature recovers to (unchanged, so unsigned, when the input
    has none)."""
    if request is None:
        return entry
    request_id, deadline, history_months = unpack_request(request.request)
    fields = (
        entry.query_id,
        entry.consent_id,
        entry.bank,
        entry.categories,
        entry.purpose,
        entry.response_hash,
        history_months,
        request_id,
        deadline,
        full_signature(request.r, request.vs),
    )
    # Built directly (dataclasses.replace costs more than the rest of this per replayed read).
    return AccessEntry(*fields, typed_data.read_request_signer(domain, AccessEntry(*fields)))


#: The ledger's read events, whose transaction input the reader decodes for the signed requests.
READ_EVENTS = frozenset({"DataAccessed", "AccessDenied"})


@dataclass(slots=True)
class LedgerEvent:
    """A decoded event with its block's timestamp (read-only by convention; not frozen, for the
    reason :class:`~consentledger.chain.abi.DecodedLog` is not). A read event carries the bank's
    signed request from its transaction's input (None: the input has none for its query id)."""

    log: DecodedLog
    timestamp: int
    request: SignedRequestInput | None = None


@dataclass(frozen=True, slots=True)
class UndecodedLog:
    """A log at the ledger's address that is none of its events, or does not decode."""

    raw: Mapping[str, Any]
    block_number: int
    transaction_hash: str
    log_index: int
    timestamp: int
    topic: str
    problem: LogDecodeError | None  # None: the topic is none of the ledger's events


LedgerItem = LedgerEvent | UndecodedLog


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """What the auditor needs of a block."""

    number: int
    hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One range as the node answered it: its logs and the headers of their blocks."""

    first: int
    last: int
    logs: list[dict[str, Any]]
    headers: dict[int, BlockHeader]


def _chain_order(item: tuple[int, int, dict[str, Any]]) -> tuple[int, int]:
    return item[0], item[1]


def _is_range_error(error: JsonRpcError) -> bool:
    return error.rpc_code == LIMIT_EXCEEDED or bool(_RANGE_TOO_LARGE.search(error.rpc_message))


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise NodeAnswerError(f"the node sent {what} as {value!r}, not a hex quantity")


def matching_logs(
    rpc: JsonRpc,
    address: str,
    decoder: LogDecoder,
    topics: list[Any],
    first: int,
    last: int,
) -> list[DecodedLog]:
    """The contract's logs in blocks ``first``..``last`` whose topics match ``topics`` (a hex
    string, a list of them, or None for any, per position), decoded, in chain order: one raw
    ``eth_getLogs`` (the reader's way, filtered), for the few logs of one enterprise or consent."""
    query = {"address": address, "fromBlock": hex(first), "toBlock": hex(last), "topics": topics}
    logs = rpc.request("eth_getLogs", [query])
    if not isinstance(logs, list):
        raise NodeAnswerError(f"the node answered eth_getLogs with {type(logs).__name__}")
    decoded = [event for log in logs if (event := decoder.decode(log)) is not None]
    return sorted(decoded, key=lambda e: (e.block_number, e.log_index))


class LedgerReader:
    """The deployment's events in chain order, from any :class:`JsonRpc`."""

    def __init__(
        self,
        rpc: JsonRpc,
        deployment: Deployment,
        *,
        block_range: int = DEFAULT_BLOCK_RANGE,
        prefetch: int = DEFAULT_PREFETCH,
    ) -> None:
        if block_range < 1:
            raise ValueError("block_range must be at least 1")
        if prefetch < 0:
            raise ValueError("prefetch must be at least 0")
        artifact = load_artifact(CONTRACT)
        self.rpc = rpc
        self.deployment = deployment
        self.block_range = block_range
        self.prefetch = prefetch if is_thread_safe(rpc) else 0
        self.decoder = LogDecoder(artifact["abi"])
        self.consent_view = FunctionCodec(artifact["abi"], "consent")
        self.record_accesses = FunctionCodec(artifact["abi"], "recordAccesses")
        self._address = deployment.address.lower()
        self._blocks: dict[int, BlockHeader] = {}
        #: Logs the node returned for another address (never replayed).
        self.ignored_logs = 0
        #: Requests made, by method.
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def _count(self, method: str, n: int = 1) -> None:
        with self._count_lock:
            self.requests[method] = self.requests.get(method, 0) + n

    def _request(self, method: str, params: list[Any]) -> Any:
        self._count(method)
        return self.rpc.request(method, params)

    def verify(self) -> None:
        """The node is the deployment's chain and the ledger's code is at its address."""
        check_chain_id(self.deployment, _quantity(self._request("eth_chainId", []), "the chain id"))
        code = self._request("eth_getCode", [self.deployment.address, "latest"])
        if not isinstance(code, str):
            raise NodeAnswerError(f"the node sent the contract code as {type(code).__name__}")
        check_code(self.deployment, bytes.fromhex(code.removeprefix("0x")))

    def head(self) -> int:
        """The node's latest block number."""
        return _quantity(self._request("eth_blockNumber", []), "the block number")

    def block(self, number: int) -> BlockHeader:
        """A block's number, hash and timestamp (cached)."""
        cached = self._blocks.get(number)
        if cached is None:
            self._fetch_blocks([number])
            cached = self._blocks[number]
        return cached

    def forget_blocks(self) -> None:
        """Drop the cached block headers (a reader that follows the chain for long keeps the
        cache small; a header asked for again is fetched again, and checked again)."""
        self._blocks.clear()

    def _fetch_blocks(self, numbers: list[int]) -> None:
        self._blocks.update(self._headers(numbers))

    def _headers(self, numbers: list[int]) -> dict[int, BlockHeader]:
        """The headers of the blocks among ``numbers`` not cached yet (one batched request)."""
        missing = sorted({n for n in numbers if n not in self._blocks})
        if not missing:
            return {}
        self._count("eth_getBlockByNumber", len(missing))
        answers = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in missing])
        headers: dict[int, BlockHeader] = {}
        for number, answer in zip(missing, answers, strict=True):
            if answer is None:
                raise ChainReorganisedError(number)
            if not isinstance(answer, dict):
                raise NodeAnswerError(f"the node answered block {number} with {answer!r:.80}")
            headers[number] = BlockHeader(
                number=_quantity(answer.get("number"), "a block number"),
                hash=str(answer.get("hash")).lower(),
                timestamp=_quantity(answer.get("timestamp"), "a block timestamp"),
            )
        return headers

    def read(
        self, first: int, last: int, progress: Callable[[int], None] | None = None
    ) -> Iterator[LedgerItem]:
        """Every event of the ledger in blocks ``first..last``, in chain order. ``progress`` is
        called with the last block read after each range."""
        if self.prefetch == 0:
            size = self.block_range
            start = first
            while start <= last:
                end = min(last, start + size - 1)
                fetched = self._fetch(start, end)
                yield from self._decode_range(fetched)
                if progress is not None:
                    progress(end)
                size = self._next_size(end - start + 1, len(fetched.logs))
                start = end + 1
            return
        yield from self._read_ahead(first, last, progress)

    def _read_ahead(
        self, first: int, last: int, progress: Callable[[int], None] | None
    ) -> Iterator[LedgerItem]:
        """:meth:`read` with up to ``prefetch`` ranges in flight on worker threads."""
        pending: deque[tuple[int, Future[_Fetched]]] = deque()
        size = self.block_range
        start = first
        pool = ThreadPoolExecutor(self.prefetch, thread_name_prefix="ledger-reader")
        try:
            while start <= last or pending:
                while start <= last and len(pending) <= self.prefetch:
                    end = min(last, start + size - 1)
                    pending.append((end, pool.submit(self._fetch, start, end)))
                    start = end + 1
                end, future = pending.popleft()
                fetched = future.result()
                yield from self._decode_range(fetched)
                if progress is not None:
                    progress(end)
                size = self._next_size(fetched.last - fetched.first + 1, len(fetched.logs))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _next_size(self, blocks: int, logs: int) -> int:
        """The next range's size after ``blocks`` blocks answered ``logs`` logs: about
        TARGET_LOGS logs at that density, at most twice ``blocks`` (density changes: growing
        step by step keeps a quiet stretch from running into a busy one in one huge answer),
        within 1..block_range."""
        wanted = 2 * blocks if logs == 0 else blocks * TARGET_LOGS // logs
        return max(1, min(self.block_range, 2 * blocks, wanted))

    def _fetch(self, first: int, last: int) -> _Fetched:
        """One range's logs and the headers of their blocks (safe on a worker thread: it only
        reads the header cache; the caller merges what it fetched)."""
        logs = self._logs(first, last)
        address = self._address
        blocks: list[int] = []
        previous = None
        for log in logs:
            number = log.get("blockNumber")
            if number == previous or log.get("removed") or not isinstance(number, str):
                continue
            emitter = log.get("address", "")
            if number.startswith("0x") and (emitter == address or str(emitter).lower() == address):
                previous = number
                blocks.append(int(number, 16))
        return _Fetched(first, last, logs, self._headers(blocks))

    def _logs(self, first: int, last: int) -> list[dict[str, Any]]:
        query = {"address": self.deployment.address, "fromBlock": hex(first), "toBlock": hex(last)}
        try:
            logs = self._request("eth_getLogs", [query])
        except JsonRpcError as error:
            if last == first or not _is_range_error(error):
                raise
            middle = (first + last) // 2
            self.block_range = max(1, min(self.block_range, middle - first + 1))
            return self._logs(first, middle) + self._logs(middle + 1, last)
        if not isinstance(logs, list):
            raise NodeAnswerError(f"the node answered eth_getLogs with {type(logs).__name__}")
        return logs

    def _decode_range(self, fetched: _Fetched) -> Iterator[LedgerItem]:
        """The range's items in chain order; a changed block raises after the items before it."""
        items: list[LedgerItem] = []
        reorganised: ChainReorganisedError | None = None
        with gc_paused():
            try:
                self._decode_into(fetched, items)
            except ChainReorganisedError as error:
                reorganised = error
        yield from items
        if reorganised is not None:
            raise reorganised

    def _decode_into(self, fetched: _Fetched, items: list[LedgerItem]) -> None:
        for number, header in fetched.headers.items():
            self._blocks.setdefault(number, header)  # a header seen first stays the reference
        address = self._address
        ours: list[tuple[int, int, dict[str, Any]]] = []
        in_order = True
        previous = (-1, -1)
        for log in fetched.logs:
            if log.get("removed"):
                continue
            emitter = log.get("address", "")
            if emitter != address and str(emitter).lower() != address:
                self.ignored_logs += 1
                continue
            block_tag, index_tag = log.get("blockNumber"), log.get("logIndex")
            if (
                isinstance(block_tag, str)
                and isinstance(index_tag, str)
                and block_tag[:2] == index_tag[:2] == "0x"
            ):
                where = (int(block_tag, 16), int(index_tag, 16))
            else:
                where = (
                    _quantity(block_tag, "a log's block number"),
                    _quantity(index_tag, "a log index"),
                )
            if where < previous:
                in_order = False
            previous = where
            ours.append((*where, log))
        if not in_order:  # nodes answer in chain order; a recording or a proxy may not
            ours.sort(key=_chain_order)
        self._fetch_blocks([block for block, _, _ in ours])
        blocks = self._blocks
        decode = self.decoder.decode
        append = items.append
        for block, log_index, log in ours:
            header = blocks[block]
            block_hash = log.get("blockHash", "")
            if block_hash != header.hash and str(block_hash).lower() != header.hash:
                raise ChainReorganisedError(block)
            try:
                decoded = decode(log)
            except LogDecodeError as problem:
                append(self._undecoded(log, block, log_index, header, problem))
                continue
            except (ValueError, TypeError, KeyError) as exc:  # not even hex where hex belongs
                malformed = LogDecodeError("log", f"not a well-formed log: {exc!r}")
                append(self._undecoded(log, block, log_index, header, malformed))
                continue
            if decoded is None:
                append(self._undecoded(log, block, log_index, header, None))
            else:
                append(LedgerEvent(decoded, header.timestamp))
        self._attach_requests(items)

    def _attach_requests(self, items: list[LedgerItem]) -> None:
        """Give each read event its signed request, decoded from its transaction's input (one
        batched ``eth_getTransactionByHash`` for the range's read transactions)."""
        reads = [
            item
            for item in items
            if isinstance(item, LedgerEvent) and item.log.event in READ_EVENTS
        ]
        if not reads:
            return
        hashes = sorted({"0x" + item.log.transaction_hash.hex() for item in reads})
        self._count("eth_getTransactionByHash", len(hashes))
        answers = self.rpc.batch([("eth_getTransactionByHash", [h]) for h in hashes])
        requests: dict[int, SignedRequestInput] = {}
        for tx_hash, answer in zip(hashes, answers, strict=True):
            if not isinstance(answer, dict):
                raise NodeAnswerError(
                    f"the node answered transaction {tx_hash} with {answer!r:.80}"
                )
            if str(answer.get("to", "")).lower() != self._address:
                continue  # not a direct call of the ledger: no request to read
            requests.update(self.signed_requests(answer.get("input") or answer.get("data") or ""))
        for item in reads:
            item.request = requests.get(int(item.log.args["queryId"]))

    def signed_requests(self, calldata: str | bytes) -> dict[int, SignedRequestInput]:
        """The signed request of each query id of a ``recordAccesses`` call's input (empty when
        the input is not such a call)."""
        return signed_requests(self.record_accesses, calldata)

    @staticmethod
    def _undecoded(
        log: dict[str, Any],
        block: int,
        log_index: int,
        header: BlockHeader,
        problem: LogDecodeError | None,
    ) -> UndecodedLog:
        topics = log.get("topics") or ["0x"]
        return UndecodedLog(
            raw=log,
            block_number=block,
            transaction_hash=str(log.get("transactionHash", "")).lower(),
            log_index=log_index,
            timestamp=header.timestamp,
            topic=str(topics[0]),
            problem=problem,
        )

    def consent_views(self, consent_ids: list[bytes], block: int) -> dict[bytes, tuple[Any, ...]]:
        """``consent(id)`` of each consent as the contract's storage answers at ``block``."""
        calls = [
            (
                "eth_call",
                [
                    {
                        "to": self.deployment.address,
                        "data": "0x" + self.consent_view.encode(c).hex(),
                    },
                    hex(block),
                ],
            )
            for c in consent_ids
        ]
        self.requests["eth_call"] = self.requests.get("eth_call", 0) + len(calls)
        answers = self.rpc.batch(calls)
        return {
            consent_id: self.consent_view.decode(answer)[0]
            for consent_id, answer in zip(consent_ids, answers, strict=True)
        }
