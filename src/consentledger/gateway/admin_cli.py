"""``consentledger admin``: the operator's commands, over the gateway's HTTP admin endpoints.

They work the same whether the chain is embedded in the gateway process or is a node. The gateway
is found by ``--gateway`` (default ``$CONSENTLEDGER_GATEWAY_URL``, else http://127.0.0.1:8000) and
the operator token is read from ``$CONSENTLEDGER_ADMIN_TOKEN``, never from the command line.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click
import httpx
from rich.console import Console
from rich.table import Table

from consentledger.errors import ConsentLedgerError

DEFAULT_GATEWAY = "http://127.0.0.1:8000"


class AdminRequestError(ConsentLedgerError, RuntimeError):
    """The gateway refused an admin request or could not be reached."""

    code = "admin_request_failed"

    def __init__(self, message: str, code: str | None = None) -> None:
        if code:
            self.code = code
        super().__init__(message)


class AdminClient:
    """Calls the gateway's ``/v1/admin`` endpoints with the operator token."""

    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None):
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            transport=transport,
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.http.request(method, f"/v1/admin{path}", json=body)
        except httpx.HTTPError as exc:
            raise AdminRequestError(
                f"cannot reach the gateway at {self.http.base_url}: {exc}", "gateway_unreachable"
            ) from exc
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail, code = problem.get("detail", response.text), problem.get("code")
            except ValueError:
                detail, code = response.text, None
            raise AdminRequestError(f"the gateway answered {response.status_code}: {detail}", code)
        return response.json()


def _client(ctx: click.Context) -> AdminClient:
    """The admin client, made when a command first needs it (``--help`` needs no token)."""
    client: AdminClient | None = ctx.obj.get("client")
    if client is None:
        token = os.environ.get("CONSENTLEDGER_ADMIN_TOKEN")
        if not token:
            raise AdminRequestError(
                "set CONSENTLEDGER_ADMIN_TOKEN to the gateway's operator token", "admin_token_unset"
            )
        client = ctx.obj["client"] = AdminClient(ctx.obj["gateway"], token)
    return client


def _ask_for_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)["json"] = True


#: ``--json`` after the subcommand too (``admin add-bank NAME --json``).
json_option = click.option(
    "--json",
    is_flag=True,
    expose_value=False,
    callback=_ask_for_json,
    help="Print JSON.",
)


def _emit(ctx: click.Context, data: Any, table: Table | None = None, message: str = "") -> None:
    console = Console()
    if ctx.obj["json"] or table is None:
        click.echo(json.dumps(data, indent=2))
        return
    console.print(table)
    if message:
        console.print(message)


@click.group()
@click.option(
    "--gateway",
    default=lambda: os.environ.get("CONSENTLEDGER_GATEWAY_URL", DEFAULT_GATEWAY),
    show_default="$CONSENTLEDGER_GATEWAY_URL or " + DEFAULT_GATEWAY,
    help="The gateway's base URL.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def admin(ctx: click.Context, gateway: str, as_json: bool) -> None:
    """Operate a gateway: banks and enterprises (token from $CONSENTLEDGER_ADMIN_TOKEN)."""
    ctx.obj = {"gateway": gateway, "json": as_json}


@admin.command("add-bank")
@click.argument("name")
@click.option("--address", help="The bank's on-chain address (default: a new key pair).")
@json_option
@click.pass_context
def add_bank(ctx: click.Context, name: str, address: str | None) -> None:
    """Admit a bank on the chain and print its API key (shown once)."""
    body: dict[str, Any] = {"name": name}
    if address:
        body["address"] = address
    data = _client(ctx).call("POST", "/banks", body)
    table = Table(title=f"Bank {data['name']} admitted", show_header=False)
    table.add_row("address", data["address"])
    table.add_row("transaction", data["tx_hash"])
    _emit(ctx, data, table)
    if not ctx.obj["json"]:
        # Secrets on lines of their own, never folded or cut at the terminal's width.
        click.echo(f"API key: {data['api_key']}")
        if data.get("private_key"):
            click.echo(f"private key: {data['private_key']}")
        click.echo("Keep the API key now: the gateway stores only its hash.")


@admin.command("list-banks")
@json_option
@click.pass_context
def list_banks(ctx: click.Context) -> None:
    """Every bank the gateway serves and its standing on the chain."""
    data = _client(ctx).call("GET", "/banks")
    table = Table(title="Banks")
    for column in ("name", "address", "active on chain"):
        table.add_column(column)
    for bank in data:
        table.add_row(bank["name"], bank["address"], "yes" if bank["active_on_chain"] else "no")
    _emit(ctx, data, table)


@admin.command("register-enterprise")
@click.argument("uscc")
@click.option("--controller", "controllers", multiple=True, required=True, help="Repeatable.")
@click.option("--threshold", default=1, show_default=True, type=click.IntRange(1, 16))
@json_option
@click.pass_context
def register_enterprise(
    ctx: click.Context, uscc: str, controllers: tuple[str, ...], threshold: int
) -> None:
    """Register an enterprise with its controllers and signing threshold."""
    body = {"uscc": uscc, "controllers": list(controllers), "threshold": threshold}
    data = _client(ctx).call("POST", "/enterprises", body)
    table = Table(title=f"Enterprise {data['uscc']} registered", show_header=False)
    table.add_row("subject id", data["subject"])
    table.add_row("controllers", ", ".join(data["controllers"]))
    table.add_row("threshold", str(data["threshold"]))
    table.add_row("transaction", data["tx_hash"])
    _emit(ctx, data, table)


def _bank_action(ctx: click.Context, address: str, action: str) -> None:
    data = _client(ctx).call("POST", f"/banks/{address}/{action}")
    table = Table(title=f"Bank {data['address']}", show_header=False)
    table.add_row("active on chain", "yes" if data["active_on_chain"] else "no")
    table.add_row("transaction", data["tx_hash"])
    _emit(ctx, data, table)


@admin.command("suspend-bank")
@click.argument("address")
@json_option
@click.pass_context
def suspend_bank(ctx: click.Context, address: str) -> None:
    """Suspend a bank (needs the regulator's key in the gateway)."""
    _bank_action(ctx, address, "suspend")


@admin.command("reinstate-bank")
@click.argument("address")
@json_option
@click.pass_context
def reinstate_bank(ctx: click.Context, address: str) -> None:
    """Reinstate a suspended bank (needs the regulator's key in the gateway)."""
    _bank_action(ctx, address, "reinstate")
