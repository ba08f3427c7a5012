"""``consentledger serve``: the gateway as a service, with everything it keeps in one directory.

The data directory (mode 0700; everything ``serve`` writes is private to its user, umask 077) holds
the operator token and the subject key, generated on the first start unless the environment gives
them (``keys/admin.token``, ``keys/subject.key``, mode 0600). On the embedded chain it also holds
the chain's block log (``chain/``), the relayer and regulator keys generated on the first start
(``keys/``, mode 0600), the deployment record, the journal
(``gateway.db``) and, unless another is configured, the bureau's database (``bureau.db``). A
restart replays and verifies the chain and rejoins the same ledger; nothing acknowledged is lost.
With a node URL, the deployment record and the relayer key must be given; the relayer keys of
several workers (``--workers``) can be kept in ``keys/relayers/`` (one ``*.key`` file each, each
funded and holding the bureau role: ``consentledger deploy --relayer ADDRESS``, once per key).

Settings given in the environment (``CONSENTLEDGER_*``) win over these defaults.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from eth_account import Account
from pydantic import SecretStr

from consentledger.gateway.settings import Settings, load_settings

KEYS = "keys"
#: On a node, the relayer keys of several workers, if the operator put them in the data directory.
RELAYER_KEYS = f"{KEYS}/relayers"


#: What ``serve``'s process creates is readable and writable by its user only.
PRIVATE_UMASK = 0o077


def private_data_dir(data_dir: Path) -> bool:
    """Create ``data_dir`` with mode 0700, or take group and other access away from an existing
    one; True if an existing directory was tightened."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = data_dir.stat().st_mode & 0o777
    if mode & 0o077:
        data_dir.chmod(mode & 0o700)
        return True
    return False


def _secret_file(path: Path, make: str) -> Path:
    """``path``, created with ``make`` (mode 0600, fsynced) if it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make)
            handle.flush()
            os.fsync(handle.fileno())
    return path


def serve_settings(
    chain: str,
    data_dir: Path,
    workers: int | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> tuple[Settings, list[str]]:
    """The settings ``serve`` runs with, and notes for the operator (never a secret's value).
    ``workers`` (``--workers``) wins over CONSENTLEDGER_WORKERS; more than one is refused with
    :class:`SettingsError` unless the chain is a node and there is a relayer key per worker."""
    env = os.environ
    notes: list[str] = []
    if private_data_dir(data_dir):
        notes.append(f"{data_dir} was open to other users: it is now 0700")
    given: dict[str, Any] = {"chain": chain}
    if workers is not None:
        given["workers"] = workers

    def default(field: str, value: object) -> None:
        if f"CONSENTLEDGER_{field.upper()}" not in env:
            given[field] = value

    # The sign-in domain and the receipts' gateway: where this gateway listens, unless set.
    default("domain", f"{host}:{port}")
    default("database_url", f"sqlite:///{data_dir / 'gateway.db'}")
    default("bureau_database_url", f"sqlite:///{data_dir / 'bureau.db'}")
    default("deployment_file", data_dir / "deployment.json")
    keys = data_dir / KEYS
    secrets_made = {
        "admin_token": ("admin.token", secrets.token_urlsafe(32), "the operator token"),
        "subject_key": ("subject.key", "0x" + secrets.token_hex(32), "the subject key"),
    }
    for field, (name, fresh, what) in secrets_made.items():
        if f"CONSENTLEDGER_{field.upper()}" not in env:
            secret_file = _secret_file(keys / name, fresh)
            given[field] = secret_file.read_text().strip()
            notes.append(f"{what} is in {secret_file}")
    if chain == "embedded":
        default("chain_dir", data_dir / "chain")
        for role in ("relayer", "regulator"):
            if not {
                f"CONSENTLEDGER_{role.upper()}_KEY",
                f"CONSENTLEDGER_{role.upper()}_KEY_FILE",
            } & set(env):
                key = "0x" + bytes(Account.create().key).hex()
                given[f"{role}_key_file"] = _secret_file(keys / f"{role}.key", key)
        if "CONSENTLEDGER_AUDITOR_TOKEN" not in env:
            token_file = _secret_file(keys / "auditor.token", secrets.token_urlsafe(32))
            given["auditor_token"] = token_file.read_text().strip()
            notes.append(f"the /rpc auditor token is in {token_file}")
    elif (data_dir / RELAYER_KEYS).is_dir() and not {
        f"CONSENTLEDGER_RELAYER_KEY{suffix}" for suffix in ("", "_FILE", "_DIR")
    } & set(env):
        given["relayer_key_dir"] = data_dir / RELAYER_KEYS
    if not Path(str(given.get("bureau_database_url", "")).removeprefix("sqlite:///")).exists():
        notes.append(
            f"the bureau has no data yet: consentledger bureau seed --db "
            f"sqlite:///{data_dir / 'bureau.db'}"
        )
    settings = load_settings(**given)
    settings.check_workers()
    return settings, notes


#: How long uvicorn's supervisor waits for a worker to answer its health check before it kills
#: and replaces the worker. uvicorn's 5 s is shorter than a fresh worker interpreter takes to
#: start on a loaded machine: workers were killed while starting, again and again, and the
#: gateway never served. A hung worker is still replaced, after this long.
WORKER_HEALTHCHECK_TIMEOUT_S = 60


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves ``settings``: forwarded headers are believed from the configured
    proxies only (uvicorn's own default believes them from 127.0.0.1, so anything on the machine
    could name any client address and step around the failed-authentication throttle); workers
    get :data:`WORKER_HEALTHCHECK_TIMEOUT_S` to answer the supervisor."""
    options: dict[str, Any] = {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_TIMEOUT_S}
    trusted = ",".join(part.strip() for part in settings.trusted_proxies.split(",") if part.strip())
    if not trusted:
        return {**options, "proxy_headers": False, "forwarded_allow_ips": ""}
    return {**options, "proxy_headers": True, "forwarded_allow_ips": trusted}


def worker_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as CONSENTLEDGER_* variables, for worker processes that build their own
    :class:`Settings` from the environment (uvicorn's workers start a fresh interpreter)."""
    exported: dict[str, str] = {}
    for name in sorted(settings.model_fields_set):
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        exported[f"CONSENTLEDGER_{name.upper()}"] = str(value)
    return exported
