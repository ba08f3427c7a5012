"""A clean ledger audits clean, and the report counts exactly what the chain recorded."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from consentledger.audit.output import write_reports
from consentledger.audit.report import ReportNames, portability_report
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc
from consentledger.ledger.types import DenialReason
from consentledger.testing.scenario import SOLO_USCC, START, Scenario
from tests.audit.conftest import audit, audit_embedded, reports, solo_subject


def test_clean_ledger_has_no_findings_and_counts_what_was_recorded(
    scripted: tuple[EmbeddedChain, Scenario],
) -> None:
    chain, scenario = scripted
    tally = scenario.tally
    result = audit_embedded(chain, scenario)
    assert result.clean, [f.to_json() for f in result.findings]
    report = reports(result, None)["report"]
    summary = report["summary"]
    assert (summary["reads"], summary["reads_granted"], summary["reads_denied"]) == (
        tally.granted + tally.denied,
        tally.granted,
        tally.denied,
    )
    assert summary["consents_granted"] == tally.consents == len(scenario.consents)
    assert summary["exports"] == tally.exports
    denials = {d["reason"]: d["count"] for d in report["denials_by_reason"]}
    assert denials == {r.name: tally.reads_by_reason[r] for r in DenialReason if r.value}
    assert all(denials.values()), "the story records every denial reason"
    by_bank = Counter(
        {(b["bank"], True): b["granted"] for b in report["reads_by_bank"]}
        | {(b["bank"], False): b["denied"] for b in report["reads_by_bank"]}
    )
    assert +by_bank == +tally.reads_by_bank
    # The storage check ran: one consent view per consent.
    assert result.requests["eth_call"] == len(scenario.consents)
    days = [d["day"] for d in report["reads_by_day"]]
    assert days == ["2030-01-01", "2030-01-02", "2030-01-03"]
    assert report["window"]["replayed_from_block"] == scenario.world.deployment.deploy_block


def test_a_node_that_caps_log_ranges_gives_the_same_report(
    scripted: tuple[EmbeddedChain, Scenario],
) -> None:
    chain, scenario = scripted
    plain = audit_embedded(chain, scenario)
    capped_rpc = EmbeddedJsonRpc(chain, max_block_range=7)
    capped = audit(capped_rpc, scenario.world.deployment, subject=solo_subject(scenario))
    assert reports(capped, solo_subject(scenario)) == reports(plain, solo_subject(scenario))
    assert capped.requests["eth_getLogs"] > plain.requests["eth_getLogs"]
    one_block = audit_embedded(chain, scenario, block_range=1)
    assert reports(one_block, None)["report"] == reports(plain, None)["report"]


def test_window_reports_only_its_blocks_but_replays_from_deployment(
    scripted: tuple[EmbeddedChain, Scenario],
) -> None:
    chain, scenario = scripted
    whole = reports(audit_embedded(chain, scenario), None)["report"]
    day_two = next(
        number
        for number in range(scenario.world.deployment.deploy_block, 10_000)
        if int(chain.w3.eth.get_block(number)["timestamp"]) >= START + 24 * 3600
    )
    later = audit_embedded(chain, scenario, from_block=day_two)
    assert later.clean  # the state before the window was replayed, so nothing is misjudged
    report = reports(later, None)["report"]
    assert report["window"]["first_block"] == day_two
    assert 0 < report["summary"]["reads"] < whole["summary"]["reads"]
    assert [d["day"] for d in report["reads_by_day"]] == ["2030-01-02", "2030-01-03"]
    early = audit_embedded(chain, scenario, to_block=day_two - 1)
    assert early.clean
    assert (
        reports(early, None)["report"]["summary"]["reads"] + report["summary"]["reads"]
        == whole["summary"]["reads"]
    )


def test_portability_report_shows_the_enterprise_everything(
    scripted: tuple[EmbeddedChain, Scenario],
) -> None:
    chain, scenario = scripted
    subject = solo_subject(scenario)
    portability = reports(audit_embedded(chain, scenario), subject)["portability"]
    assert (
        portability["summary"]["reads_granted"] + portability["summary"]["reads_denied"]
        == (scenario.tally.subject_reads[subject])
    )
    assert len(portability["reads"]) == scenario.tally.subject_reads[subject]
    records = {r["record_id"]: r for r in portability["consent_records"]}
    ids = {name: "0x" + cid.hex() for name, cid in scenario.consents.items()}
    assert set(records) == {ids[n] for n in ("underwriting", "kyc", "second-look", "procurement")}
    kyc, second = records[ids["kyc"]], records[ids["second-look"]]
    assert [s["status"] for s in kyc["status_history"]] == ["ACTIVE", "EXPIRED"]
    assert kyc["status"] == "EXPIRED"
    assert [s["status"] for s in second["status_history"]] == ["ACTIVE", "REVOKED"]
    assert second["status_history"][1]["block"] is not None
    assert records[ids["underwriting"]]["reads_used"] == 3
    assert "Revoke" in second["withdrawal"]["how"]
    assert second["withdrawal"]["dashboard"] == "/dashboard"
    assert records[ids["procurement"]]["purpose"]["name"] == "supply_chain_finance"
    assert {r["reason"] for r in portability["reads"] if r["outcome"] == "denied"} >= {
        "REVOKED",
        "EXPIRED",
        "READS_EXHAUSTED",
        "BANK_MISMATCH",
    }
    assert len(portability["exports"]) == 1
    assert portability["data_subject"]["registered"] is True


def test_reports_are_deterministic_and_self_contained(
    scripted: tuple[EmbeddedChain, Scenario], tmp_path: Path
) -> None:
    chain, scenario = scripted
    subject = solo_subject(scenario)
    result = audit_embedded(chain, scenario)
    first = write_reports(result, tmp_path / "a", subject=subject, generated_at="one")
    second = write_reports(audit_embedded(chain, scenario), tmp_path / "b", subject=subject,
                           generated_at="one")  # fmt: skip
    for a, b in [
        (first.report_json, second.report_json),
        (first.report_html, second.report_html),
        (first.portability_json, second.portability_json),
        (first.portability_html, second.portability_html),
    ]:
        assert a is not None
        assert b is not None
        assert a.read_bytes() == b.read_bytes(), a.name
    html = first.report_html.read_text()
    assert "<svg" in html
    assert "<script" not in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "Clean" in html
    assert first.portability_html is not None
    assert "Every read of your data" in first.portability_html.read_text()


def test_the_portability_report_names_the_enterprise_and_its_banks(
    scripted: tuple[EmbeddedChain, Scenario],
) -> None:
    chain, scenario = scripted
    subject = solo_subject(scenario)
    result = audit_embedded(chain, scenario)
    bank = portability_report(result, subject, "-")["consent_records"][0]["recipient"]["address"]
    names = ReportNames(
        uscc=SOLO_USCC,
        enterprise_name="深圳示例科技有限公司",
        banks={
            bank: {
                "name_zh": "深圳小微银行",
                "name_en": "Shenzhen SME Bank",
                "licence_number": "B1234H144030001",
            }
        },
    )
    report = portability_report(result, subject, "-", names)
    assert report["data_subject"]["name"] == "深圳示例科技有限公司"
    assert report["data_subject"]["uscc"] == SOLO_USCC
    first = report["consent_records"][0]
    assert first["recipient"]["name_en"] == "Shenzhen SME Bank"
    assert first["recipient"]["licence_number"] == "B1234H144030001"
    assert "Revoke" in first["withdrawal"]["how"]
    assert "/dashboard" in first["withdrawal"]["how"]
    assert "revokeConsent(" not in json.dumps(report)  # words, not a Solidity signature
    named_reads = [r for r in report["reads"] if r["bank"] == bank]
    assert named_reads
    assert all(r["bank_name_zh"] == "深圳小微银行" for r in named_reads)
    assert bank in {b["address"] for b in report["summary"]["banks"]}
