"""The consent rules: the ledger's state model, its types and errors. Imports nothing else of the
project but the root exception."""
