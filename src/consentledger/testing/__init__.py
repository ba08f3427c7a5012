"""What tests, benchmarks and developers build on: a deployed ledger with its actors and the state
model kept in step (:mod:`~consentledger.testing.world`), a scripted ledger for the auditor
(:mod:`~consentledger.testing.scenario`), the gateway in process with the typed client over it
(:mod:`~consentledger.testing.gateway`) and as an OS process
(:mod:`~consentledger.testing.process`), and the pytest plugin's fixtures
(:mod:`~consentledger.testing.plugin`, registered when the package is installed).

The names a test annotates its fixtures with are importable from here without loading the chain
stack until they are used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consentledger.testing.gateway import TestGateway
    from consentledger.testing.plugin import GrantConsent, NewEnterprise, RecordRead, RunAudit
    from consentledger.testing.world import Enterprise, World

__all__ = [
    "Enterprise",
    "GrantConsent",
    "NewEnterprise",
    "RecordRead",
    "RunAudit",
    "TestGateway",
    "World",
]

_HOMES = {
    "Enterprise": "consentledger.testing.world",
    "World": "consentledger.testing.world",
    "TestGateway": "consentledger.testing.gateway",
    "GrantConsent": "consentledger.testing.plugin",
    "NewEnterprise": "consentledger.testing.plugin",
    "RecordRead": "consentledger.testing.plugin",
    "RunAudit": "consentledger.testing.plugin",
}


def __getattr__(name: str) -> Any:
    """Import a name's module when the name is first used."""
    import importlib

    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
