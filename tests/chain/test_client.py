"""The chain client's boundary: node failures, timeouts and revert data become our exceptions."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from consentledger.categories import Category
from consentledger.chain.abi import RevertDecoder
from consentledger.chain.anvil import free_port
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.client import (
    LedgerClient,
    NodeRefusedError,
    SignedCall,
    TransactionTimeoutError,
)
from consentledger.chain.jsonrpc import ChainUnavailableError
from consentledger.ledger.errors import LedgerRevertError
from consentledger.testing.world import World

DECODER = RevertDecoder(load_artifact("ConsentLedger")["abi"])


def test_unreachable_node_is_chain_unavailable() -> None:
    w3 = Web3(HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 2}))
    client = LedgerClient(w3, "0x" + "11" * 20, Account.create())
    with pytest.raises(ChainUnavailableError, match="did not answer"):
        client.registered_categories()
    with pytest.raises(ChainUnavailableError):
        client.register_category(12, "government_procurement")


def test_unmined_transaction_times_out_then_lands(world: World) -> None:
    world.chain.set_automine(False)
    try:
        tx_hash = world.regulator.send("registerCategory", 12, "government_procurement")
        with pytest.raises(TransactionTimeoutError, match="not mined within"):
            world.regulator.wait(tx_hash, timeout=0.3)
        world.chain.mine()
    finally:
        world.chain.set_automine(True)
    mined = world.regulator.wait(tx_hash)
    assert [e.event for e in mined.events] == ["CategoryRegistered"]
    assert mined.events[0].args == {"code": 12, "name": "government_procurement"}
    assert world.bureau.registered_categories() & Category.GOVERNMENT_PROCUREMENT.bit


def test_a_transaction_the_node_refuses_is_a_named_error(anvil_base: World) -> None:
    """Sent raw to a node: a refusal that is not a revert (here an account without funds) raises
    NodeRefusedError with the node's reason, and the client reads its nonce again next time."""
    broke = Account.create()
    client = anvil_base.bureau.with_account(broke)
    tx = {
        "chainId": client.chain_id,
        "nonce": 0,
        "to": anvil_base.regulator.account.address,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    signed = broke.sign_transaction(tx)
    call = SignedCall(bytes(signed.raw_transaction), bytes(signed.hash), 0, tx)
    with pytest.raises(NodeRefusedError, match=r"eth_sendRawTransaction: .*funds"):
        client.broadcast(call)
    assert client.receipt(call.tx_hash) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            keccak(text="ConsentsUnknownConsent(bytes32)")[:4] + b"\x07" * 32,
            LedgerRevertError("ConsentsUnknownConsent", b"\x07" * 32),
        ),
        (
            keccak(text="Error(string)")[:4] + encode(["string"], ["plain reason"]),
            LedgerRevertError("Error", "plain reason"),
        ),
        (
            keccak(text="Panic(uint256)")[:4] + encode(["uint256"], [0x11]),
            LedgerRevertError("Panic", 0x11),
        ),
        (b"\xde\xad\xbe\xef", LedgerRevertError("UnknownRevert", "0xdeadbeef")),
        (
            keccak(text="ConsentsUnknownConsent(bytes32)")[:4] + b"\x01",
            LedgerRevertError(
                "UnknownRevert",
                "0x" + (keccak(text="ConsentsUnknownConsent(bytes32)")[:4] + b"\x01").hex(),
            ),
        ),
        (None, LedgerRevertError("UnknownRevert", "0x")),
    ],
    ids=["custom_error", "error_string", "panic", "unknown_selector", "truncated", "no_data"],
)
def test_revert_data_decodes(data: bytes | None, expected: LedgerRevertError) -> None:
    assert DECODER.decode(data) == expected
    if data is not None:
        assert DECODER.decode("0x" + data.hex()) == expected


def test_a_view_called_from_an_unfunded_address_answers(world: World) -> None:
    # As on a node: a bank reads its consent from its own address, which holds no ether.
    solo = world.enterprises["solo"]
    consent_id = world.grant(world.terms(solo, world.banks[0]))
    reader = LedgerClient(world.chain.w3, world.deployment.address, Account.create())
    assert (
        reader.consent(consent_id).history_months == world.bureau.consent(consent_id).history_months
    )
    assert reader.registered_categories() == world.bureau.registered_categories()
