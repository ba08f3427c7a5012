"""An enterprise revokes without the bureau: ``consentledger revoke`` signs with the controllers'
keys and sends from any account, straight to a node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_account.signers.local import LocalAccount

from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.cli import main
from consentledger.ledger.types import ConsentStatus
from consentledger.testing.world import World, build_world


@pytest.fixture(scope="module")
def anvil_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World, Path]]:
    with AnvilProcess() as node:
        world = build_world(AnvilChain(node.url))
        record = tmp_path_factory.mktemp("revoke") / "deployment.json"
        world.deployment.save(record)
        yield node.url, world, record


def _key_file(directory: Path, account: LocalAccount) -> Path:
    path = directory / f"{account.address}.key"
    path.write_text(bytes(account.key).hex())
    return path


def _revoke(url: str, record: Path, consent_id: bytes, signers: list[Path], sender: Path) -> Result:
    args = ["revoke", "--rpc", url, "--deployment", str(record)]
    args += ["--consent", "0x" + consent_id.hex(), "--sender-key-file", str(sender)]
    for signer in signers:
        args += ["--controller-key-file", str(signer)]
    return CliRunner().invoke(main, args)


def test_controllers_revoke_on_the_chain_through_any_sender(
    anvil_world: tuple[str, World, Path], tmp_path: Path
) -> None:
    url, world, record = anvil_world
    board = world.enterprises["board"]  # 2 of 3
    consent_id = world.grant(world.terms(board, world.banks[0]))
    keys = [_key_file(tmp_path, c) for c in board.controllers]
    sender = _key_file(tmp_path, world.stranger)  # no role on the ledger at all

    alone = _revoke(url, record, consent_id, keys[:1], sender)
    assert alone.exit_code == 2
    assert "MembershipThresholdNotMet(1, 2)" in alone.output
    assert world.bureau.consent(consent_id).status is ConsentStatus.ACTIVE

    revoked = _revoke(url, record, consent_id, keys[:2], sender)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked in tx" in revoked.output
    assert world.bureau.consent(consent_id).status is ConsentStatus.REVOKED

    again = _revoke(url, record, consent_id, keys[:2], sender)
    assert again.exit_code == 2
    assert "revocation_refused" in again.output
