"""The sources' push API through the gateway: the operator issues a source's credential with the
typed client, the source pushes batches with it; every refusal is a problem with its code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from consentledger.bureau.store import BureauStore
from consentledger.cli import main
from consentledger.client import Gateway as ClientGateway
from consentledger.client import GatewayProblemError
from consentledger.client.http import SyncRunner
from consentledger.client.source import Source
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from tests.bureau.test_feeds import REAL_USCC, REGISTRATION, month
from tests.harness.gateway import Gateway, admin_cli, running_gateway

NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


@pytest.fixture(scope="module")
def bureau_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bureau holding one imported enterprise (the gateway serves no empty bureau)."""
    directory = tmp_path_factory.mktemp("pushed-bureau")
    url = f"sqlite:///{directory / 'bureau.db'}"
    path = directory / "registration.jsonl"
    path.write_bytes(ndjson(REGISTRATION))
    result = CliRunner().invoke(
        main,
        [
            "bureau",
            "import",
            "--db",
            url,
            "--source",
            "market_regulation",
            str(path),
            "--as-of",
            "2026-11-30",
        ],
    )
    assert result.exit_code == 0, result.output
    return url


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, bureau_url: str) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path_factory.mktemp("gateway"), bureau_url, feed_max_body_bytes=64 * 1024
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> ClientGateway:
    return ClientGateway.over(gateway.http)


def _source(client: ClientGateway, name: str, kinds: list[str] | None = None) -> Source[SyncRunner]:
    issued = client.operator(DEVELOPMENT_ADMIN_TOKEN).issue_feed_credential(name, kinds)
    return client.source(name, issued.credential)


def _push(
    gateway: Gateway,
    source: str,
    credential: str | None,
    body: bytes,
    key: str | None = "k",
    content_type: str = "application/x-ndjson",
) -> Any:
    headers = {"Content-Type": content_type}
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    if key is not None:
        headers["Idempotency-Key"] = key
    return gateway.http.post(
        f"/v1/feeds/{source}/batches",
        content=body,
        headers=headers,
        params={"as_of": "2026-11-30"},
    )


def _headcounts(gateway: Gateway) -> list[Any]:
    with BureauStore.open(gateway.context.settings.bureau_database_url) as store:
        document: Any = store.fetch(REAL_USCC, ["social_insurance"], 24)
    points: list[Any] = document["categories"]["social_insurance"]["insured_headcount"]
    return points


def test_a_source_pushes_a_batch_once_per_key(gateway: Gateway, client: ClientGateway) -> None:
    social = _source(client, "social_insurance")
    batch = [month("2026-09", 40), month("2026-10", 41)]
    report = social.push(batch, "si-2026-10")
    assert (report.accepted, report.written, report.records) == (True, 2, 2)
    assert [p["headcount"] for p in _headcounts(gateway)] == [40, 41]

    again = social.push(batch, "si-2026-10")
    assert again == report

    with pytest.raises(GatewayProblemError) as reused:
        social.push([month("2026-11", 42)], "si-2026-10")
    assert reused.value.code == "idempotency_key_reused"

    fixed = social.push([month("2026-10", 45, 2)], "si-2026-10-fix")
    assert [(s.version, s.by_version) for s in fixed.superseded] == [(1, 2)]
    assert [p["headcount"] for p in _headcounts(gateway)] == [40, 45]


def test_json_lines_and_the_replay_header(gateway: Gateway, client: ClientGateway) -> None:
    credential = client.operator(DEVELOPMENT_ADMIN_TOKEN).issue_feed_credential("housing_fund")
    record = {
        "record": "housing_fund_month",
        "uscc": REAL_USCC,
        "version": 1,
        "month": "2026-10",
        "housing_fund_headcount": 12,
    }
    first = _push(gateway, "housing_fund", credential.credential, ndjson(record), "hf-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    second = _push(gateway, "housing_fund", credential.credential, ndjson(record), "hf-1")
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


def test_a_department_cannot_push_another_departments_records(
    gateway: Gateway, client: ClientGateway
) -> None:
    tax = _source(client, "tax")
    with pytest.raises(GatewayProblemError) as refused:
        tax.push([month("2026-11", 99)], "tax-1")
    assert refused.value.status == 422
    assert refused.value.code == "feed_rejected"
    report = refused.value.problem["report"]
    assert [(r["line"], r["code"]) for r in report["refusals"]] == [(1, "category_not_permitted")]
    assert all(p["headcount"] != 99 for p in _headcounts(gateway))

    credential = tax.headers["Authorization"].removeprefix("Bearer ")
    other = _push(gateway, "social_insurance", credential, ndjson(month("2026-11", 99)))
    assert (other.status_code, other.json()["code"]) == (403, "feed_source_not_permitted")


def test_a_credential_narrowed_to_kinds(client: ClientGateway) -> None:
    customs = _source(client, "customs", ["customs_year"])
    registration = {
        "record": "customs_registration",
        "uscc": REAL_USCC,
        "version": 1,
        "customs_code": "4403960001",
        "credit_grade": "general",
        "registered_on": "2015-03-02",
    }
    with pytest.raises(GatewayProblemError) as refused:
        customs.push([registration], "c-1")
    codes = [r["code"] for r in refused.value.problem["report"]["refusals"]]
    assert codes == ["kind_not_permitted"]
    operator = client.operator(DEVELOPMENT_ADMIN_TOKEN)
    with pytest.raises(GatewayProblemError) as foreign:
        operator.issue_feed_credential("customs", ["tax_year"])
    assert (foreign.value.status, foreign.value.code) == (422, "kind_not_of_source")


def test_a_batch_with_one_bad_record_writes_nothing(
    gateway: Gateway, client: ClientGateway
) -> None:
    social = _source(client, "social_insurance")
    bad = {**month("2026-08", 7), "uscc": REAL_USCC[:-1] + "0"}
    with pytest.raises(GatewayProblemError) as refused:
        social.push([month("2026-07", 7), bad], "bad-1")
    [refusal] = refused.value.problem["report"]["refusals"]
    assert refusal["line"] == 2
    assert refusal["code"].startswith("invalid_uscc")
    assert all(p["month"] != "2026-07" for p in _headcounts(gateway))


def test_credentials_rotate_and_revoke(gateway: Gateway, client: ClientGateway) -> None:
    operator = client.operator(DEVELOPMENT_ADMIN_TOKEN)
    first = operator.issue_feed_credential("utilities")
    second = operator.issue_feed_credential("utilities")
    body = ndjson(
        {
            "record": "utilities_month",
            "uscc": REAL_USCC,
            "version": 1,
            "month": "2026-10",
            "water_fen": 100,
        }
    )
    old = _push(gateway, "utilities", first.credential, body, "u-1")
    assert (old.status_code, old.json()["code"]) == (401, "invalid_feed_credential")
    assert _push(gateway, "utilities", second.credential, body, "u-1").status_code == 201

    shown = operator.feed_credential("utilities")
    assert (shown.key_id, shown.active) == (second.key_id, True)
    revoked = operator.revoke_feed_credential("utilities", second.key_id)
    assert not revoked.active
    after = _push(gateway, "utilities", second.credential, body, "u-2")
    assert (after.status_code, after.json()["code"]) == (401, "invalid_feed_credential")

    with pytest.raises(GatewayProblemError) as unknown:
        operator.revoke_feed_credential("utilities", first.key_id)
    assert (unknown.value.status, unknown.value.code) == (404, "unknown_feed_key_id")
    with pytest.raises(GatewayProblemError) as nowhere:
        operator.feed_credential("no_such_source")
    assert (nowhere.value.status, nowhere.value.code) == (404, "unknown_source")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"credential": None}, 401, "missing_feed_credential"),
        ({"credential": "clk_0123_not-a-feed-credential"}, 401, "invalid_feed_credential"),
        ({"key": None}, 422, "invalid_request"),
        ({"content_type": "text/csv"}, 415, "unsupported_batch_type"),
        ({"body": b"[1, 2", "content_type": "application/json"}, 422, "malformed_batch"),
        ({"body": b""}, 422, "malformed_batch"),
        ({"body": b"x" * (65 * 1024)}, 413, "body_too_large"),
    ],
    ids=[
        "no-credential",
        "bank-key",
        "no-idempotency-key",
        "csv",
        "broken-array",
        "empty",
        "too-large",
    ],
)
def test_refusals_are_problems(
    gateway: Gateway, client: ClientGateway, change: dict[str, Any], status: int, code: str
) -> None:
    credential = client.operator(DEVELOPMENT_ADMIN_TOKEN).issue_feed_credential("courts")
    asked: dict[str, Any] = {
        "credential": credential.credential,
        "key": "r",
        "body": b"{}\n",
        "content_type": "application/x-ndjson",
        **change,
    }
    answer = _push(
        gateway, "courts", asked["credential"], asked["body"], asked["key"], asked["content_type"]
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


def test_the_push_api_is_in_the_openapi_document(gateway: Gateway) -> None:
    document = gateway.http.get("/openapi.json").json()
    push = document["paths"]["/v1/feeds/{source}/batches"]["post"]
    assert push["operationId"] == "pushFeedBatch"
    assert push["security"] == [{"sourceFeedCredential": []}]
    assert {"application/x-ndjson", "application/json"} <= set(push["requestBody"]["content"])
    assert {"201", "401", "403", "413", "415", "422"} <= set(push["responses"])
    assert {"feed_rejected", "unsupported_batch_type", "invalid_feed_credential"} <= set(
        push["x-problem-codes"]
    )
    admin = document["paths"]["/v1/admin/sources/{source}/credential"]
    assert admin["post"]["operationId"] == "issueFeedCredential"


def test_admin_cli_issues_shows_and_revokes(gateway: Gateway, live_url: str) -> None:
    issued = admin_cli(live_url, "issue-feed-credential", "audit_filing")
    assert issued.exit_code == 0, issued.output
    [line] = [x for x in issued.output.splitlines() if x.startswith("feed credential: ")]
    credential = line.removeprefix("feed credential: ")
    shown = admin_cli(live_url, "--json", "feed-credential", "audit_filing")
    assert shown.exit_code == 0, shown.output
    key_id = json.loads(shown.output)["key_id"]
    assert credential.startswith(f"cfs_{key_id}_")
    assert json.loads(shown.output)["kinds"] == ["financial_statement"]

    revoked = admin_cli(live_url, "--json", "revoke-feed-credential", "audit_filing", key_id)
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.output)["active"] is False
    refused = admin_cli(live_url, "issue-feed-credential", "audit_filing", "--kind", "tax_year")
    assert refused.exit_code != 0
    assert "kind_not_of_source" in refused.output


def test_the_operator_sees_the_document_known_at_a_past_moment(
    gateway: Gateway, client: ClientGateway
) -> None:
    fund = _source(client, "housing_fund")
    record = {
        "record": "housing_fund_month",
        "uscc": REAL_USCC,
        "version": 1,
        "month": "2026-06",
        "housing_fund_headcount": 30,
    }
    fund.push([record], "hf-known-1")
    between = datetime.now(UTC).isoformat()
    fund.push([{**record, "version": 2, "housing_fund_headcount": 33}], "hf-known-2")

    operator = client.operator(DEVELOPMENT_ADMIN_TOKEN)
    past = operator.document_known_at(REAL_USCC, between, ["housing_provident_fund", "1"], 24)
    points = past.document["categories"]["housing_provident_fund"]["covered_headcount"]
    assert {"month": "2026-06", "headcount": 30} in points
    versions = past.document["versions"]["housing_provident_fund"]["records"]
    assert [f"housing_fund_month/{REAL_USCC}/2026-06", 1] in versions
    now = operator.document_known_at(REAL_USCC, datetime.now(UTC).isoformat(), ["5"], 24)
    points = now.document["categories"]["housing_provident_fund"]["covered_headcount"]
    assert {"month": "2026-06", "headcount": 33} in points

    for bad, code in (("yesterday", "invalid_known_at"), ("2000-01-01", "unknown_enterprise")):
        with pytest.raises(GatewayProblemError) as refused:
            operator.document_known_at(REAL_USCC, bad)
        assert refused.value.code == code
    bank = gateway.add_bank()
    answer = gateway.http.get(
        f"/v1/admin/enterprises/{REAL_USCC}/document",
        params={"known_at": between},
        headers=bank.headers,
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_admin_token")
