"""The committed artifacts are what the sources compile to, and say how they were made."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from consentledger.chain.artifacts import load_artifact
from consentledger.chain.compiler import (
    ARTIFACTS_DIR,
    CONTRACTS,
    SETTINGS,
    Checkout,
    compile_checkout,
    render,
    stale_artifacts,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fresh() -> dict[str, dict[str, object]]:
    return compile_checkout(Checkout(ROOT))


@pytest.mark.parametrize("name", CONTRACTS)
def test_committed_artifact_equals_a_fresh_compile(
    fresh: dict[str, dict[str, object]], name: str
) -> None:
    committed = (ARTIFACTS_DIR / f"{name}.json").read_text()
    assert committed == render(fresh[name]), "stale artifact: run `make compile` and commit"


def test_fingerprint_matches_sources() -> None:
    assert stale_artifacts(Checkout(ROOT)) == []


def test_artifact_records_compiler_and_settings() -> None:
    artifact = load_artifact("ConsentLedger")
    assert artifact["compiler"]["version"].startswith("0.8.30+commit")
    assert artifact["compiler"]["settings"] == SETTINGS
    assert artifact["toolchain"] == {"solc": "0.8.30", "@openzeppelin/contracts": "5.4.0"}


def test_fingerprint_changes_when_a_source_changes(tmp_path: Path) -> None:
    copy = tmp_path / "checkout"
    (copy / "contracts").mkdir(parents=True)
    (copy / "package.json").write_text((ROOT / "package.json").read_text())
    for source in Checkout(ROOT).sources():
        target = copy / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text())
    before = Checkout(copy).fingerprint()
    assert before == Checkout(ROOT).fingerprint()
    ledger = copy / "contracts" / "ConsentLedger.sol"
    ledger.write_text(ledger.read_text() + "\n// changed\n")
    assert Checkout(copy).fingerprint() != before
    assert stale_artifacts(Checkout(copy)) == list(CONTRACTS)


def test_solc_wrapper_answers_like_native_solc() -> None:
    out = subprocess.run(
        [str(ROOT / "scripts" / "solc"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1].startswith("Version: 0.8.30+commit")
    bad = subprocess.run(
        [str(ROOT / "scripts" / "solc"), "--bin"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "only --version and --standard-json" in bad.stderr


#: EIP-170: the largest runtime code a chain accepts (anvil, Besu and the mainnet rules alike).
EIP170_CODE_SIZE_LIMIT = 24_576


@pytest.mark.parametrize("name", CONTRACTS)
def test_runtime_code_fits_under_the_eip170_limit(name: str) -> None:
    runtime = bytes.fromhex(str(load_artifact(name)["deployedBytecode"]).removeprefix("0x"))
    assert 0 < len(runtime) <= EIP170_CODE_SIZE_LIMIT, f"{name} runtime is {len(runtime)} bytes"
