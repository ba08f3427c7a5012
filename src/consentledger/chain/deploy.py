"""Deploy a ConsentLedger, seed its registries, and keep the deployment record.

The record (chain id, address, deploy block and transaction, artifact hash, compiler) is what the
gateway and the auditor are pointed at: it names the ledger and proves which bytecode it runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3

from consentledger.categories import seed_registries
from consentledger.chain.artifacts import artifact_hash, load_artifact
from consentledger.chain.client import (
    GAS_HEADROOM,
    LedgerClient,
    TransactionFailedError,
    node_of,
)
from consentledger.chain.jsonrpc import wait_for_receipt
from consentledger.errors import ConsentLedgerError
from consentledger.files import write_atomically
from consentledger.ledger.types import ROLE_BUREAU

CONTRACT = "ConsentLedger"


class DeploymentRecordError(ConsentLedgerError, ValueError):
    """A deployment record that cannot be read, or that does not match the chain."""

    code = "bad_deployment_record"
    exit_code = 12


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where a ConsentLedger lives and what it runs."""

    chain_id: int
    address: str
    deploy_block: int
    deploy_tx: str
    artifact_hash: str
    compiler: str
    regulator: str
    relayers: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"contract": CONTRACT, **asdict(self)}, indent=2) + "\n"

    def save(self, path: Path) -> None:
        """Write the record atomically and durably: a partial file never replaces a good one,
        the record is on disk (file and directory fsynced) when this returns, and a symlink
        planted at ``path`` is replaced, not written through."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, self.to_json())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        try:
            return cls(
                chain_id=int(data["chain_id"]),
                address=to_checksum_address(data["address"]),
                deploy_block=int(data["deploy_block"]),
                deploy_tx=str(data["deploy_tx"]),
                artifact_hash=str(data["artifact_hash"]),
                compiler=str(data["compiler"]),
                regulator=to_checksum_address(data["regulator"]),
                relayers=tuple(to_checksum_address(r) for r in data["relayers"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DeploymentRecordError(
                f"deployment record is incomplete or malformed: {exc}"
            ) from exc

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DeploymentRecordError(f"cannot read deployment record {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise DeploymentRecordError(f"deployment record {path} is not a JSON object")
        return cls.from_dict(data)


def deploy_ledger(
    w3: Web3,
    regulator: LocalAccount,
    *,
    relayers: Sequence[str] = (),
    seed: bool = True,
) -> tuple[Deployment, LedgerClient]:
    """Deploy as ``regulator``; register the seeded categories and purposes and the relayers.

    Returns the record and a client that sends as the regulator.
    """
    artifact = load_artifact(CONTRACT)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    constructor = factory.constructor(regulator.address)
    # Only what every node serves: the latest block, not the "pending" tag, and the nonce from
    # the key's count in that block (the regulator deploys before it sends anything else).
    gas = w3.eth.estimate_gas(
        {"from": regulator.address, "data": constructor.data_in_transaction}, "latest"
    )
    tx = constructor.build_transaction(
        {
            "from": regulator.address,
            "nonce": w3.eth.get_transaction_count(regulator.address, "latest"),
            "gas": int(gas * GAS_HEADROOM),
            "maxFeePerGas": 2 * w3.eth.gas_price,
            "maxPriorityFeePerGas": min(w3.eth.gas_price, 10**9),
            "chainId": w3.eth.chain_id,
        }
    )
    signed = regulator.sign_transaction(dict(tx))
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = wait_for_receipt(node_of(w3), "0x" + bytes(tx_hash).hex(), 60)
    if int(receipt["status"], 16) != 1 or receipt["contractAddress"] is None:
        raise TransactionFailedError(bytes(tx_hash), int(receipt["blockNumber"], 16))
    client = LedgerClient(w3, receipt["contractAddress"], regulator)
    if seed:
        seed_registries(client.register_category, client.define_purpose)
    for relayer in relayers:
        client.add_relayer(relayer)
    deployment = Deployment(
        chain_id=int(w3.eth.chain_id),
        address=client.address,
        deploy_block=int(receipt["blockNumber"], 16),
        deploy_tx="0x" + bytes(tx_hash).hex(),
        artifact_hash=artifact_hash(CONTRACT),
        compiler=str(artifact["compiler"]["version"]),
        regulator=regulator.address,
        relayers=tuple(to_checksum_address(r) for r in relayers),
    )
    return deployment, client


def admit_relayers(
    regulator: LedgerClient, deployment: Deployment, relayers: Sequence[str]
) -> tuple[Deployment, list[str]]:
    """Give the bureau role to each of ``relayers`` that lacks it (``regulator`` sends as the
    regulator), on an existing deployment; the record, naming them all among its relayers (the
    auditor's journal check reads them from it), and the addresses admitted now."""
    admitted: list[str] = []
    named = list(deployment.relayers)
    for relayer in (to_checksum_address(r) for r in relayers):
        if not regulator.has_role(ROLE_BUREAU, relayer):
            regulator.add_relayer(relayer)
            admitted.append(relayer)
        if relayer not in named:
            named.append(relayer)
    return replace(deployment, relayers=tuple(named)), admitted


def verify_deployment(w3: Web3, deployment: Deployment) -> None:
    """Check that the record names this chain and that the code there is our artifact's."""
    check_chain_id(deployment, int(w3.eth.chain_id))
    check_code(deployment, bytes(w3.eth.get_code(to_checksum_address(deployment.address))))


def check_chain_id(deployment: Deployment, chain_id: int) -> None:
    """The node's chain id must be the record's."""
    if chain_id != deployment.chain_id:
        raise DeploymentRecordError(
            f"chain id mismatch: the record says {deployment.chain_id}, the node says {chain_id}"
        )


def check_code(deployment: Deployment, code: bytes) -> None:
    """The code at the record's address must be this package's artifact (immutables masked)."""
    artifact = load_artifact(CONTRACT)
    expected = bytes.fromhex(artifact["deployedBytecode"][2:])
    if _mask(code, artifact["immutableRanges"]) != _mask(expected, artifact["immutableRanges"]):
        raise DeploymentRecordError(
            f"the code at {deployment.address} is not this package's {CONTRACT} "
            f"({len(code)} bytes there, {len(expected)} expected)"
        )


def _mask(code: bytes, ranges: list[list[int]]) -> bytes:
    """``code`` with the immutable ranges zeroed (they hold values the constructor computed)."""
    masked = bytearray(code)
    for start, length in ranges:
        masked[start : start + length] = bytes(length)
    return bytes(masked)
