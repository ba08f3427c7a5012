"""Build a persistent embedded chain of 1,000 blocks holding a few thousand recorded reads, then
time re-opening it (every block re-executed and checked against the log).

Not part of the test suite (it takes a minute or two); run it by hand:
``.venv/bin/python scripts/persistent_chain_bench.py [--blocks 1000] [--reads 3000] [--batch 5]
[--keep DIR] [--memory-too]``. ``--memory-too`` builds the same chain in memory as well, to show
what the fsynced log costs on the write path.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from eth_account import Account

from consentledger.categories import Category, Purpose
from consentledger.chain import typed_data
from consentledger.chain.blocklog import LOG_NAME
from consentledger.chain.deploy import deploy_ledger
from consentledger.chain.embedded import EmbeddedChain
from consentledger.ledger.types import AccessEntry, ConsentTerms, first_query_id

DAY = 86_400
CONSENTS = 20


def build(chain: EmbeddedChain, blocks: int, reads: int, batch: int) -> None:
    """Deploy a ledger, grant consents, record ``reads`` reads in batches of ``batch``, and fill
    up to ``blocks`` blocks with faucet transfers."""
    regulator, relayer, bank = chain.new_account(), chain.new_account(), chain.new_account()
    _, regulator_client = deploy_ledger(chain.w3, regulator, relayers=[relayer.address])
    regulator_client.add_bank(bank.address)
    bureau = regulator_client.with_account(relayer)
    controller = Account.create()
    subject = os.urandom(32)
    bureau.enroll(subject, [controller], 1)
    category = Category.BUSINESS_REGISTRATION.bit
    purpose = int(Purpose.POST_LOAN_MONITORING)
    consents = []
    for _ in range(CONSENTS):
        now = chain.now()
        terms = ConsentTerms(
            subject=subject,
            bank=bank.address,
            categories=category,
            purpose=purpose,
            not_before=now - 1,
            expires_at=now + 300 * DAY,
            max_reads=400,
            history_months=12,
            receipt_hash=os.urandom(32),
            nonce=bureau.nonce(subject),
            deadline=now + DAY,
        )
        signature = typed_data.sign(controller, bureau.consent_document(terms))
        bureau.grant_consent(terms, [signature])
        consents.append(bureau.consent_id(terms))
    query_id = first_query_id(relayer.address)
    for start in range(0, reads, batch):
        entries = []
        for i in range(start, min(start + batch, reads)):
            query_id += 1
            entries.append(
                AccessEntry(
                    query_id,
                    consents[i % CONSENTS],
                    bank.address,
                    category,
                    purpose,
                    os.urandom(32),
                )
            )
        bureau.record_accesses(entries)
    payee = Account.create().address
    while chain.w3.eth.block_number < blocks:
        chain.fund(payee, 1)


def main() -> None:
    """Parse the arguments, build, re-open, and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build in this directory and keep it")
    parser.add_argument("--memory-too", action="store_true", help="also build it in memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.keep or Path(tmp) / "chain"
        started = time.perf_counter()
        with EmbeddedChain.open(data_dir) as chain:
            build(chain, args.blocks, args.reads, args.batch)
            head = chain.w3.eth.get_block("latest")
        built = time.perf_counter() - started
        size_mib = (data_dir / LOG_NAME).stat().st_size / 2**20
        started = time.perf_counter()
        with EmbeddedChain.open(data_dir) as chain:
            reopened = time.perf_counter() - started
            assert chain.w3.eth.get_block("latest")["hash"] == head["hash"]
            assert chain.w3.eth.get_block("latest")["stateRoot"] == head["stateRoot"]
    print(
        f"{head['number']:,} blocks with {args.reads:,} reads in batches of {args.batch} "
        f"({size_mib:.1f} MiB of log): built on disk in {built:.1f} s, re-opened and verified in "
        f"{reopened:.1f} s ({head['number'] / reopened:,.0f} blocks/s)"
    )
    if args.memory_too:
        started = time.perf_counter()
        build(EmbeddedChain(), args.blocks, args.reads, args.batch)
        print(f"the same chain built in memory in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
