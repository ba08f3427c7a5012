"""Regenerate the auditor's golden test vector: the scripted ledger, recorded off eth-tester.

Writes, under ``tests/audit/golden/`` (or ``--out``):

- ``ledger.json``: the raw JSON-RPC answers the audit needed (chain id, code, logs, block headers,
  storage views), as :class:`~consentledger.audit.recorded.RecordedJsonRpc` serves them;
- ``deployment.json``: the deployment record;
- ``report.json`` and ``portability-<subject>.json``: the reports the auditor must produce from
  them (``generated_at`` fixed to ``recorded``; tests compare without it).

A rerun writes the same bytes except block hashes (eth-tester draws each block's PREVRANDAO at
random), so the expected reports, which name no block hash, come out identical.

    python scripts/record_golden.py [--out tests/audit/golden]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from consentledger.audit.output import to_json_text
from consentledger.audit.recorded import RecordingJsonRpc
from consentledger.audit.report import audit_report, portability_report
from consentledger.audit.runner import Audit
from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc
from consentledger.testing.scenario import build_ledger

ROOT = Path(__file__).resolve().parent.parent

GOLDEN = ROOT / "tests" / "audit" / "golden"
#: ``generated_at`` of the expected reports (the one field comparisons leave out).
STAMP = "recorded"


def record(out: Path) -> list[Path]:
    """Build the scripted ledger, audit it through a recorder, write the vector; returns the
    files written."""
    chain = EmbeddedChain(clock=BlockClock.STEADY)
    scenario = build_ledger(chain)
    subject = scenario.world.enterprises["solo"].subject
    recorder = RecordingJsonRpc(EmbeddedJsonRpc(chain))
    result = Audit(recorder, scenario.world.deployment, subject=subject).run()
    if not result.clean:
        raise SystemExit(f"the scripted ledger is not clean: {result.findings}")
    out.mkdir(parents=True, exist_ok=True)
    written = [
        out / "ledger.json",
        out / "deployment.json",
        out / "report.json",
        out / f"portability-0x{subject.hex()}.json",
    ]
    recorder.save(written[0])
    scenario.world.deployment.save(written[1])
    written[2].write_text(to_json_text(audit_report(result, STAMP)))
    written[3].write_text(to_json_text(portability_report(result, subject, STAMP)))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GOLDEN, help="directory to write into")
    args = parser.parse_args()
    for path in record(args.out):
        print(path)


if __name__ == "__main__":
    main()
