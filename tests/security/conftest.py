"""A gateway on the embedded chain for the security tests (the helpers of :mod:`tests.reads`)."""

from __future__ import annotations

from tests.reads.conftest import bank, bureau_url, catering, chip, gateway, other_bank

__all__ = ["bank", "bureau_url", "catering", "chip", "gateway", "other_bank"]
