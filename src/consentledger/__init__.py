"""ConsentLedger: a consent and data-access ledger for enterprise credit data."""

from consentledger.errors import ConsentLedgerError

__all__ = ["ConsentLedgerError", "__version__"]
__version__ = "0.1.0"
