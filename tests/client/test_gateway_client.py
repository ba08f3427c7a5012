"""The typed client against a real gateway: every role's operations, typed answers, and every
problem answer as its named exception with the gateway's code."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from consentledger.categories import Category, Purpose
from consentledger.chain.anvil import free_port
from consentledger.chain.read_signer import BankReadSigner, request_id_of
from consentledger.client import (
    AccessDeniedError,
    AsyncGateway,
    ConflictError,
    ForbiddenError,
    GatewayProblemError,
    GatewayUnreachableError,
    HttpRequest,
    HttpResponse,
    HttpxTransport,
    InvalidRequestError,
    NotFoundError,
    NotRecordedError,
    OutcomePendingError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
    UnexpectedAnswerError,
)
from consentledger.client import Gateway as ClientGateway
from consentledger.client.errors import problem_error
from consentledger.client.models import QueryResult, ReadRequest
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from tests.harness.gateway import Gateway, licence_number, serve_live


@dataclass
class Parties:
    """A bank the operator admitted and a 2-of-3 enterprise, through the client."""

    api: ClientGateway
    bank_address: str
    api_key: str
    uscc: str
    controllers: list[LocalAccount]
    signer: BankReadSigner  # the bank's: signs its reads with its key


@pytest.fixture
def parties(gateway: Gateway) -> Parties:
    api = ClientGateway.over(gateway.http)
    operator = api.operator(DEVELOPMENT_ADMIN_TOKEN)
    created = operator.add_bank(
        f"Client Bank {secrets.token_hex(4)}", name_zh="客户端银行", licence_number=licence_number()
    )
    assert created.api_key.startswith("clk_")
    assert created.private_key is not None
    controllers = [Account.create() for _ in range(3)]
    uscc = next(gateway.usccs)
    registered = operator.register_enterprise(uscc, [c.address for c in controllers], 2)
    assert (registered.uscc, registered.threshold) == (uscc, 2)
    assert registered.subject == "0x" + gateway.context.subject_of(uscc).hex()
    bank_key = Account.from_key(created.private_key)
    signer = BankReadSigner(bank_key, gateway.context.ledger)
    return Parties(api, created.address, created.api_key, uscc, controllers, signer)


def test_a_bank_asks_the_enterprise_signs_the_bank_reads(parties: Parties) -> None:
    api = parties.api
    bank = api.bank(parties.api_key, parties.bank_address, signer=parties.signer)
    enterprise = api.enterprise(parties.uscc, parties.controllers, threshold=2)
    asked = bank.ask_consent(
        parties.uscc,
        [Category.BUSINESS_REGISTRATION, "social_insurance"],
        Purpose.CREDIT_UNDERWRITING,
        history_months=12,
        duration_days=30,
    )
    assert asked.typed_data.primary_type == "Consent"
    assert asked.receipt["data_subject"]["uscc"] == parties.uscc
    granted = enterprise.grant_draft(asked)
    assert (granted.consent_id, granted.status) == (asked.consent_id, "ACTIVE")
    assert [c.code for c in granted.consent.categories] == [1, 2]

    read = bank.read(
        parties.uscc, granted.consent_id, [1, "social_insurance"], "credit_underwriting"
    )
    assert read.status == "granted"
    assert set(read.data["categories"]) == {"business_registration", "social_insurance"}
    assert read.receipt.matches(read.data)
    assert bank.stored(read.receipt.query_id) == read
    assert bank.receipt(int(read.receipt.query_id, 16)) == read.receipt

    with pytest.raises(AccessDeniedError) as denied:
        bank.read(parties.uscc, granted.consent_id, [Category.TAX], "credit_underwriting")
    assert (denied.value.status, denied.value.code) == (403, "access_denied")
    assert denied.value.reason == "CATEGORY_NOT_CONSENTED"
    assert isinstance(denied.value, PermissionError)
    assert isinstance(denied.value, ConsentLedgerError)
    assert bank.receipt(denied.value.receipt["query_id"]).tx_hash == denied.value.receipt["tx_hash"]

    assert api.consent(granted.consent_id).reads_used == 1  # a denied read uses none


def test_an_enterprise_grants_pauses_resumes_revokes_and_sees_it_all(parties: Parties) -> None:
    api = parties.api
    bank = api.bank(parties.api_key, parties.bank_address, signer=parties.signer)
    enterprise = api.enterprise(parties.uscc, parties.controllers, threshold=2)
    granted = enterprise.grant(
        parties.bank_address, [1], "post_loan_monitoring", history_months=6, duration_days=10
    )
    consent_id = granted.consent_id
    assert enterprise.pause(consent_id).status == "PAUSED"
    with pytest.raises(AccessDeniedError) as paused:
        bank.read(parties.uscc, consent_id, [1], "post_loan_monitoring")
    assert paused.value.reason == "PAUSED"
    assert enterprise.resume(consent_id).status == "ACTIVE"
    assert bank.read(parties.uscc, consent_id, [1], "post_loan_monitoring").status == "granted"
    with pytest.raises(InvalidRequestError) as one_signer:
        enterprise.revoke(consent_id, signers=parties.controllers[:1])
    assert one_signer.value.code == "membership_threshold_not_met"
    assert one_signer.value.contract_error == "MembershipThresholdNotMet"
    assert enterprise.revoke(consent_id).status == "REVOKED"
    with pytest.raises(ConflictError) as again:
        enterprise.draft_action(consent_id, "revoke")
    assert again.value.code == "consents_invalid_transition"

    accesses = enterprise.accesses()
    mine = [a for a in accesses.accesses if a.consent_id == consent_id]
    assert [a.outcome for a in mine] == ["denied", "granted"] or [a.outcome for a in mine] == [
        "granted",
        "denied",
    ]
    listed = enterprise.consents(signer=parties.controllers[2])
    assert any(c.consent_id == consent_id and c.status == "REVOKED" for c in listed.consents)
    exported = enterprise.export()
    assert exported.uscc == parties.uscc
    assert exported.tx_hash.startswith("0x")
    assert enterprise.accesses().exports[-1].export_hash == exported.export_hash


def test_a_sign_in_is_single_use(parties: Parties, gateway: Gateway) -> None:
    enterprise = parties.api.enterprise(parties.uscc, parties.controllers)
    headers = enterprise.sign_in()
    path = f"/v1/enterprises/{parties.uscc}/consents"
    assert gateway.http.get(path, headers=headers).status_code == 200
    replayed = gateway.http.get(path, headers=headers)
    assert replayed.status_code == 401
    stranger = parties.api.enterprise(parties.uscc, [Account.create()])
    with pytest.raises(ForbiddenError) as refused:
        stranger.consents()
    assert refused.value.status == 403


def test_the_operator_manages_banks(parties: Parties) -> None:
    operator = parties.api.operator(DEVELOPMENT_ADMIN_TOKEN)
    assert operator.suspend_bank(parties.bank_address).active_on_chain is False
    standing = {b.address: b.active_on_chain for b in operator.banks()}
    assert standing[parties.bank_address] is False
    assert operator.reinstate_bank(parties.bank_address).active_on_chain is True
    with pytest.raises(ConflictError) as twice:
        operator.add_bank(
            "Twice", parties.bank_address, name_zh="重复银行", licence_number=licence_number()
        )
    assert twice.value.code == "bank_exists"
    with pytest.raises(UnauthorizedError) as wrong:
        parties.api.operator("not-the-token").banks()
    assert wrong.value.code == "invalid_admin_token"


def test_problems_from_the_gateway_are_named_exceptions(parties: Parties) -> None:
    api = parties.api
    bank = api.bank(parties.api_key, parties.bank_address, signer=parties.signer)
    with pytest.raises(InvalidRequestError) as bad_uscc:
        bank.read("123", "0x" + "11" * 32, [1], 1)
    assert (bad_uscc.value.status, bad_uscc.value.code) == (422, "invalid_uscc_length")
    assert isinstance(bad_uscc.value, ValueError)
    with pytest.raises(UnauthorizedError) as unknown_key:
        api.bank("clk_nope_nope", parties.bank_address).stored(1)
    assert unknown_key.value.code == "invalid_api_key"
    with pytest.raises(NotFoundError) as no_consent:
        api.consent(b"\xcd" * 32)
    assert no_consent.value.code == "consents_unknown_consent"
    assert isinstance(no_consent.value, LookupError)


def test_the_meta_endpoints(parties: Parties, gateway: Gateway) -> None:
    health = parties.api.health()
    assert (health.status, health.chain_id) == ("ok", gateway.context.deployment.chain_id)
    described = parties.api.eip712()
    assert {"Consent", "Revocation", "Pause", "Resume"} <= set(described.primary_types)


@dataclass
class RecordingSigner:
    """The bank's read signer, keeping what it was asked to sign."""

    inner: BankReadSigner
    seen: list[tuple[ReadRequest, str]] = field(default_factory=list)
    size_classes: list[str] = field(default_factory=list)

    def sign_read(self, read: ReadRequest, idempotency_key: str) -> Mapping[str, Any]:
        self.seen.append((read, idempotency_key))
        return self.inner.sign_read(read, idempotency_key)

    def sign_size_class(self, consent_id: str) -> Mapping[str, Any]:
        self.size_classes.append(consent_id)
        return self.inner.sign_size_class(consent_id)


@dataclass
class RecordingTransport:
    """The real transport, keeping what it sent."""

    inner: HttpxTransport
    sent: list[HttpRequest] = field(default_factory=list)

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        return self.inner.send(request)

    def close(self) -> None:
        self.inner.close()


def test_a_read_signer_signs_every_read(parties: Parties, gateway: Gateway) -> None:
    enterprise = parties.api.enterprise(parties.uscc, parties.controllers, threshold=2)
    consent_id = enterprise.grant(
        parties.bank_address, [1], "credit_underwriting", history_months=1, duration_days=1
    ).consent_id
    recording = RecordingTransport(HttpxTransport(gateway.http))
    signer = RecordingSigner(parties.signer)
    bank = ClientGateway(transport=recording).bank(
        parties.api_key, parties.bank_address, signer=signer
    )
    read = bank.read(
        parties.uscc, consent_id, [1], "credit_underwriting", idempotency_key="signed-1"
    )
    assert read.status == "granted"
    assert signer.seen == [
        (ReadRequest(parties.uscc, consent_id, [1], "credit_underwriting"), "signed-1")
    ]
    body = recording.sent[-1].json
    assert body is not None
    assert body["request_id"] == request_id_of("signed-1")
    assert body["history_months"] == 1  # the consent's whole window
    assert body["signature"].startswith("0x")
    # The same Idempotency-Key again: the very same signed request, the first read's outcome.
    again = bank.read(
        parties.uscc, consent_id, [1], "credit_underwriting", idempotency_key="signed-1"
    )
    assert again == read
    assert recording.sent[-1].json == body
    size = bank.size_class(parties.uscc, consent_id)
    assert signer.size_classes == [consent_id]
    assert size.status == "granted"
    assert recording.sent[-1].params["signature"].startswith("0x")


def test_a_read_without_the_bank_s_signature_is_refused(parties: Parties) -> None:
    enterprise = parties.api.enterprise(parties.uscc, parties.controllers, threshold=2)
    consent_id = enterprise.grant(
        parties.bank_address, [1], "credit_underwriting", history_months=1, duration_days=1
    ).consent_id
    unsigned = parties.api.bank(parties.api_key, parties.bank_address)
    with pytest.raises(InvalidRequestError) as refused:
        unsigned.read(parties.uscc, consent_id, [1], "credit_underwriting")
    assert (refused.value.status, refused.value.code) == (422, "invalid_request")


def test_a_gateway_that_does_not_answer() -> None:
    api = ClientGateway(f"http://127.0.0.1:{free_port()}", timeout=5)
    with api, pytest.raises(GatewayUnreachableError) as unreachable:
        api.health()
    assert unreachable.value.code == "gateway_unreachable"
    assert isinstance(unreachable.value, ConnectionError)


def test_the_async_client_over_aiohttp(parties: Parties, gateway: Gateway) -> None:
    enterprise = parties.api.enterprise(parties.uscc, parties.controllers, threshold=2)
    consent_id = enterprise.grant(
        parties.bank_address, [1], "post_loan_monitoring", history_months=1, duration_days=1
    ).consent_id

    async def reads(url: str) -> tuple[list[QueryResult], AccessDeniedError]:
        async with AsyncGateway(url, connections=4) as api:
            bank = api.bank(parties.api_key, parties.bank_address, signer=parties.signer)
            granted = await asyncio.gather(
                *(
                    bank.read(parties.uscc, consent_id, [1], "post_loan_monitoring")
                    for _ in range(8)
                )
            )
            try:
                await bank.read(parties.uscc, consent_id, [2], "post_loan_monitoring")
            except AccessDeniedError as denied:
                return list(granted), denied
            raise AssertionError("a read outside the consent was granted")

    with serve_live(gateway.app) as url:
        granted, denied = asyncio.run(reads(url))
    assert {g.status for g in granted} == {"granted"}
    assert len({g.receipt.query_id for g in granted}) == 8
    assert denied.reason == "CATEGORY_NOT_CONSENTED"


def test_a_consent_request_through_the_async_client_over_http(
    parties: Parties, gateway: Gateway
) -> None:
    """The bank asks, the 2-of-3 enterprise opens a session, pages its requests, approves one by
    signing (two controllers) and declines another; the bank sees both; the session ends."""

    async def story(url: str) -> tuple[str, str, str, list[str]]:
        async with AsyncGateway(url) as api:
            bank = api.bank(parties.api_key, parties.bank_address, signer=parties.signer)
            enterprise = api.enterprise(parties.uscc, parties.controllers, threshold=2)
            asked = [
                await bank.request_consent(
                    parties.uscc,
                    ["business_registration"],
                    "credit_underwriting",
                    history_months=6,
                    duration_days=10,
                    reason=f"loan {n}",
                )
                for n in range(2)
            ]
            await enterprise.open_session()
            first = await enterprise.consent_requests(state="pending", limit=1)
            second = await enterprise.consent_requests(
                state="pending", limit=1, cursor=first.next_cursor
            )
            paged = [r.request_id for r in first.requests + second.requests]
            approved = await enterprise.approve_request(asked[0].request_id)
            declined = await enterprise.decline_request(asked[1].request_id, "not now")
            seen = await bank.consent_request(asked[1].request_id)
            names = [b.address for b in (await api.banks()).banks if b.name is not None]
            await enterprise.sign_out()
            assert parties.bank_address in names
            return approved.grant.consent_id, declined.state, seen.decline_reason or "", paged

    with serve_live(gateway.app) as url:
        consent_id, declined, reason, paged = asyncio.run(story(url))
    assert gateway.context.ledger.consent(bytes.fromhex(consent_id[2:])).bank == (
        parties.bank_address
    )
    assert (declined, reason) == ("declined", "not now")
    assert len(paged) == 2


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (403, "access_denied", AccessDeniedError),
        (403, "siwe_not_controller", ForbiddenError),
        (503, "outcome_pending", OutcomePendingError),
        (503, "not_recorded", NotRecordedError),
        (503, "chain_unavailable", UnavailableError),
        (504, "transaction_timeout", UnavailableError),
        (401, "missing_api_key", UnauthorizedError),
        (404, "unknown_query", NotFoundError),
        (409, "bank_exists", ConflictError),
        (413, "body_too_large", InvalidRequestError),
        (422, "invalid_request", InvalidRequestError),
        (429, "too_many_failed_authentications", RateLimitedError),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_problem_has_its_exception(status: int, code: str, kind: type) -> None:
    error = problem_error(status, {"status": status, "code": code, "detail": "d"}, "7")
    assert type(error) is kind
    assert isinstance(error, GatewayProblemError)
    assert (error.status, error.code, error.detail) == (status, code, "d")
    if isinstance(error, RateLimitedError):
        assert error.retry_after == 7


def test_an_answer_that_is_no_problem_document() -> None:
    from consentledger.client.operation import parse

    html = HttpResponse(502, {"content-type": "text/html"}, b"<html>bad gateway</html>")
    with pytest.raises(UnexpectedAnswerError) as odd:
        parse(html, QueryResult)
    assert odd.value.status == 502
    broken = HttpResponse(200, {"content-type": "application/json"}, b'{"status": "granted"}')
    with pytest.raises(UnexpectedAnswerError):
        parse(broken, QueryResult)
