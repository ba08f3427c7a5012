"""A typed client for one ConsentLedger deployment.

It talks to the node through the project's one JSON-RPC transport
(:class:`~consentledger.chain.jsonrpc.JsonRpc`: HTTP to a node, or the embedded chain in process),
encoding and decoding calls with eth-abi itself; web3.py only builds the contract object and the
typed data. This is the one boundary where the contract's custom errors become the package's own
exception (:class:`~consentledger.ledger.errors.LedgerRevertError`): every write is simulated
first (``eth_estimateGas``), so a refused action raises with the contract's error name and
arguments and costs no transaction. Writes are signed locally and sent raw, so the same code runs
against the embedded chain, anvil or a Besu network.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.rpc import HTTPProvider
from web3.types import BlockIdentifier, TxParams

from consentledger.chain import typed_data
from consentledger.chain.abi import DecodedLog, FunctionCodec, LogDecoder, RevertDecoder
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.jsonrpc import (
    Call,
    ChainUnavailableError,
    EmbeddedJsonRpc,
    HttpJsonRpc,
    JsonRpc,
    JsonRpcError,
    JsonRpcProvider,
)
from consentledger.errors import ConsentLedgerError
from consentledger.ledger.types import (
    ROLE_BANK,
    ROLE_BUREAU,
    AccessEntry,
    ConsentStatus,
    ConsentTerms,
    Decision,
    DenialReason,
    DisputeState,
    PurposeCaps,
    RecordedAccess,
    nonce_account,
    record_accesses_args,
)

#: Extra gas on top of the node's estimate.
GAS_HEADROOM = 1.25
#: A replacement (same nonce) raises both the tip and the fee cap by this share of the old ones:
#: nodes take a replacement only for at least +10 % on both (geth's and anvil's rule).
REPLACEMENT_BUMP_DIVISOR = 8  # +12.5 %


class NodeRefusedError(ConsentLedgerError, ValueError):
    """The node answered a request with an error that is not a contract revert (a transaction it
    will not take, an account without funds)."""

    code = "node_refused"

    def __init__(self, method: str, message: str) -> None:
        self.method = method
        super().__init__(f"{method}: {message}")


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


class ReceiptUnavailableError(ChainUnavailableError):
    """The node answered a receipt lookup with an error: it cannot tell yet, so ask again."""

    code = "receipt_unavailable"


class ReplacementError(ConsentLedgerError, ValueError):
    """A transaction cannot be replaced: its parameters are not known (only its raw bytes)."""

    code = "replacement_impossible"

    def __init__(self, tx_hash: bytes) -> None:
        self.tx_hash = tx_hash
        super().__init__(
            f"transaction 0x{tx_hash.hex()} cannot be replaced: its unsigned fields are not kept"
        )


@dataclass(frozen=True, slots=True)
class ReadContext:
    """The chain's view for a read's pre-check, as of the latest block."""

    consent: ConsentView
    bank_active: bool
    timestamp: int


#: How long a state lookup is asked again while the node has not executed its latest block.
HEAD_NOT_EXECUTED_WAIT_S = 10.0
#: How often a transaction waited for is sent again (the node dedupes it by hash).
RESEND_AFTER_S = 5.0


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


def node_of(w3: Web3) -> JsonRpc:
    """The JSON-RPC transport to the node behind ``w3``: HTTP with the provider's URL, headers and
    timeout, or the embedded chain's eth-tester in process."""
    provider = w3.provider
    if isinstance(provider, HTTPProvider):
        kwargs = provider.get_request_kwargs()
        return HttpJsonRpc(
            str(provider.endpoint_uri),
            headers=dict(kwargs.get("headers") or {}),
            timeout=float(kwargs.get("timeout") or 30),
        )
    if isinstance(provider, JsonRpcProvider):
        return provider.rpc
    if isinstance(provider, EthereumTesterProvider):
        return EmbeddedJsonRpc(provider.ethereum_tester)
    raise TypeError(f"no JSON-RPC transport for {type(provider).__name__}")


class LedgerClient:
    """Reads and writes of one deployment, sending as ``account``."""

    def __init__(
        self, w3: Web3, address: str, account: LocalAccount, *, node: JsonRpc | None = None
    ) -> None:
        artifact = load_artifact("ConsentLedger")
        self.w3 = w3
        #: The transport every request goes through (one per client family: see with_account).
        self.node: JsonRpc = node if node is not None else node_of(w3)
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
        #: The block tag simulations run on: "pending", or "latest" on a node without it.
        self._simulation_tag = "pending"

    # ------------------------------------------------------------------ plumbing

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self._request("eth_chainId", []), 16)
        return self._chain_id

    @property
    def domain(self) -> typed_data.Domain:
        """The EIP-712 domain every signature for this deployment is bound to."""
        return typed_data.Domain(self.chain_id, self.address)

    def with_account(self, account: LocalAccount) -> LedgerClient:
        """A client for the same deployment sending as another account."""
        return LedgerClient(self.w3, self.address, account, node=self.node)

    def rpc(self, call: Any) -> Any:
        """Run ``call()`` (anything that talks to the node); a transport failure becomes
        ChainUnavailableError."""
        try:
            return call()
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise ChainUnavailableError(f"the chain node did not answer: {exc}") from exc

    def _request(self, method: str, params: list[Any]) -> Any:
        """One request's result; a node's error raises as :meth:`_node_error` says (one that only
        says the node has not executed its latest block yet is asked again, for a while)."""
        deadline = time.monotonic() + HEAD_NOT_EXECUTED_WAIT_S
        while True:
            try:
                return self.node.request(method, params)
            except JsonRpcError as exc:
                if not (_head_not_executed(exc) and time.monotonic() < deadline):
                    raise self._node_error(exc) from None
            time.sleep(0.1)

    def _batch(self, calls: Sequence[Call]) -> list[Any]:
        """Several requests' results in one round trip to a node (one after the other in
        process); the first error raises as :meth:`_node_error` says."""
        try:
            return self.node.batch(calls)
        except JsonRpcError as exc:
            raise self._node_error(exc) from None

    def _node_error(self, error: JsonRpcError) -> Exception:
        """A node's JSON-RPC error as the package's exception: one with revert data is the
        contract's error (as web3 would raise ContractLogicError); any other is
        NodeRefusedError."""
        data = error.data
        if isinstance(data, str) and data.startswith("0x"):
            return self.reverts.decode(data)
        if "revert" in error.rpc_message.lower():
            return self.reverts.decode(None)
        return NodeRefusedError(error.method, error.rpc_message)

    def _codec(self, fn_name: str) -> FunctionCodec:
        codec = self._codecs.get(fn_name)
        if codec is None:
            codec = self._codecs[fn_name] = FunctionCodec(self._abi, fn_name)
        return codec

    def _call_params(self, fn_name: str, *args: Any) -> list[Any]:
        """The ``eth_call`` parameters of a view, at the latest block."""
        call = {
            "from": self.account.address,
            "to": self.address,
            "data": "0x" + self._codec(fn_name).encode(*args).hex(),
        }
        return [call, "latest"]

    def _call_result(self, fn_name: str, result: Any) -> Any:
        """A view's decoded result from its ``eth_call`` result."""
        values = self._codec(fn_name).decode(result)
        return values[0] if len(values) == 1 else values

    def _view_batch(self, calls: Sequence[Call]) -> list[Any]:
        """Views (and reads) in one round trip; a revert raises the contract's error, any other
        error ChainUnavailableError."""
        try:
            return self.node.batch(calls)
        except JsonRpcError as exc:
            if isinstance(exc.data, str) and exc.data.startswith("0x"):
                raise self.reverts.decode(exc.data) from None
            raise ChainUnavailableError(f"{exc.method} failed: {exc.rpc_message}") from None

    def _call(self, fn_name: str, *args: Any) -> Any:
        """A view, as one raw ``eth_call`` encoded and decoded here (web3's contract call adds
        about 8 ms of request processing per call, measured on anvil: a quarter of a read)."""
        (result,) = self._view_batch([("eth_call", self._call_params(fn_name, *args))])
        return self._call_result(fn_name, result)

    def read_context(self, consent_id: bytes, bank: str) -> ReadContext:
        """What a read's pre-check needs: the consent, whether the bank is active, and the latest
        block's timestamp, in one JSON-RPC batch (one round trip to a node)."""
        bank = to_checksum_address(bank)
        consent, active, block = self._view_batch(
            [
                ("eth_call", self._call_params("consent", consent_id)),
                ("eth_call", self._call_params("isBankActive", bank)),
                ("eth_getBlockByNumber", ["latest", False]),
            ]
        )
        if not isinstance(block, dict) or "timestamp" not in block:
            raise ChainUnavailableError(f"eth_getBlockByNumber answered {block!r}")
        return ReadContext(
            _consent_view(consent_id, self._call_result("consent", consent)),
            bool(self._call_result("isBankActive", active)),
            _quantity(block["timestamp"]),
        )

    def request_context(self, bank: str) -> tuple[str, int]:
        """What a bank's signed read request is checked against: the bank's read signer and the
        latest block's timestamp, in one JSON-RPC batch."""
        bank = to_checksum_address(bank)
        signer, block = self._view_batch(
            [
                ("eth_call", self._call_params("readSigner", bank)),
                ("eth_getBlockByNumber", ["latest", False]),
            ]
        )
        if not isinstance(block, dict) or "timestamp" not in block:
            raise ChainUnavailableError(f"eth_getBlockByNumber answered {block!r}")
        return str(to_checksum_address(self._call_result("readSigner", signer))), _quantity(
            block["timestamp"]
        )

    def transaction_input(self, tx_hash: bytes) -> tuple[str, bytes] | None:
        """A mined transaction's recipient and input (None when the node does not know it)."""
        (transaction,) = self._view_batch([("eth_getTransactionByHash", ["0x" + tx_hash.hex()])])
        if not isinstance(transaction, dict):
            return None
        return str(transaction.get("to") or ""), _data(transaction["input"])

    def transact(self, fn_name: str, *args: Any) -> Mined:
        """Simulate, sign, send and wait for ``fn_name(*args)``; raise the contract's error if the
        simulation reverts. While it waits, the transaction is sent again every
        ``RESEND_AFTER_S``: a node may lose it in a reorganisation that drops its block."""
        signed = self._sent(fn_name, *args)
        return self.wait_any([signed.tx_hash], resend=signed)

    def send(self, fn_name: str, *args: Any) -> bytes:
        """Simulate, sign and send ``fn_name(*args)`` without waiting; returns the tx hash.

        If the node does not take it, the nonce is read from the chain again before the next
        send (nothing else holds the transaction, unlike a relayer's journaled batch)."""
        return self._sent(fn_name, *args).tx_hash

    def _sent(self, fn_name: str, *args: Any) -> SignedCall:
        signed = self.prepare(fn_name, *args)
        try:
            self.broadcast(signed)
        except (ValueError, ChainUnavailableError):
            self.forget_nonce()
            raise
        return signed

    def prepare(self, fn_name: str, *args: Any) -> SignedCall:
        """Simulate and sign ``fn_name(*args)``, taking the next nonce; nothing is sent.

        Keep the result (the relayer journals it) and :meth:`broadcast` it; a prepared call that
        is never broadcast leaves a nonce gap, so call :meth:`forget_nonce` if it is abandoned.
        """
        # eth-abi directly: web3's encode_abi took 35 ms for a 15-entry batch, eth-abi 1.8 ms.
        data = HexStr("0x" + self._codec(fn_name).encode(*args).hex())
        call: TxParams = {"from": self.account.address, "to": self.address, "data": data}
        gas, fees = self._estimate(call)
        with self._lock:
            if self._nonce is None:
                # The nonce is this client's own count, started from the transactions the latest
                # block includes: the "pending" tag is not served by every node, and what a
                # node's pool holds is that node's view, not the key's.
                self._nonce = self.confirmed_nonce()
            tx: dict[str, Any] = {
                **call,
                "chainId": self.chain_id,
                "nonce": self._nonce,
                "gas": int(gas * GAS_HEADROOM),
                **fees,
            }
            signed = self.account.sign_transaction(tx)
            self._nonce += 1
        return SignedCall(bytes(signed.raw_transaction), bytes(signed.hash), int(tx["nonce"]), tx)

    def _estimate(self, call: TxParams) -> tuple[int, dict[str, int]]:
        """The gas of ``call`` simulated in the pending block (the environment, time above all,
        the transaction will most likely be mined in), and the fees to offer. A node that does
        not serve the ``pending`` tag (the EthereumJS client) simulates on the latest block
        instead, from then on: a check of time against the next block's is then made by the
        chain alone. From a node, one JSON-RPC batch. A revert raises the contract's error."""
        deadline = time.monotonic() + HEAD_NOT_EXECUTED_WAIT_S
        while True:
            try:
                estimate, price = self.node.batch(
                    [("eth_estimateGas", [dict(call), self._simulation_tag]), ("eth_gasPrice", [])]
                )
                return _quantity(estimate), _fees_at(_quantity(price))
            except JsonRpcError as exc:
                if self._simulation_tag == "pending" and _refuses_pending(exc):
                    self._simulation_tag = "latest"
                    return self._estimate(call)
                if not (_head_not_executed(exc) and time.monotonic() < deadline):
                    raise self._node_error(exc) from None
            time.sleep(0.1)

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
        return _quantity(self._request("eth_getTransactionCount", [self.account.address, "latest"]))

    def broadcast(self, signed: SignedCall) -> bytes:
        """Send a prepared transaction (again, after a restart: the node dedupes by hash).

        A refusal keeps the nonce counted: the caller holds the transaction (the relayer
        journals it, and sends it again or replaces it), so the next one comes after it."""
        try:
            self._request("eth_sendRawTransaction", ["0x" + signed.raw.hex()])
        except (ValueError, ChainUnavailableError) as exc:
            if _already_known(exc):
                return signed.tx_hash
            raise
        return signed.tx_hash

    def receipt(self, tx_hash: bytes) -> Mined | None:
        """The mined transaction, or None if the node does not know it (yet)."""
        return self.first_mined([tx_hash])

    def first_mined(
        self, tx_hashes: Sequence[bytes], confirmations: int | None = None
    ) -> Mined | None:
        """The one of ``tx_hashes`` (transactions that share a nonce) that was mined, if any;
        raise TransactionFailedError if it failed. From a node, one JSON-RPC batch for all.

        With ``confirmations`` (0 included), a transaction counts as mined only while its block
        is still the chain's block at its number, and only once that many blocks are above it:
        on a chain that can reorganise (Clique, proof of work) a node may still answer the
        receipt of a transaction whose block was dropped, which is then not mined (it is sent
        again rather than taken as recorded)."""
        method = "eth_getTransactionReceipt"
        calls: list[tuple[str, list[Any]]] = [(method, ["0x" + h.hex()]) for h in tx_hashes]
        if confirmations is not None:
            calls.append(("eth_blockNumber", []))
        try:
            raws = self.node.batch(calls)
        except JsonRpcError as exc:
            # A node that cannot answer a receipt now (the EthereumJS client indexes a receipt
            # a moment before it stores its block) has not refused anything: ask again later.
            raise ReceiptUnavailableError(f"{exc.method} failed: {exc.rpc_message}") from None
        for raw in raws[: len(tx_hashes)]:
            if raw is None:
                continue
            if confirmations is not None and not self._settled(
                raw, _quantity(raws[-1]), confirmations
            ):
                return None
            return self._mined(raw)
        return None

    def _settled(self, receipt: Mapping[str, Any], head: int, confirmations: int) -> bool:
        """Whether ``receipt``'s block is ``confirmations`` deep under ``head`` and still the
        chain's block at its number."""
        number = _quantity(receipt["blockNumber"])
        if head - number < confirmations:
            return False
        block = self._request("eth_getBlockByNumber", [hex(number), False])
        return block is not None and str(block["hash"]).lower() == str(receipt["blockHash"]).lower()

    def wait(self, tx_hash: bytes, timeout: float = 60) -> Mined:
        """Wait for a sent transaction; raise if it failed."""
        return self.wait_any([tx_hash], timeout)

    def wait_any(
        self, tx_hashes: Sequence[bytes], timeout: float = 60, resend: SignedCall | None = None
    ) -> Mined:
        """Wait until one of ``tx_hashes`` (a transaction and its replacements) is mined; raise
        if it failed. ``resend``, if given, is sent again every ``RESEND_AFTER_S`` meanwhile.

        Polls from 2 ms up to 100 ms: a node that mines at once (anvil, the embedded chain)
        answers in milliseconds, where web3's fixed 100 ms poll would add a tenth of a second.
        """
        deadline = time.monotonic() + timeout
        resend_at = time.monotonic() + RESEND_AFTER_S
        delay = 0.002
        while True:
            if resend is not None and time.monotonic() >= resend_at:
                resend_at = time.monotonic() + RESEND_AFTER_S
                with contextlib.suppress(ValueError, ChainUnavailableError):
                    self.broadcast(resend)
            with contextlib.suppress(ReceiptUnavailableError):
                mined = self.first_mined(tx_hashes)
                if mined is not None:
                    return mined
            if time.monotonic() >= deadline:
                raise TransactionTimeoutError(tx_hashes[-1], timeout)
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.1)

    def _fees(self) -> dict[str, int]:
        """The fees to offer at the node's suggested price now (see :func:`_fees_at`)."""
        return _fees_at(_quantity(self._request("eth_gasPrice", [])))

    def resume_nonce(self, after: int | None) -> None:
        """Continue this key's nonces after ``after`` (the highest a journal holds for
        transactions still open), or after the chain's count if that is higher."""
        confirmed = self.confirmed_nonce()
        with self._lock:
            self._nonce = confirmed if after is None else max(confirmed, after + 1)

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
            if event.event in ("DataAccessed", "AccessDenied"):
                read = RecordedAccess.of(event.event, event.args)
                reason = DenialReason(read.reason_code)
                decisions.append(Decision(by_query[read.entry.query_id], reason))
        return BatchResult(mined, tuple(decisions))

    def _mined(self, receipt: Mapping[str, Any]) -> Mined:
        """From a node's raw JSON receipt (quantities as hex strings)."""
        tx_hash = _data(receipt["transactionHash"])
        block_number = _quantity(receipt["blockNumber"])
        if _quantity(receipt["status"]) != 1:
            raise TransactionFailedError(tx_hash, block_number)
        ours = self.address.lower()
        events = tuple(
            decoded
            for log in receipt["logs"]
            if str(log["address"]).lower() == ours
            and (decoded := self.logs.decode(log)) is not None
        )
        return Mined(
            tx_hash=tx_hash,
            block_number=block_number,
            gas_used=_quantity(receipt["gasUsed"]),
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

    def set_read_signer(self, signer: str) -> Mined:
        """As a bank: choose or rotate the key that signs this bank's read requests (the zero
        address: the bank's own key)."""
        return self.transact("setReadSigner", to_checksum_address(signer))

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

    def controller_set_document(
        self,
        primary: typed_data.PrimaryType,
        subject: bytes,
        controllers: Sequence[str],
        threshold: int,
        deadline: int,
        nonce: int | None = None,
    ) -> dict[str, Any]:
        """The EIP-712 document of a ``Registration`` or ``Recovery`` (each new controller signs
        it), or of a ``ChangeControllers`` (``nonce`` given; k current controllers sign it)."""
        message = typed_data.controller_set_message(
            subject, list(controllers), threshold, deadline, nonce
        )
        return typed_data.typed_data(self.domain, primary, message)

    def register_enterprise(
        self,
        subject: bytes,
        controllers: Sequence[str],
        threshold: int,
        deadline: int,
        signatures: Sequence[bytes],
    ) -> Mined:
        """As the bureau: register ``subject``; ``signatures[i]`` is ``controllers[i]``'s of the
        ``Registration`` (:meth:`controller_set_document`)."""
        return self.transact(
            "registerEnterprise",
            subject,
            [to_checksum_address(c) for c in controllers],
            threshold,
            deadline,
            list(signatures),
        )

    def enroll(self, subject: bytes, keys: Sequence[LocalAccount], threshold: int) -> Mined:
        """As the bureau: register ``subject`` with controllers whose keys are at hand (a test,
        a demo, a benchmark), each signing the ``Registration`` with a day's deadline."""
        addresses = [k.address for k in keys]
        deadline = self.block_timestamp() + 24 * 60 * 60
        document = self.controller_set_document(
            "Registration", subject, addresses, threshold, deadline
        )
        signatures = [typed_data.sign(k, document) for k in keys]
        return self.register_enterprise(subject, addresses, threshold, deadline, signatures)

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

    def start_recovery(
        self,
        subject: bytes,
        controllers: Sequence[str],
        threshold: int,
        deadline: int,
        signatures: Sequence[bytes],
    ) -> Mined:
        """As the regulator: propose new controllers for ``subject`` (each signs ``Recovery``)."""
        return self.transact(
            "startRecovery",
            subject,
            [to_checksum_address(c) for c in controllers],
            threshold,
            deadline,
            list(signatures),
        )

    def cancel_recovery(
        self, subject: bytes, nonce: int, deadline: int, signatures: Sequence[bytes]
    ) -> Mined:
        """Relay k current controllers' ``CancelRecovery``."""
        return self.transact("cancelRecovery", subject, nonce, deadline, list(signatures))

    def complete_recovery(
        self, subject: bytes, controllers: Sequence[str], threshold: int
    ) -> Mined:
        """Complete a recovery whose delay has passed, with the set it was started with."""
        return self.transact(
            "completeRecovery", subject, [to_checksum_address(c) for c in controllers], threshold
        )

    def recovery(self, subject: bytes) -> tuple[bytes, int]:
        """The pending recovery of ``subject``: (hash of the new set, effective time; 0: none)."""
        set_hash, effective_at = self._call("recoveries", subject)
        return bytes(set_hash), int(effective_at)

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
        mined = self.transact("recordAccesses", *record_accesses_args(entries))
        return self.batch_decisions(entries, mined)

    def export_document(
        self, subject: bytes, categories: int, nonce: int, deadline: int
    ) -> dict[str, Any]:
        """The EIP-712 ``Export`` k of the enterprise's controllers sign."""
        message = {
            "subject": subject,
            "categories": categories,
            "nonce": nonce,
            "deadline": deadline,
        }
        return typed_data.typed_data(self.domain, "Export", message)

    def cancel_recovery_document(self, subject: bytes, nonce: int, deadline: int) -> dict[str, Any]:
        """The EIP-712 ``CancelRecovery`` k of the enterprise's controllers sign."""
        message = {"subject": subject, "nonce": nonce, "deadline": deadline}
        return typed_data.typed_data(self.domain, "CancelRecovery", message)

    def record_export(
        self,
        subject: bytes,
        categories: int,
        export_hash: bytes,
        nonce: int,
        deadline: int,
        signatures: Sequence[bytes],
    ) -> Mined:
        return self.transact(
            "recordExport", subject, categories, export_hash, nonce, deadline, list(signatures)
        )

    def file_dispute(self, dispute: DisputeState) -> Mined:
        """``fileDispute`` with the dispute's id, subject, kind, target, categories and reason
        hash (its ``filed_at`` is the block's time, not sent)."""
        return self.transact(
            "fileDispute",
            dispute.dispute_id,
            dispute.subject,
            int(dispute.kind),
            dispute.target,
            dispute.categories,
            dispute.reason_hash,
        )

    def answer_dispute(self, dispute_id: bytes, outcome: int, answer_hash: bytes) -> Mined:
        return self.transact("answerDispute", dispute_id, outcome, answer_hash)

    # --------------------------------------------------------------------- views

    def consent(self, consent_id: bytes) -> ConsentView:
        return _consent_view(consent_id, self._call("consent", consent_id))

    def nonce(self, subject: bytes, key: int = 0) -> int:
        """The next unused nonce of ``subject`` under ``key`` (key prefix included)."""
        return int(self._call("nonces(address,uint192)", nonce_account(subject), key))

    def enterprise(self, subject: bytes) -> tuple[tuple[str, ...], int]:
        """(controllers, threshold); threshold 0 means not registered."""
        controllers, threshold = self._call("enterprise", subject)
        return tuple(to_checksum_address(c) for c in controllers), int(threshold)

    def has_role(self, role: bytes, account: str) -> bool:
        return bool(self._call("hasRole", role, to_checksum_address(account)))

    def is_bank_active(self, bank: str) -> bool:
        return bool(self._call("isBankActive", to_checksum_address(bank)))

    def read_signer(self, bank: str) -> str:
        """The address whose signature the ledger accepts on ``bank``'s read requests."""
        return str(to_checksum_address(self._call("readSigner", to_checksum_address(bank))))

    def last_query_id(self, relayer: str) -> int:
        return int(self._call("lastQueryId", to_checksum_address(relayer)))

    def registered_categories(self) -> int:
        return int(self._call("registeredCategories"))

    def purpose(self, code: int) -> PurposeCaps:
        active, allowed, max_duration, max_reads, max_history = self._call("purpose", code)
        return PurposeCaps(bool(active), allowed, max_duration, max_reads, max_history)

    def block_timestamp(self, block_number: BlockIdentifier = "latest") -> int:
        tag = block_number if isinstance(block_number, str) else hex(int(block_number))
        block = self._request("eth_getBlockByNumber", [tag, False])
        if not isinstance(block, dict) or "timestamp" not in block:
            raise ChainUnavailableError(f"eth_getBlockByNumber {tag} answered {block!r}")
        return _quantity(block["timestamp"])


def _consent_view(consent_id: bytes, raw: Sequence[Any]) -> ConsentView:
    """The ``consent(id)`` view's decoded values as a :class:`ConsentView`."""
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


def _fees_at(price: int) -> dict[str, int]:
    """EIP-1559 fees: twice the node's suggested price as the cap, a tip of at most 1 gwei."""
    return {"maxFeePerGas": 2 * price, "maxPriorityFeePerGas": min(price, 10**9)}


def _quantity(value: Any) -> int:
    """A JSON-RPC quantity: a hex string from a node, an int from web3."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _data(value: Any) -> bytes:
    """JSON-RPC data: a hex string from a node, bytes from web3."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def _bumped(fee: int) -> int:
    """``fee`` raised by 12.5 % (at least by 1 wei, so that a zero fee moves too)."""
    return fee + max(1, -(-fee // REPLACEMENT_BUMP_DIVISOR))


def _refuses_pending(error: JsonRpcError) -> bool:
    """Whether a node's error says it does not serve the ``pending`` block tag (not a revert)."""
    reverted = isinstance(error.data, str) and error.data.startswith("0x")
    return not reverted and "pending" in error.rpc_message.lower()


def _head_not_executed(error: JsonRpcError) -> bool:
    """Whether a node refused a state lookup only because it has imported its latest block and
    not executed it yet (the EthereumJS client, for a moment after each import)."""
    return "does not contain state root" in error.rpc_message.lower()


def _already_known(exc: Exception) -> bool:
    """Whether a send failed only because the node already has this exact transaction."""
    text = str(exc).lower()
    return "already known" in text or "already imported" in text or "known transaction" in text
