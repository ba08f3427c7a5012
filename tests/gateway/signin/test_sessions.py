"""Enterprise sessions: one sign-in, then views without a wallet signature; bounded, revocable,
bound to the enterprise and the controller, stored hashed; never enough to change the chain."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from eth_account import Account
from sqlalchemy import select, update

from consentledger.chain import typed_data
from consentledger.gateway.sessions import TOKEN_PREFIX
from consentledger.journal.schema import EnterpriseSession
from tests.harness.gateway import Gateway


def test_a_session_views_without_new_signatures_until_signed_out(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    gateway.grant(enterprise)
    opened = gateway.http.post(
        f"/v1/enterprises/{enterprise.uscc}/sessions", headers=gateway.signed_in(enterprise)
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["token"].startswith(TOKEN_PREFIX)
    assert session["address"] == enterprise.controller.address
    lifetime = datetime.fromisoformat(session["expires_at"]) - datetime.now(UTC)
    assert lifetime <= timedelta(seconds=gateway.context.settings.session_ttl_seconds)
    headers = {"Authorization": f"Bearer {session['token']}"}
    for _ in range(3):  # the same token, again and again
        assert gateway.http.get(f"/v1/enterprises/{enterprise.uscc}/consents", headers=headers)
    consents = gateway.http.get(f"/v1/enterprises/{enterprise.uscc}/consents", headers=headers)
    assert len(consents.json()["consents"]) == 1

    with gateway.context.db.session() as db:
        stored = db.scalars(select(EnterpriseSession)).all()
    assert all(row.token_hash != session["token"] for row in stored)
    assert hashlib.sha256(session["token"].encode()).hexdigest() in {r.token_hash for r in stored}

    assert gateway.http.delete("/v1/auth/session", headers=headers).status_code == 204
    after = gateway.http.get(f"/v1/enterprises/{enterprise.uscc}/accesses", headers=headers)
    assert (after.status_code, after.json()["code"]) == (401, "session_revoked")
    again = gateway.http.delete("/v1/auth/session", headers=headers)
    assert again.json()["code"] == "session_revoked"


def test_a_session_is_bound_to_its_enterprise(gateway: Gateway) -> None:
    mine, other = gateway.new_enterprise(), gateway.new_enterprise()
    session = gateway.enterprise_client(mine).open_session()
    answer = gateway.http.get(f"/v1/enterprises/{other.uscc}/accesses", headers=session.headers)
    assert (answer.status_code, answer.json()["code"]) == (403, "session_wrong_enterprise")


def test_an_expired_session_is_refused(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    session = gateway.enterprise_client(enterprise).open_session()
    with gateway.context.db.session() as db, db.begin():
        db.execute(
            update(EnterpriseSession)
            .where(EnterpriseSession.uscc == enterprise.uscc)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    answer = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/consents", headers=session.headers
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "session_expired")


def test_a_session_ends_when_its_controller_no_longer_controls(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    session = gateway.enterprise_client(enterprise).open_session()
    ledger = gateway.context.ledger
    replacement = Account.create().address
    nonce, deadline = secrets.randbits(64) << 64, gateway.now() + 86_400
    document = typed_data.typed_data(
        ledger.domain,
        "ChangeControllers",
        {
            "subject": enterprise.subject,
            "controllers": [replacement],
            "threshold": 1,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    signature = typed_data.sign(enterprise.controller, document)
    ledger.change_controllers(enterprise.subject, [replacement], 1, nonce, deadline, [signature])
    answer = gateway.http.get(
        f"/v1/enterprises/{enterprise.uscc}/consents", headers=session.headers
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "session_not_controller")


def test_a_session_does_not_open_a_session_nor_approve_an_export(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    session = gateway.enterprise_client(enterprise).open_session()
    for path in (
        f"/v1/enterprises/{enterprise.uscc}/sessions",
        f"/v1/enterprises/{enterprise.uscc}/export",
    ):
        answer = gateway.http.post(path, headers=session.headers)
        assert (answer.status_code, answer.json()["code"]) == (401, "siwe_required"), path


def test_made_up_tokens_are_refused(gateway: Gateway) -> None:
    enterprise = gateway.new_enterprise()
    headers = {"Authorization": f"Bearer {TOKEN_PREFIX}not-a-session"}
    answer = gateway.http.get(f"/v1/enterprises/{enterprise.uscc}/consents", headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "session_unknown")
    signed_out = gateway.http.delete("/v1/auth/session")
    assert (signed_out.status_code, signed_out.json()["code"]) == (401, "session_required")
