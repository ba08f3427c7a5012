"""A recorded ledger: the raw answers an audit needed, kept in one JSON file and served again.

:class:`RecordingJsonRpc` wraps any transport and keeps what the auditor asked for (chain id, code,
head, logs, block headers, storage views); :class:`RecordedJsonRpc` answers the same requests from
the file, so an audit of a recording runs the auditor's own code path, byte for byte as against
the node. The golden test vectors under ``tests/audit/golden`` are such files.

A recording serves every recorded log of the requested blocks whatever its address, as it was
recorded: keeping another contract's logs out is the auditor's own job, and a test vector checks
that it does.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consentledger.chain.jsonrpc import METHOD_NOT_FOUND, Call, JsonRpc, JsonRpcError
from consentledger.errors import ConsentLedgerError
from consentledger.files import write_atomically

RECORDING_FORMAT = "consentledger-recorded-ledger/1"
#: JSON-RPC's generic server error, for a request the recording cannot answer.
NOT_RECORDED = -32000


class RecordingError(ConsentLedgerError, ValueError):
    """A recorded-ledger file that cannot be read."""

    code = "bad_recording"


def _block_of(tag: str, head: int) -> int:
    if tag in ("latest", "pending", "safe", "finalized"):
        return head
    if tag == "earliest":
        return 0
    return int(tag, 16)


def _call_key(transaction: dict[str, Any], tag: str) -> str:
    return f"{str(transaction.get('to', '')).lower()}|{transaction.get('data', '')}|{tag}"


class RecordedJsonRpc:
    """Serves a recording as a node would answer the auditor's requests."""

    def __init__(self, recording: dict[str, Any]) -> None:
        try:
            if recording.get("format") != RECORDING_FORMAT:
                raise RecordingError(
                    f"not a recorded ledger (format {recording.get('format')!r}, "
                    f"expected {RECORDING_FORMAT!r})"
                )
            self.chain_id: str = recording["chain_id"]
            self.head = int(recording["head"], 16)
            self.code: dict[str, str] = {k.lower(): v for k, v in recording["code"].items()}
            self.logs: list[dict[str, Any]] = list(recording["logs"])
            # Every log must say where it is; kept in block order for a range's bisection.
            self.logs.sort(key=lambda log: int(log["blockNumber"], 16))
            self._log_blocks = [int(log["blockNumber"], 16) for log in self.logs]
            self.blocks: dict[int, dict[str, Any]] = {
                int(b["number"], 16): b for b in recording["blocks"]
            }
            self.calls: dict[str, str] = {
                _call_key({"to": c["to"], "data": c["data"]}, c["block"]): c["result"]
                for c in recording["calls"]
            }
            #: The recorded reads' transactions (their input carries the banks' signed
            #: requests), by hash.
            self.transactions: dict[str, dict[str, Any]] = {
                str(t["hash"]).lower(): t for t in recording.get("transactions", [])
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, RecordingError):
                raise
            raise RecordingError(f"the recorded ledger is malformed: {exc!r}") from exc

    @classmethod
    def load(cls, path: Path) -> RecordedJsonRpc:
        """Read a recording written by :meth:`RecordingJsonRpc.save`."""
        try:
            recording = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RecordingError(f"cannot read the recorded ledger {path}: {exc}") from exc
        if not isinstance(recording, dict):
            raise RecordingError(f"the recorded ledger {path} is not a JSON object")
        return cls(recording)

    def request(self, method: str, params: Sequence[Any]) -> Any:
        if method == "eth_chainId":
            return self.chain_id
        if method == "eth_blockNumber":
            return hex(self.head)
        if method == "eth_getCode":
            return self.code.get(str(params[0]).lower(), "0x")
        if method == "eth_getLogs":
            query = params[0]
            first = _block_of(query.get("fromBlock", "latest"), self.head)
            last = _block_of(query.get("toBlock", "latest"), self.head)
            start = bisect_left(self._log_blocks, first)
            return self.logs[start : bisect_right(self._log_blocks, last, lo=start)]
        if method == "eth_getBlockByNumber":
            return self.blocks.get(_block_of(params[0], self.head))
        if method == "eth_call":
            tag = params[1] if len(params) > 1 else "latest"
            key = _call_key(params[0], hex(_block_of(tag, self.head)))
            if key not in self.calls:
                raise JsonRpcError(method, NOT_RECORDED, "this call was not recorded")
            return self.calls[key]
        if method == "eth_getTransactionByHash":
            return self.transactions.get(str(params[0]).lower())
        raise JsonRpcError(method, METHOD_NOT_FOUND, "Method not found")

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        return [self.request(method, params) for method, params in calls]

    def close(self) -> None:
        """Nothing to release."""


class RecordingJsonRpc:
    """Passes requests to ``inner`` and keeps the answers a :class:`RecordedJsonRpc` needs."""

    def __init__(self, inner: JsonRpc) -> None:
        self.inner = inner
        self._chain_id: str | None = None
        self._head: str | None = None
        self._code: dict[str, str] = {}
        self._logs: dict[tuple[int, int], dict[str, Any]] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._calls: dict[str, dict[str, Any]] = {}
        self._transactions: dict[str, dict[str, Any]] = {}

    def request(self, method: str, params: Sequence[Any]) -> Any:
        result = self.inner.request(method, params)
        self._keep(method, params, result)
        return result

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        results = self.inner.batch(calls)
        for (method, params), result in zip(calls, results, strict=True):
            self._keep(method, params, result)
        return results

    def close(self) -> None:
        self.inner.close()

    def _keep(self, method: str, params: Sequence[Any], result: Any) -> None:
        if method == "eth_chainId":
            self._chain_id = result
        elif method == "eth_blockNumber":
            self._head = result
        elif method == "eth_getCode":
            self._code[str(params[0]).lower()] = result
        elif method == "eth_getLogs":
            for log in result:
                key = (int(log["blockNumber"], 16), int(log["logIndex"], 16))
                self._logs[key] = log
        elif method == "eth_getBlockByNumber" and result is not None:
            header = {k: result[k] for k in ("number", "hash", "parentHash", "timestamp")}
            self._blocks[int(result["number"], 16)] = header
        elif method == "eth_call":
            tag = params[1] if len(params) > 1 else "latest"
            entry = {"to": str(params[0]["to"]).lower(), "data": params[0]["data"], "block": tag}
            self._calls[_call_key(params[0], tag)] = {**entry, "result": result}
        elif method == "eth_getTransactionByHash" and result is not None:
            kept = {k: result[k] for k in ("hash", "to", "blockNumber") if k in result}
            kept["input"] = result.get("input", result.get("data", "0x"))
            self._transactions[str(result["hash"]).lower()] = kept

    def recording(self) -> dict[str, Any]:
        """Everything kept, in the file's shape (sorted, so a recording is reproducible)."""
        if self._chain_id is None or self._head is None:
            raise RecordingError("nothing recorded yet: run an audit through this transport first")
        return {
            "format": RECORDING_FORMAT,
            "chain_id": self._chain_id,
            "head": self._head,
            "code": dict(sorted(self._code.items())),
            "blocks": [self._blocks[n] for n in sorted(self._blocks)],
            "logs": [self._logs[k] for k in sorted(self._logs)],
            "calls": [self._calls[k] for k in sorted(self._calls)],
            "transactions": [self._transactions[k] for k in sorted(self._transactions)],
        }

    def save(self, path: Path) -> None:
        """Write the recording as indented JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(self.recording(), indent=1) + "\n", durable=False)
