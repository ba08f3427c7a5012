"""Reading the ledger off a node: raw ``eth_getLogs`` in block ranges, decoded by the project.

The reader asks for the deployment's logs a range at a time (at most ``block_range`` blocks; when
a node answers that a range is too large, it halves the range and goes on with the smaller size),
fetches the timestamp of each block that has logs once (``eth_getBlockByNumber``, batched), and
decodes every log with :class:`~consentledger.chain.abi.LogDecoder`. Before anything, it checks
that the node is the deployment's chain and that the ledger's code is there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from consentledger.chain.abi import DecodedLog, FunctionCodec, LogDecodeError, LogDecoder
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.deploy import CONTRACT, Deployment, check_chain_id, check_code
from consentledger.chain.jsonrpc import LIMIT_EXCEEDED, JsonRpc, JsonRpcError
from consentledger.errors import ConsentLedgerError

#: Blocks per eth_getLogs request unless told otherwise (many hosted nodes cap ranges near this).
DEFAULT_BLOCK_RANGE = 1000

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
class LedgerEvent:
    """A decoded event with its block's timestamp."""

    log: DecodedLog
    timestamp: int


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


def _is_range_error(error: JsonRpcError) -> bool:
    return error.rpc_code == LIMIT_EXCEEDED or bool(_RANGE_TOO_LARGE.search(error.rpc_message))


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise NodeAnswerError(f"the node sent {what} as {value!r}, not a hex quantity")


class LedgerReader:
    """The deployment's events in chain order, from any :class:`JsonRpc`."""

    def __init__(
        self,
        rpc: JsonRpc,
        deployment: Deployment,
        *,
        block_range: int = DEFAULT_BLOCK_RANGE,
    ) -> None:
        if block_range < 1:
            raise ValueError("block_range must be at least 1")
        artifact = load_artifact(CONTRACT)
        self.rpc = rpc
        self.deployment = deployment
        self.block_range = block_range
        self.decoder = LogDecoder(artifact["abi"])
        self.consent_view = FunctionCodec(artifact["abi"], "consent")
        self._address = deployment.address.lower()
        self._blocks: dict[int, BlockHeader] = {}
        #: Logs the node returned for another address (never replayed).
        self.ignored_logs = 0
        #: Requests made, by method.
        self.requests: dict[str, int] = {}

    def _request(self, method: str, params: list[Any]) -> Any:
        self.requests[method] = self.requests.get(method, 0) + 1
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

    def _fetch_blocks(self, numbers: list[int]) -> None:
        missing = sorted({n for n in numbers if n not in self._blocks})
        if not missing:
            return
        self.requests["eth_getBlockByNumber"] = self.requests.get("eth_getBlockByNumber", 0) + len(
            missing
        )
        answers = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in missing])
        for number, answer in zip(missing, answers, strict=True):
            if answer is None:
                raise ChainReorganisedError(number)
            if not isinstance(answer, dict):
                raise NodeAnswerError(f"the node answered block {number} with {answer!r:.80}")
            self._blocks[number] = BlockHeader(
                number=_quantity(answer.get("number"), "a block number"),
                hash=str(answer.get("hash")).lower(),
                timestamp=_quantity(answer.get("timestamp"), "a block timestamp"),
            )

    def read(
        self, first: int, last: int, progress: Callable[[int], None] | None = None
    ) -> Iterator[LedgerItem]:
        """Every event of the ledger in blocks ``first..last``, in chain order. ``progress`` is
        called with the last block read after each range."""
        start = first
        while start <= last:
            end = min(last, start + self.block_range - 1)
            logs = self._logs(start, end)
            yield from self._decode_range(logs)
            if progress is not None:
                progress(end)
            start = end + 1

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

    def _decode_range(self, logs: list[dict[str, Any]]) -> Iterator[LedgerItem]:
        ours: list[tuple[int, int, dict[str, Any]]] = []
        for log in logs:
            if log.get("removed"):
                continue
            if str(log.get("address", "")).lower() != self._address:
                self.ignored_logs += 1
                continue
            block = _quantity(log.get("blockNumber"), "a log's block number")
            ours.append((block, _quantity(log.get("logIndex"), "a log index"), log))
        ours.sort(key=lambda item: (item[0], item[1]))
        self._fetch_blocks([block for block, _, _ in ours])
        for block, log_index, log in ours:
            header = self._blocks[block]
            if str(log.get("blockHash", "")).lower() != header.hash:
                raise ChainReorganisedError(block)
            try:
                decoded = self.decoder.decode(log)
            except LogDecodeError as problem:
                yield self._undecoded(log, block, log_index, header, problem)
                continue
            except (ValueError, TypeError, KeyError) as exc:  # not even hex where hex belongs
                malformed = LogDecodeError("log", f"not a well-formed log: {exc!r}")
                yield self._undecoded(log, block, log_index, header, malformed)
                continue
            if decoded is None:
                yield self._undecoded(log, block, log_index, header, None)
            else:
                yield LedgerEvent(decoded, header.timestamp)

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
