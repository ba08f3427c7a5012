"""The auditor's side: the consent state model and (later) ledger replay and reports."""
