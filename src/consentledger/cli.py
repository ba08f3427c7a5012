"""The one command-line entry: ``consentledger``.

Subcommands are small and live next to what they drive; this module only assembles them and turns
the package's own errors into a clear message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console

from consentledger.bureau.cli import bureau
from consentledger.errors import ConsentLedgerError

console = Console()
err_console = Console(stderr=True)


class _Group(click.Group):
    """A click group that reports ConsentLedgerError as a message and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConsentLedgerError as exc:
            err_console.print(f"[bold red]error[/] [dim]({exc.code})[/]: {exc}")
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="consentledger")
def main() -> None:
    """ConsentLedger: consented, recorded access to enterprise credit data."""


main.add_command(bureau)
