"""The read journal's schema, shared by the gateway (which writes it) and the auditor (which
cross-checks it against the chain)."""
