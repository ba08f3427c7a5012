"""ConsentLedger: a consent and data-access ledger for enterprise credit data."""

import os
from importlib.util import find_spec

# keccak256 through safe-pysha3's C code, not pycryptodome's ctypes calls (eth-hash's first
# choice when both are installed): about five times cheaper per hash, and a read, its signature
# check and every event an auditor replays hash several times. Chosen before eth-hash's first
# hash (it picks its backend once); an ETH_HASH_BACKEND set outside is left alone.
if find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

from consentledger.errors import ConsentLedgerError

__all__ = ["ConsentLedgerError", "__version__"]
__version__ = "0.1.0"
