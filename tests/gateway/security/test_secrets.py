"""No secret of the source runs a gateway, what ``serve`` keeps is its user's only, and no planted
symlink redirects a write of ours."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from consentledger.audit.output import write_reports
from consentledger.audit.replay import Replayer
from consentledger.audit.runner import AuditResult
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.store import BureauStore
from consentledger.chain.anvil import free_port
from consentledger.chain.blocklog import LOG_NAME
from consentledger.chain.deploy import Deployment
from consentledger.chain.embedded import EmbeddedChain
from consentledger.gateway.settings import (
    DEVELOPMENT_ADMIN_TOKEN,
    DEVELOPMENT_SUBJECT_KEY,
    Settings,
)
from consentledger.serve import serve_settings
from consentledger.testing.process import GatewayProcess

OWN_SECRET = "0x" + "ab" * 32


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    """No development mode, no secrets in the environment."""
    for name in ("ENVIRONMENT", "ADMIN_TOKEN", "SUBJECT_KEY"):
        monkeypatch.delenv(f"CONSENTLEDGER_{name}", raising=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({"subject_key": SecretStr(OWN_SECRET)}, "ADMIN_TOKEN of your own: it is not set"),
        ({"admin_token": SecretStr("x" * 32)}, "SUBJECT_KEY of your own: it is not set"),
        (
            {
                "admin_token": SecretStr(DEVELOPMENT_ADMIN_TOKEN),
                "subject_key": SecretStr(OWN_SECRET),
            },
            "ADMIN_TOKEN of your own: it is the development value",
        ),
        (
            {"admin_token": SecretStr("x" * 32), "subject_key": SecretStr(DEVELOPMENT_SUBJECT_KEY)},
            "SUBJECT_KEY of your own: it is the development value",
        ),
        (
            {
                "admin_token": SecretStr("x" * 32),
                "subject_key": SecretStr(DEVELOPMENT_SUBJECT_KEY.upper().removeprefix("0X")),
            },
            "SUBJECT_KEY of your own: it is the development value",
        ),
    ],
    ids=["no-token", "no-subject-key", "source-token", "source-subject-key", "source-key-spelt"],
)
def test_a_gateway_refuses_the_secrets_of_the_source(given: dict[str, Any], refusal: str) -> None:
    with pytest.raises(ValidationError, match=refusal):
        Settings(**given)


@pytest.mark.usefixtures("production")
def test_development_mode_asked_for_explicitly_accepts_them() -> None:
    settings = Settings(environment="development")
    assert settings.admin_token.get_secret_value() == DEVELOPMENT_ADMIN_TOKEN
    assert settings.subject_key.get_secret_value() == DEVELOPMENT_SUBJECT_KEY


@pytest.mark.usefixtures("production")
def test_serve_generates_and_keeps_the_token_and_the_subject_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    settings, notes = serve_settings("embedded", data_dir)
    token_file, key_file = data_dir / "keys" / "admin.token", data_dir / "keys" / "subject.key"
    assert settings.admin_token.get_secret_value() == token_file.read_text().strip()
    assert settings.subject_key.get_secret_value() == key_file.read_text().strip()
    assert settings.admin_token.get_secret_value() != DEVELOPMENT_ADMIN_TOKEN
    assert settings.subject_key.get_secret_value() != DEVELOPMENT_SUBJECT_KEY
    assert (_mode(data_dir), _mode(data_dir / "keys")) == (0o700, 0o700)
    assert (_mode(token_file), _mode(key_file)) == (0o600, 0o600)
    assert any(str(token_file) in note for note in notes)
    assert any(str(key_file) in note for note in notes)
    again, _notes = serve_settings("embedded", data_dir)  # kept: the next start uses the same
    assert again.admin_token == settings.admin_token
    assert again.subject_key == settings.subject_key


@pytest.mark.slow
@pytest.mark.usefixtures("production")
def test_what_serve_writes_is_its_users_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    bureau = data_dir / "bureau.db"  # seeded by the operator, before serve
    with BureauStore.open(f"sqlite:///{bureau}") as store:
        seed_store(store, enterprises=2, progress=False)
    port = free_port()
    command = [
        *(sys.executable, "-m", "consentledger.cli", "serve"),
        *("--data-dir", str(data_dir), "--port", str(port)),
    ]
    service = GatewayProcess(dict(os.environ), port, command)
    try:
        service.start()
    finally:
        service.stop()
    written = [p for p in data_dir.rglob("*") if p.is_file() and p != bureau]
    assert {p.name for p in written} >= {"gateway.db", LOG_NAME, "deployment.json", "admin.token"}
    assert {str(p.relative_to(data_dir)): _mode(p) & 0o077 for p in written} == {
        str(p.relative_to(data_dir)): 0 for p in written
    }
    assert _mode(data_dir) == 0o700  # the seeded bureau too is its user's only now


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    return victim


def _deployment() -> Deployment:
    return Deployment(
        chain_id=1,
        address="0x" + "11" * 20,
        deploy_block=1,
        deploy_tx="0x" + "22" * 32,
        artifact_hash="0x" + "33" * 32,
        compiler="0.8.28",
        regulator="0x" + "44" * 20,
        relayers=(),
    )


def test_a_planted_symlink_does_not_redirect_the_reports(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("report.json.tmp", "report.html.tmp"):
        (out / name).symlink_to(victim)
    (out / "report.json").symlink_to(victim)
    nothing = AuditResult(
        deployment=_deployment(),
        window_first=1,
        window_last=1,
        window_last_timestamp=0,
        replay=Replayer(_deployment()),
        storage_findings=(),
        ignored_logs=0,
        events_replayed=0,
        replay_seconds=0.0,
        requests={},
    )
    written = write_reports(nothing, out)
    assert victim.read_text() == "precious\n"
    assert not written.report_json.is_symlink()
    assert written.report_json.read_text().startswith("{")


def test_a_planted_symlink_does_not_redirect_the_deployment_record(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    record = tmp_path / "deployment.json"
    record.with_suffix(".json.tmp").symlink_to(victim)
    record.symlink_to(victim)
    deployment = _deployment()
    deployment.save(record)
    assert victim.read_text() == "precious\n"
    assert Deployment.load(record) == deployment


def test_a_planted_symlink_does_not_redirect_the_block_log(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    chain_dir = tmp_path / "chain"
    chain_dir.mkdir()
    (chain_dir / f"{LOG_NAME}.tmp").symlink_to(victim)
    with EmbeddedChain.open(chain_dir) as chain:
        chain.new_account()
    assert victim.read_text() == "precious\n"
    assert not (chain_dir / LOG_NAME).is_symlink()
