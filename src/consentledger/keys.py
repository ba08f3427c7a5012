"""Loading private keys from a file or the environment, never from the command line.

A key given on the command line would be visible to every user of the machine (``ps``) and kept in
shell history, so the CLI only takes a path or the name of an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from consentledger.errors import ConsentLedgerError


class KeyLoadError(ConsentLedgerError, ValueError):
    """A private key that is missing or malformed. The message never contains the key."""

    code = "bad_private_key"


def parse_key(text: str, source: str) -> LocalAccount:
    """An account from a hex private key (0x optional); ``source`` says where it came from."""
    value = text.strip()
    try:
        account: LocalAccount = Account.from_key(value)
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(
            f"{source} does not hold a valid private key (expected 32 bytes of hex)"
        ) from exc
    return account


def load_key(path: Path | None, env_var: str) -> LocalAccount:
    """The key in ``path`` if given, else in the environment variable ``env_var``."""
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise KeyLoadError(f"cannot read key file {path}: {exc.strerror}") from exc
        return parse_key(text, f"key file {path}")
    value = os.environ.get(env_var)
    if not value:
        raise KeyLoadError(f"no key: pass a key file or set {env_var}")
    return parse_key(value, f"environment variable {env_var}")
