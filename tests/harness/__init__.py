"""The tests' one harness: the gateway in process (:mod:`tests.harness.gateway`) and as a process
on anvil (:mod:`tests.harness.processes`). The world of actors on a deployed ledger, and the
gateway process itself, ship in :mod:`consentledger.testing` (the scripts use them too)."""
