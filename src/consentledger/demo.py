"""``consentledger demo``: the main job, on the embedded chain.

For now it deploys a ledger on a fresh embedded chain, seeds the registries and shows what the
chain holds, read back through the client. Later issues grow it into the full story of domain.md.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from consentledger.categories import SEEDED_CATEGORIES, SEEDED_PURPOSES
from consentledger.chain.deploy import Deployment, deploy_ledger
from consentledger.chain.embedded import EmbeddedChain

DAY = 24 * 60 * 60


def run_demo(console: Console, out_dir: Path) -> Deployment:
    """Deploy on a fresh embedded chain, write the record to ``out_dir``, print what is there."""
    started = time.perf_counter()
    chain = EmbeddedChain()
    regulator = chain.new_account()
    relayer = chain.new_account()
    console.rule("[bold]ConsentLedger[/] on the embedded chain (eth-tester, py-evm)")
    deployment, client = deploy_ledger(chain.w3, regulator, relayers=[relayer.address])
    record_path = out_dir / "deployment.json"
    deployment.save(record_path)

    summary = Table(title="Deployment", show_header=False)
    summary.add_row("chain id", str(deployment.chain_id))
    summary.add_row("contract", deployment.address)
    summary.add_row("deploy block / tx", f"{deployment.deploy_block} / {deployment.deploy_tx}")
    summary.add_row("artifact hash", deployment.artifact_hash)
    summary.add_row("compiler", deployment.compiler)
    summary.add_row("regulator", deployment.regulator)
    summary.add_row("bureau relayer", ", ".join(deployment.relayers))
    console.print(summary)

    registered = client.registered_categories()
    categories = Table(title="Data categories registered on the chain")
    categories.add_column("code", justify="right")
    categories.add_column("category")
    for category in SEEDED_CATEGORIES:
        if registered & category.bit:
            categories.add_row(str(category.value), category.slug)
    console.print(categories)

    purposes = Table(title="Purposes and their caps, as the chain holds them")
    for column in ("code", "purpose", "max days", "max reads", "history months", "categories"):
        purposes.add_column(column, overflow="fold")
    for seeded in SEEDED_PURPOSES:
        caps = client.purpose(seeded.purpose.value)
        allowed = [str(c.value) for c in SEEDED_CATEGORIES if caps.allowed_categories & c.bit]
        purposes.add_row(
            str(seeded.purpose.value),
            seeded.purpose.slug,
            str(caps.max_duration // DAY),
            str(caps.max_reads),
            str(caps.max_history_months),
            ",".join(allowed),
        )
    console.print(purposes)
    elapsed = time.perf_counter() - started
    console.print(f"deployment record written to [bold]{record_path}[/] in {elapsed:.1f} s")
    return deployment
