"""A bank checks a read's receipt against the chain, trusting neither the bureau nor the gateway.

Given what the gateway released (the document and its receipt) and what the bank asked for, the
bank recomputes ``keccak256(salt || RFC 8785 bytes of the document)``, fetches the receipt's
transaction from any JSON-RPC node, takes the log at the receipt's index, and checks that it is the
ledger's ``DataAccessed`` with the receipt's query id, the bank's address, the categories and
purpose asked, and the recomputed hash; the record versions the receipt lists must be the
document's (``versions``: which version of each record the read released). Any difference
raises :class:`ReceiptMismatchError` naming the field, what was expected and what the chain (or
the document) shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from consentledger.chain.abi import LogDecodeError, LogDecoder
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.deploy import CONTRACT
from consentledger.chain.jsonrpc import JsonRpc
from consentledger.errors import ConsentLedgerError
from consentledger.ledger.types import AccessEntry, RecordedAccess


class ReceiptMismatchError(ConsentLedgerError, ValueError):
    """A receipt does not match the chain (or the released document): ``field`` says which part,
    ``expected`` what the bank holds, ``observed`` what the chain shows."""

    code = "receipt_mismatch"

    def __init__(self, field: str, expected: object, observed: object) -> None:
        self.field = field
        self.expected = expected
        self.observed = observed
        super().__init__(
            f"the receipt's {field} does not match: expected {expected}, saw {observed}"
        )


@dataclass(frozen=True, slots=True)
class VerifiedRead:
    """A read whose receipt the chain confirms: the read as its event recorded it, and where."""

    read: AccessEntry
    tx_hash: str
    block_number: int
    log_index: int


def response_hash(document: Mapping[str, Any], salt: bytes) -> bytes:
    """``keccak256(salt || RFC 8785 bytes of the document)``: the hash the chain records."""
    return keccak(bytes(salt) + rfc8785.dumps(dict(document)))


def verify_receipt(
    rpc: JsonRpc,
    ledger: str,
    receipt: Mapping[str, Any],
    document: Mapping[str, Any],
    *,
    bank: str,
    categories: int,
    purpose: int,
) -> VerifiedRead:
    """Check a released read against the chain: the receipt (as the gateway answers it: query
    id, consent id, tx hash, log index, response hash, salt) and the document against the
    ``DataAccessed`` log at ``receipt["log_index"]`` of ``receipt["tx_hash"]`` at the ledger's
    address ``ledger``, for the read ``bank`` asked (category mask and purpose code). Raises
    :class:`ReceiptMismatchError` on any difference."""
    salt = bytes.fromhex(str(receipt["salt"]).removeprefix("0x"))
    recomputed = response_hash(document, salt)
    claimed = bytes.fromhex(str(receipt["response_hash"]).removeprefix("0x"))
    if recomputed != claimed:
        raise ReceiptMismatchError("response hash", "0x" + recomputed.hex(), "0x" + claimed.hex())
    listed = receipt.get("versions")
    if listed is not None and listed != document.get("versions"):
        raise ReceiptMismatchError("versions", document.get("versions"), listed)
    tx_hash = str(receipt["tx_hash"])
    mined = rpc.request("eth_getTransactionReceipt", [tx_hash])
    if not isinstance(mined, dict):
        raise ReceiptMismatchError("transaction", f"{tx_hash} mined", "no such transaction")
    log_index = int(receipt["log_index"])
    log = next(
        (
            entry
            for entry in mined.get("logs", [])
            if int(str(entry.get("logIndex", "0x0")), 16) == log_index
        ),
        None,
    )
    if log is None:
        raise ReceiptMismatchError("log index", log_index, f"no log {log_index} in {tx_hash}")
    if str(log.get("address", "")).lower() != ledger.lower():
        raise ReceiptMismatchError("ledger", ledger, log.get("address"))
    try:
        decoded = LogDecoder(load_artifact(CONTRACT)["abi"]).decode(log)
    except LogDecodeError as exc:
        raise ReceiptMismatchError("event", "DataAccessed", f"a malformed log ({exc})") from exc
    event = decoded.event if decoded is not None else "an unknown event"
    if event != "DataAccessed":
        raise ReceiptMismatchError("event", "DataAccessed", event)
    assert decoded is not None
    read = RecordedAccess.of(decoded.event, decoded.args).entry
    checks: list[tuple[str, object, object]] = [
        ("query id", int(str(receipt["query_id"]), 16), read.query_id),
        ("consent id", str(receipt["consent_id"]).lower(), "0x" + read.consent_id.hex()),
        ("bank", to_checksum_address(bank), read.bank),
        ("categories", categories, read.categories),
        ("purpose", purpose, read.purpose),
        ("response hash", "0x" + recomputed.hex(), "0x" + read.response_hash.hex()),
    ]
    for field, expected, observed in checks:
        if expected != observed:
            raise ReceiptMismatchError(field, expected, observed)
    return VerifiedRead(
        read=read,
        tx_hash=tx_hash,
        block_number=int(str(mined.get("blockNumber", "0x0")), 16),
        log_index=log_index,
    )
