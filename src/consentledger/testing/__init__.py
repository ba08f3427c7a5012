"""What tests, benchmarks and developers build on: a deployed ledger with its actors and the state
model kept in step (:mod:`~consentledger.testing.world`), a scripted ledger for the auditor
(:mod:`~consentledger.testing.scenario`), and the gateway as an OS process
(:mod:`~consentledger.testing.process`)."""
