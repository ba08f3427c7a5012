"""Static analysis of contracts/ with Slither: no finding that is not triaged.

Slither cannot share the project's virtualenv (slither-analyzer requires web3<8, the
project web3 8), so it lives in its own: ``make .venv/slither/bin/.installed`` (``make
test`` builds it). It compiles through ``scripts/solc``, the solcjs wrapper, put first
on PATH as ``solc``. Kept findings are listed with their reasons in
tests/static/slither-triage.json; a new finding, or a listed one that is gone, fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "tests" / "static"
SLITHER = Path(os.environ.get("SLITHER", ROOT / ".venv" / "slither" / "bin" / "slither"))


def _key(finding: dict[str, Any]) -> tuple[str, str]:
    elements = finding.get("elements") or [{}]
    first = elements[0]
    name = first.get("type_specific_fields", {}).get("signature") or first.get("name", "")
    if first.get("type") == "function":
        parent = first.get("type_specific_fields", {}).get("parent", {}).get("name", "")
        name = f"{parent}.{name}" if parent else name
    return str(finding["check"]), str(name)


def _run_slither(out: Path) -> dict[str, Any]:
    if not SLITHER.exists():
        pytest.fail(f"Slither not installed at {SLITHER}: run `make .venv/slither/bin/.installed`")
    if shutil.which("node") is None or not (ROOT / "node_modules" / "solc").exists():
        pytest.fail("node and node_modules are needed: run `make node_modules/.installed`")
    env = dict(os.environ, PATH=f"{ROOT / 'scripts'}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [
            str(SLITHER),
            "contracts/",
            "--solc-standard-json",
            "--config-file",
            str(STATIC / "slither.config.json"),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if not out.exists():
        pytest.fail(f"Slither produced no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(out.read_text())
    if not report.get("success"):
        pytest.fail(f"Slither failed: {report.get('error')}\n{proc.stderr[-4000:]}")
    return report


def test_slither_has_no_untriaged_findings(tmp_path: Path) -> None:
    started = time.monotonic()
    report = _run_slither(tmp_path / "slither.json")
    elapsed = time.monotonic() - started
    print(f"slither: {elapsed:.1f} s")

    findings = report.get("results", {}).get("detectors", [])
    triage = json.loads((STATIC / "slither-triage.json").read_text())["findings"]
    triaged = {(t["check"], t["function"]) for t in triage}
    assert all(t.get("reason", "").strip() for t in triage), "every triaged finding needs a reason"

    found = {_key(f) for f in findings}
    untriaged = [f for f in findings if _key(f) not in triaged]
    stale = sorted(triaged - found)
    message = [
        f"[{f['check']} / {f['impact']} / {f['confidence']}] {_key(f)[1]}\n{f['description']}"
        for f in untriaged
    ]
    hint = "fix them, or list them in tests/static/slither-triage.json with a reason"
    assert not untriaged, f"untriaged Slither findings ({hint}):\n\n" + "\n".join(message)
    assert not stale, f"triaged findings Slither no longer reports (remove them): {stale}"
