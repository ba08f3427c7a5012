"""A typed client for one ConsentLedger deployment, over web3.py.

This is the one boundary where the contract's custom errors become the package's own exception
(:class:`~consentledger.audit.model.LedgerRevertError`): every write is simulated first
(``eth_estimateGas``), so a refused action raises with the contract's error name and arguments and
costs no transaction. Writes are signed locally and sent raw, so the same code runs against the
embedded chain, anvil or a Besu network.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import (
    ContractLogicError,
    TransactionNotFound,
    Web3Exception,
)
from web3.types import BlockIdentifier, RPCEndpoint, TxParams, TxReceipt

from consentledger.audit.model import (
    ROLE_BANK,
    ROLE_BUREAU,
    AccessEntry,
    ConsentStatus,
    ConsentTerms,
    Decision,
    DenialReason,
    PurposeCaps,
    nonce_account,
)
from consentledger.chain import typed_data
from consentledger.chain.abi import DecodedLog, FunctionCodec, LogDecoder, RevertDecoder
from consentledger.chain.artifacts import load_artifact
from consentledger.errors import ConsentLedgerError

#: Extra gas on top of the node's estimate.
GAS_HEADROOM = 1.25
#: A replacement (same nonce) raises both the tip and the fee cap by this share of the old ones:
#: nodes take a replacement only for at least +10 % on both (geth's and anvil's rule).
REPLACEMENT_BUMP_DIVISOR = 8  # +12.5 %


class ChainUnavailableError(ConsentLedgerError, ConnectionError):
    """The node could not be reached or did not answer."""

    code = "chain_unavailable"


class TransactionTimeoutError(ConsentLedgerError, TimeoutError):
    """A sent transaction was not mined in time (it may still be, later)."""

    code = "transaction_timeout"

    def __init__(self, tx_hash: bytes, timeout: float) -> None:
        self.tx_hash = tx_hash
        super().__init__(f"transaction 0x{tx_hash.hex()} was not mined within {timeout:g} s")


class TransactionFailedError(ConsentLedgerError, RuntimeError):
    """A transaction was mined but failed, with no reason the simulation foresaw."""

    code = "transaction_failed"

    def __init__(self, tx_hash: bytes, block_number: int) -> None:
        self.tx_hash = tx_hash
        self.block_number = block_number
        super().__init__(f"transaction 0x{tx_hash.hex()} failed in block {block_number}")


@dataclass(frozen=True, slots=True)
class ConsentView:
    """A consent as the chain reports it now."""

    consent_id: bytes
    status: ConsentStatus
    subject: bytes
    bank: str
    categories: int
    purpose: int
    not_before: int
    expires_at: int
    max_reads: int
    reads_used: int
    history_months: int

    @property
    def reads_left(self) -> int:
        return max(0, self.max_reads - self.reads_used)


class ReplacementError(ConsentLedgerError, ValueError):
    """A transaction cannot be replaced: its parameters are not known (only its raw bytes)."""

    code = "replacement_impossible"

    def __init__(self, tx_hash: bytes) -> None:
        self.tx_hash = tx_hash
        super().__init__(
            f"transaction 0x{tx_hash.hex()} cannot be replaced: its unsigned fields are not kept"
        )


@dataclass(frozen=True, slots=True)
class SignedCall:
    """A signed transaction, ready to broadcast (and to rebroadcast after a restart).

    ``tx`` holds the unsigned fields when this process signed it, so that it can be replaced with
    higher fees (:meth:`LedgerClient.replacement`); one loaded from the journal has only its bytes.
    """

    raw: bytes
    tx_hash: bytes
    nonce: int
    tx: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def max_fee(self) -> int | None:
        return None if self.tx is None else int(self.tx["maxFeePerGas"])

    @property
    def tip(self) -> int | None:
        return None if self.tx is None else int(self.tx["maxPriorityFeePerGas"])


@dataclass(frozen=True, slots=True)
class Mined:
    """Where a transaction landed and what it emitted."""

    tx_hash: bytes
    block_number: int
    gas_used: int
    events: tuple[DecodedLog, ...]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """A recorded batch: the transaction and the chain's decision per entry, in order."""

    mined: Mined
    decisions: tuple[Decision, ...]


class LedgerClient:
    """Reads and writes of one deployment, sending as ``account``."""

    def __init__(self, w3: Web3, address: str, account: LocalAccount) -> None:
        artifact = load_artifact("ConsentLedger")
        self.w3 = w3
        self.address: ChecksumAddress = to_checksum_address(address)
        self.account = account
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact["abi"])
        self.reverts = RevertDecoder(artifact["abi"])
        self.logs = LogDecoder(artifact["abi"])
        self._abi = artifact["abi"]
        self._codecs: dict[str, FunctionCodec] = {}
        self._chain_id: int | None = None
        self._nonce: int | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.rpc(lambda: self.w3.eth.chain_id))
        return self._chain_id

    @property
    def domain(self) -> typed_data.Domain:
        """The EIP-712 domain every signature for this deployment is bound to."""
        return typed_data.Domain(self.chain_id, self.address)

    def with_account(self, account: LocalAccount) -> LedgerClient:
        """A client for the same deployment sending as another account."""
        return LedgerClient(self.w3, self.address, account)

    def rpc(self, call: Any) -> Any:
        """Run ``call()`` (anything that talks to the node); a transport failure becomes
        ChainUnavailableError."""
        try:
            return call()
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise ChainUnavailableError(f"the chain node did not answer: {exc}") from exc

    def _call(self, fn_name: str, *args: Any) -> Any:
        """A view, as one raw ``eth_call`` encoded and decoded here (web3's contract call adds
        about 8 ms of request processing per call, measured on anvil: a quarter of a read)."""
        codec = self._codecs.get(fn_name)
        if codec is None:
            codec = self._codecs[fn_name] = FunctionCodec(self._abi, fn_name)
        call = {
            "from": self.account.address,
            "to": self.address,
            "data": "0x" + codec.encode(*args).hex(),
        }
        response = self.rpc(
            lambda: self.w3.provider.make_request(RPCEndpoint("eth_call"), [call, "latest"])
        )
        error = response.get("error")
        if error is not None:
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, str) and data.startswith("0x"):
                raise self.reverts.decode(data)
            raise ChainUnavailableError(f"eth_call {fn_name} failed: {error}")
        values = codec.decode(response["result"])
        return values[0] if len(values) == 1 else values

    def transact(self, fn_name: str, *args: Any) -> Mined:
        """Simulate, sign, send and wait for ``fn_name(*args)``; raise the contract's error if the
        simulation reverts."""
        return self.wait(self.send(fn_name, *args))

    def send(self, fn_name: str, *args: Any) -> bytes:
        """Simulate, sign and send ``fn_name(*args)`` without waiting; returns the tx hash."""
        return self.broadcast(self.prepare(fn_name, *args))

    def prepare(self, fn_name: str, *args: Any) -> SignedCall:
        """Simulate and sign ``fn_name(*args)``, taking the next nonce; nothing is sent.

        Keep the result (the relayer journals it) and :meth:`broadcast` it; a prepared call that
        is never broadcast leaves a nonce gap, so call :meth:`forget_nonce` if it is abandoned.
        """
        data = self.contract.encode_abi(fn_name, list(args))
        call: TxParams = {"from": self.account.address, "to": self.address, "data": data}
        try:
            # Simulate in the pending block: the environment (time above all) the transaction
            # will most likely be mined in.
            gas = self.rpc(lambda: self.w3.eth.estimate_gas(call, "pending"))
        except ContractLogicError as exc:
            raise self.reverts.decode(_revert_data(exc)) from None
        with self._lock:
            if self._nonce is None:
                self._nonce = int(
                    self.rpc(
                        lambda: self.w3.eth.get_transaction_count(self.account.address, "pending")
                    )
                )
            tx: dict[str, Any] = {
                **call,
                "chainId": self.chain_id,
                "nonce": self._nonce,
                "gas": int(gas * GAS_HEADROOM),
                **self._fees(),
            }
            signed = self.account.sign_transaction(tx)
            self._nonce += 1
        return SignedCall(bytes(signed.raw_transaction), bytes(signed.hash), int(tx["nonce"]), tx)

    def replacement(self, signed: SignedCall) -> SignedCall:
        """``signed`` again, same nonce, call and gas, with both fees raised by 12.5 % (or to the
        node's current price, if that is higher): a node takes it in place of ``signed``, and at
        most one of the two can ever be mined."""
        if signed.tx is None:
            raise ReplacementError(signed.tx_hash)
        fresh = self._fees()
        old_tip, old_cap = int(signed.tx["maxPriorityFeePerGas"]), int(signed.tx["maxFeePerGas"])
        tip = max(_bumped(old_tip), fresh["maxPriorityFeePerGas"])
        cap = max(_bumped(old_cap), fresh["maxFeePerGas"], tip)
        tx = {**signed.tx, "maxFeePerGas": cap, "maxPriorityFeePerGas": tip}
        replaced = self.account.sign_transaction(tx)
        return SignedCall(bytes(replaced.raw_transaction), bytes(replaced.hash), signed.nonce, tx)

    def confirmed_nonce(self) -> int:
        """How many transactions of this account the latest block includes: a nonce below it is
        taken for good."""
        return int(self.rpc(lambda: self.w3.eth.get_transaction_count(self.account.address)))

    def broadcast(self, signed: SignedCall) -> bytes:
        """Send a prepared transaction (again, after a restart: the node dedupes by hash)."""
        try:
            self.rpc(lambda: self.w3.eth.send_raw_transaction(signed.raw))
        except (Web3Exception, ValueError, ChainUnavailableError) as exc:
            if _already_known(exc):
                return signed.tx_hash
            self.forget_nonce()  # resynchronise from the node next time
            raise
        return signed.tx_hash

    def receipt(self, tx_hash: bytes) -> Mined | None:
        """The mined transaction, or None if the node does not know it (yet)."""
        try:
            receipt = self.rpc(lambda: self.w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
        except TransactionNotFound:
            return None
        return self._mined(receipt)

    def first_mined(self, tx_hashes: Sequence[bytes]) -> Mined | None:
        """The one of ``tx_hashes`` (transactions that share a nonce) that was mined, if any;
        raise TransactionFailedError if it failed."""
        for tx_hash in tx_hashes:
            mined = self.receipt(tx_hash)
            if mined is not None:
                return mined
        return None

    def wait(self, tx_hash: bytes, timeout: float = 60) -> Mined:
        """Wait for a sent transaction; raise if it failed."""
        return self.wait_any([tx_hash], timeout)

    def wait_any(self, tx_hashes: Sequence[bytes], timeout: float = 60) -> Mined:
        """Wait until one of ``tx_hashes`` (a transaction and its replacements) is mined; raise
        if it failed.

        Polls from 2 ms up to 100 ms: a node that mines at once (anvil, the embedded chain)
        answers in milliseconds, where web3's fixed 100 ms poll would add a tenth of a second.
        """
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            mined = self.first_mined(tx_hashes)
            if mined is not None:
                return mined
            if time.monotonic() >= deadline:
                raise TransactionTimeoutError(tx_hashes[-1], timeout)
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.1)

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees: twice the node's suggested price as the cap, a tip of at most 1 gwei."""
        price = int(self.rpc(lambda: self.w3.eth.gas_price))
        return {"maxFeePerGas": 2 * price, "maxPriorityFeePerGas": min(price, 10**9)}

    def forget_nonce(self) -> None:
        """Read the account's nonce from the node again before the next send (after a chain
        revert, or when another process sent with the same key)."""
        with self._lock:
            self._nonce = None

    def batch_decisions(self, entries: Sequence[AccessEntry], mined: Mined) -> BatchResult:
        """The chain's decisions for ``entries`` from a mined ``recordAccesses`` transaction."""
        by_query = {e.query_id: e for e in entries}
        decisions: list[Decision] = []
        for event in mined.events:
            if event.event == "DataAccessed":
                decisions.append(Decision(by_query[event.args["queryId"]], DenialReason.NONE))
            elif event.event == "AccessDenied":
                reason = DenialReason(event.args["reason"])
                decisions.append(Decision(by_query[event.args["queryId"]], reason))
        return BatchResult(mined, tuple(decisions))

    def _mined(self, receipt: TxReceipt) -> Mined:
        if receipt["status"] != 1:
            raise TransactionFailedError(bytes(receipt["transactionHash"]), receipt["blockNumber"])
        events = tuple(
            decoded
            for log in receipt["logs"]
            if to_checksum_address(log["address"]) == self.address
            and (decoded := self.logs.decode(log)) is not None
        )
        return Mined(
            tx_hash=bytes(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=events,
        )

    # ---------------------------------------------------------------- governance

    def grant_role(self, role: bytes, account: str) -> Mined:
        return self.transact("grantRole", role, to_checksum_address(account))

    def revoke_role(self, role: bytes, account: str) -> Mined:
        return self.transact("revokeRole", role, to_checksum_address(account))

    def add_bank(self, bank: str) -> Mined:
        """Admit a bank (BANK_ROLE)."""
        return self.grant_role(ROLE_BANK, bank)

    def add_relayer(self, relayer: str) -> Mined:
        """Admit a bureau relayer key (BUREAU_ROLE)."""
        return self.grant_role(ROLE_BUREAU, relayer)

    def suspend_bank(self, bank: str) -> Mined:
        return self.transact("suspendBank", to_checksum_address(bank))

    def reinstate_bank(self, bank: str) -> Mined:
        return self.transact("reinstateBank", to_checksum_address(bank))

    def register_category(self, code: int, name: str) -> Mined:
        return self.transact("registerCategory", code, name)

    def define_purpose(
        self,
        code: int,
        name: str,
        allowed_categories: int,
        max_duration: int,
        max_reads: int,
        max_history_months: int,
    ) -> Mined:
        return self.transact(
            "definePurpose",
            code,
            name,
            allowed_categories,
            max_duration,
            max_reads,
            max_history_months,
        )

    def retire_purpose(self, code: int) -> Mined:
        return self.transact("retirePurpose", code)

    # --------------------------------------------------------------- enterprises

    def register_enterprise(
        self, subject: bytes, controllers: Sequence[str], threshold: int
    ) -> Mined:
        return self.transact(
            "registerEnterprise",
            subject,
            [to_checksum_address(c) for c in controllers],
            threshold,
        )

    def change_controllers(
        self,
        subject: bytes,
        controllers: Sequence[str],
        threshold: int,
        nonce: int,
        deadline: int,
        signatures: Sequence[bytes],
    ) -> Mined:
        return self.transact(
            "changeControllers",
            subject,
            [to_checksum_address(c) for c in controllers],
            threshold,
            nonce,
            deadline,
            list(signatures),
        )

    # ------------------------------------------------------------------ consents

    def consent_document(self, terms: ConsentTerms) -> dict[str, Any]:
        """The EIP-712 document the enterprise's controllers sign to grant ``terms``."""
        return typed_data.typed_data(self.domain, "Consent", terms.message())

    def action_document(
        self, action: typed_data.PrimaryType, consent_id: bytes, nonce: int, deadline: int
    ) -> dict[str, Any]:
        """The EIP-712 document for a Pause, Resume or Revocation of ``consent_id``."""
        message = {"consentId": consent_id, "nonce": nonce, "deadline": deadline}
        return typed_data.typed_data(self.domain, action, message)

    def consent_id(self, terms: ConsentTerms) -> bytes:
        """The id the contract gives the consent: the EIP-712 digest of its message."""
        return typed_data.digest(self.consent_document(terms))

    def grant_consent(self, terms: ConsentTerms, signatures: Sequence[bytes]) -> Mined:
        return self.transact("grantConsent", terms.as_tuple(), list(signatures))

    def pause_consent(
        self, consent_id: bytes, nonce: int, deadline: int, signatures: Sequence[bytes]
    ) -> Mined:
        return self.transact("pauseConsent", consent_id, nonce, deadline, list(signatures))

    def resume_consent(
        self, consent_id: bytes, nonce: int, deadline: int, signatures: Sequence[bytes]
    ) -> Mined:
        return self.transact("resumeConsent", consent_id, nonce, deadline, list(signatures))

    def revoke_consent(
        self, consent_id: bytes, nonce: int, deadline: int, signatures: Sequence[bytes]
    ) -> Mined:
        return self.transact("revokeConsent", consent_id, nonce, deadline, list(signatures))

    # -------------------------------------------------------------- access ledger

    def record_accesses(self, entries: Sequence[AccessEntry]) -> BatchResult:
        """Record a batch; the decisions come from the events, in entry order."""
        mined = self.transact("recordAccesses", [e.as_tuple() for e in entries])
        return self.batch_decisions(entries, mined)

    def record_export(self, subject: bytes, categories: int, export_hash: bytes) -> Mined:
        return self.transact("recordExport", subject, categories, export_hash)

    # --------------------------------------------------------------------- views

    def consent(self, consent_id: bytes) -> ConsentView:
        raw = self._call("consent", consent_id)
        return ConsentView(
            consent_id=consent_id,
            status=ConsentStatus(raw[0]),
            subject=bytes(raw[1]),
            bank=to_checksum_address(raw[2]),
            categories=int(raw[3]),
            purpose=int(raw[4]),
            not_before=int(raw[5]),
            expires_at=int(raw[6]),
            max_reads=int(raw[7]),
            reads_used=int(raw[8]),
            history_months=int(raw[9]),
        )

    def nonce(self, subject: bytes, key: int = 0) -> int:
        """The next unused nonce of ``subject`` under ``key`` (key prefix included)."""
        fn = self.contract.get_function_by_signature("nonces(address,uint192)")
        return int(self.rpc(fn(nonce_account(subject), key).call))

    def enterprise(self, subject: bytes) -> tuple[tuple[str, ...], int]:
        """(controllers, threshold); threshold 0 means not registered."""
        controllers, threshold = self._call("enterprise", subject)
        return tuple(to_checksum_address(c) for c in controllers), int(threshold)

    def has_role(self, role: bytes, account: str) -> bool:
        return bool(self._call("hasRole", role, to_checksum_address(account)))

    def is_bank_active(self, bank: str) -> bool:
        return bool(self._call("isBankActive", to_checksum_address(bank)))

    def last_query_id(self, relayer: str) -> int:
        return int(self._call("lastQueryId", to_checksum_address(relayer)))

    def registered_categories(self) -> int:
        return int(self._call("registeredCategories"))

    def purpose(self, code: int) -> PurposeCaps:
        active, allowed, max_duration, max_reads, max_history = self._call("purpose", code)
        return PurposeCaps(bool(active), allowed, max_duration, max_reads, max_history)

    def block_timestamp(self, block_number: BlockIdentifier = "latest") -> int:
        return int(self.rpc(lambda: self.w3.eth.get_block(block_number))["timestamp"])


def _revert_data(exc: ContractLogicError) -> str | None:
    data = exc.data
    if isinstance(data, dict):
        inner = data.get("data")
        return inner if isinstance(inner, str) else None
    return data


def _bumped(fee: int) -> int:
    """``fee`` raised by 12.5 % (at least by 1 wei, so that a zero fee moves too)."""
    return fee + max(1, -(-fee // REPLACEMENT_BUMP_DIVISOR))


def _already_known(exc: Exception) -> bool:
    """Whether a send failed only because the node already has this exact transaction."""
    text = str(exc).lower()
    return "already known" in text or "already imported" in text or "known transaction" in text
