"""The gateway's pre-check of a read: the state model's own judgement, on the chain's view now.

The pre-check decides only what to fetch: data is fetched when the read would be granted, nothing
otherwise. It is never trusted alone: every read is recorded, and the chain's event decides what
is released.
"""

from __future__ import annotations

from consentledger.chain.client import ConsentView
from consentledger.gateway.signed_actions import stored_state
from consentledger.ledger.model import LedgerModel
from consentledger.ledger.types import (
    ROLE_BANK,
    AccessEntry,
    BankState,
    ConsentStatus,
    DenialReason,
)


def predicted_reason(
    consent_id: bytes,
    view: ConsentView,
    bank: str,
    bank_active: bool,
    categories: int,
    purpose: int,
    now: int,
) -> DenialReason:
    """What the chain would decide at ``now`` for this read, from views of the consent and bank."""
    model = LedgerModel()
    if bank_active:
        model.roles[ROLE_BANK] = {bank}
        model.banks[bank] = BankState()
    if view.status is not ConsentStatus.NONE:
        model.consents[consent_id] = stored_state(view)
    entry = AccessEntry(0, consent_id, bank, categories, purpose, b"")
    return model.judge(entry, now)
