"""Deployment: the record, the seeded registries, the EIP-712 domain, verification."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from consentledger.categories import SEEDED_CATEGORIES, SEEDED_PURPOSES
from consentledger.chain import typed_data
from consentledger.chain.deploy import Deployment, DeploymentRecordError, verify_deployment
from consentledger.ledger.types import ROLE_BANK, ROLE_BUREAU, ROLE_REGULATOR
from consentledger.testing.world import World


def test_record_round_trips(world: World, tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    world.deployment.save(path)
    assert Deployment.load(path) == world.deployment
    assert not path.with_suffix(".json.tmp").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "not a JSON object"),
        ('{"chain_id": 1}', "incomplete"),
    ],
    ids=["not_json", "not_an_object", "missing_fields"],
)
def test_bad_record_is_a_named_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(content)
    with pytest.raises(DeploymentRecordError, match=message):
        Deployment.load(path)


def test_missing_record_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(DeploymentRecordError, match="cannot read"):
        Deployment.load(tmp_path / "nope.json")


def test_deployment_verifies_against_the_chain(world: World) -> None:
    verify_deployment(world.chain.w3, world.deployment)


def test_wrong_chain_id_is_refused(world: World) -> None:
    with pytest.raises(DeploymentRecordError, match="chain id mismatch"):
        verify_deployment(world.chain.w3, replace(world.deployment, chain_id=1))


def test_wrong_code_is_refused(world: World) -> None:
    with pytest.raises(DeploymentRecordError, match="is not this package's ConsentLedger"):
        verify_deployment(world.chain.w3, replace(world.deployment, address=world.stranger.address))


def test_registries_hold_the_seeded_table(world: World) -> None:
    mask = sum(category.bit for category in SEEDED_CATEGORIES)
    assert world.bureau.registered_categories() == mask
    for seeded in SEEDED_PURPOSES:
        caps = world.bureau.purpose(seeded.purpose.value)
        assert caps.active
        assert (caps.allowed_categories, caps.max_duration, caps.max_reads) == (
            seeded.allowed_mask,
            seeded.max_duration,
            seeded.max_reads,
        )
        assert caps.max_history_months == seeded.max_history_months


def test_roles_after_deployment(world: World) -> None:
    client = world.bureau
    assert client.has_role(ROLE_REGULATOR, world.deployment.regulator)
    assert client.has_role(ROLE_BUREAU, world.deployment.relayers[0])
    assert client.has_role(ROLE_BANK, world.banks[0].address)
    assert not client.has_role(ROLE_BANK, world.stranger.address)
    assert client.is_bank_active(world.banks[0].address)


def test_eip712_domain_is_the_contracts(world: World) -> None:
    _fields, name, version, chain_id, contract, _salt, _ext = (
        world.bureau.contract.functions.eip712Domain().call()
    )
    domain = world.bureau.domain
    assert (name, version, chain_id, contract) == (
        typed_data.DOMAIN_NAME,
        typed_data.DOMAIN_VERSION,
        domain.chain_id,
        domain.verifying_contract,
    )
