"""The same scripted ledger on eth-tester and on a real anvil gives the same reports.

Both chains are driven identically (same keys and nonces, same chain id, same block numbers and
block times), so addresses, consent ids, query ids, blocks and times agree. What each node computes
for itself does not: gas limits (each node's estimate) and fees (each node's gas price) enter the
signed transactions, so transaction hashes differ; those, and nothing else, are left out of the
comparison, with ``generated_at``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consentledger.chain.embedded import EmbeddedChain
from consentledger.chain.jsonrpc import EmbeddedJsonRpc, HttpJsonRpc
from consentledger.testing.scenario import Scenario
from tests.audit.conftest import audit, reports, solo_subject, without

#: Fields that legitimately differ between the two nodes (see the module docstring).
NODE_SPECIFIC = frozenset({"generated_at", "transaction_hash", "deploy_tx"})


def test_reports_are_identical_on_both_chains(
    scripted: tuple[EmbeddedChain, Scenario], anvil_ledger: tuple[str, Scenario, Path]
) -> None:
    chain, embedded = scripted
    url, on_anvil, _record = anvil_ledger
    assert on_anvil.world.deployment.address == embedded.world.deployment.address
    assert on_anvil.consents == embedded.consents
    subject = solo_subject(embedded)
    here = audit(EmbeddedJsonRpc(chain), embedded.world.deployment, subject=subject)
    rpc = HttpJsonRpc(url)
    try:
        there = audit(rpc, on_anvil.world.deployment, subject=subject)
    finally:
        rpc.close()
    assert here.clean
    assert there.clean
    ours: Any = without(reports(here, subject), NODE_SPECIFIC)
    theirs: Any = without(reports(there, subject), NODE_SPECIFIC)
    assert ours == theirs
    assert ours["report"]["summary"]["reads"] == 24
    # The excluded fields are there and do differ, as explained.
    assert here.deployment.deploy_tx != there.deployment.deploy_tx
