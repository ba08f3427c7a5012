"""The auditor reports the disputes the bureau answered after their 20 days, and those it has
not answered within them as of the audit's last block; a timely answer is clean."""

from __future__ import annotations

import secrets

from consentledger.audit.findings import FindingCode
from consentledger.audit.runner import Audit
from consentledger.categories import Category
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc
from consentledger.ledger.types import DisputeKind, DisputeOutcome, DisputeState
from consentledger.testing.world import DAY, World


def _filed(world: World) -> bytes:
    dispute = DisputeState(
        dispute_id=secrets.token_bytes(32),
        subject=world.enterprises["solo"].subject,
        kind=DisputeKind.READ,
        target=secrets.token_bytes(32),
        categories=Category.BUSINESS_REGISTRATION.bit,
        reason_hash=secrets.token_bytes(32),
        filed_at=0,
    )
    world.bureau.file_dispute(dispute)
    return dispute.dispute_id


def test_late_and_missing_answers_are_findings(embedded_world: World) -> None:
    world = embedded_world
    assert isinstance(world.chain, EmbeddedChain)
    in_time, late, never = _filed(world), _filed(world), _filed(world)
    world.travel(19 * DAY)
    world.bureau.answer_dispute(in_time, DisputeOutcome.UPHELD, secrets.token_bytes(32))
    world.travel(2 * DAY)
    world.bureau.answer_dispute(late, DisputeOutcome.CORRECTED, secrets.token_bytes(32))
    result = Audit(EmbeddedJsonRpc(world.chain), world.deployment).run()
    found = {(f.code, f.event) for f in result.findings}
    assert found == {
        (FindingCode.DISPUTE_ANSWERED_LATE, "DisputeAnswered"),
        (FindingCode.DISPUTE_NOT_ANSWERED, "DisputeFiled"),
    }
    by_code = {f.code: f for f in result.findings}
    assert by_code[FindingCode.DISPUTE_ANSWERED_LATE].message.startswith(
        f"dispute 0x{late.hex()} was answered 1 d"
    )
    assert f"0x{never.hex()}" in by_code[FindingCode.DISPUTE_NOT_ANSWERED].message


def test_an_open_dispute_within_its_days_is_clean(embedded_world: World) -> None:
    world = embedded_world
    assert isinstance(world.chain, EmbeddedChain)
    _filed(world)
    world.travel(10 * DAY)
    result = Audit(EmbeddedJsonRpc(world.chain), world.deployment).run()
    assert result.clean, [f.to_json() for f in result.findings]
