"""The package's one root exception.

Every error ConsentLedger raises on purpose derives from :class:`ConsentLedgerError`; where a
builtin fits, the subclass inherits it too (``class InvalidUSCC(ConsentLedgerError, ValueError)``),
so callers can catch either. Subclasses live next to the code that raises them and write their own
message.
"""

from __future__ import annotations


class ConsentLedgerError(Exception):
    """Root of every exception ConsentLedger raises on purpose."""

    #: A stable, machine-readable code (the gateway uses it in problem+json answers).
    code: str = "consentledger_error"
    #: The command line's exit status for it (start-up failures have their own, see the README).
    exit_code: int = 2
