"""Golden vectors: the recorded ledger must give the committed reports, and each tampered copy of
it the finding that names the tampering.

The tampered copies are made here, each by one small, readable edit of the clean recording (the
transparency-dev/merkle pattern of ``wrong-leaf.json`` and friends): an AccessDenied turned into a
DataAccessed, a reason changed, a bank swapped, a log removed or added. The auditor reads them
through :class:`RecordedJsonRpc`, the same code path as a node.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from eth_utils.crypto import keccak

from consentledger.audit.findings import Finding, FindingCode
from consentledger.chain.abi import FunctionCodec, LogDecoder
from consentledger.chain.artifacts import load_artifact
from consentledger.chain.deploy import Deployment
from consentledger.ledger.types import DenialReason, RecordedAccess
from tests.audit.conftest import GOLDEN, audit_recording, reports, without

DECODER = LogDecoder(load_artifact("ConsentLedger")["abi"])
RECORD_ACCESSES = FunctionCodec(load_artifact("ConsentLedger")["abi"], "recordAccesses")
TOPIC = DECODER.topics
Recording = dict[str, Any]


def _subject() -> bytes:
    name = next(GOLDEN.glob("portability-0x*.json")).stem
    return bytes.fromhex(name.removeprefix("portability-0x"))


def _expected(name: str) -> Any:
    return without(json.loads((GOLDEN / name).read_text()), frozenset({"generated_at"}))


def test_golden_vector_gives_the_committed_reports(
    recording: Recording, golden_deployment: Deployment
) -> None:
    subject = _subject()
    result = audit_recording(recording, golden_deployment, subject=subject)
    assert result.clean
    got = without(reports(result, subject), frozenset({"generated_at"}))
    assert got["report"] == _expected("report.json")
    assert got["portability"] == _expected(f"portability-0x{subject.hex()}.json")


# ------------------------------------------------------------------------------ tampering


def _find(recording: Recording, event: str, **args: Any) -> dict[str, Any]:
    """The first log of ``event`` whose decoded arguments include ``args``."""
    for log in _all(recording, event):
        fields = _args(log)
        if all(fields.get(k) == v for k, v in args.items()):
            return log
    raise LookupError(f"no {event} with {args} in the recording")


def _words(log: dict[str, Any]) -> list[str]:
    data = log["data"].removeprefix("0x")
    return [data[i : i + 64] for i in range(0, len(data), 64)]


def _set_words(log: dict[str, Any], words: list[str]) -> None:
    log["data"] = "0x" + "".join(words)


def _word(value: int) -> str:
    return f"{value:064x}"


def _release_instead_of(reason: DenialReason) -> Callable[[Recording], dict[str, Any]]:
    """Turn the first AccessDenied(reason) into a DataAccessed of the same read."""

    def tamper(recording: Recording) -> dict[str, Any]:
        log = _find(recording, "AccessDenied", reason=int(reason))
        log["topics"][0] = "0x" + TOPIC["DataAccessed"].hex()
        query_id, access = _words(log)
        granted_access = int(access, 16) & ~0xFFFF  # the reason bits of a release are 0
        _set_words(log, [query_id, _word(granted_access), keccak(text="released").hex()])
        return log

    return tamper


def _wrong_reason(recording: Recording) -> dict[str, Any]:
    log = _find(recording, "AccessDenied", reason=int(DenialReason.PAUSED))
    query_id, access = _words(log)
    _set_words(log, [query_id, _word(int(access, 16) & ~0xFFFF | DenialReason.REVOKED)])
    return log


def _wrong_bank(recording: Recording) -> dict[str, Any]:
    banks = sorted({_args(g)["bank"] for g in _all(recording, "ConsentGranted")})
    log = _find(recording, "DataAccessed", bank=banks[0])
    query_id, access, response_hash = _words(log)
    swapped = int(banks[1], 16) << 96 | int(access, 16) & (2**96 - 1)
    _set_words(log, [query_id, _word(swapped), response_hash])
    return log


def _args(log: dict[str, Any]) -> dict[str, Any]:
    """The log's decoded arguments; a read's ``access`` word unpacked into its fields too."""
    decoded = DECODER.decode(log)
    assert decoded is not None
    if decoded.event not in ("DataAccessed", "AccessDenied"):
        return decoded.args
    read = RecordedAccess.of(decoded.event, decoded.args)
    entry = read.entry
    return {
        **decoded.args,
        "bank": entry.bank,
        "categories": entry.categories,
        "purpose": entry.purpose,
        "reason": read.reason_code,
    }


def _all(recording: Recording, event: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for log in recording["logs"]:
        decoded = DECODER.decode(log)
        if decoded is not None and decoded.event == event:
            out.append(log)
    return out


def _removed_revocation(recording: Recording) -> dict[str, Any]:
    revoked = _find(recording, "ConsentRevoked")
    recording["logs"].remove(revoked)
    consent_id = _args(revoked)["consentId"]
    return _find(recording, "AccessDenied", consentId=consent_id, reason=int(DenialReason.REVOKED))


def _grant_over_the_cap(recording: Recording) -> dict[str, Any]:
    log = _find(recording, "ConsentGranted", purpose=1)
    words = _words(log)
    words[4] = _word(51)  # maxReads; the credit underwriting purpose allows 50
    _set_words(log, words)
    return log


def _pause_of_an_unknown_consent(recording: Recording) -> dict[str, Any]:
    log = _find(recording, "ConsentPaused")
    log["topics"][1] = "0x" + keccak(text="no such consent").hex()
    return log


def _repeated_query_id(recording: Recording) -> dict[str, Any]:
    original = _find(recording, "DataAccessed")
    last_index = max(
        int(g["logIndex"], 16)
        for g in recording["logs"]
        if g["blockNumber"] == original["blockNumber"]
    )
    copy = {**original, "topics": list(original["topics"]), "logIndex": hex(last_index + 1)}
    recording["logs"].append(copy)
    return copy


def _unknown_topic(recording: Recording) -> dict[str, Any]:
    log = _find(recording, "PortabilityExported")
    log["topics"][0] = "0x" + keccak(text="SomethingElse(bytes32)").hex()
    return log


def _truncated_data(recording: Recording) -> dict[str, Any]:
    log = _find(recording, "DataAccessed")
    log["data"] = log["data"][:-64]
    return log


def _not_hex(recording: Recording) -> dict[str, Any]:
    log = _find(recording, "DataAccessed")
    log["data"] = "0xnot-hex"
    return log


def _transaction(recording: Recording, log: dict[str, Any]) -> dict[str, Any]:
    """The recorded transaction of ``log`` (its input carries the banks' signed requests)."""
    wanted = log["transactionHash"].lower()
    return next(t for t in recording["transactions"] if t["hash"].lower() == wanted)


def _edit_entries(
    transaction: dict[str, Any], edit: Callable[[int, list[list[Any]]], None]
) -> None:
    """Decode a ``recordAccesses`` input, let ``edit`` change its entries, encode it again."""
    decoded = RECORD_ACCESSES.decode_input(transaction["input"])
    assert decoded is not None
    first, entries = decoded
    rows = [list(entry) for entry in entries]
    edit(first, rows)
    transaction["input"] = "0x" + RECORD_ACCESSES.encode(first, [tuple(r) for r in rows]).hex()


def _forged_signature(recording: Recording) -> dict[str, Any]:
    """A granted read whose signature in the transaction's input is another one of the batch
    (a valid signature, but over another request)."""
    log = _find(recording, "DataAccessed")
    query_id = _args(log)["queryId"]

    def edit(first: int, rows: list[list[Any]]) -> None:
        mine = query_id - first
        other = next(i for i in range(len(rows)) if i != mine)
        rows[mine][4], rows[mine][5] = rows[other][4], rows[other][5]

    _edit_entries(_transaction(recording, log), edit)
    return log


def _replayed_request(recording: Recording) -> dict[str, Any]:
    """A later granted read of a consent carrying an earlier read's signed request (same request
    id, a signature that recovers to the bank): a replay."""
    granted = _all(recording, "DataAccessed")
    for index, log in enumerate(granted):
        args = _args(log)
        for earlier in granted[:index]:
            source = _args(earlier)
            if (source["consentId"], source["access"]) != (args["consentId"], args["access"]):
                continue
            signed = RECORD_ACCESSES.decode_input(_transaction(recording, earlier)["input"])
            assert signed is not None
            request = list(signed[1][source["queryId"] - signed[0]][3:6])
            target = args["queryId"]

            def edit(first: int, rows: list[list[Any]], *, request: list[Any] = request) -> None:
                rows[target - first][3:6] = request  # noqa: B023 (bound by the default)

            _edit_entries(_transaction(recording, log), edit)
            return log
    raise LookupError("no two granted reads of one consent asking the same")


Tamper = Callable[[Recording], dict[str, Any]]
#: (tampering, the finding it must produce, the rule that finding names)
CASES: list[tuple[str, Tamper, FindingCode, str | None]] = [
    ("release_after_revocation", _release_instead_of(DenialReason.REVOKED),
     FindingCode.UNCONSENTED_RELEASE, "REVOKED"),
    ("release_after_expiry", _release_instead_of(DenialReason.EXPIRED),
     FindingCode.UNCONSENTED_RELEASE, "EXPIRED"),
    ("release_beyond_max_reads", _release_instead_of(DenialReason.READS_EXHAUSTED),
     FindingCode.UNCONSENTED_RELEASE, "READS_EXHAUSTED"),
    ("denial_with_wrong_reason", _wrong_reason, FindingCode.WRONG_DENIAL_REASON, "PAUSED"),
    ("release_to_the_wrong_bank", _wrong_bank, FindingCode.READ_REQUEST_FORGED,
     "SIGNATURE_INVALID"),
    ("release_with_another_reads_signature", _forged_signature, FindingCode.READ_REQUEST_FORGED,
     "SIGNATURE_INVALID"),
    ("replayed_signed_request", _replayed_request, FindingCode.READ_REQUEST_REPLAYED,
     "READ_REQUEST_REPLAYED"),
    ("revocation_log_removed", _removed_revocation, FindingCode.UNEXPECTED_DENIAL, "NONE"),
    ("grant_over_the_purpose_cap", _grant_over_the_cap, FindingCode.GRANT_BREAKS_RULES,
     "ConsentsReadsExceedCap"),
    ("pause_of_an_unknown_consent", _pause_of_an_unknown_consent, FindingCode.IMPOSSIBLE_EVENT,
     "ConsentsUnknownConsent"),
    ("repeated_query_id", _repeated_query_id, FindingCode.IMPOSSIBLE_EVENT,
     "AccessLedgerStaleQueryId"),
    ("unknown_event", _unknown_topic, FindingCode.UNKNOWN_EVENT, None),
    ("truncated_log_data", _truncated_data, FindingCode.MALFORMED_LOG, None),
    ("log_data_not_hex", _not_hex, FindingCode.MALFORMED_LOG, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tamper", "code", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_tampered_ledger_gives_the_named_finding(
    recording: Recording,
    golden_deployment: Deployment,
    tamper: Tamper,
    code: FindingCode,
    rule: str | None,
) -> None:
    log = tamper(recording)
    result = audit_recording(recording, golden_deployment)
    assert not result.clean
    where = (int(log["blockNumber"], 16), log["transactionHash"], int(log["logIndex"], 16))

    def at_the_log(f: Finding) -> bool:
        location = f.location
        return (location.block_number, location.transaction_hash, location.log_index) == where

    named = [f for f in result.findings if f.code is code and at_the_log(f)]
    assert named, [f.to_json() for f in result.findings]
    assert named[0].rule == rule
    assert named[0].expected
    assert named[0].observed
    assert named[0].expected != named[0].observed


def test_release_finding_names_expected_and_observed(
    recording: Recording, golden_deployment: Deployment
) -> None:
    log = _release_instead_of(DenialReason.REVOKED)(recording)
    result = audit_recording(recording, golden_deployment)
    finding = next(f for f in result.findings if f.code is FindingCode.UNCONSENTED_RELEASE)
    assert (finding.expected, finding.observed) == ("AccessDenied(REVOKED)", "DataAccessed")
    assert finding.severity.value == "critical"
    assert finding.consent_id == log["topics"][1]
    # The contract never counted that read: its storage disagrees with the forged event too.
    assert any(
        f.code is FindingCode.READ_COUNT_MISMATCH and f.consent_id == log["topics"][1]
        for f in result.findings
    )


def test_removed_revocation_also_shows_in_storage(
    recording: Recording, golden_deployment: Deployment
) -> None:
    _removed_revocation(recording)
    result = audit_recording(recording, golden_deployment)
    mismatch = [f for f in result.findings if f.code is FindingCode.CONSENT_STATE_MISMATCH]
    assert [(f.expected, f.observed) for f in mismatch] == [
        ("status ACTIVE (events replayed)", "status REVOKED (contract storage)")
    ]


def test_log_of_another_contract_is_ignored(
    recording: Recording, golden_deployment: Deployment
) -> None:
    clean = reports(audit_recording(recording, golden_deployment), None)["report"]
    original = _find(recording, "DataAccessed")
    foreign = {**original, "address": "0x" + "ab" * 20, "logIndex": hex(999)}
    recording["logs"].append(foreign)
    result = audit_recording(recording, golden_deployment)
    assert result.clean
    report = reports(result, None)["report"]
    assert report["summary"]["logs_ignored"] == 1
    assert without(report, frozenset({"logs_ignored"})) == without(
        clean, frozenset({"logs_ignored"})
    )
