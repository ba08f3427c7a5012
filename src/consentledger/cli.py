"""The one command-line entry: ``consentledger``.

Subcommands are small and live next to what they drive; this module only assembles them and turns
the package's own errors into a clear message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from rich.console import Console

from consentledger.audit.cli import audit
from consentledger.bureau.cli import bureau
from consentledger.db_cli import db
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.admin_cli import admin

if TYPE_CHECKING:
    from web3 import Web3

    from consentledger.gateway.logs import LogFormat


#: The exit status of a failure that is none of the project's own (a bug: rerun with --debug).
INTERNAL_ERROR_EXIT = 70


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Group(click.Group):
    """A click group that reports every failure as one line, ``error (code): what to do``, with
    the error's own exit status; ``--debug`` shows the traceback instead."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except ConsentLedgerError as exc:
            if ctx.meta.get("debug"):
                raise
            _fail(exc.code, str(exc), exc.exit_code)
        except Exception as exc:  # anything else is a bug: still one line, the cause named
            if ctx.meta.get("debug"):
                raise
            message = f"{type(exc).__name__}: {exc} (run again with --debug for the traceback)"
            _fail("internal_error", message, INTERNAL_ERROR_EXIT)


def _fail(code: str, message: str, exit_code: int) -> NoReturn:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]error[/] [dim]({code})[/]: {_one_line(message)}", highlight=False
    )
    sys.exit(exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="consentledger")
@click.option("--debug", is_flag=True, help="Show the traceback of a failure.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """ConsentLedger: consented, recorded access to enterprise credit data."""
    ctx.meta["debug"] = debug


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


def _node(rpc_url: str) -> Web3:
    """A web3 connection to the node at ``rpc_url`` (ChainUnavailableError if it does not
    answer)."""
    from web3 import Web3
    from web3.providers.rpc import HTTPProvider

    from consentledger.chain.jsonrpc import ChainUnavailableError

    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    try:
        connected = w3.is_connected()
    except Exception as exc:
        raise ChainUnavailableError(f"cannot reach {rpc_url}: {exc}") from exc
    if not connected:
        raise ChainUnavailableError(f"cannot reach a JSON-RPC node at {rpc_url}")
    return w3


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

    from consentledger.chain.deploy import deploy_ledger
    from consentledger.keys import load_key

    for relayer in relayers:
        if not is_address(relayer):
            raise click.BadParameter(f"{relayer!r} is not an address", param_hint="--relayer")
    regulator = load_key(regulator_key_file, "CONSENTLEDGER_REGULATOR_KEY")
    w3 = _node(rpc_url)
    deployment, _client = deploy_ledger(w3, regulator, relayers=list(relayers))
    deployment.save(out)
    console = Console()
    console.print(
        f"ConsentLedger deployed at [bold]{deployment.address}[/] "
        f"(chain {deployment.chain_id}, block {deployment.deploy_block})"
    )
    console.print(f"deployment record written to [bold]{out}[/]")


@main.command("admit-relayers")
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL of the ledger's node.")
@click.option(
    "--deployment",
    "deployment_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The deployment record; the admitted relayers are added to it.",
)
@click.option(
    "--key-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="A relayer key directory (*.key files, as CONSENTLEDGER_RELAYER_KEY_DIR).",
)
@click.option(
    "--regulator-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the regulator's private key (hex). "
    "Default: the CONSENTLEDGER_REGULATOR_KEY environment variable.",
)
def admit_relayers_command(
    rpc_url: str, deployment_file: Path, key_dir: Path, regulator_key_file: Path | None
) -> None:
    """Give every key of a relayer key directory the bureau role on an existing ledger (one per
    gateway worker). Keys are not funded here: each pays its own batches' gas."""
    from consentledger.chain.client import LedgerClient
    from consentledger.chain.deploy import Deployment, admit_relayers, verify_deployment
    from consentledger.gateway.relayer_keys import relayer_key_files
    from consentledger.keys import load_key

    addresses = [load_key(path, "--key-dir").address for path in relayer_key_files(key_dir)]
    regulator = load_key(regulator_key_file, "CONSENTLEDGER_REGULATOR_KEY")
    w3 = _node(rpc_url)
    deployment = Deployment.load(deployment_file)
    verify_deployment(w3, deployment)
    client = LedgerClient(w3, deployment.address, regulator)
    updated, admitted = admit_relayers(client, deployment, addresses)
    updated.save(deployment_file)
    console = Console()
    for address in addresses:
        console.print(f"{address}: {'admitted' if address in admitted else 'already a relayer'}")
    console.print(f"deployment record updated: [bold]{deployment_file}[/]")


@main.command()
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL of a node of the ledger.")
@click.option(
    "--deployment",
    "deployment_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The ledger's deployment record.",
)
@click.option("--consent", "consent_hex", required=True, help="The consent id (0x + 64 hex).")
@click.option(
    "--controller-key-file",
    "controller_key_files",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    required=True,
    help="A file holding a controller's private key (hex); one per signing controller, as many "
    "as the enterprise's threshold.",
)
@click.option(
    "--sender-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the key of the account that sends (and pays for) the transaction: any "
    "account the node accepts. Default: $CONSENTLEDGER_SENDER_KEY.",
)
@click.option(
    "--valid-for",
    type=click.IntRange(60, 30 * 24 * 3600),
    default=3600,
    show_default=True,
    help="Seconds the signatures stay valid (the Revocation's deadline).",
)
def revoke(
    rpc_url: str,
    deployment_file: Path,
    consent_hex: str,
    controller_key_files: tuple[Path, ...],
    sender_key_file: Path | None,
    valid_for: int,
) -> None:
    """Revoke a consent on the chain directly, without the bureau's gateway: the controllers'
    keys sign the Revocation here, any account sends it."""
    from consentledger.chain.client import LedgerClient
    from consentledger.chain.deploy import Deployment, verify_deployment
    from consentledger.chain.self_revoke import RevocationRefusedError, revoke_directly
    from consentledger.keys import load_key

    text = consent_hex.removeprefix("0x").removeprefix("0X")
    try:
        consent_id = bytes.fromhex(text)
    except ValueError:
        consent_id = b""
    if len(consent_id) != 32:
        raise RevocationRefusedError(f"--consent must be 0x + 64 hex digits: {consent_hex!r}")
    controllers = [load_key(path, "--controller-key-file") for path in controller_key_files]
    sender = load_key(sender_key_file, "CONSENTLEDGER_SENDER_KEY")
    w3 = _node(rpc_url)
    deployment = Deployment.load(deployment_file)
    verify_deployment(w3, deployment)
    mined = revoke_directly(
        LedgerClient(w3, deployment.address, sender), consent_id, controllers, valid_for
    )
    Console().print(
        f"consent 0x{consent_id.hex()} revoked in tx [bold]0x{mined.tx_hash.hex()}[/] "
        f"(block {mined.block_number}): reads recorded from the next block on are denied"
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8545, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("node-state"),
    show_default=True,
    help="Where anvil keeps its state between runs (written every 5 s and on exit).",
)
@click.option("--chain-id", type=int, default=None, help="Default: anvil's 31337.")
def node(host: str, port: int, state_dir: Path, chain_id: int | None) -> None:
    """Run a local anvil node (from node_modules) that keeps its state between runs."""
    import signal
    import subprocess

    from consentledger.chain.anvil import find_anvil

    state_dir.mkdir(parents=True, exist_ok=True)
    args = [
        str(find_anvil()),
        *("--host", host, "--port", str(port)),
        *("--state", str(state_dir / "state.json"), "--state-interval", "5"),
        "--preserve-historical-states",
    ]
    if chain_id is not None:
        args += ["--chain-id", str(chain_id)]
    Console().print(f"anvil on http://{host}:{port}, state in {state_dir} (Ctrl-C to stop)")
    process = subprocess.Popen(args)  # noqa: S603 - our binary, our arguments

    def forward(signum: int, _frame: object) -> None:
        process.send_signal(signum)  # anvil writes its state when it stops

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    sys.exit(process.wait())


@main.command()
@click.option(
    "--chain",
    default="embedded",
    show_default=True,
    help="'embedded' (kept in --data-dir) or the JSON-RPC URL of a node.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("consentledger-data"),
    show_default=True,
    help="Where the chain, keys, deployment record and databases are kept.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Gateway processes on the port, each with its own relayer key (a node's chain only; "
    "default: CONSENTLEDGER_WORKERS, else 1).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="The server's log level; 'info' and below write an access log line per request.",
)
@click.option(
    "--log-format",
    type=click.Choice(["plain", "json"]),
    default="plain",
    show_default=True,
    help="The logs as plain lines or as JSON lines (one object a line, the access log too).",
)
def serve(
    chain: str,
    data_dir: Path,
    host: str,
    port: int,
    workers: int | None,
    log_level: str,
    log_format: LogFormat,
) -> None:
    """Run the gateway as a service (the ledger survives restarts on the embedded chain)."""
    import os

    import uvicorn

    from consentledger.gateway.app import create_app
    from consentledger.gateway.context import GatewayContext
    from consentledger.gateway.db import Database
    from consentledger.gateway.logs import log_config
    from consentledger.serve import (
        PRIVATE_UMASK,
        serve_settings,
        uvicorn_options,
        worker_environment,
    )

    os.umask(PRIVATE_UMASK)  # the databases, block log and records it writes are its user's only
    settings, notes = serve_settings(chain, data_dir, workers, host=host, port=port)
    console = Console()
    for note in notes:
        console.print(f"  [yellow]note[/]: {note}")
    if settings.workers == 1:
        # Built before the server starts: a failure is one line here, not a server's traceback.
        context = GatewayContext.build(settings)
        console.print(f"ConsentLedger gateway on http://{host}:{port} (data in {data_dir})")
        uvicorn.run(
            create_app(settings, context),
            host=host,
            port=port,
            log_level=log_level,
            log_config=log_config(log_format),
            **uvicorn_options(settings),
        )
        return
    Database(settings.database_url).close()  # the schema upgraded once, before the workers
    GatewayContext.check(settings)  # the chain, a relayer key and the bureau, once, in one line
    os.environ.update(worker_environment(settings))
    console.print(
        f"ConsentLedger gateway on http://{host}:{port} (data in {data_dir}, "
        f"{settings.workers} workers)"
    )
    uvicorn.run(
        "consentledger.gateway.app:create_app",
        factory=True,
        workers=settings.workers,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config(log_format),
        **uvicorn_options(settings),
    )


main.add_command(bureau)
main.add_command(admin)
main.add_command(audit)
main.add_command(db)


if __name__ == "__main__":
    main()
