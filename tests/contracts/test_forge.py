"""Forge fuzz and invariant tests of contracts/ (tests/foundry), run by ``make test``.

forge comes from npm (@foundry-rs/forge and its platform's package, in node_modules) and compiles
through ``scripts/solc``, the solcjs wrapper, offline; its configuration is
tests/foundry/foundry.toml (a modest campaign for CI). Longer campaigns:
``FOUNDRY_PROFILE=deep``, or
``FOUNDRY_INVARIANT_RUNS`` / ``FOUNDRY_FUZZ_RUNS`` in the environment of this test or of
``forge test`` run in tests/foundry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from consentledger.chain.anvil import foundry_binary

ROOT = Path(__file__).resolve().parents[2]
FORGE = ROOT / foundry_binary("forge")
FOUNDRY = ROOT / "tests" / "foundry"


def test_forge_fuzz_and_invariants_pass() -> None:
    if not FORGE.exists() or shutil.which("node") is None:
        pytest.fail(f"forge not installed at {FORGE}: run `make node_modules/.installed`")
    started = time.monotonic()
    proc = subprocess.run(
        [str(FORGE), "test", "--color", "never"],
        cwd=FOUNDRY,
        env=dict(os.environ, NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    elapsed = time.monotonic() - started
    first = (proc.stdout.strip().splitlines() or ["no output"])[0]
    print(f"forge test: {elapsed:.1f} s ({first})")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"forge test failed (exit {proc.returncode}):\n{output[-8000:]}"
    assert "0 failed" in output
    assert "invariant_noAccessUnlessActive" in output, "the invariant suite did not run"
