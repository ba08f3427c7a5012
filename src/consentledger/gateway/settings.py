"""The gateway's settings, from ``CONSENTLEDGER_*`` environment variables (pydantic-settings).

Secrets (the relayer and regulator keys, the operator token, the subject key) are ``SecretStr``:
never logged, never echoed, never part of a repr. The environment is production unless
``CONSENTLEDGER_ENVIRONMENT=development`` is asked for: a production gateway refuses to start with a
missing operator token or subject key, or with one of the development values written below
(``consentledger serve`` generates both on its first start and keeps them in its data directory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from consentledger.chain.jsonrpc import chain_urls
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.relayer_keys import relayer_key_files
from consentledger.subject import parse_subject_key

#: The operator token a development gateway uses when none is set (refused in production).
DEVELOPMENT_ADMIN_TOKEN = "development-admin-token"  # noqa: S105 - refused outside development
#: The subject key (hex) a development gateway uses when none is set (refused in production).
DEVELOPMENT_SUBJECT_KEY = "0xf5028c098fc434ea1b276e8a428e031842bd793f383422f477c49e5d90a70744"
#: The secrets that are written in the source, by setting: a production gateway refuses them.
_DEVELOPMENT_SECRETS = {
    "admin_token": DEVELOPMENT_ADMIN_TOKEN,
    "subject_key": DEVELOPMENT_SUBJECT_KEY,
}


class SettingsError(ConsentLedgerError, ValueError):
    """Settings that cannot work (a missing key, a default secret in production, ...)."""

    code = "bad_settings"
    exit_code = 3


class BadChainUrlError(SettingsError):
    """The chain is neither ``embedded`` nor http(s) JSON-RPC URLs (comma-separated)."""

    code = "bad_chain_url"
    exit_code = 4

    def __init__(self, chain: str) -> None:
        self.chain = chain
        super().__init__(
            f"the chain {chain!r} is neither 'embedded' nor an http(s) JSON-RPC URL: "
            "pass --chain embedded or --chain http://HOST:PORT (CONSENTLEDGER_CHAIN; several "
            "nodes of one network comma-separated)"
        )


class RelayerKeyMissingError(SettingsError):
    """A gateway on a node without its relayer key."""

    code = "relayer_key_missing"
    exit_code = 6

    def __init__(self) -> None:
        super().__init__(
            "a gateway on a node needs its relayer key: set CONSENTLEDGER_RELAYER_KEY_FILE "
            "(or CONSENTLEDGER_RELAYER_KEY, or CONSENTLEDGER_RELAYER_KEY_DIR for several workers)"
        )


class DevelopmentSecretError(SettingsError):
    """Production mode without a secret of its own: missing, or the development value written in
    the source."""

    code = "development_secret_in_production"
    exit_code = 7

    def __init__(self, variable: str, *, missing: bool = False) -> None:
        self.variable = variable
        what = "is not set" if missing else "is the development value written in the source"
        super().__init__(
            f"production mode needs {variable} of your own: it {what} (consentledger serve "
            "generates one in its data directory); or set CONSENTLEDGER_ENVIRONMENT=development"
        )


def _plain(secret: str) -> str:
    """A secret as compared with the source's values (case and a hex prefix do not matter)."""
    return secret.strip().lower().removeprefix("0x")


class Settings(BaseSettings):
    """Everything the gateway needs to know, with safe defaults for development."""

    model_config = SettingsConfigDict(env_prefix="CONSENTLEDGER_", extra="ignore")

    #: "production" unless development is asked for explicitly: only development accepts the
    #: secrets written in the source (and uses them when none is set).
    environment: Literal["development", "production"] = "production"
    #: "embedded" (an in-process eth-tester chain, deployed at start), a JSON-RPC URL, or several
    #: nodes' URLs of one network, comma-separated (requests fail over between them in order).
    chain: str = "embedded"
    #: Keep the embedded chain in this directory (its block log, replayed and verified at start);
    #: unset, the embedded chain lives in memory and a fresh ledger is deployed at every start.
    chain_dir: Path | None = None
    rpc_token: SecretStr | None = None
    #: The deployment record (required with an RPC chain; written there in embedded mode).
    deployment_file: Path | None = None
    relayer_key: SecretStr | None = None
    relayer_key_file: Path | None = None
    #: A directory of relayer keys (``*.key``, one hex key each), instead of the one key above:
    #: each gateway worker claims one for its lifetime (see ``gateway/relayer_keys.py``).
    relayer_key_dir: Path | None = None
    #: Gateway worker processes ``consentledger serve`` runs on its one port (JSON-RPC chain
    #: only; each needs its own relayer key, so more than one needs CONSENTLEDGER_RELAYER_KEY_DIR).
    workers: int = Field(default=1, ge=1, le=64)
    #: The regulator's key, for the admin endpoints that need the regulator's role.
    regulator_key: SecretStr | None = None
    regulator_key_file: Path | None = None
    #: Required in production; development uses DEVELOPMENT_ADMIN_TOKEN when it is not set (the
    #: empty default is never kept: the validator below fills or refuses a missing value).
    admin_token: SecretStr = SecretStr("")
    #: Bearer token for the embedded chain's read-only JSON-RPC at /rpc (unset: /rpc is off).
    auditor_token: SecretStr | None = None
    #: Required in production; development uses DEVELOPMENT_SUBJECT_KEY when it is not set.
    subject_key: SecretStr = SecretStr("")
    #: The gateway's own database: journal, bank API keys, sign-in nonces.
    database_url: str = "sqlite:///consentledger-gateway.db"
    #: The bureau's data (see ``consentledger bureau seed``).
    bureau_database_url: str | None = None
    #: The host[:port] that sign-in messages (EIP-4361) must name.
    domain: str = "127.0.0.1:8000"
    batch_max_entries: int = Field(default=200, ge=1, le=1000)
    batch_max_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    #: Batches sent and not yet mined at once: the next is signed and sent while earlier ones
    #: wait for their blocks (1: one batch at a time).
    batch_max_in_flight: int = Field(default=4, ge=1, le=64)
    #: A batch transaction not mined this many seconds after it was sent is stuck: the relayer
    #: replaces it (same nonce, both fees +12.5 % or the node's current price, whichever is more).
    batch_stuck_after_s: float = Field(default=15.0, gt=0, le=3600)
    #: Blocks a batch's block must have above it before its reads are released: 0 on a chain
    #: with final blocks (QBFT, anvil, the embedded chain); on one that can reorganise (Clique),
    #: deeper than any reorganisation expected, so a read whose block is dropped is recorded
    #: again before it is released, never released unrecorded.
    confirmations: int = Field(default=0, ge=0, le=64)
    #: How many times a stuck batch is replaced; past that it is only broadcast again.
    batch_max_replacements: int = Field(default=5, ge=0, le=50)
    #: How long a read request waits for its batch to be mined; past it the answer is a 503
    #: ``outcome_pending`` (ask again with the same Idempotency-Key: the read stays journaled).
    read_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    #: Requests larger than this are refused with 413.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    #: A batch a source pushes (``/v1/feeds``) larger than this is refused with 413.
    feed_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    #: Failed API-key / operator-token / auditor-token authentications a client address may make
    #: per minute (a token bucket); past them, 429 with Retry-After.
    auth_failures_per_minute: int = Field(default=20, ge=1, le=10_000)
    #: Addresses (IPs or CIDRs, comma-separated) of the reverse proxies whose X-Forwarded-For and
    #: X-Forwarded-Proto are believed; unset, none are, and a client is its TCP peer's address.
    trusted_proxies: str = ""
    siwe_ttl_seconds: int = Field(default=300, ge=10, le=3600)
    #: Sign-in challenges (the one endpoint anyone may call that stores something) a client
    #: address may ask for per minute; past them, 429 with Retry-After.
    challenges_per_minute: int = Field(default=60, ge=1, le=10_000)
    #: Open (unexpired) sign-in challenges the gateway keeps at most; past them, 503 until some
    #: expire. Bounds what anonymous callers can make it store.
    max_open_challenges: int = Field(default=10_000, ge=1, le=10_000_000)
    #: How long an enterprise's session (``POST /v1/enterprises/{uscc}/sessions``) lasts, at
    #: most; it ends sooner when signed out.
    session_ttl_seconds: int = Field(default=1800, ge=60, le=12 * 3600)
    #: The longest a bank may give an enterprise to answer a consent request.
    consent_request_max_days: int = Field(default=30, ge=1, le=365)
    #: How long the journal keeps a released document (its salt and hash stay for good); asked
    #: for later, a read answers ``delivery_window_passed`` with its receipt.
    delivery_window_s: float = Field(default=86_400.0, gt=0, le=366 * 86_400)
    #: Pre-check reads on a state model the gateway keeps from the ledger's events (off: every
    #: read asks the chain's views first, as the model's denials and unknown consents do).
    live_precheck: bool = True
    #: How often the live model asks the chain for new blocks.
    #: Below this balance (wei) of the relayer key, /v1/health says "degraded" (default 0.05
    #: ether: a few hundred batches at a gwei or two).
    min_relayer_balance_wei: int = Field(default=5 * 10**16, ge=0)
    live_poll_interval_s: float = Field(default=0.25, gt=0, le=3600)
    #: A live model that has not reached the chain's head for this long is behind: reads are
    #: pre-checked on the chain's views until it catches up.
    live_max_lag_s: float = Field(default=3.0, gt=0, le=3600)
    #: Send webhooks (the live model gathers the chain's events whether or not reads are
    #: pre-checked on it).
    webhooks: bool = True
    #: Allow ``http://`` webhook targets on this machine's loopback (development only: refused in
    #: production, where every target is https to a public address).
    webhook_allow_loopback_http: bool = False
    #: How often the dispatcher looks for deliveries that are due.
    webhook_poll_interval_s: float = Field(default=0.5, gt=0, le=60)
    #: The whole exchange with a receiver (connect, send, answer) must fit in this time.
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    #: Attempts of a delivery before it is dead (kept, for a redelivery on request).
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    #: The first retry's delay; each further one doubles, up to ``webhook_backoff_max_s``, and
    #: is cut by a random part of up to half (jitter).
    webhook_backoff_base_s: float = Field(default=5.0, gt=0, le=3600)
    webhook_backoff_max_s: float = Field(default=3600.0, gt=0, le=86_400)
    #: Once started, freeze the heap for the garbage collector and collect the young generation
    #: less often (:func:`consentledger.gcpause.settle_heap`): for a server process. Off where
    #: gateways start and stop inside one process (the tests), whose frozen objects would stay.
    settle_heap: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_source_secrets_outside_development(cls, data: Any) -> Any:
        """Development fills a missing operator token or subject key with the value written
        above; production refuses a missing one and a value written in the source."""
        if not isinstance(data, dict):
            return data
        development = data.get("environment", "production") == "development"
        for field, value in _DEVELOPMENT_SECRETS.items():
            given = data.get(field)
            text = given.get_secret_value() if isinstance(given, SecretStr) else given
            text = text or None
            if development:
                if text is None:
                    data = {**data, field: value}
            elif text is None:
                raise DevelopmentSecretError(f"CONSENTLEDGER_{field.upper()}", missing=True)
            elif _plain(str(text)) == _plain(value):
                raise DevelopmentSecretError(f"CONSENTLEDGER_{field.upper()}")
        return data

    @model_validator(mode="after")
    def _settings_that_work(self) -> Settings:
        parse_subject_key(self.subject_key.get_secret_value(), "CONSENTLEDGER_SUBJECT_KEY")
        if len(self.admin_token.get_secret_value()) < 16:
            raise ValueError("CONSENTLEDGER_ADMIN_TOKEN must be at least 16 characters")
        if self.webhook_allow_loopback_http and self.environment != "development":
            raise ValueError(
                "CONSENTLEDGER_WEBHOOK_ALLOW_LOOPBACK_HTTP is for development only: production "
                "webhooks go over https"
            )
        if self.chain != "embedded" and not all(
            url.startswith(("http://", "https://")) for url in chain_urls(self.chain) or [""]
        ):
            raise BadChainUrlError(self.chain)
        if self.relayer_key_dir is not None and (self.relayer_key or self.relayer_key_file):
            raise ValueError(
                "set either CONSENTLEDGER_RELAYER_KEY_DIR or the one relayer key, not both"
            )
        if self.chain_dir is not None:
            if not self.embedded:
                raise ValueError("CONSENTLEDGER_CHAIN_DIR is for the embedded chain only")
            # Generated keys and a record kept nowhere would not survive the restart.
            missing = [
                name
                for name, given in [
                    ("CONSENTLEDGER_DEPLOYMENT_FILE", self.deployment_file),
                    (
                        "CONSENTLEDGER_RELAYER_KEY(_FILE|_DIR)",
                        self.relayer_key or self.relayer_key_file or self.relayer_key_dir,
                    ),
                    (
                        "CONSENTLEDGER_REGULATOR_KEY(_FILE)",
                        self.regulator_key or self.regulator_key_file,
                    ),
                ]
                if given is None
            ]
            if missing:
                raise ValueError(f"CONSENTLEDGER_CHAIN_DIR needs {', '.join(missing)} too")
        return self

    @property
    def embedded(self) -> bool:
        return self.chain == "embedded"

    def check_workers(self) -> None:
        """Refuse a worker count these settings cannot serve (:class:`SettingsError`)."""
        if self.workers == 1:
            return
        if self.embedded:
            raise SettingsError(
                f"{self.workers} workers need a JSON-RPC chain: the embedded chain lives in one "
                "process (set CONSENTLEDGER_CHAIN to a node's URL, or run one worker)"
            )
        if self.relayer_key_dir is None:
            raise SettingsError(
                f"{self.workers} workers need a relayer key each: set "
                "CONSENTLEDGER_RELAYER_KEY_DIR to a directory of at least that many *.key files"
            )
        keys = len(relayer_key_files(self.relayer_key_dir))
        if keys < self.workers:
            raise SettingsError(
                f"{self.workers} workers need a relayer key each, and {self.relayer_key_dir} "
                f"holds {keys} *.key files"
            )


def load_settings(**given: Any) -> Settings:
    """:class:`Settings` from ``given`` and the environment; a refusal raises the project's own
    error (its code and what to do), never pydantic's many-line report."""
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, ConsentLedgerError):
            raise cause from None
        where = "_".join(str(part) for part in first["loc"]).upper()
        name = f"CONSENTLEDGER_{where}" if where else "the settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
