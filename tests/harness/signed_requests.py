"""Bad signed read requests, one table for every chain the gateway's refusals are tested on.

Each case changes one thing of a bank's signed ``ReadRequest`` (the signing key, the EIP-712
domain, a signed field, the deadline) and names the answer the gateway must give: its HTTP status
and problem code, before anything is journaled or sent to the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from eth_account import Account

from consentledger.chain import typed_data
from consentledger.chain.client import LedgerClient
from consentledger.ledger.types import MAX_READ_REQUEST_LIFETIME
from tests.harness.gateway import Bank, signed_read

_OTHER = "0x" + "12" * 20

#: (the ledger the read goes to, the bank, the consent id) -> the fields of ``post_read`` to use
Change = Callable[[LedgerClient, Bank, bytes], dict[str, Any]]


def _now(ledger: LedgerClient) -> int:
    return ledger.block_timestamp() + 1


def _domain(ledger: LedgerClient, **change: Any) -> typed_data.Domain:
    return replace(ledger.domain, **change)


def _purpose(ledger: LedgerClient, consent_id: bytes) -> int:
    return int(ledger.consent(consent_id).purpose)


def _chain_id(ledger: LedgerClient) -> int:
    return int(ledger.domain.chain_id)


SIGNED_REQUEST_REFUSALS: list[tuple[str, Change, int, str]] = [
    ("signed_by_another_key", lambda led, b, c: {"account": Account.create()}, 403,
     "request_signature_invalid"),
    ("wrong_chain", lambda led, b, c: {"domain": _domain(led, chain_id=_chain_id(led) + 1)},
     403, "request_signature_invalid"),
    ("wrong_ledger", lambda led, b, c: {"domain": _domain(led, verifying_contract=_OTHER)},
     403, "request_signature_invalid"),
    ("wrong_domain_name", lambda led, b, c: {"domain": _domain(led, name="SomethingElse")},
     403, "request_signature_invalid"),
    ("signed_other_categories",
     lambda led, b, c: {"fields": signed_read(led, b, c, [2], _purpose(led, c))}, 403,
     "request_signature_invalid"),
    ("signed_for_another_bank",
     lambda led, b, c: {"fields": signed_read(led, b, c, [1], _purpose(led, c), bank=_OTHER)}, 403,
     "request_signature_invalid"),
    ("expired", lambda led, b, c: {"deadline": _now(led) - 5}, 422, "request_expired"),
    ("deadline_too_far", lambda led, b, c: {"deadline": _now(led) + MAX_READ_REQUEST_LIFETIME + 60},
     422, "request_deadline_too_far"),
    ("history_beyond_the_consent", lambda led, b, c: {"history_months": 120}, 403,
     "history_exceeds_consent"),
]  # fmt: skip
