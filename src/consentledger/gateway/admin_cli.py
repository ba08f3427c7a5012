"""``consentledger admin``: the operator's commands, over the gateway's HTTP admin endpoints.

They work the same whether the chain is embedded in the gateway process or is a node. The gateway
is found by ``--gateway`` (default ``$CONSENTLEDGER_GATEWAY_URL``, else http://127.0.0.1:8000) and
the operator token is read from ``$CONSENTLEDGER_ADMIN_TOKEN``, never from the command line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from consentledger.client import Gateway, Operator
from consentledger.client.http import SyncRunner
from consentledger.client.models import FeedCredential
from consentledger.errors import ConsentLedgerError

DEFAULT_GATEWAY = "http://127.0.0.1:8000"


class AdminTokenUnsetError(ConsentLedgerError, RuntimeError):
    """The operator token is not in the environment."""

    code = "admin_token_unset"


def _operator(ctx: click.Context) -> Operator[SyncRunner]:
    """The operator's client, made when a command first needs it (``--help`` needs no token)."""
    operator: Operator[SyncRunner] | None = ctx.obj.get("operator")
    if operator is None:
        token = os.environ.get("CONSENTLEDGER_ADMIN_TOKEN")
        if not token:
            raise AdminTokenUnsetError(
                "set CONSENTLEDGER_ADMIN_TOKEN to the gateway's operator token"
            )
        client = Gateway(ctx.obj["gateway"])
        ctx.call_on_close(client.close)
        operator = ctx.obj["operator"] = client.operator(token)
    return operator


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


def _emit(
    ctx: click.Context,
    data: BaseModel | Sequence[BaseModel],
    table: Table | None = None,
    message: str = "",
) -> None:
    console = Console()
    if ctx.obj["json"] or table is None:
        plain: Any = (
            data.model_dump(mode="json")
            if isinstance(data, BaseModel)
            else [d.model_dump(mode="json") for d in data]
        )
        click.echo(json.dumps(plain, indent=2))
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
    """Operate a gateway: banks, enterprises, feed credentials (token from
    $CONSENTLEDGER_ADMIN_TOKEN)."""
    ctx.obj = {"gateway": gateway, "json": as_json}


@admin.command("add-bank")
@click.argument("name")
@click.option("--name-zh", required=True, help="The bank's legal name in Chinese.")
@click.option(
    "--licence-number",
    required=True,
    help="The bank's financial licence number (金融许可证 机构编码), e.g. B0011H144030001.",
)
@click.option("--address", help="The bank's on-chain address (default: a new key pair).")
@json_option
@click.pass_context
def add_bank(
    ctx: click.Context, name: str, name_zh: str, licence_number: str, address: str | None
) -> None:
    """Admit a bank on the chain by its legal names (NAME in English) and licence number, and
    print its API key (shown once)."""
    data = _operator(ctx).add_bank(
        name, address or None, name_zh=name_zh, licence_number=licence_number
    )
    table = Table(title=f"Bank {data.name} admitted", show_header=False)
    table.add_row("address", data.address)
    table.add_row("transaction", data.tx_hash)
    _emit(ctx, data, table)
    if not ctx.obj["json"]:
        # Secrets on lines of their own, never folded or cut at the terminal's width.
        click.echo(f"API key: {data.api_key}")
        if data.private_key:
            click.echo(f"private key: {data.private_key}")
        click.echo("Keep the API key now: the gateway stores only its hash.")


@admin.command("list-banks")
@json_option
@click.pass_context
def list_banks(ctx: click.Context) -> None:
    """Every bank the gateway serves and its standing on the chain."""
    data = _operator(ctx).banks()
    table = Table(title="Banks")
    for column in ("name", "address", "active on chain"):
        table.add_column(column)
    for bank in data:
        table.add_row(bank.name, bank.address, "yes" if bank.active_on_chain else "no")
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
    data = _operator(ctx).register_enterprise(uscc, controllers, threshold)
    table = Table(title=f"Enterprise {data.uscc} registered", show_header=False)
    table.add_row("subject id", data.subject)
    table.add_row("controllers", ", ".join(data.controllers))
    table.add_row("threshold", str(data.threshold))
    table.add_row("transaction", data.tx_hash)
    _emit(ctx, data, table)


def _bank_action(ctx: click.Context, address: str, suspend: bool) -> None:
    operator = _operator(ctx)
    data = operator.suspend_bank(address) if suspend else operator.reinstate_bank(address)
    table = Table(title=f"Bank {data.address}", show_header=False)
    table.add_row("active on chain", "yes" if data.active_on_chain else "no")
    table.add_row("transaction", data.tx_hash)
    _emit(ctx, data, table)


@admin.command("suspend-bank")
@click.argument("address")
@json_option
@click.pass_context
def suspend_bank(ctx: click.Context, address: str) -> None:
    """Suspend a bank (needs the regulator's key in the gateway)."""
    _bank_action(ctx, address, suspend=True)


@admin.command("reinstate-bank")
@click.argument("address")
@json_option
@click.pass_context
def reinstate_bank(ctx: click.Context, address: str) -> None:
    """Reinstate a suspended bank (needs the regulator's key in the gateway)."""
    _bank_action(ctx, address, suspend=False)


@admin.command("rotate-key")
@click.argument("address")
@json_option
@click.pass_context
def rotate_key(ctx: click.Context, address: str) -> None:
    """Give a bank a new API key (shown once); its old key stops working at once."""
    data = _operator(ctx).rotate_key(address)
    table = Table(title=f"Bank {data.address}: new API key", show_header=False)
    table.add_row("key id", data.key_id)
    _emit(ctx, data, table)
    if not ctx.obj["json"]:
        click.echo(f"API key: {data.api_key}")
        click.echo("Keep the API key now: the gateway stores only its hash.")


@admin.command("revoke-key")
@click.argument("address")
@click.argument("key_id")
@json_option
@click.pass_context
def revoke_key(ctx: click.Context, address: str, key_id: str) -> None:
    """Revoke a bank's API key by its id (the bank has none until the next rotate-key)."""
    data = _operator(ctx).revoke_key(address, key_id)
    table = Table(title=f"Bank {data.address}", show_header=False)
    table.add_row("key id", data.key_id)
    table.add_row("active", "yes" if data.active else "no")
    _emit(ctx, data, table)


def _feed_credential_table(title: str, data: FeedCredential) -> Table:
    table = Table(title=title, show_header=False)
    table.add_row("key id", data.key_id)
    table.add_row("record kinds", ", ".join(data.kinds))
    table.add_row("active", "yes" if data.active else "no")
    table.add_row("issued", data.issued_at.isoformat())
    return table


@admin.command("issue-feed-credential")
@click.argument("source")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    help="A record kind it may push (repeatable; default: every kind of the source).",
)
@json_option
@click.pass_context
def issue_feed_credential(ctx: click.Context, source: str, kinds: tuple[str, ...]) -> None:
    """Issue a source its push credential (shown once); its earlier one stops working."""
    data = _operator(ctx).issue_feed_credential(source, list(kinds) or None)
    _emit(ctx, data, _feed_credential_table(f"Source {data.source}: new credential", data))
    if not ctx.obj["json"]:
        click.echo(f"feed credential: {data.credential}")
        click.echo("Keep the credential now: the bureau stores only its hash.")


@admin.command("feed-credential")
@click.argument("source")
@json_option
@click.pass_context
def feed_credential(ctx: click.Context, source: str) -> None:
    """A source's credential id, its record kinds and whether it works."""
    data = _operator(ctx).feed_credential(source)
    _emit(ctx, data, _feed_credential_table(f"Source {data.source}", data))


@admin.command("revoke-feed-credential")
@click.argument("source")
@click.argument("key_id")
@json_option
@click.pass_context
def revoke_feed_credential(ctx: click.Context, source: str, key_id: str) -> None:
    """Revoke a source's credential by its id (none works until the next issue)."""
    data = _operator(ctx).revoke_feed_credential(source, key_id)
    _emit(ctx, data, _feed_credential_table(f"Source {data.source}", data))
