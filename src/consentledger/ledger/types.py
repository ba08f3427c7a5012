"""The ledger's vocabulary: constants, roles, statuses, a consent's terms and state, the access word
and query ids, as the contracts define them. Pure data; the rules are in
:mod:`consentledger.ledger.model`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

MAX_CONTROLLERS = 16
MAX_CATEGORY_CODE = 63
#: The longest consent any purpose may allow: five years with one leap day (the contract's
#: ``MAX_CONSENT_DURATION``), so a post-loan authorisation can run until a multi-year credit is
#: settled.
MAX_CONSENT_DURATION = 1826 * 24 * 60 * 60
#: The furthest ahead a read request's deadline may lie when the chain records it.
MAX_READ_REQUEST_LIFETIME = 60 * 60
UINT32_MAX = 2**32 - 1

ROLE_REGULATOR = keccak(text="REGULATOR_ROLE")
ROLE_BUREAU = keccak(text="BUREAU_ROLE")
ROLE_BANK = keccak(text="BANK_ROLE")
ROLE_AUDITOR = keccak(text="AUDITOR_ROLE")


class ConsentStatus(IntEnum):
    """A consent's lifecycle status as the chain reports it (``IConsents.Status``)."""

    NONE = 0
    ACTIVE = 1
    PAUSED = 2
    REVOKED = 3
    EXPIRED = 4


class DenialReason(IntEnum):
    """Why the chain denied a read (``IAccessLedger.DenialReason``); NONE means granted."""

    NONE = 0
    NO_CONSENT = 1
    NOT_YET_VALID = 2
    EXPIRED = 3
    REVOKED = 4
    PAUSED = 5
    BANK_MISMATCH = 6
    CATEGORY_NOT_CONSENTED = 7
    PURPOSE_MISMATCH = 8
    READS_EXHAUSTED = 9
    BANK_SUSPENDED = 10
    REQUEST_EXPIRED = 11
    REQUEST_LIFETIME_TOO_LONG = 12
    SIGNATURE_INVALID = 13


@dataclass(frozen=True, slots=True)
class ConsentTerms:
    """The EIP-712 ``Consent`` message, field for field."""

    subject: bytes
    bank: str
    categories: int
    purpose: int
    not_before: int
    expires_at: int
    max_reads: int
    history_months: int
    receipt_hash: bytes
    nonce: int
    deadline: int

    def message(self) -> dict[str, Any]:
        """The message as EIP-712 typed data names it."""
        return {
            "subject": self.subject,
            "bank": self.bank,
            "categories": self.categories,
            "purpose": self.purpose,
            "notBefore": self.not_before,
            "expiresAt": self.expires_at,
            "maxReads": self.max_reads,
            "historyMonths": self.history_months,
            "receiptHash": self.receipt_hash,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for ``grantConsent``."""
        return tuple(self.message().values())


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One read the bureau asks the chain to judge: its query id, what it asks for, and the bank's
    signed ``ReadRequest`` for it.

    On the chain an entry is ``IAccessLedger.AccessEntry`` (consent id, the packed ``access`` word,
    response hash, the packed ``request`` word, the signature in ERC-2098 short form) and its query
    id is implied by its place in the batch: see :func:`record_accesses_args`.

    The model does no cryptography: ``signer`` is the address the signature recovers to over the
    entry's ``ReadRequest`` (the chain client recovers it; the zero address when it recovers to
    nothing, e.g. a malformed or high-s signature)."""

    query_id: int
    consent_id: bytes
    bank: str
    categories: int
    purpose: int
    response_hash: bytes
    history_months: int = 0
    request_id: int = 0
    deadline: int = 0
    signature: bytes = b""
    signer: str = ZERO_ADDRESS

    @property
    def access(self) -> int:
        """The entry's ``access`` word (:func:`pack_access`, reason bits 0)."""
        return pack_access(self.bank, self.categories, self.purpose)

    @property
    def request(self) -> int:
        """The entry's ``request`` word (:func:`pack_request`)."""
        return pack_request(self.request_id, self.deadline, self.history_months)


#: Widths of the fields of an ``access`` word, from the top: bank, categories, purpose, reason.
_ACCESS_CATEGORIES_BITS = 64
_ACCESS_PURPOSE_BITS = 16
_ACCESS_REASON_BITS = 16


def pack_access(bank: str, categories: int, purpose: int, reason: int = 0) -> int:
    """``uint160(bank) << 96 | categories << 32 | purpose << 16 | reason``: who reads what, in
    one word (``IAccessLedger.AccessEntry.access`` and the events' ``access``). Categories are a
    uint64 mask (codes 1..63), the purpose a uint16: anything wider has no encoding."""
    if not 0 <= categories < 1 << _ACCESS_CATEGORIES_BITS:
        raise ValueError(f"categories {categories:#x} do not fit the access word's 64 bits")
    if not 0 <= purpose < 1 << _ACCESS_PURPOSE_BITS:
        raise ValueError(f"purpose {purpose} does not fit the access word's 16 bits")
    if not 0 <= reason < 1 << _ACCESS_REASON_BITS:
        raise ValueError(f"reason {reason} does not fit the access word's 16 bits")
    return int(bank, 16) << 96 | categories << 32 | purpose << 16 | reason


#: Widths of the fields of a ``request`` word: request id and deadline (uint64), history window.
_REQUEST_ID_BITS = 64
_REQUEST_DEADLINE_BITS = 64
_REQUEST_HISTORY_BITS = 16


def pack_request(request_id: int, deadline: int, history_months: int) -> int:
    """``requestId << 96 | deadline << 32 | historyMonths << 16``: the bank's request beyond who
    reads what, in one word (``IAccessLedger.AccessEntry.request``)."""
    if not 0 <= request_id < 1 << _REQUEST_ID_BITS:
        raise ValueError(f"request id {request_id} does not fit the request word's 64 bits")
    if not 0 <= deadline < 1 << _REQUEST_DEADLINE_BITS:
        raise ValueError(f"deadline {deadline} does not fit the request word's 64 bits")
    if not 0 <= history_months < 1 << _REQUEST_HISTORY_BITS:
        raise ValueError(f"history window {history_months} does not fit the request word's 16 bits")
    return request_id << 96 | deadline << 32 | history_months << 16


def unpack_request(word: int) -> tuple[int, int, int]:
    """(request id, deadline, history months) of a ``request`` word, as the contract reads it
    (bits outside the three fields are ignored)."""
    return (
        (word >> 96) & ((1 << _REQUEST_ID_BITS) - 1),
        (word >> 32) & ((1 << _REQUEST_DEADLINE_BITS) - 1),
        (word >> 16) & ((1 << _REQUEST_HISTORY_BITS) - 1),
    )


#: The secp256k1 group order, and the largest ``s`` the ledger accepts (EIP-2 low-s form).
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_LOW_S = _SECP256K1_N // 2


def short_signature(signature: bytes) -> tuple[bytes, bytes]:
    """``(r, vs)`` (ERC-2098) of a 65-byte ``r || s || v`` signature; anything that has no such
    form (wrong length, v not 27/28, high s) becomes two zero words, which recover to nothing."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        return bytes(32), bytes(32)
    s = int.from_bytes(signature[32:64], "big")
    if s > MAX_LOW_S:
        return bytes(32), bytes(32)
    vs = s | (signature[64] - 27) << 255
    return signature[:32], vs.to_bytes(32, "big")


def full_signature(r: bytes, vs: bytes) -> bytes:
    """The 65-byte ``r || s || v`` form of an ERC-2098 ``(r, vs)`` pair."""
    word = int.from_bytes(vs, "big")
    s = word & ((1 << 255) - 1)
    return bytes(r) + s.to_bytes(32, "big") + bytes([27 + (word >> 255)])


def record_accesses_args(
    entries: Sequence[AccessEntry],
) -> tuple[int, list[tuple[bytes, int, bytes, int, bytes, bytes]]]:
    """The arguments of ``recordAccesses(firstQueryId, entries)`` for ``entries``: the first
    query id, and per entry ``(consentId, access, responseHash, request, r, vs)``. The one place
    a batch is encoded for the chain. The contract gives the entries the query ids
    ``firstQueryId + i``, so the entries' own ids must be consecutive (an empty batch encodes
    as ``(0, [])``, which the contract refuses with ``AccessLedgerEmptyBatch``)."""
    if not entries:
        return 0, []
    first = entries[0].query_id
    for offset, entry in enumerate(entries):
        if entry.query_id != first + offset:
            raise ValueError(
                f"a batch's query ids must be consecutive: entry {offset} has "
                f"{entry.query_id:#x}, expected {first + offset:#x}"
            )
    return first, [
        (e.consent_id, e.access, e.response_hash, e.request, *short_signature(e.signature))
        for e in entries
    ]


@dataclass(frozen=True, slots=True)
class RecordedAccess:
    """A read as its event recorded it (``DataAccessed`` or ``AccessDenied``), unpacked."""

    #: The read; ``response_hash`` is empty for a denial (the event has none).
    entry: AccessEntry
    granted: bool
    #: The ``access`` word's reason bits: 0 for ``DataAccessed``, a :class:`DenialReason` code
    #: for ``AccessDenied`` (kept as a number: an auditor reports a code the ledger never uses).
    reason_code: int

    @classmethod
    def of(cls, event: str, args: Mapping[str, Any]) -> RecordedAccess:
        """Unpack the ABI-decoded arguments of a ``DataAccessed`` or ``AccessDenied`` event."""
        if event not in ("DataAccessed", "AccessDenied"):
            raise ValueError(f"{event} is not a read event")
        granted = event == "DataAccessed"
        word = int(args["access"])
        entry = AccessEntry(
            query_id=int(args["queryId"]),
            consent_id=bytes(args["consentId"]),
            bank=checksummed(f"0x{word >> 96:040x}"),
            categories=(word >> 32) & ((1 << _ACCESS_CATEGORIES_BITS) - 1),
            purpose=(word >> 16) & ((1 << _ACCESS_PURPOSE_BITS) - 1),
            response_hash=bytes(args["responseHash"]) if granted else b"",
        )
        return cls(entry, granted, word & ((1 << _ACCESS_REASON_BITS) - 1))

    @property
    def reason(self) -> DenialReason | None:
        """The recorded decision (NONE when granted); None for a code the ledger never uses."""
        try:
            return DenialReason(self.reason_code)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Decision:
    """The chain's verdict on one entry."""

    entry: AccessEntry
    reason: DenialReason

    @property
    def granted(self) -> bool:
        return self.reason is DenialReason.NONE


@dataclass(frozen=True, slots=True)
class PurposeCaps:
    """A purpose as the registry holds it."""

    active: bool
    allowed_categories: int
    max_duration: int
    max_reads: int
    max_history_months: int


@dataclass(slots=True)
class ConsentState:
    """A consent as stored (``state`` is the stored lifecycle; EXPIRED derives from time)."""

    consent_id: bytes
    subject: bytes
    bank: str
    categories: int
    purpose: int
    not_before: int
    expires_at: int
    max_reads: int
    history_months: int
    receipt_hash: bytes
    reads_used: int = 0
    state: ConsentStatus = ConsentStatus.ACTIVE

    def status(self, now: int) -> ConsentStatus:
        """The status as the chain reports it at time ``now``."""
        if self.state is ConsentStatus.REVOKED:
            return ConsentStatus.REVOKED
        if now >= self.expires_at:
            return ConsentStatus.EXPIRED
        return self.state


@dataclass(slots=True)
class EnterpriseState:
    controllers: tuple[str, ...]
    threshold: int


@dataclass(frozen=True, slots=True)
class PendingRecovery:
    """A regulator's recovery of an enterprise's controllers, waiting for its delay to pass."""

    controllers: tuple[str, ...]
    threshold: int
    effective_at: int


@dataclass(slots=True)
class BankState:
    member: bool = True
    suspended: bool = False
    #: The key the bank registered to sign its read requests (None: the bank's own address).
    read_signer: str | None = None


#: The domain of a subject's nonce account (``subjectNonceAccount`` in the contract).
NONCE_ACCOUNT_DOMAIN = b"ConsentLedger.nonceAccount"

#: How long a regulator's lost-key recovery waits before it can be completed (``RECOVERY_DELAY``).
RECOVERY_DELAY = 7 * 24 * 60 * 60


@lru_cache(maxsize=4096)
def nonce_account(subject: bytes) -> str:
    """The address that holds a subject's nonces on the chain: the low 160 bits of
    ``keccak256(NONCE_ACCOUNT_DOMAIN || subject)``, so no subject shares another's nonces."""
    return to_checksum_address(keccak(NONCE_ACCOUNT_DOMAIN + subject)[-20:])


def split_nonce(key_nonce: int) -> tuple[int, int]:
    """(key, sequence) of a NoncesKeyed nonce."""
    return key_nonce >> 64, key_nonce & (2**64 - 1)


def first_query_id(relayer: str) -> int:
    """The smallest query id ``relayer`` may ever record (its address in the top 160 bits)."""
    return int(checksummed(relayer), 16) << 96


def query_id_relayer(query_id: int) -> str:
    """The relayer that recorded ``query_id``: the address in its top 160 bits (the contract
    refuses any other)."""
    return _relayer(query_id >> 96)


@lru_cache(maxsize=1024)
def _relayer(prefix: int) -> str:
    """The checksummed address of a query id's top 160 bits (cached: a ledger has few relayers
    and the replay asks once per read)."""
    return checksummed(f"0x{prefix:040x}")


@lru_cache(maxsize=4096)
def checksummed(address: str) -> str:
    """The checksummed address (cached: a replay checks the same few addresses many times)."""
    return str(to_checksum_address(address))


#: The bureau answers a dispute in writing within 20 days of receiving it (征信业管理条例 art. 25),
#: counted here from the block that recorded the filing.
DISPUTE_ANSWER_PERIOD = 20 * 24 * 60 * 60


class DisputeKind(IntEnum):
    """What a dispute objects to (``fileDispute``'s ``kind``)."""

    READ = 1  # a recorded read: the target is its query id
    ITEM = 2  # a data item in a category: the target is the item's reference, hashed


class DisputeOutcome(IntEnum):
    """The bureau's written answer (``answerDispute``'s ``outcome``)."""

    CORRECTED = 1  # the record was wrong and is corrected
    UPHELD = 2  # the record stands


@dataclass(slots=True)
class DisputeState:
    """A dispute as the chain recorded it: filed, then answered once."""

    dispute_id: bytes
    subject: bytes
    kind: DisputeKind
    target: bytes
    categories: int
    reason_hash: bytes
    filed_at: int
    outcome: DisputeOutcome | None = None
    answer_hash: bytes | None = None
    answered_at: int | None = None

    @property
    def answer_due(self) -> int:
        """The last moment an answer is in time."""
        return self.filed_at + DISPUTE_ANSWER_PERIOD

    def open(self) -> bool:
        return self.outcome is None

    def overdue(self, now: int) -> bool:
        """Not answered, and past its answer's due time at ``now``."""
        return self.outcome is None and now > self.answer_due

    def answered_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.answer_due
