"""``/metrics`` in Prometheus's text format and the health answer's relayer balance and chain head
age, read after real reads on a real gateway (embedded chain)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC
from consentledger.categories import Category
from tests.harness.gateway import Gateway, running_gateway

REGISTRATION = Category.BUSINESS_REGISTRATION.bit


def _samples(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = gateway.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _reads(gateway: Gateway) -> tuple[Gateway, int]:
    """A granted read and one denied (a category outside the consent); the relayer's balance."""
    chip = gateway.register(CHIP_DISTRIBUTOR_USCC)
    bank = gateway.add_bank()
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION)
    assert gateway.read(bank, chip, consent, [1]).status == "granted"
    denied = gateway.refused(bank, chip, consent, ["tax"])
    assert denied.status == 403, denied
    return gateway, int(gateway.http.get("/v1/health").json()["relayer_balance_wei"])


def test_metrics_count_reads_batches_and_requests(tmp_path: Path, bureau_url: str) -> None:
    with running_gateway(tmp_path, bureau_url) as gateway:
        _, balance = _reads(gateway)
        samples = _samples(gateway)
    granted = (("outcome", "granted"), ("reason", ""))
    denied = (("outcome", "denied"), ("reason", "CATEGORY_NOT_CONSENTED"))
    assert samples[("consentledger_reads_total", granted)] == 1
    assert samples[("consentledger_reads_total", denied)] == 1
    route = (("method", "POST"), ("route", "/v1/queries"))
    assert samples[("consentledger_request_duration_seconds_count", route)] == 2
    assert samples[("consentledger_batch_size_count", ())] >= 1
    assert samples[("consentledger_batch_size_sum", ())] == 2  # both reads, one batch or two
    assert samples[("consentledger_journal_entries", (("status", "granted"),))] == 1
    assert samples[("consentledger_journal_entries", (("status", "denied"),))] == 1
    assert samples[("consentledger_relayer_batches_in_flight", ())] == 0
    # A scrape later; Prometheus's samples are floats (rounding is monotonic, so compare floats).
    assert samples[("consentledger_relayer_balance_wei", ())] <= float(balance)
    assert samples[("consentledger_relayer_balance_wei", ())] > 0
    assert samples[("consentledger_live_ledger_lag_blocks", ())] >= 0
    assert abs(samples[("consentledger_chain_head_age_seconds", ())]) < 600


def test_unmatched_paths_share_one_label(tmp_path: Path, bureau_url: str) -> None:
    with running_gateway(tmp_path, bureau_url) as gateway:
        for n in range(3):
            assert gateway.http.get(f"/no/such/path/{n}").status_code == 404
        samples = _samples(gateway)
    unmatched = (("method", "GET"), ("route", "unmatched"))
    assert samples[("consentledger_request_duration_seconds_count", unmatched)] == 3


def test_health_shows_the_balance_and_is_degraded_below_the_minimum(
    tmp_path: Path, bureau_url: str
) -> None:
    with running_gateway(tmp_path, bureau_url, min_relayer_balance_wei=10**30) as gateway:
        health = gateway.http.get("/v1/health")
    assert health.status_code == 200  # still serving: degraded is a warning, not an outage
    body = health.json()
    assert body["status"] == "degraded"
    assert 0 < body["relayer_balance_wei"] < 10**30
    assert abs(body["chain_head_age_s"]) < 600
