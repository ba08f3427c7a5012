"""An enterprise's revocation, signed by its controllers and sent to the chain by anyone.

The contract accepts a Revocation from any sender: what makes it valid is the controllers'
EIP-712 signatures (k of n, the same threshold as for granting), not who relays it. So an
enterprise never depends on the bureau's gateway to withdraw a consent: ``consentledger revoke``
reads the consent and a fresh keyed nonce from a node, has the controllers' keys sign, and sends
the transaction from any funded account.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from eth_account.signers.local import LocalAccount

from consentledger.chain import typed_data
from consentledger.chain.client import LedgerClient, Mined
from consentledger.errors import ConsentLedgerError
from consentledger.ledger.types import ConsentStatus


class RevocationRefusedError(ConsentLedgerError, ValueError):
    """A revocation that cannot be sent (an unknown consent, one no longer in force)."""

    code = "revocation_refused"


def revoke_directly(
    client: LedgerClient,
    consent_id: bytes,
    controllers: Sequence[LocalAccount],
    valid_for: int = 3600,
) -> Mined:
    """Revoke ``consent_id``: a fresh keyed nonce of its subject, a deadline ``valid_for``
    seconds after the latest block, the Revocation signed by each of ``controllers`` and sent
    from ``client``'s account. A refusal the contract would make (not enough controllers,
    wrong signer) raises its LedgerRevertError before anything is sent (gas estimation)."""
    view = client.consent(consent_id)
    if view.status is ConsentStatus.NONE:
        raise RevocationRefusedError(f"the ledger holds no consent 0x{consent_id.hex()}")
    if view.status not in (ConsentStatus.ACTIVE, ConsentStatus.PAUSED):
        raise RevocationRefusedError(
            f"consent 0x{consent_id.hex()} is {view.status.name}: nothing to revoke"
        )
    nonce = client.nonce(view.subject, secrets.randbits(192))
    deadline = client.block_timestamp() + valid_for
    document = client.action_document("Revocation", consent_id, nonce, deadline)
    signatures = [typed_data.sign(controller, document) for controller in controllers]
    return client.revoke_consent(consent_id, nonce, deadline, signatures)
