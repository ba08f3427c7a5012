"""Relayer keys for several workers: each claims one exclusively (flock), a key is free again when
its holder lets go or dies, and settings that cannot give every worker a key are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from consentledger.cli import main
from consentledger.gateway.relayer_keys import (
    NoFreeRelayerKeyError,
    claim_relayer_key,
    new_relayer_key_file,
)
from consentledger.gateway.settings import Settings, SettingsError
from consentledger.serve import serve_settings, worker_environment


def test_each_claim_gets_its_own_key_until_it_is_released(tmp_path: Path) -> None:
    made = {new_relayer_key_file(tmp_path).address for _ in range(2)}
    first, second = claim_relayer_key(tmp_path), claim_relayer_key(tmp_path)
    assert {first.account.address, second.account.address} == made
    with pytest.raises(NoFreeRelayerKeyError, match=r"all 2 relayer keys .* are claimed"):
        claim_relayer_key(tmp_path)
    first.release()
    again = claim_relayer_key(tmp_path)
    assert again.account.address == first.account.address
    again.release()
    second.release()


def test_a_claim_dropped_without_release_frees_its_key(tmp_path: Path) -> None:
    key = new_relayer_key_file(tmp_path)
    claim = claim_relayer_key(tmp_path)
    del claim  # as when a worker's start fails after it claimed its key
    again = claim_relayer_key(tmp_path)
    assert again.account.address == key.address
    again.release()


def test_a_dead_holders_key_is_free_again(tmp_path: Path) -> None:
    key = new_relayer_key_file(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from consentledger.gateway.relayer_keys import claim_relayer_key\n"
            "claim = claim_relayer_key(pathlib.Path(sys.argv[1]))\n"
            "print(claim.account.address, flush=True)\n"
            "sys.stdin.read()\n",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == key.address
        with pytest.raises(NoFreeRelayerKeyError):
            claim_relayer_key(tmp_path)
    finally:
        holder.kill()  # SIGKILL: no code of its own runs, the kernel drops the lock
        holder.wait()
    claim = claim_relayer_key(tmp_path)
    assert claim.account.address == key.address
    claim.release()


def test_an_empty_key_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NoFreeRelayerKeyError, match=r"holds no \*\.key file"):
        claim_relayer_key(tmp_path)


def test_several_workers_need_a_node_and_a_key_each(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="need a JSON-RPC chain"):
        Settings(chain="embedded", workers=2).check_workers()
    node = "http://127.0.0.1:8545"
    with pytest.raises(SettingsError, match="CONSENTLEDGER_RELAYER_KEY_DIR"):
        Settings(chain=node, workers=2).check_workers()
    new_relayer_key_file(tmp_path)
    with pytest.raises(SettingsError, match=r"holds 1 \*\.key files"):
        Settings(chain=node, workers=2, relayer_key_dir=tmp_path).check_workers()
    new_relayer_key_file(tmp_path)
    Settings(chain=node, workers=2, relayer_key_dir=tmp_path).check_workers()


def test_serve_refuses_workers_on_the_embedded_chain(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 3  # bad_settings' own status
    assert "bad_settings" in result.output
    assert "need a JSON-RPC chain" in result.output


def test_serve_hands_its_settings_to_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys" / "relayers"
    for _ in range(2):
        new_relayer_key_file(keys)
    for name in ("RELAYER_KEY", "RELAYER_KEY_FILE", "RELAYER_KEY_DIR", "WORKERS"):
        monkeypatch.delenv(f"CONSENTLEDGER_{name}", raising=False)
    settings, _notes = serve_settings("http://127.0.0.1:8545", tmp_path, workers=2)
    assert settings.relayer_key_dir == keys  # found in the data directory
    exported = worker_environment(settings)
    assert exported["CONSENTLEDGER_WORKERS"] == "2"
    assert exported["CONSENTLEDGER_RELAYER_KEY_DIR"] == str(keys)
    for name, value in exported.items():
        monkeypatch.setenv(name, value)
    rebuilt = Settings()
    assert rebuilt.model_dump() == settings.model_dump()
