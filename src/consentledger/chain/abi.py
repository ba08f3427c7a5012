"""Decode what the contract says without web3's per-event machinery: revert data and logs.

Both decoders are built once from the artifact's ABI: a 4-byte selector (errors) or topic0 (events)
maps to the types to decode. The log decoder is the fast path the auditor replays the ledger with:
every one-word value (integers, addresses, booleans, fixed bytes) is read straight from its 32-byte
word with eth-abi's validation rules, and only dynamic data (strings, arrays) goes through eth-abi;
a log as a node sends it (hex strings) is read through a per-event layout derived from the ABI, and
anything unusual in it (lengths, padding) falls back to the general path, which gives the same
answer or the same refusal. :meth:`LogDecoder.decode_reference` is the plain eth-abi decoding both
are tested against. The revert
decoder turns a custom error into the package's own
:class:`~consentledger.ledger.errors.LedgerRevertError`; :class:`FunctionCodec` encodes a view call
and decodes its answer for raw ``eth_call``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, NonEmptyPaddingBytes
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from consentledger.errors import ConsentLedgerError
from consentledger.ledger.errors import LedgerRevertError

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


@dataclass(slots=True)
class DecodedLog:
    """One event, decoded, with where it sits in the chain. Read-only by convention: not
    ``frozen``, because a frozen dataclass sets each field through ``object.__setattr__`` and
    costs five times as much to build, and the auditor builds one per event."""

    event: str
    args: dict[str, Any]
    address: str
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    transaction_index: int
    log_index: int


class LogDecodeError(ConsentLedgerError, ValueError):
    """A log whose topic0 names one of the ABI's events but whose topics or data do not decode."""

    code = "malformed_log"

    def __init__(self, event: str, reason: str) -> None:
        self.event = event
        self.reason = reason
        super().__init__(f"a {event} log does not decode: {reason}")


WordDecoder = Callable[[bytes], Any]


@lru_cache(maxsize=4096)
def _checksum(raw: bytes) -> str:
    return str(to_checksum_address(raw))


@lru_cache(maxsize=256)
def _checksum_text(address: str) -> str:
    """A log's emitting address, checksummed (a ledger's logs all come from one address)."""
    return str(to_checksum_address(address))


def _padding_error(kind: str) -> NonEmptyPaddingBytes:
    return NonEmptyPaddingBytes(f"non-empty padding bytes in a {kind} word")


def _word_decoder(kind: str) -> WordDecoder | None:
    """A decoder of one 32-byte word of ``kind`` with eth-abi's checks, or None when ``kind`` is
    not a one-word type this fast path reads (signed integers, dynamic and tuple types)."""
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)

        def uint(word: bytes) -> int:
            value = int.from_bytes(word, "big")
            if value >> bits:
                raise _padding_error(kind)
            return value

        return uint
    if kind == "address":

        def address(word: bytes) -> str:
            if any(word[:12]):
                raise _padding_error(kind)
            return _checksum(word[12:])

        return address
    if kind == "bool":

        def boolean(word: bytes) -> bool:
            value = int.from_bytes(word, "big")
            if value > 1:
                raise _padding_error(kind)
            return value == 1

        return boolean
    if kind.startswith("bytes") and kind[5:].isdigit():
        size = int(kind[5:])

        def fixed_bytes(word: bytes) -> bytes:
            if any(word[size:]):
                raise _padding_error(kind)
            return word[:size]

        return fixed_bytes
    return None


@dataclass(frozen=True, slots=True)
class _EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) of topics 1..n
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    topic_decoders: tuple[WordDecoder | None, ...]
    data_decoders: tuple[WordDecoder, ...] | None  # None: some data is not one word (eth-abi)


#: Reads one event's fields from a node's hex topics and its data as bytes: the args in the
#: order the general path fills them (indexed first), or None when a word is unusual.
HexReader = Callable[[Sequence[str], bytes], "dict[str, Any] | None"]

_ZERO_12 = bytes(12)
_FALSE_WORD = bytes(32)
_TRUE_WORD = bytes(31) + b"\x01"
_UINT = re.compile(r"uint(\d*)")
_FIXED_BYTES = re.compile(r"bytes(\d+)")


def _word_lines(kind: str, word: str, value: str) -> list[str] | None:
    """Source lines that set ``value`` from the 32-byte ``word`` of ``kind`` with
    :func:`_word_decoder`'s checks (an unusual word returns None from the reader), or None when
    ``kind`` is not a one-word type."""
    if match := _UINT.fullmatch(kind):
        bits = int(match.group(1) or 256)
        lines = [f"{value} = _from_bytes({word}, 'big')"]
        if bits < 256:
            lines.append(f"if {value} >> {bits}: return None")
        return lines
    if kind == "address":
        return [f"if {word}[:12] != _ZERO_12: return None", f"{value} = _checksum({word}[12:])"]
    if kind == "bool":
        return [
            f"if {word} != _TRUE_WORD and {word} != _FALSE_WORD: return None",
            f"{value} = {word} == _TRUE_WORD",
        ]
    if match := _FIXED_BYTES.fullmatch(kind):
        size = int(match.group(1))
        if size == 32:
            return [f"{value} = {word}"]
        return [
            f"if any({word}[{size}:]): return None",
            f"{value} = {word}[:{size}]",
        ]
    return None


@dataclass(frozen=True, slots=True)
class _HexLayout:
    """Where each field of one event sits in a node's hex log, derived from the ABI, and the
    reader generated from it."""

    name: str
    topics: int  # topic0 included
    data_chars: int  # "0x" and two hex digits per data byte
    source: str  # the reader's code, for a reader of this module
    read: HexReader


def _hex_layout(name: str, inputs: Sequence[Mapping[str, Any]]) -> _HexLayout | None:
    """The layout of an event whose every field is one word, or None (the general path).

    The reader is straight-line code generated from the event's inputs (as ``dataclasses``
    generates ``__init__``): it reads every field with no loop and no call per field, which is
    most of the auditor's decoding time. Field names appear in it only as string literals.
    """
    lines = ["def read(topics, data):"]
    indexed = [i for i in inputs if i["indexed"]]
    body: list[str] = []
    for n in range(1, len(indexed) + 1):
        body.append(f"t{n} = _fromhex(topics[{n}][2:])")
    if indexed:
        checks = " or ".join(f"len(t{n}) != 32" for n in range(1, len(indexed) + 1))
        body.append(f"if {checks}: return None")
    entries: list[str] = []
    topic = word = 0
    for position, item in enumerate([*indexed, *(i for i in inputs if not i["indexed"])]):
        value = f"v{position}"
        if item["indexed"]:
            topic += 1
            source = f"t{topic}"
        else:
            source = f"w{position}"
            body.append(f"{source} = data[{32 * word}:{32 * word + 32}]")
            word += 1
        field = _word_lines(_canonical_type(item), source, value)
        if field is None:
            return None
        body.extend(field)
        entries.append(f"{str(item['name'])!r}: {value}")
    body.append("return {" + ", ".join(entries) + "}")
    source_code = "\n".join(lines + ["    " + line for line in body]) + "\n"
    namespace: dict[str, Any] = {
        "_fromhex": bytes.fromhex,
        "_from_bytes": int.from_bytes,
        "_checksum": _checksum,
        "_ZERO_12": _ZERO_12,
        "_TRUE_WORD": _TRUE_WORD,
        "_FALSE_WORD": _FALSE_WORD,
    }
    exec(compile(source_code, f"<log reader for {name}>", "exec"), namespace)  # noqa: S102
    return _HexLayout(name, len(indexed) + 1, 2 + 64 * word, source_code, namespace["read"])


class LogDecoder:
    """Raw logs (JSON-RPC dicts or web3 AttributeDicts) -> :class:`DecodedLog`."""

    def __init__(self, abi: Abi) -> None:
        self._events: dict[bytes, _EventSpec] = {}
        #: By topic0 as a node writes it (lowercase hex): events whose fields are all one word.
        self._layouts: dict[str, _HexLayout] = {}
        self.topics: dict[str, bytes] = {}
        for entry in abi:
            if entry.get("type") != "event":
                continue
            inputs = entry.get("inputs", [])
            topic = keccak(text=_signature(entry))
            self.topics[entry["name"]] = topic
            indexed = tuple((i["name"], _canonical_type(i)) for i in inputs if i["indexed"])
            data_types = tuple(_canonical_type(i) for i in inputs if not i["indexed"])
            data_decoders = tuple(_word_decoder(kind) for kind in data_types)
            self._events[topic] = _EventSpec(
                name=entry["name"],
                indexed=indexed,
                data_names=tuple(i["name"] for i in inputs if not i["indexed"]),
                data_types=data_types,
                topic_decoders=tuple(_word_decoder(kind) for _, kind in indexed),
                data_decoders=None
                if any(d is None for d in data_decoders)
                else tuple(d for d in data_decoders if d is not None),
            )
            layout = _hex_layout(entry["name"], inputs)
            if layout is not None:
                self._layouts["0x" + topic.hex()] = layout

    @property
    def generated_readers(self) -> frozenset[str]:
        """The events read by a generated reader when a log comes as a node sends it."""
        return frozenset(layout.name for layout in self._layouts.values())

    def decode(self, log: Mapping[str, Any]) -> DecodedLog | None:
        """The decoded event, or None when the log is not one of the ABI's events.

        Raises :class:`LogDecodeError` when topic0 names an event but the rest does not decode.
        """
        topics = log["topics"]
        if topics and isinstance(topics[0], str):
            layout = self._layouts.get(topics[0])
            if layout is not None:
                decoded = self._decode_hex(layout, log, topics)
                if decoded is not None:
                    return decoded
        return self._decode(log, fast=True)

    @staticmethod
    def _decode_hex(
        layout: _HexLayout, log: Mapping[str, Any], topics: Sequence[str]
    ) -> DecodedLog | None:
        """A node's hex log read by its event's generated reader; None when anything in it is
        unusual (then the general path decodes it, or refuses it, as it always has)."""
        data = log["data"]
        if (
            len(topics) != layout.topics
            or not isinstance(data, str)
            or len(data) != layout.data_chars
            or data[:2] != "0x"
        ):
            return None
        try:
            raw = bytes.fromhex(data[2:])
            if len(raw) * 2 + 2 != len(data):
                return None  # whitespace inside the hex
            args = layout.read(topics, raw)
            if args is None:
                return None
            return DecodedLog(
                event=layout.name,
                args=args,
                address=_checksum_text(str(log["address"])),
                block_number=int(log["blockNumber"], 16),
                block_hash=_to_bytes(log["blockHash"]),
                transaction_hash=_to_bytes(log["transactionHash"]),
                transaction_index=int(log["transactionIndex"], 16),
                log_index=int(log["logIndex"], 16),
            )
        except (ValueError, TypeError, AttributeError, IndexError):
            return None

    def decode_reference(self, log: Mapping[str, Any]) -> DecodedLog | None:
        """:meth:`decode` done plainly with eth-abi, value by value: the reference the fast path
        is tested against."""
        return self._decode(log, fast=False)

    def _decode(self, log: Mapping[str, Any], *, fast: bool) -> DecodedLog | None:
        topics = [_to_bytes(t) for t in log["topics"]]
        if not topics:
            return None
        spec = self._events.get(topics[0])
        if spec is None:
            return None
        if len(topics) - 1 != len(spec.indexed):
            raise LogDecodeError(
                spec.name, f"{len(topics) - 1} indexed topics, the event has {len(spec.indexed)}"
            )
        data = _to_bytes(log["data"])
        try:
            args = self._fast_args(spec, topics, data) if fast else None
            if args is None:
                args = self._reference_args(spec, topics, data)
        except DecodingError as exc:
            raise LogDecodeError(spec.name, str(exc)) from None
        return DecodedLog(
            event=spec.name,
            args=args,
            address=_checksum_text(str(log["address"])),
            block_number=_to_int(log["blockNumber"]),
            block_hash=_to_bytes(log["blockHash"]),
            transaction_hash=_to_bytes(log["transactionHash"]),
            transaction_index=_to_int(log["transactionIndex"]),
            log_index=_to_int(log["logIndex"]),
        )

    @staticmethod
    def _fast_args(spec: _EventSpec, topics: list[bytes], data: bytes) -> dict[str, Any] | None:
        decoders = spec.data_decoders
        if decoders is None or len(data) != 32 * len(decoders):
            return None
        if any(len(topic) != 32 for topic in topics) or None in spec.topic_decoders:
            return None
        args: dict[str, Any] = {}
        for (name, _kind), topic_decoder, topic in zip(
            spec.indexed, spec.topic_decoders, topics[1:], strict=True
        ):
            assert topic_decoder is not None  # checked above
            args[name] = topic_decoder(topic)
        for index, (name, decoder) in enumerate(zip(spec.data_names, decoders, strict=True)):
            args[name] = decoder(data[32 * index : 32 * index + 32])
        return args

    @staticmethod
    def _reference_args(spec: _EventSpec, topics: list[bytes], data: bytes) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
            args[name] = _python_value(kind, abi_decode([kind], topic)[0])
        values = abi_decode(list(spec.data_types), data)
        for name, kind, value in zip(spec.data_names, spec.data_types, values, strict=True):
            args[name] = _python_value(kind, value)
        return args


class FunctionCodec:
    """Calldata of one ABI function and the decoding of its answer, for raw ``eth_call``."""

    def __init__(self, abi: Abi, name: str) -> None:
        """``name`` is a function's name, or its signature (``nonces(address,uint192)``) when the
        name is overloaded."""
        functions = [e for e in abi if e.get("type") == "function"]
        if "(" in name:
            matches = [e for e in functions if _signature(e) == name]
        else:
            matches = [e for e in functions if e.get("name") == name]
        if len(matches) != 1:
            raise ValueError(f"the ABI has {len(matches)} functions named {name!r}, expected one")
        entry = matches[0]
        self.name = name
        self.selector = keccak(text=_signature(entry))[:4]
        self._inputs = [_canonical_type(i) for i in entry.get("inputs", [])]
        self._outputs = [_canonical_type(o) for o in entry.get("outputs", [])]

    def encode(self, *args: Any) -> bytes:
        """The calldata: selector and ABI-encoded arguments."""
        return self.selector + abi_encode(self._inputs, list(args))

    def decode(self, data: bytes | str) -> tuple[Any, ...]:
        """The returned values, in declaration order (a struct is one tuple)."""
        return tuple(abi_decode(self._outputs, _to_bytes(data)))

    def decode_input(self, data: bytes | str) -> tuple[Any, ...] | None:
        """The arguments of a call to this function from its calldata, in declaration order;
        None when the calldata is not a well-formed call of it."""
        raw = _to_bytes(data)
        if raw[:4] != self.selector:
            return None
        try:
            return tuple(abi_decode(self._inputs, raw[4:]))
        except (DecodingError, ValueError, TypeError, OverflowError):
            return None


def _to_bytes(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        return bytes.fromhex(text)
    return bytes(value)


def _to_int(value: int | str) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)
