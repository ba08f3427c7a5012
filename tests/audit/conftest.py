"""Fixtures of the auditor's tests: the scripted ledger on the embedded chain (built once), the
golden vector, and helpers to compare reports."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consentledger.audit.recorded import RecordedJsonRpc
from consentledger.audit.report import audit_report, portability_report
from consentledger.audit.runner import Audit, AuditResult
from consentledger.chain.anvil import AnvilChain, AnvilProcess
from consentledger.chain.clock import BlockClock
from consentledger.chain.deploy import Deployment
from consentledger.chain.embedded import EMBEDDED_CHAIN_ID, EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc, JsonRpc
from consentledger.testing.scenario import Scenario, build_ledger

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="session")
def scripted() -> tuple[EmbeddedChain, Scenario]:
    """The scripted ledger on a fresh embedded chain. Tests must not add to this chain."""
    chain = EmbeddedChain(clock=BlockClock.STEADY)
    return chain, build_ledger(chain)


@pytest.fixture(scope="session")
def anvil_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Scenario, Path]]:
    """The scripted ledger on a real anvil with the embedded chain's id, and its record file."""
    with AnvilProcess(extra_args=("--chain-id", str(EMBEDDED_CHAIN_ID))) as node:
        scenario = build_ledger(AnvilChain(node.url))
        record = tmp_path_factory.mktemp("anvil") / "deployment.json"
        scenario.world.deployment.save(record)
        yield node.url, scenario, record


@pytest.fixture(scope="session")
def golden_recording() -> dict[str, Any]:
    recording: dict[str, Any] = json.loads((GOLDEN / "ledger.json").read_text())
    return recording


@pytest.fixture
def recording(golden_recording: dict[str, Any]) -> dict[str, Any]:
    """A copy of the golden recording a test may tamper with."""
    return copy.deepcopy(golden_recording)


@pytest.fixture(scope="session")
def golden_deployment() -> Deployment:
    return Deployment.load(GOLDEN / "deployment.json")


def solo_subject(scenario: Scenario) -> bytes:
    return scenario.world.enterprises["solo"].subject


def audit(rpc: JsonRpc, deployment: Deployment, **options: Any) -> AuditResult:
    return Audit(rpc, deployment, **options).run()


def audit_embedded(chain: EmbeddedChain, scenario: Scenario, **options: Any) -> AuditResult:
    options.setdefault("subject", solo_subject(scenario))
    return audit(EmbeddedJsonRpc(chain), scenario.world.deployment, **options)


def audit_recording(
    recording: dict[str, Any], deployment: Deployment, **options: Any
) -> AuditResult:
    return audit(RecordedJsonRpc(recording), deployment, **options)


def reports(result: AuditResult, subject: bytes | None) -> dict[str, Any]:
    """Both reports as JSON data, ``generated_at`` left out."""
    out = {"report": audit_report(result, "-")}
    if subject is not None:
        out["portability"] = portability_report(result, subject, "-")
    normalised: dict[str, Any] = json.loads(json.dumps(out))
    return normalised


def without(document: Any, keys: frozenset[str]) -> Any:
    """``document`` with every dict entry named in ``keys`` removed, at any depth."""
    if isinstance(document, dict):
        return {k: without(v, keys) for k, v in document.items() if k not in keys}
    if isinstance(document, list):
        return [without(v, keys) for v in document]
    return document
