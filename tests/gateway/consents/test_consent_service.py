"""The consent flows called as a service, without HTTP: draft, grant, an action, the details, and
the named errors the routes turn into problems.

The service runs on the gateway's own event loop (the TestClient's portal), where its chain
runner lives.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from consentledger.client import sign_typed_data
from consentledger.gateway.errors import ForeseenRefusalError, UnknownConsentError
from consentledger.gateway.problems import problem_for
from consentledger.gateway.services.consents import (
    ActionDraftRequest,
    ActionRequest,
    ConsentDraftRequest,
    ConsentMessage,
    ConsentService,
    GrantRequest,
)
from tests.harness.gateway import Gateway

T = TypeVar("T")


def _call(gateway: Gateway, fn: Callable[..., Awaitable[T]], *args: object) -> T:
    """Await ``fn(*args)`` on the gateway's event loop."""
    return gateway.http.portal.call(fn, *args)  # type: ignore[union-attr]


def _terms(gateway: Gateway, uscc: str, **overrides: object) -> ConsentDraftRequest:
    fields: dict[str, object] = {
        "uscc": uscc,
        "bank": gateway.bank.address,
        "categories": ["business_registration", 2],
        "purpose": "credit_underwriting",
        "duration_days": 30,
        "history_months": 12,
        **overrides,
    }
    return ConsentDraftRequest.model_validate(fields)


def test_a_drafted_consent_is_granted_paused_and_shown_as_the_chain_holds_it(
    gateway: Gateway,
) -> None:
    consents = ConsentService(gateway.context)
    enterprise = gateway.new_enterprise()
    draft = _call(gateway, consents.draft, _terms(gateway, enterprise.uscc), gateway.bank.address)
    document = draft.typed_data.model_dump(by_alias=True)
    grant = GrantRequest(
        message=ConsentMessage.model_validate(document["message"]),
        signatures=sign_typed_data(document, enterprise.controllers[:1]),
        receipt=draft.receipt,
    )
    granted = _call(gateway, consents.grant, grant)
    assert (granted.consent_id, granted.status) == (draft.consent_id, "ACTIVE")
    consent_id = bytes.fromhex(granted.consent_id[2:])

    pause = _call(gateway, consents.draft_action, consent_id, ActionDraftRequest(action="pause"))
    signed = pause.typed_data.model_dump(by_alias=True)
    body = ActionRequest(
        nonce=signed["message"]["nonce"],
        deadline=signed["message"]["deadline"],
        signatures=sign_typed_data(signed, enterprise.controllers[:1]),
    )
    paused = _call(gateway, consents.act, "pause", consent_id, body)
    assert paused.status == "PAUSED"
    details = _call(gateway, consents.details, consent_id)
    assert details.status == "PAUSED"
    assert gateway.context.ledger.consent(consent_id).status.name == "PAUSED"


def test_an_unknown_consent_is_a_named_error(gateway: Gateway) -> None:
    consents = ConsentService(gateway.context)
    with pytest.raises(UnknownConsentError):
        _call(gateway, consents.details, secrets.token_bytes(32))


def test_a_draft_the_ledger_would_refuse_is_refused_before_anything_is_sent(
    gateway: Gateway,
) -> None:
    consents = ConsentService(gateway.context)
    enterprise = gateway.new_enterprise()
    nonce = gateway.relayer_nonce()
    with pytest.raises(ForeseenRefusalError) as refused:
        _call(
            gateway,
            consents.draft,
            _terms(gateway, enterprise.uscc, max_reads=10**6),
            gateway.bank.address,
        )
    problem = problem_for(refused.value)
    assert problem.code == "consents_reads_exceed_cap"
    assert (problem.model_extra or {})["prechecked"] is True
    assert gateway.relayer_nonce() == nonce
