"""An evidence file for auditors: a live ledger's logs, recorded from any node to one file.

:func:`record_ledger` audits the ledger through a :class:`~consentledger.audit.recorded.
RecordingJsonRpc`, so the file holds exactly what an audit needs (chain id, code, every log of
the ledger from its deployment block, block headers, the consents' storage views, the recorded
reads' transactions), sorted, so the same chain gives the same bytes. ``consentledger audit
--logs FILE`` replays it offline, and the report names the file's SHA-256, so a report can be tied
to the evidence it was made from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from consentledger.audit.recorded import RECORDING_FORMAT, RecordingError, RecordingJsonRpc
from consentledger.audit.runner import Audit, AuditResult
from consentledger.chain.deploy import Deployment
from consentledger.chain.jsonrpc import JsonRpc
from consentledger.chain.log_reader import DEFAULT_BLOCK_RANGE


@dataclass(frozen=True, slots=True)
class Evidence:
    """A recorded ledger on disk, by its content's hash."""

    path: Path
    sha256: str

    def to_json(self) -> dict[str, str]:
        """What a report says of the file it was made from."""
        return {"file": self.path.name, "format": RECORDING_FORMAT, "sha256": self.sha256}


def evidence_of(path: Path) -> Evidence:
    """The SHA-256 of a recorded ledger's bytes."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise RecordingError(f"cannot read the recorded ledger {path}: {exc.strerror}") from exc
    return Evidence(path, digest.hexdigest())


def record_ledger(
    rpc: JsonRpc,
    deployment: Deployment,
    out: Path,
    *,
    to_block: int | None = None,
    block_range: int = DEFAULT_BLOCK_RANGE,
) -> tuple[AuditResult, Evidence]:
    """Audit the ledger through ``rpc`` up to ``to_block`` (default: the head), keeping every
    answer, and write them to ``out``; the audit's result and the file's hash."""
    recorder = RecordingJsonRpc(rpc)
    result = Audit(recorder, deployment, to_block=to_block, block_range=block_range).run()
    recorder.save(out)
    return result, evidence_of(out)
