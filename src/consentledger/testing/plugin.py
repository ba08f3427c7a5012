"""The pytest plugin (entry point ``pytest11``: installing the package registers it).

Fixtures a test composes in a few lines, at two levels:

- the ledger on eth-tester, without HTTP: ``ledger`` (a :class:`~consentledger.testing.world.World`:
  the deployed contract, the regulator's and the bureau's clients, the state model kept in step),
  ``regulator``, ``bank`` / ``new_bank`` (admitted keys that sign their reads), ``read_signer``,
  ``enterprise`` / ``new_enterprise`` (k-of-n controllers), ``consent`` (grant one),
  ``read`` (record one signed read, get the chain's decision) and ``time_travel``. The contract
  is deployed once per session; each test runs in a snapshot that is reverted after it.
- the gateway: ``ledger_gateway``, a started gateway app on its own embedded chain with a seeded
  bureau, and the typed client (:mod:`consentledger.client`) over it in process.

``audit`` runs the auditor over either and fails the test on any finding.

Heavy imports happen inside the fixtures, so the plugin costs nothing to a test run that does not
use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from consentledger.audit.runner import AuditResult
    from consentledger.categories import Category, Purpose
    from consentledger.chain.client import LedgerClient
    from consentledger.chain.read_signer import BankReadSigner
    from consentledger.ledger.types import Decision
    from consentledger.testing.gateway import TestGateway
    from consentledger.testing.world import Enterprise, World

DAY = 86_400
#: Synthetic enterprises in the plugin's bureau (the showcase's come on top).
BUREAU_ENTERPRISES = 25


class NewEnterprise(Protocol):
    def __call__(
        self, controllers: int = 1, threshold: int = 1, name: str | None = None
    ) -> Enterprise: ...


class GrantConsent(Protocol):
    def __call__(
        self,
        enterprise: Enterprise,
        bank: LocalAccount | str,
        *,
        categories: Sequence[Category] = ...,
        purpose: Purpose = ...,
        days: int = 30,
        max_reads: int = 0,
        history_months: int = 12,
        signers: Sequence[LocalAccount] | None = None,
    ) -> bytes: ...


class RecordRead(Protocol):
    def __call__(
        self,
        consent_id: bytes,
        bank: LocalAccount | str,
        *,
        categories: Sequence[Category] = ...,
        purpose: Purpose = ...,
        history_months: int = 12,
    ) -> Decision: ...


class RunAudit(Protocol):
    def __call__(self, target: World | TestGateway, *, clean: bool = True) -> AuditResult: ...


# ---------------------------------------------------------------------- the ledger, no HTTP


@pytest.fixture(scope="session")
def ledger_session() -> World:
    """The session's deployment on eth-tester: deployed and seeded once, with the regulator, the
    bureau's relayer, two banks and two enterprises (``solo`` 1-of-1, ``board`` 2-of-3)."""
    from consentledger.chain.clock import BlockClock
    from consentledger.chain.embedded import EmbeddedChain
    from consentledger.testing.world import build_world

    return build_world(EmbeddedChain(clock=BlockClock.STEADY))


@pytest.fixture
def ledger(ledger_session: World) -> Iterator[World]:
    """The session's deployment, returned to its starting state after the test (a snapshot
    reverted: nothing a test does is seen by the next)."""
    with ledger_session.isolated() as world:
        yield world


@pytest.fixture
def regulator(ledger: World) -> LedgerClient:
    """The regulator's client of the ledger (admits banks, suspends them, governs registries)."""
    return ledger.regulator


@pytest.fixture
def new_bank(ledger: World) -> Callable[[], LocalAccount]:
    """Make a bank: a fresh funded key admitted on the chain and in the model."""
    return ledger.new_bank


@pytest.fixture
def bank(new_bank: Callable[[], LocalAccount]) -> LocalAccount:
    """One bank, admitted; its key signs its reads."""
    return new_bank()


@pytest.fixture
def read_signer(ledger: World) -> Callable[[LocalAccount], BankReadSigner]:
    """The read signer of a bank's key: it signs the bank's EIP-712 ``ReadRequest``s as the
    typed client sends them (reading the chain's time and the consent's terms from the ledger)."""
    from consentledger.chain.client import LedgerClient
    from consentledger.chain.read_signer import BankReadSigner

    def signer(key: LocalAccount) -> BankReadSigner:
        return BankReadSigner(key, LedgerClient(ledger.chain.w3, ledger.deployment.address, key))

    return signer


@pytest.fixture
def new_enterprise(ledger: World) -> NewEnterprise:
    """Register an enterprise with ``controllers`` fresh keys of which ``threshold`` sign."""
    numbers = itertools.count(1)

    def register(controllers: int = 1, threshold: int = 1, name: str | None = None) -> Enterprise:
        return ledger.new_enterprise(name or f"enterprise-{next(numbers)}", controllers, threshold)

    return register


@pytest.fixture
def enterprise(new_enterprise: NewEnterprise) -> Enterprise:
    """One enterprise with one controller."""
    return new_enterprise()


@pytest.fixture
def consent(ledger: World) -> GrantConsent:
    """Grant a consent signed by the enterprise's first k controllers (or ``signers``), on the
    chain and in the model; returns its id. Default terms: business registration and social
    insurance, credit underwriting, from now for 30 days, the purpose's read cap, 12 months of
    history."""
    from consentledger.categories import Category, Purpose

    def grant(
        enterprise: Enterprise,
        bank: LocalAccount | str,
        *,
        categories: Sequence[Category] = (
            Category.BUSINESS_REGISTRATION,
            Category.SOCIAL_INSURANCE,
        ),
        purpose: Purpose = Purpose.CREDIT_UNDERWRITING,
        days: int = 30,
        max_reads: int = 0,
        history_months: int = 12,
        signers: Sequence[LocalAccount] | None = None,
    ) -> bytes:
        terms = ledger.terms(
            enterprise,
            bank,
            categories=categories,
            purpose=purpose,
            expires_at=ledger.now() + days * DAY,
            max_reads=max_reads,
            history_months=history_months,
        )
        document = ledger.bureau.consent_document(terms)
        signatures = enterprise.sign(document, signers) if signers is not None else None
        return ledger.grant(terms, signatures, enterprise)

    return grant


@pytest.fixture
def read(ledger: World) -> RecordRead:
    """Record one read as the bureau does, signed by the bank (its EIP-712 ``ReadRequest``);
    returns the chain's decision (``.granted``, ``.reason``), which the model predicted too."""
    from consentledger.categories import Category, Purpose

    def record(
        consent_id: bytes,
        bank: LocalAccount | str,
        *,
        categories: Sequence[Category] = (Category.BUSINESS_REGISTRATION,),
        purpose: Purpose = Purpose.CREDIT_UNDERWRITING,
        history_months: int = 12,
    ) -> Decision:
        entry = ledger.entry(
            consent_id, bank, categories=categories, purpose=purpose, history_months=history_months
        )
        return ledger.record([entry]).decisions[0]

    return record


@pytest.fixture
def time_travel(ledger: World) -> Callable[[int], None]:
    """Move the ledger's clock ``seconds`` ahead (an empty block at that time)."""
    return ledger.travel


# ---------------------------------------------------------------------- the gateway


@pytest.fixture(scope="session")
def ledger_bureau_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bureau database seeded once per session (the showcase and synthetic enterprises)."""
    from consentledger.testing.gateway import seeded_bureau

    return seeded_bureau(tmp_path_factory.mktemp("consentledger-bureau"), BUREAU_ENTERPRISES)


@pytest.fixture
def ledger_gateway(tmp_path: Path, ledger_bureau_url: str) -> Iterator[TestGateway]:
    """A gateway started on a fresh embedded chain (development mode: the operator token of the
    source), its journal in the test's ``tmp_path``, the session's bureau; the typed client over
    it in process (``.api``, ``.operator``, ``.client_of(bank)``, ``.enterprise_client(...)``)."""
    from consentledger.testing.gateway import running_gateway

    with running_gateway(tmp_path, ledger_bureau_url, environment="development") as gateway:
        yield gateway


# ---------------------------------------------------------------------- the auditor


@pytest.fixture
def audit() -> RunAudit:
    """Audit a ledger (``ledger``) or a gateway's chain (``ledger_gateway``) from its deployment
    block to its head; with ``clean`` (the default) any finding fails the test, listed."""
    from consentledger.audit.runner import Audit
    from consentledger.chain.embedded import EmbeddedChain
    from consentledger.chain.jsonrpc import EmbeddedJsonRpc
    from consentledger.testing.world import World

    def run(target: World | TestGateway, *, clean: bool = True) -> AuditResult:
        chain = target.chain if isinstance(target, World) else target.context.chain
        deployment = target.deployment if isinstance(target, World) else target.context.deployment
        if not isinstance(chain, EmbeddedChain):
            raise TypeError(f"audit runs on an embedded chain, not {type(chain).__name__}")
        result = Audit(EmbeddedJsonRpc(chain), deployment).run()
        if clean and not result.clean:
            findings = "\n".join(f"  {f.to_json()}" for f in result.findings)
            pytest.fail(f"the auditor found {len(result.findings)} finding(s):\n{findings}")
        return result

    return run
