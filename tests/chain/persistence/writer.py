"""The writer the crash test kills: ``python -m tests.chain.persistence.writer DATA_DIR SPEC_FILE``.

It opens the persistent chain in DATA_DIR and writes until it is killed (or has written
``max_writes``): recorded reads, signed by the bank, through :class:`LedgerClient` (raw signed
transactions), every fifth write a ``fund`` from the faucet, every seventh a ``time_travel``.
Only after a write has returned does it print what was acknowledged, one line each, flushed:
``read 0x<tx hash>``, ``fund 0x<tx hash>`` or ``travel 0x<block hash>``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from eth_account import Account

from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.chain.client import LedgerClient
from consentledger.chain.clock import BlockClock
from consentledger.chain.embedded import EmbeddedChain
from consentledger.ledger.types import AccessEntry, first_query_id


def _acknowledge(kind: str, value: str) -> None:
    """One line in one write: with PYTHONUNBUFFERED, ``print(a, b)`` is several writes, and a
    SIGKILL between them leaves a torn line."""
    sys.stdout.write(f"{kind} {value}\n")
    sys.stdout.flush()


def main(data_dir: Path, spec_file: Path) -> None:
    spec = json.loads(spec_file.read_text())
    chain = EmbeddedChain.open(data_dir, clock=BlockClock.STEADY)
    relayer = Account.from_key(spec["relayer_key"])
    bank = Account.from_key(spec["bank_key"])
    client = LedgerClient(chain.w3, spec["ledger"], relayer)
    consent = bytes.fromhex(spec["consent"])
    payee = Account.create().address
    query_id = max(client.last_query_id(relayer.address), first_query_id(relayer.address))
    print("ready", flush=True)
    for step in range(int(spec["max_writes"])):
        if step % 5 == 4:
            chain.fund(payee, 1)
            tx = chain.w3.eth.get_block("latest")["transactions"][0]
            _acknowledge("fund", "0x" + bytes(tx).hex())  # type: ignore[arg-type]
        elif step % 7 == 6:
            chain.time_travel(chain.now() + 60)
            _acknowledge("travel", "0x" + bytes(chain.w3.eth.get_block("latest")["hash"]).hex())
        else:
            query_id += 1
            entry = AccessEntry(
                query_id=query_id,
                consent_id=consent,
                bank=spec["bank"],
                categories=Category.BUSINESS_REGISTRATION.bit,
                purpose=int(Purpose.POST_LOAN_MONITORING),
                response_hash=os.urandom(32),
                request_id=query_id & (2**64 - 1),
                deadline=chain.now() + 600,
            )
            signed = typed_data.sign_read_request(bank, client.domain, entry)
            mined = client.record_accesses([signed]).mined
            _acknowledge("read", "0x" + mined.tx_hash.hex())
    chain.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
