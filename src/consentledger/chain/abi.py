"""Decode what the contract says without web3's per-event machinery: revert data and logs.

Both decoders are built once from the artifact's ABI: a 4-byte selector (errors) or topic0 (events)
maps to the types to decode with eth-abi. The log decoder is the fast path the auditor replays the
ledger with; the revert decoder turns a custom error into the package's own
:class:`~consentledger.audit.model.LedgerRevertError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from consentledger.audit.model import LedgerRevertError

Abi = Sequence[Mapping[str, Any]]

_PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]
_ERROR_SELECTOR = keccak(text="Error(string)")[:4]


def _canonical_type(item: Mapping[str, Any]) -> str:
    """The ABI type of a parameter, with tuples spelled out (``(uint256,bytes32)[]``)."""
    kind = str(item["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _signature(entry: Mapping[str, Any]) -> str:
    params = ",".join(_canonical_type(i) for i in entry.get("inputs", []))
    return f"{entry['name']}({params})"


def _python_value(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    return value


@dataclass(frozen=True, slots=True)
class _ErrorSpec:
    name: str
    types: tuple[str, ...]


class RevertDecoder:
    """Revert data -> :class:`LedgerRevertError` carrying the custom error's name and arguments."""

    def __init__(self, abi: Abi) -> None:
        self._errors: dict[bytes, _ErrorSpec] = {}
        for entry in abi:
            if entry.get("type") == "error":
                types = tuple(_canonical_type(i) for i in entry.get("inputs", []))
                self._errors[keccak(text=_signature(entry))[:4]] = _ErrorSpec(entry["name"], types)

    def decode(self, data: bytes | str | None) -> LedgerRevertError:
        """The error the revert data names. Unknown data decodes to ``UnknownRevert(data)``."""
        raw = _to_bytes(data)
        selector, payload = raw[:4], raw[4:]
        try:
            if selector == _ERROR_SELECTOR:
                return LedgerRevertError("Error", abi_decode(["string"], payload)[0])
            if selector == _PANIC_SELECTOR:
                return LedgerRevertError("Panic", abi_decode(["uint256"], payload)[0])
            spec = self._errors.get(selector)
            if spec is not None:
                values = abi_decode(list(spec.types), payload)
                return LedgerRevertError(
                    spec.name,
                    *(_python_value(t, v) for t, v in zip(spec.types, values, strict=True)),
                )
        except DecodingError:
            pass  # a known selector with a malformed payload is reported raw, like unknown data
        return LedgerRevertError("UnknownRevert", "0x" + raw.hex())


@dataclass(frozen=True, slots=True)
class DecodedLog:
    """One event, decoded, with where it sits in the chain."""

    event: str
    args: dict[str, Any]
    address: str
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    transaction_index: int
    log_index: int


@dataclass(frozen=True, slots=True)
class _EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) of topics 1..n
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


class LogDecoder:
    """Raw logs (JSON-RPC dicts or web3 AttributeDicts) -> :class:`DecodedLog`."""

    def __init__(self, abi: Abi) -> None:
        self._events: dict[bytes, _EventSpec] = {}
        self.topics: dict[str, bytes] = {}
        for entry in abi:
            if entry.get("type") != "event":
                continue
            inputs = entry.get("inputs", [])
            topic = keccak(text=_signature(entry))
            self.topics[entry["name"]] = topic
            self._events[topic] = _EventSpec(
                name=entry["name"],
                indexed=tuple((i["name"], _canonical_type(i)) for i in inputs if i["indexed"]),
                data_names=tuple(i["name"] for i in inputs if not i["indexed"]),
                data_types=tuple(_canonical_type(i) for i in inputs if not i["indexed"]),
            )

    def decode(self, log: Mapping[str, Any]) -> DecodedLog | None:
        """The decoded event, or None when the log is not one of the ABI's events."""
        topics = [_to_bytes(t) for t in log["topics"]]
        if not topics:
            return None
        spec = self._events.get(topics[0])
        if spec is None:
            return None
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
            args[name] = _python_value(kind, abi_decode([kind], topic)[0])
        values = abi_decode(list(spec.data_types), _to_bytes(log["data"]))
        for name, kind, value in zip(spec.data_names, spec.data_types, values, strict=True):
            args[name] = _python_value(kind, value)
        return DecodedLog(
            event=spec.name,
            args=args,
            address=to_checksum_address(log["address"]),
            block_number=_to_int(log["blockNumber"]),
            block_hash=_to_bytes(log["blockHash"]),
            transaction_hash=_to_bytes(log["transactionHash"]),
            transaction_index=_to_int(log["transactionIndex"]),
            log_index=_to_int(log["logIndex"]),
        )


def _to_bytes(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        return bytes.fromhex(text)
    return bytes(value)


def _to_int(value: int | str) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)
