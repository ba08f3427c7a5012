"""The one command-line entry: ``consentledger``.

Subcommands are small and live next to what they drive; this module only assembles them and turns
the package's own errors into a clear message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

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
