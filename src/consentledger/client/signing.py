"""What an enterprise's controllers sign, signed as a wallet would.

Typed data with ``eth_signTypedData_v4`` semantics (eth-account's ``encode_typed_data``), sign-in
messages with ``personal_sign`` (EIP-191), sent as ``Authorization: SIWE <base64url(message)>.<0x
signature>``. A signer is an eth-account ``LocalAccount`` or anything with its ``address`` and
``sign_message``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Protocol

from eth_account.datastructures import SignedMessage
from eth_account.messages import SignableMessage, encode_defunct, encode_typed_data

from consentledger.client.models import TypedData


class Signer(Protocol):
    """A key that signs for an enterprise (an eth-account ``LocalAccount`` is one)."""

    @property
    def address(self) -> str: ...

    def sign_message(self, signable_message: SignableMessage) -> SignedMessage: ...


def sign_typed_data(document: TypedData | dict[str, Any], signers: Sequence[Signer]) -> list[str]:
    """Each signer's 65-byte signature of ``document`` as 0x-hex."""
    full = document.document() if isinstance(document, TypedData) else document
    signable = encode_typed_data(full_message=full)
    return ["0x" + bytes(s.sign_message(signable).signature).hex() for s in signers]


def siwe_authorization(message: str, signer: Signer) -> str:
    """The ``Authorization`` value that presents ``message`` signed by ``signer``."""
    signature = bytes(signer.sign_message(encode_defunct(text=message)).signature).hex()
    encoded = base64.urlsafe_b64encode(message.encode()).decode().rstrip("=")
    return f"SIWE {encoded}.0x{signature}"
