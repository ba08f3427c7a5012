"""The bureau operator's side: banks, enterprises and the sources' feed credentials
(``/v1/admin``, the operator token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consentledger.client.http import Flow, HttpRequest
from consentledger.client.models import (
    ApiKey,
    BankAction,
    BankStanding,
    ControllerSetDraft,
    CreatedBank,
    Dispute,
    FeedCredential,
    IssuedFeedCredential,
    KnownDocument,
    RegisteredEnterprise,
    RotatedApiKey,
    StartedRecovery,
)
from consentledger.client.operation import R, Role, operation, parse, parse_list
from consentledger.client.signing import Signer, sign_typed_data


class Operator(Role[R]):
    """The bureau's operator, by its token. Admitting, suspending and reinstating a bank need
    the regulator's key in the gateway."""

    def __init__(self, runner: R, token: str) -> None:
        super().__init__(runner)
        self.headers = {"Authorization": f"Bearer {token}"}

    def _request(self, method: str, path: str, body: Any = None) -> HttpRequest:
        return HttpRequest(method, f"/v1/admin{path}", json=body, headers=self.headers)

    @operation
    def add_bank(
        self, name: str, address: str | None = None, *, name_zh: str, licence_number: str
    ) -> Flow[CreatedBank]:
        """Admit a bank on the chain by its legal names (``name`` in English, ``name_zh`` in
        Chinese) and financial licence number, and give it an API key (shown once; with a new
        key pair's private key when no address is given)."""
        body: dict[str, Any] = {
            "name": name,
            "name_zh": name_zh,
            "licence_number": licence_number,
        }
        if address is not None:
            body["address"] = address
        response = yield self._request("POST", "/banks", body)
        return parse(response, CreatedBank, 201)

    @operation
    def banks(self) -> Flow[list[BankStanding]]:
        """Every bank the gateway serves, with its standing on the chain now."""
        response = yield self._request("GET", "/banks")
        return parse_list(response, BankStanding)

    @operation
    def suspend_bank(self, address: str) -> Flow[BankAction]:
        """Suspend a bank: its reads are denied from the next block on."""
        response = yield self._request("POST", f"/banks/{address}/suspend")
        return parse(response, BankAction)

    @operation
    def reinstate_bank(self, address: str) -> Flow[BankAction]:
        """Reinstate a suspended bank."""
        response = yield self._request("POST", f"/banks/{address}/reinstate")
        return parse(response, BankAction)

    @operation
    def api_key(self, address: str) -> Flow[ApiKey]:
        """The bank's API key id and whether it works."""
        response = yield self._request("GET", f"/banks/{address}/keys")
        return parse(response, ApiKey)

    @operation
    def rotate_key(self, address: str) -> Flow[RotatedApiKey]:
        """Give the bank a new API key (shown once); its old key stops working at once."""
        response = yield self._request("POST", f"/banks/{address}/keys")
        return parse(response, RotatedApiKey, 201)

    @operation
    def revoke_key(self, address: str, key_id: str) -> Flow[ApiKey]:
        """Revoke the bank's API key ``key_id`` (it has none until the next rotation)."""
        response = yield self._request("DELETE", f"/banks/{address}/keys/{key_id}")
        return parse(response, ApiKey)

    @operation
    def draft_enterprise(
        self, uscc: str, controllers: Sequence[str], threshold: int = 1
    ) -> Flow[ControllerSetDraft]:
        """The ``Registration`` each of the enterprise's controllers signs (its subject id and a
        deadline a day ahead)."""
        body = {"uscc": uscc, "controllers": list(controllers), "threshold": threshold}
        response = yield self._request("POST", "/enterprises/draft", body)
        return parse(response, ControllerSetDraft)

    @operation
    def register_signed(
        self,
        uscc: str,
        controllers: Sequence[str],
        threshold: int,
        deadline: int | str,
        signatures: Sequence[str],
    ) -> Flow[RegisteredEnterprise]:
        """Register an enterprise with each controller's signature of its drafted
        ``Registration`` (same controllers, threshold and deadline), in the controllers' order."""
        body = {
            "uscc": uscc,
            "controllers": list(controllers),
            "threshold": threshold,
            "deadline": deadline,
            "signatures": list(signatures),
        }
        response = yield self._request("POST", "/enterprises", body)
        return parse(response, RegisteredEnterprise, 201)

    @operation
    def register_enterprise(
        self, uscc: str, controllers: Sequence[Signer], threshold: int = 1
    ) -> Flow[RegisteredEnterprise]:
        """Register an enterprise with its controllers' keys and signing threshold: drafts the
        ``Registration``, has every controller sign it, and sends it."""
        addresses = [c.address for c in controllers]
        draft = yield from Operator.draft_enterprise.flow(self, uscc, addresses, threshold)
        signatures = sign_typed_data(draft.typed_data, controllers)
        deadline = draft.typed_data.message["deadline"]
        registered = Operator.register_signed.flow(
            self, draft.uscc, addresses, threshold, deadline, signatures
        )
        return (yield from registered)

    @operation
    def start_recovery(
        self, uscc: str, controllers: Sequence[Signer], threshold: int = 1
    ) -> Flow[StartedRecovery]:
        """Start a lost-key recovery of the enterprise to ``controllers`` (each signs the
        ``Recovery``; needs the regulator's key in the gateway)."""
        addresses = [c.address for c in controllers]
        body: dict[str, Any] = {"controllers": addresses, "threshold": threshold}
        response = yield self._request("POST", f"/enterprises/{uscc}/recovery/draft", body)
        draft = parse(response, ControllerSetDraft)
        body["deadline"] = draft.typed_data.message["deadline"]
        body["signatures"] = sign_typed_data(draft.typed_data, controllers)
        response = yield self._request("POST", f"/enterprises/{uscc}/recovery", body)
        return parse(response, StartedRecovery, 201)

    @operation
    def open_disputes(self) -> Flow[list[Dispute]]:
        """Every dispute not answered yet, oldest first."""
        return parse_list((yield self._request("GET", "/disputes")), Dispute)

    @operation
    def answer_dispute(self, dispute_id: str, outcome: str, answer: str) -> Flow[Dispute]:
        """The bureau's written answer (``corrected`` or ``upheld``), recorded on the chain."""
        body = {"outcome": outcome, "answer": answer}
        return parse((yield self._request("POST", f"/disputes/{dispute_id}/answer", body)), Dispute)

    @operation
    def issue_feed_credential(
        self, source: str, kinds: Sequence[str] | None = None
    ) -> Flow[IssuedFeedCredential]:
        """Issue a source its push credential (shown once), bound to its record kinds or to
        ``kinds`` of them; its earlier credential stops working at once."""
        body = {"kinds": list(kinds)} if kinds is not None else {}
        response = yield self._request("POST", f"/sources/{source}/credential", body)
        return parse(response, IssuedFeedCredential, 201)

    @operation
    def feed_credential(self, source: str) -> Flow[FeedCredential]:
        """The source's credential id, its record kinds and whether it works."""
        response = yield self._request("GET", f"/sources/{source}/credential")
        return parse(response, FeedCredential)

    @operation
    def revoke_feed_credential(self, source: str, key_id: str) -> Flow[FeedCredential]:
        """Revoke the source's credential ``key_id`` (it has none until the next issue)."""
        response = yield self._request("DELETE", f"/sources/{source}/credential/{key_id}")
        return parse(response, FeedCredential)

    @operation
    def document_known_at(
        self,
        uscc: str,
        known_at: str,
        categories: Sequence[str] = (),
        history_months: int = 12,
    ) -> Flow[KnownDocument]:
        """An enterprise's document from the record versions the bureau held at ``known_at``
        (ISO 8601; for disputes and audits)."""
        params = {"known_at": known_at, "history_months": str(history_months)}
        if categories:
            params["categories"] = ",".join(categories)
        response = yield HttpRequest(
            "GET", f"/v1/admin/enterprises/{uscc}/document", headers=self.headers, params=params
        )
        return parse(response, KnownDocument)
