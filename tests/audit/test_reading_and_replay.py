"""The reader's pieces and the replay's edges: node-shaped answers, the fast log decoder against
plain eth-abi, following a growing chain, and replay rules the contract tests do not reach."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from consentledger.audit.runner import Audit, AuditResult, follow
from consentledger.chain import log_reader as reader_module
from consentledger.chain.abi import LogDecodeError, LogDecoder
from consentledger.chain.anvil import AnvilChain
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import (
    EmbeddedJsonRpc,
    HttpJsonRpc,
    JsonRpc,
    JsonRpcError,
    _loads,
)
from consentledger.chain.log_reader import LedgerReader
from consentledger.gcpause import gc_paused
from consentledger.ledger.errors import LedgerRevertError
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import ROLE_BANK, ConsentState, ConsentStatus
from consentledger.testing.world import World

DECODER = LogDecoder(load_artifact("ConsentLedger")["abi"])


def _transport(world: World) -> JsonRpc:
    if isinstance(world.chain, EmbeddedChain):
        return EmbeddedJsonRpc(world.chain)
    assert isinstance(world.chain, AnvilChain)
    return HttpJsonRpc(world.chain.url)


def _shape(value: Any) -> Any:
    """The JSON types of an answer, key by key (what a client of the node relies on)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    if isinstance(value, str) and value.startswith("0x"):
        return "hex"
    return type(value).__name__


def test_embedded_transport_answers_in_a_nodes_shapes(world: World) -> None:
    """The same requests, answered alike by the in-process transport and by anvil."""
    rpc = _transport(world)
    address = world.deployment.address
    logs = rpc.request(
        "eth_getLogs", [{"address": address, "fromBlock": "0x0", "toBlock": "latest"}]
    )
    block = rpc.request("eth_getBlockByNumber", [logs[0]["blockNumber"], False])
    shapes = {
        "chain_id": _shape(rpc.request("eth_chainId", [])),
        "block_number": _shape(rpc.request("eth_blockNumber", [])),
        "log": {k: v for k, v in _shape(logs[0]).items() if k != "blockTimestamp"},
        "block": {k: _shape(block[k]) for k in ("number", "hash", "parentHash", "timestamp")},
        "unknown_block": rpc.request("eth_getBlockByNumber", ["0xffffff", False]),
        "reversed_range": rpc.request(
            "eth_getLogs", [{"address": address, "fromBlock": "0x5", "toBlock": "0x3"}]
        ),
    }
    assert shapes == {
        "chain_id": "hex",
        "block_number": "hex",
        "log": {
            "address": "hex",
            "blockHash": "hex",
            "blockNumber": "hex",
            "data": "hex",
            "logIndex": "hex",
            "removed": "bool",
            "topics": ["hex"],
            "transactionHash": "hex",
            "transactionIndex": "hex",
        },
        "block": {"number": "hex", "hash": "hex", "parentHash": "hex", "timestamp": "hex"},
        "unknown_block": None,
        "reversed_range": [],
    }
    with pytest.raises(JsonRpcError) as raised:
        rpc.request("eth_noSuchMethod", [])
    assert raised.value.rpc_code == -32601
    rpc.close()


# ---------------------------------------------------------------------------------- decoder

WORD = st.binary(min_size=32, max_size=32)
SMALL = st.integers(0, 2**16 - 1).map(lambda v: v.to_bytes(32, "big"))


@settings(max_examples=300, deadline=None)
@given(
    event=st.sampled_from(["DataAccessed", "AccessDenied", "ConsentGranted", "RoleGranted"]),
    words=st.lists(st.one_of(WORD, SMALL), min_size=4, max_size=10),
    topics=st.lists(st.one_of(WORD, SMALL), min_size=3, max_size=3),
)
def test_fast_decoder_agrees_with_eth_abi(
    event: str, words: list[bytes], topics: list[bytes]
) -> None:
    """Any words, valid or not: the fast path decodes what eth-abi decodes and refuses what it
    refuses."""
    spec_topics = {"DataAccessed": 2, "AccessDenied": 2, "ConsentGranted": 3, "RoleGranted": 3}
    log = {
        "address": "0x" + "11" * 20,
        "topics": ["0x" + DECODER.topics[event].hex()]
        + ["0x" + t.hex() for t in topics[: spec_topics[event]]],
        "data": "0x" + b"".join(words).hex(),
        "blockNumber": "0x1",
        "blockHash": "0x" + "22" * 32,
        "transactionHash": "0x" + "33" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x0",
    }

    def outcome(decode: Any) -> Any:
        try:
            return decode(log)
        except LogDecodeError:
            return "refused"

    assert outcome(DECODER.decode) == outcome(DECODER.decode_reference)


def test_decoder_on_a_real_log_and_a_bad_one(world: World) -> None:
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0]))
    mined = world.record([world.entry(consent, world.banks[0])]).mined
    event = mined.events[0]
    assert event.args["consentId"] == consent
    encoded = encode(["uint256", "uint256"], [1, 2])
    bad = {  # AccessDenied without its indexed consent id
        "address": world.deployment.address,
        "topics": ["0x" + DECODER.topics["AccessDenied"].hex()],
        "data": "0x" + encoded.hex(),
        "blockNumber": "0x1",
        "blockHash": "0x" + "00" * 32,
        "transactionHash": "0x" + "00" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x0",
    }
    with pytest.raises(LogDecodeError, match="indexed topics"):
        DECODER.decode(bad)


# ----------------------------------------------------------------------------------- follow


def test_follow_audits_new_blocks_as_they_come(embedded_world: World) -> None:
    world = embedded_world
    assert isinstance(world.chain, EmbeddedChain)
    audit = Audit(EmbeddedJsonRpc(world.chain), world.deployment)
    first = audit.run()
    assert first.clean
    assert first.replay.history.figures.reads() == 0
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0], max_reads=1))
    updates: list[AuditResult] = []
    steps: Iterator[Callable[[], object]] = iter(
        [
            lambda: world.record([world.entry(consent, world.banks[0])]),
            lambda: None,  # nothing new: no update
            lambda: world.record([world.entry(consent, world.banks[0])]),
        ]
    )

    def between_polls(_seconds: float) -> None:
        step = next(steps, None)
        if step is None:
            raise KeyboardInterrupt
        step()

    follow(audit, poll_interval=0, duration=None, confirmations=0, on_update=updates.append,
           sleep=between_polls)  # fmt: skip
    assert len(updates) == 2
    figures = updates[-1].replay.history.figures
    assert (figures.reads(True), figures.reads(False)) == (1, 1)
    assert figures.denials_by_reason == {"READS_EXHAUSTED": 1}
    assert updates[-1].clean
    assert updates[-1].window_last == int(world.chain.w3.eth.block_number)


# ------------------------------------------------------------------------ replay and model


def test_renounced_role_matches_the_chain(world: World) -> None:
    """renounceRole: the model's rule against the contract (the auditor replays it)."""
    bank = world.banks[0]
    as_bank = world.regulator.with_account(bank)
    stranger = world.stranger.address
    with pytest.raises(LedgerRevertError) as refused:
        world.both(
            lambda: as_bank.transact("renounceRole", ROLE_BANK, stranger),
            lambda _now: world.model.renounce_role(bank.address, ROLE_BANK, stranger),
        )
    assert refused.value == LedgerRevertError("AccessControlBadConfirmation")
    world.both(
        lambda: as_bank.transact("renounceRole", ROLE_BANK, bank.address),
        lambda _now: world.model.renounce_role(bank.address, ROLE_BANK, bank.address),
    )
    assert not world.bureau.has_role(ROLE_BANK, bank.address)
    assert not world.model.bank_active(bank.address)
    result = Audit(_transport(world), world.deployment).run()
    assert result.clean, [f.to_json() for f in result.findings]


def _granted(model: LedgerModel, bank: str, now: int, **changes: Any) -> ConsentState:
    values: dict[str, Any] = {
        "consent_id": b"\x01" * 32,
        "subject": b"\x02" * 32,
        "bank": bank,
        "categories": 1 << 1,
        "purpose": 1,
        "not_before": now - 1,
        "expires_at": now + 100,
        "max_reads": 5,
        "history_months": 12,
        "receipt_hash": b"\x03" * 32,
    }
    values.update(changes)
    return ConsentState(**values)


def test_replay_reports_the_rule_and_follows_the_chain(world: World) -> None:
    """A grant against the caps is reported with the contract's error and stored anyway; a pause
    of an unknown consent is refused and changes nothing."""
    model = LedgerModel()
    model.replay_role_granted(ROLE_BANK, world.banks[0].address, world.stranger.address)
    bank = world.banks[0].address
    now = 1_000_000
    unknown = model.replay_consent_transition(b"\x09" * 32, ConsentStatus.PAUSED, now)
    assert unknown == LedgerRevertError("ConsentsUnknownConsent", b"\x09" * 32)
    error = model.replay_consent_granted(_granted(model, bank, now), now)
    assert error == LedgerRevertError("MembershipUnknownEnterprise", b"\x02" * 32)
    assert model.consents[b"\x01" * 32].max_reads == 5  # stored as the event says


def test_unauthorised_role_grant_is_an_impossible_event(embedded_world: World) -> None:
    """Replay of a RoleGranted whose sender is no admin: the model names the contract's error."""
    model = embedded_world.model
    error = model.replay_role_granted(ROLE_BANK, "0x" + "44" * 20, embedded_world.stranger.address)
    assert error is not None
    assert error.error == "AccessControlUnauthorizedAccount"
    assert model.has_role(ROLE_BANK, "0x" + "44" * 20)  # followed, as the chain did


# ------------------------------------------------------------------ reading fast and ahead


def test_node_logs_of_the_hot_events_take_the_generated_reader() -> None:
    """Reads, denials and grants (nearly every log of a ledger) are read by the readers generated
    from the ABI; events with dynamic fields keep eth-abi."""
    hot = {"DataAccessed", "AccessDenied", "ConsentGranted", "ConsentRevoked", "RoleGranted"}
    assert hot <= DECODER.generated_readers
    assert not {"EnterpriseRegistered", "CategoryRegistered"} & DECODER.generated_readers


@pytest.mark.parametrize(
    "variant",
    [
        lambda data: data.upper().replace("0X", "0x"),
        lambda data: data[:10] + " " + data[11:],
        lambda data: data[:-2],
        lambda data: data + "00",
        lambda data: "0X" + data[2:],
        lambda data: data[:2] + "zz" + data[4:],
    ],
    ids=["uppercase", "whitespace", "short", "long", "prefix", "not-hex"],
)
def test_unusual_hex_decodes_as_the_reference_does(
    world: World, variant: Callable[[str], str]
) -> None:
    """A log a node might send oddly is decoded, or refused, exactly as plain eth-abi does."""
    solo = world.enterprises["solo"]
    consent = world.grant(world.terms(solo, world.banks[0]))
    world.record([world.entry(consent, world.banks[0])])
    rpc = _transport(world)
    logs = rpc.request("eth_getLogs", [{"address": world.deployment.address, "fromBlock": "0x0"}])
    rpc.close()
    (read,) = [
        log for log in logs if log["topics"][0] == "0x" + DECODER.topics["DataAccessed"].hex()
    ]
    assert DECODER.decode(read) == DECODER.decode_reference(read)
    odd = {**read, "data": variant(read["data"])}

    def outcome(decode: Callable[[Any], Any]) -> Any:
        try:
            return decode(odd)
        except (LogDecodeError, ValueError) as exc:
            return type(exc).__name__

    assert outcome(DECODER.decode) == outcome(DECODER.decode_reference)


def _items(reader: LedgerReader, last: int) -> list[Any]:
    return list(reader.read(reader.deployment.deploy_block, last))


def test_reading_ahead_and_adaptive_ranges_give_the_same_items(
    anvil_ledger: tuple[str, Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP the reader keeps several ranges in flight and sizes them by the logs they hold;
    the items are those of the plain serial reader, in the same order."""
    url, scenario, _record = anvil_ledger
    deployment = scenario.world.deployment
    rpc = HttpJsonRpc(url)
    serial = LedgerReader(rpc, deployment, block_range=1000, prefetch=0)
    last = serial.head()
    expected = _items(serial, last)
    assert len(expected) > 50
    ahead = LedgerReader(rpc, deployment, block_range=4, prefetch=3)
    assert ahead.prefetch == 3
    assert _items(ahead, last) == expected
    monkeypatch.setattr(reader_module, "TARGET_LOGS", 2)  # every range "dense"
    assert _items(LedgerReader(rpc, deployment, block_range=5, prefetch=2), last) == expected
    dense = LedgerReader(rpc, deployment, block_range=10, prefetch=0)
    assert _items(dense, last) == expected
    monkeypatch.setattr(reader_module, "TARGET_LOGS", 10**6)
    sparse = LedgerReader(rpc, deployment, block_range=10, prefetch=0)
    assert _items(sparse, last) == expected
    assert dense.requests["eth_getLogs"] > 2 * sparse.requests["eth_getLogs"]
    rpc.close()


def test_in_process_transports_are_read_without_threads(
    scripted: tuple[EmbeddedChain, Any],
) -> None:
    chain, scenario = scripted
    reader = LedgerReader(EmbeddedJsonRpc(chain), scenario.world.deployment, prefetch=3)
    assert reader.prefetch == 0


def test_gc_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    entered = threading.Event()
    leave = threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        assert not gc.isenabled()
        thread.start()
        assert entered.wait(10)
    assert not gc.isenabled(), "another thread is still inside its block"
    leave.set()
    thread.join(10)
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":1,"result":["0x1",{"a":null,"b":true}]}',
        b'{"id":1,"error":{"code":-32005,"message":"range \\u00e9"}}',
        b'{"result": 123456789012345678901234567890123}',
        b'{"result": NaN}',
        b'{"result": 1e400}',
        b'{"result": 1, "result": 2}',
    ],
    ids=["plain", "escapes", "big-int", "nan", "huge-float", "duplicate-key"],
)
def test_fast_json_reads_answers_as_the_standard_library(body: bytes) -> None:
    assert json.dumps(_loads(body)) == json.dumps(json.loads(body))  # NaN != NaN, "NaN" == "NaN"
    with pytest.raises(ValueError, match=r"."):
        _loads(b'{"result": ')
