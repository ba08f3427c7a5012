"""The one command-line entry: ``consentledger``.

Subcommands are small and live next to what they drive; this module only assembles them and turns
the package's own errors into a clear message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from consentledger.audit.cli import audit
from consentledger.bureau.cli import bureau
from consentledger.errors import ConsentLedgerError


class _Group(click.Group):
    """A click group that reports ConsentLedgerError as a message and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConsentLedgerError as exc:
            Console(stderr=True).print(f"[bold red]error[/] [dim]({exc.code})[/]: {exc}")
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="consentledger")
def main() -> None:
    """ConsentLedger: consented, recorded access to enterprise credit data."""


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Directory for the deployment record and reports.",
)
def demo(out_dir: Path) -> None:
    """Run the demo on the embedded chain."""
    from consentledger.demo import run_demo

    run_demo(Console(), out_dir)


@main.command()
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL of the node to deploy to.")
@click.option(
    "--regulator-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the regulator's private key (hex). "
    "Default: the CONSENTLEDGER_REGULATOR_KEY environment variable.",
)
@click.option(
    "--relayer",
    "relayers",
    multiple=True,
    help="Address of a bureau relayer key to admit (BUREAU role); repeatable.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("deployment.json"),
    show_default=True,
    help="Where to write the deployment record.",
)
def deploy(
    rpc_url: str, regulator_key_file: Path | None, relayers: tuple[str, ...], out: Path
) -> None:
    """Deploy a ConsentLedger to a node, seed its registries, write the deployment record."""
    from eth_utils.address import is_address
    from web3 import Web3
    from web3.providers.rpc import HTTPProvider

    from consentledger.chain.client import ChainUnavailableError
    from consentledger.chain.deploy import deploy_ledger
    from consentledger.keys import load_key

    for relayer in relayers:
        if not is_address(relayer):
            raise click.BadParameter(f"{relayer!r} is not an address", param_hint="--relayer")
    regulator = load_key(regulator_key_file, "CONSENTLEDGER_REGULATOR_KEY")
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    try:
        connected = w3.is_connected()
    except Exception as exc:
        raise ChainUnavailableError(f"cannot reach {rpc_url}: {exc}") from exc
    if not connected:
        raise ChainUnavailableError(f"cannot reach a JSON-RPC node at {rpc_url}")
    deployment, _client = deploy_ledger(w3, regulator, relayers=list(relayers))
    deployment.save(out)
    console = Console()
    console.print(
        f"ConsentLedger deployed at [bold]{deployment.address}[/] "
        f"(chain {deployment.chain_id}, block {deployment.deploy_block})"
    )
    console.print(f"deployment record written to [bold]{out}[/]")


main.add_command(bureau)
main.add_command(audit)
