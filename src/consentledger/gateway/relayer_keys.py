"""One relayer key per gateway worker, claimed from a key directory for the worker's lifetime.

Several gateway workers share one journal and one ledger, but a relayer key has one nonce
sequence and one query id range, so each worker signs with its own key. The keys are the
``*.key`` files of a directory (``CONSENTLEDGER_RELAYER_KEY_DIR``, one hex private key each). A
worker claims the first key whose lock file (``<name>.key.lock``, beside it) it can lock
exclusively (``flock``); the lock is held for as long as the worker lives, and the kernel releases
it when the worker's process ends, however it ends, so a restarted worker claims a key again.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr

from consentledger.errors import ConsentLedgerError
from consentledger.files import open_no_follow
from consentledger.keys import load_key, parse_key


class NoFreeRelayerKeyError(ConsentLedgerError, RuntimeError):
    """Every relayer key of the directory is claimed by a running worker (or there is none)."""

    code = "no_free_relayer_key"
    exit_code = 13


def relayer_key_files(directory: Path) -> list[Path]:
    """The key files of a relayer key directory, in name order."""
    return sorted(p for p in directory.glob("*.key") if p.is_file())


@dataclass
class RelayerKeyClaim:
    """A relayer key this process holds exclusively until :meth:`release` (or its end)."""

    account: LocalAccount
    path: Path
    _descriptor: int | None = field(default=None, repr=False)

    def release(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)  # closing the only descriptor drops the flock

    def __del__(self) -> None:
        # A claim dropped without release (a start that failed after claiming) frees its key.
        self.release()


def claim_relayer_key(directory: Path) -> RelayerKeyClaim:
    """Claim the first free key of ``directory``; :class:`NoFreeRelayerKeyError` if none is."""
    files = relayer_key_files(directory)
    if not files:
        raise NoFreeRelayerKeyError(f"the relayer key directory {directory} holds no *.key file")
    for path in files:
        lock = path.with_name(path.name + ".lock")
        descriptor = open_no_follow(lock, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        try:
            account = load_key(path, "CONSENTLEDGER_RELAYER_KEY_DIR")
        except BaseException:
            os.close(descriptor)
            raise
        return RelayerKeyClaim(account, path, descriptor)
    raise NoFreeRelayerKeyError(
        f"all {len(files)} relayer keys in {directory} are claimed by running gateway workers: "
        "add a key (with the bureau role) or run fewer workers"
    )


def new_relayer_key_file(directory: Path) -> LocalAccount:
    """Create a fresh relayer key in ``directory`` (mode 0600), named after its address."""
    account: LocalAccount = Account.create()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{account.address}.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("0x" + bytes(account.key).hex())
        handle.flush()
        os.fsync(handle.fileno())
    return account


def relayer_account(
    key: SecretStr | None, key_file: Path | None, key_dir: Path | None
) -> tuple[LocalAccount | None, RelayerKeyClaim | None]:
    """The worker's relayer key from its settings: the one key (as before), or one claimed from
    the key directory (with its claim, to release at shutdown). None when none is configured."""
    if key_dir is not None:
        claim = claim_relayer_key(key_dir)
        return claim.account, claim
    if key is not None:
        return parse_key(key.get_secret_value(), "the setting CONSENTLEDGER_RELAYER_KEY"), None
    if key_file is not None:
        return load_key(key_file, "CONSENTLEDGER_RELAYER_KEY"), None
    return None, None
