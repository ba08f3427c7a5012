"""Everything a running gateway holds: the chain, its clients, the bureau, the journal, the relayer.

Built once at start (:meth:`GatewayContext.start`) and closed at shutdown. With the embedded chain
the gateway deploys a fresh ledger in process; with an RPC URL it joins the deployment named in the
deployment file and checks that the code there is ours.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.providers.rpc import HTTPProvider

from consentledger.bureau.store import BureauStore
from consentledger.bureau.uscc import parse_uscc
from consentledger.chain.client import LedgerClient, Mined
from consentledger.chain.clock import BlockClock, wall_clock
from consentledger.chain.deploy import Deployment, deploy_ledger, verify_deployment
from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import (
    ChainUnavailableError,
    JsonRpcProvider,
    chain_urls,
    http_json_rpc,
)
from consentledger.chain.relayer import SEQUENCE_MASK, BatchRelayer, ChainRunner
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.banks import VerifiedKeys
from consentledger.gateway.chain_events import ChainEvents
from consentledger.gateway.consent_requests import RequestExpirySweeper
from consentledger.gateway.db import Database
from consentledger.gateway.delivery_window import DocumentSweeper
from consentledger.gateway.journal_store import Journal, reconcile
from consentledger.gateway.journal_writer import JournalWriter
from consentledger.gateway.live_ledger import LiveLedger, open_live_ledger
from consentledger.gateway.metrics import GatewayMetrics
from consentledger.gateway.pagination import Cursors
from consentledger.gateway.relayer_keys import RelayerKeyClaim, relayer_account
from consentledger.gateway.settings import RelayerKeyMissingError, Settings, SettingsError
from consentledger.gateway.webhook_dispatcher import WebhookDispatcher
from consentledger.keys import load_key, parse_key
from consentledger.ledger.types import ROLE_BUREAU
from consentledger.subject import parse_subject_key, receipt_salt, subject_id

log = logging.getLogger(__name__)
T = TypeVar("T")
#: How far in the past a new embedded chain starts: its set-up blocks fit before the wall clock.
SETUP_LEAD_S = 60


def _key(settings_value: object, path: Path | None, env_var: str) -> LocalAccount | None:
    """A key from a SecretStr setting or a key file; None when neither is set."""
    secret = getattr(settings_value, "get_secret_value", None)
    if secret is not None:
        return parse_key(secret(), f"the setting {env_var}")
    if path is not None:
        return load_key(path, env_var)
    return None


def _rejoin(
    chain: EmbeddedChain,
    settings: Settings,
    relayer_key: LocalAccount | None,
    regulator_key: LocalAccount | None,
) -> tuple[Deployment, LocalAccount, LedgerClient | None]:
    """The ledger on a kept embedded chain that was re-opened: the one its record names."""
    try:
        # The settings require both with a chain directory.
        if settings.deployment_file is None or relayer_key is None:
            raise SettingsError(
                "set CONSENTLEDGER_DEPLOYMENT_FILE and the relayer key with CONSENTLEDGER_CHAIN_DIR"
            )
        deployment = Deployment.load(settings.deployment_file)
        verify_deployment(chain.w3, deployment)
    except ConsentLedgerError as exc:
        chain.close()
        raise SettingsError(
            f"the chain in {settings.chain_dir} holds {chain.w3.eth.block_number} blocks, but its "
            f"deployment record cannot be used: {exc}"
        ) from exc
    regulator = LedgerClient(chain.w3, deployment.address, regulator_key) if regulator_key else None
    return deployment, relayer_key, regulator


def _node(settings: Settings) -> Web3:
    """A Web3 on the settings' JSON-RPC node (with its bearer token, if one is set); on several
    nodes' URLs, one that fails over between them (the transport the ledger clients then use)."""
    if len(chain_urls(settings.chain)) > 1:
        token = settings.rpc_token.get_secret_value() if settings.rpc_token else None
        return Web3(JsonRpcProvider(http_json_rpc(settings.chain, token)))
    request_kwargs: dict[str, object] = {"timeout": 30}
    if settings.rpc_token is not None:
        request_kwargs["headers"] = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {settings.rpc_token.get_secret_value()}",
        }
    return Web3(HTTPProvider(settings.chain, request_kwargs=request_kwargs))


def _reach(w3: Web3, url: str) -> None:
    """Ask the node its chain id once: an unreachable node is refused at start, in one line."""
    try:
        w3.eth.chain_id  # noqa: B018 - the question is the point
    except (OSError, requests.RequestException, Web3Exception) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ChainUnavailableError(
            f"cannot reach the node at {url} ({reason}): start it (consentledger node) "
            "or give the right --chain (CONSENTLEDGER_CHAIN)"
        ) from None


@dataclass
class GatewayContext:
    settings: Settings
    w3: Web3
    chain: EmbeddedChain | None
    deployment: Deployment
    #: The chain client that signs with the relayer key (the bureau's role on the ledger).
    ledger: LedgerClient
    regulator: LedgerClient | None
    runner: ChainRunner
    #: The bureau's data store (what reads release).
    bureau: BureauStore
    db: Database
    journal: Journal
    journal_writer: JournalWriter
    relayer: BatchRelayer
    subject_key: bytes
    #: SHA-256 of the operator token: the token itself is not kept.
    admin_token_hash: bytes
    #: The ledger's state followed from its events, for the read pre-check (None: turned off).
    live: LiveLedger | None = None
    #: The relayer key this worker claimed from CONSENTLEDGER_RELAYER_KEY_DIR (None: one key).
    key_claim: RelayerKeyClaim | None = None
    #: The app's Prometheus metrics, once the app has started (None outside an app).
    metrics: GatewayMetrics | None = None
    #: Bank API keys already verified by this process (forgotten when rotated or revoked).
    verified_keys: VerifiedKeys = field(default_factory=VerifiedKeys)
    #: Deletes released documents past the delivery window (None: not started).
    sweeper: DocumentSweeper | None = None
    #: Sends the outbox's webhooks (None: webhooks off, or not started).
    dispatcher: WebhookDispatcher | None = None
    #: Expires unanswered consent requests (None: not started).
    request_sweeper: RequestExpirySweeper | None = None

    @property
    def precheck(self) -> LiveLedger | None:
        """The live model when reads are pre-checked on it (None: they ask the chain's views)."""
        return self.live if self.settings.live_precheck else None

    @functools.cached_property
    def cursors(self) -> Cursors:
        """Issues and checks the list endpoints' cursors (keyed from the subject key)."""
        return Cursors.from_secret(self.subject_key)

    @staticmethod
    def check(settings: Settings) -> None:
        """What every worker of ``serve --workers`` needs, checked once before they start: the
        bureau holds data, the deployment record loads, the node answers."""
        settings.check_workers()
        BureauStore.open(settings.bureau_database_url, must_exist=True).close()
        if not settings.embedded:
            if settings.deployment_file is None:
                raise SettingsError("set CONSENTLEDGER_DEPLOYMENT_FILE for a JSON-RPC chain")
            Deployment.load(settings.deployment_file)
            _reach(_node(settings), settings.chain)

    @classmethod
    def build(cls, settings: Settings) -> GatewayContext:
        """Connect (or deploy, on the embedded chain) and open the databases. Blocking."""
        settings.check_workers()
        # The bureau first: a gateway with nothing to serve is refused before the chain opens.
        BureauStore.open(settings.bureau_database_url, must_exist=True).close()
        relayer_key, key_claim = relayer_account(
            settings.relayer_key, settings.relayer_key_file, settings.relayer_key_dir
        )
        regulator_key = _key(
            settings.regulator_key, settings.regulator_key_file, "CONSENTLEDGER_REGULATOR_KEY"
        )
        chain: EmbeddedChain | None = None
        regulator: LedgerClient | None
        if settings.embedded:
            # A new chain is set up on the steady clock a minute in the past, then follows the
            # wall clock: setting up mines more blocks than seconds pass (``chain/clock.py``).
            set_up_from = wall_clock() - SETUP_LEAD_S
            if settings.chain_dir is None:
                chain = EmbeddedChain(clock=BlockClock.STEADY, genesis_timestamp=set_up_from)
            else:  # replayed and verified; a log that does not replay refuses the start
                chain = EmbeddedChain.open(
                    settings.chain_dir, genesis_timestamp=set_up_from, clock=BlockClock.STEADY
                )
            w3 = chain.w3
            if w3.eth.block_number > 0:  # a kept chain: its ledger is deployed already
                chain.set_clock(BlockClock.WALL)
                deployment, relayer_key, regulator = _rejoin(
                    chain, settings, relayer_key, regulator_key
                )
            else:
                regulator_key = regulator_key or chain.new_account()
                relayer_key = relayer_key or chain.new_account()
                chain.fund(regulator_key.address)
                chain.fund(relayer_key.address)
                deployment, regulator = deploy_ledger(
                    w3, regulator_key, relayers=[relayer_key.address]
                )
                chain.set_clock(BlockClock.WALL)
                if settings.deployment_file is not None:
                    deployment.save(settings.deployment_file)
        else:
            if relayer_key is None:
                raise RelayerKeyMissingError()
            if settings.deployment_file is None:
                raise SettingsError("set CONSENTLEDGER_DEPLOYMENT_FILE for a JSON-RPC chain")
            w3 = _node(settings)
            _reach(w3, settings.chain)
            deployment = Deployment.load(settings.deployment_file)
            verify_deployment(w3, deployment)
            regulator = (
                LedgerClient(w3, deployment.address, regulator_key) if regulator_key else None
            )
        ledger = LedgerClient(w3, deployment.address, relayer_key)
        if not ledger.has_role(ROLE_BUREAU, relayer_key.address):
            if chain is not None:
                chain.close()
            raise SettingsError(
                f"the relayer key {relayer_key.address} does not hold the bureau role on the ledger"
            )
        db = Database(settings.database_url)
        journal = Journal(db, relayer_key.address)
        runner = ChainRunner()
        relayer = BatchRelayer(
            ledger,
            runner,
            journal,
            max_entries=settings.batch_max_entries,
            max_wait=settings.batch_max_wait_ms / 1000,
            stuck_after=settings.batch_stuck_after_s,
            max_replacements=settings.batch_max_replacements,
            read_timeout=settings.read_timeout_s,
            max_in_flight=settings.batch_max_in_flight,
            confirmations=settings.confirmations,
        )
        return cls(
            settings=settings,
            w3=w3,
            chain=chain,
            deployment=deployment,
            ledger=ledger,
            regulator=regulator,
            runner=runner,
            bureau=BureauStore.open(settings.bureau_database_url, must_exist=True),
            db=db,
            journal=journal,
            journal_writer=JournalWriter(journal),
            relayer=relayer,
            subject_key=parse_subject_key(
                settings.subject_key.get_secret_value(), "CONSENTLEDGER_SUBJECT_KEY"
            ),
            admin_token_hash=hashlib.sha256(
                settings.admin_token.get_secret_value().encode()
            ).digest(),
            live=open_live_ledger(
                settings, chain, deployment, ChainEvents(db) if settings.webhooks else None
            ),
            key_claim=key_claim,
        )

    async def start(self) -> None:
        """Settle what a previous run left open, then start the relayer."""
        # A batch not mined within the stuck time is left open and watched by the relayer, so a
        # node that does not mine delays the start by that much, not indefinitely.
        report = await self.on_chain(
            reconcile, self.journal, self.ledger, self.settings.batch_stuck_after_s
        )
        if report.granted or report.denied or report.failed or report.still_open:
            log.warning("journal reconciled at start: %s", report)
        # The relayer counts its own nonces: after the chain's count, and after every batch the
        # journal still holds open (sent, maybe in some node's pool, not mined yet).
        held = [batch.candidates[0].nonce for batch in report.open_batches]
        await self.on_chain(self.ledger.resume_nonce, max(held, default=None))
        chain_last = await self.on_chain(self.ledger.last_query_id, self.ledger.account.address)
        # Both as sequences (the chain answers a whole query id): a batch still open after the
        # restart has ids above the chain's last, and the next batch must come after it.
        self.relayer.start(
            after_sequence=max(chain_last & SEQUENCE_MASK, self.journal.last_sequence())
        )
        for batch in report.open_batches:  # not mined yet, nonce free: watched until settled
            self.relayer.adopt(batch.candidates, batch.journal_ids)
        self.journal_writer.start()
        if self.settings.webhooks:
            self.dispatcher = WebhookDispatcher(self.db, self.settings)
            self.dispatcher.start()
        if self.live is not None:
            if self.dispatcher is not None:
                self.live.on_published = self.dispatcher.wake
            self.live.start(self.chain_read)
        self.sweeper = DocumentSweeper(self.db, self.settings.delivery_window_s)
        self.sweeper.start()
        self.request_sweeper = RequestExpirySweeper(self.db, self.subject_key)
        self.request_sweeper.start()

    async def stop(self) -> None:
        if self.request_sweeper is not None:
            await self.request_sweeper.stop()
        if self.sweeper is not None:
            await self.sweeper.stop()
        if self.live is not None:
            await self.live.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        await self.journal_writer.stop()
        await self.relayer.stop()
        self.runner.close()
        if self.chain is not None:
            self.chain.close()  # a kept chain lets go of its directory
        self.bureau.close()
        self.db.close()
        if self.key_claim is not None:
            self.key_claim.release()

    async def on_chain(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking chain call on the chain thread."""
        return await self.runner.run(fn, *args)

    async def chain_read(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking chain read: on the chain thread for the embedded chain (eth-tester is
        not thread-safe), on any worker thread for a node, so reads never queue behind the
        relayer's batches."""
        if self.chain is not None:
            return await self.runner.run(fn, *args)
        return await asyncio.to_thread(fn, *args)

    async def in_thread(self, fn: Callable[..., T], *args: object) -> T:
        """Run blocking database or bureau work off the event loop."""
        return await asyncio.to_thread(fn, *args)

    async def transact(self, fn_name: str, *args: object) -> Mined:
        """Send ``fn_name(*args)`` (a contract function) with the relayer key and wait for it.

        Signing and sending happen under the relayer's send lock, in order with its batches (one
        writer per key); waiting for the receipt does not hold the lock. A contract refusal
        raises LedgerRevertError before anything is sent. The wait is a chain read
        (:meth:`chain_read`): on a node it polls from a worker thread, so concurrent actions
        wait for their blocks together instead of one after another on the chain thread, in
        front of the relayer's batches."""
        async with self.relayer.send_lock:
            tx_hash = await self.runner.run(self.ledger.send, fn_name, *args)
        return await self.chain_read(self.ledger.wait, tx_hash)

    def subject_of(self, uscc: str) -> bytes:
        """The subject id of a USCC (validated first: a bad code raises InvalidUSCCError)."""
        return subject_id(parse_uscc(uscc).code, self.subject_key)

    def receipt_salt_of(self, subject: bytes, nonce: int) -> bytes:
        """The salt of the receipt a consent of ``subject`` with ``nonce`` commits to."""
        return receipt_salt(subject, nonce, self.subject_key)
