"""``consentledger audit``: replay a ledger and prove every release was consented.

Exit codes: 0 clean, 1 findings, 2 could not audit (bad arguments, unreachable node, wrong
deployment record, chain id mismatch, unreadable gateway journal); a one-line message, never a
traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from consentledger.errors import ConsentLedgerError

if TYPE_CHECKING:
    from consentledger.audit.runner import AuditResult, ProgressHook

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
#: ``consentledger.chain.log_reader.DEFAULT_BLOCK_RANGE``, repeated so that ``consentledger --help``
#: need not import the chain stack (a test keeps the two equal).
DEFAULT_BLOCK_RANGE = 1000
#: ``consentledger.audit.journal_check.DEFAULT_OPEN_GRACE``, repeated for the same reason.
DEFAULT_OPEN_GRACE = 600
#: The environment variable holding the bearer token of --rpc (when no --rpc-token-file is given).
RPC_TOKEN_ENV = "CONSENTLEDGER_RPC_TOKEN"  # noqa: S105 - a variable name, not a token


class AuditArgumentError(ConsentLedgerError, ValueError):
    """Options that do not make sense together, or a value that is not what it should be."""

    code = "bad_arguments"


def _subject(enterprise: str | None, key_file: Path | None, subject: str | None) -> bytes | None:
    from consentledger.bureau.uscc import validate_uscc
    from consentledger.subject import load_subject_key, subject_id

    if enterprise is not None and subject is not None:
        raise AuditArgumentError("give --enterprise USCC or --subject 0x.., not both")
    if subject is not None:
        text = subject.removeprefix("0x").removeprefix("0X")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise AuditArgumentError(
                f"--subject must be 32 bytes of hex (0x + 64 digits): {subject!r}"
            )
        return raw
    if enterprise is None:
        if key_file is not None:
            raise AuditArgumentError("--subject-key-file needs --enterprise USCC")
        return None
    return subject_id(validate_uscc(enterprise), load_subject_key(key_file))


def _enterprise_name(bureau_url: str | None, enterprise: str | None) -> str | None:
    """The enterprise's registered name in the bureau's data (None: no bureau given, or the
    bureau does not hold it)."""
    from consentledger.bureau.store import BureauStore

    if bureau_url is None or enterprise is None:
        return None
    with BureauStore.open(bureau_url, must_exist=True) as store:
        return store.registered_name(enterprise)


def _rpc_token(path: Path | None) -> str | None:
    """The node's bearer token: from ``path``, else $CONSENTLEDGER_RPC_TOKEN, else none."""
    if path is None:
        return os.environ.get(RPC_TOKEN_ENV) or None
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise AuditArgumentError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise AuditArgumentError(f"the token file {path} is empty")
    return token


@contextmanager
def _progress_bar(console: Console) -> Iterator[ProgressHook | None]:
    """A progress bar over blocks on a terminal; nothing otherwise."""
    if not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("replaying blocks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("replay", total=None)

        def hook(done: int, first: int, last: int) -> None:
            bar.update(task, total=last - first + 1, completed=done - first + 1)

        yield hook


def _summary(result: AuditResult) -> str:
    figures = result.replay.history.figures
    verdict = "clean" if result.clean else f"{len(result.findings)} finding(s)"
    journal = ""
    if result.journal is not None:
        j = result.journal.figures
        journal = (
            f"; journal: {j.checked} entries checked, {j.releases_matched} of {j.releases} "
            f"releases matched, {j.open} open, {len(result.journal.findings)} finding(s)"
        )
    return (
        f"blocks {result.window_first}-{result.window_last}: {figures.reads()} reads "
        f"({figures.reads(granted=True)} granted, {figures.reads(granted=False)} denied), "
        f"{figures.consents_granted} consents granted{journal}: {verdict}"
    )


#: Options the audit and the recording share.
_rpc_token_option = click.option(
    "--rpc-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the bearer token for the node (sent as Authorization: Bearer). "
    "Default: $CONSENTLEDGER_RPC_TOKEN. Never on the command line, where every user of the "
    "machine could read it (ps).",
)
_block_range_option = click.option(
    "--block-range",
    type=click.IntRange(min=1),
    default=DEFAULT_BLOCK_RANGE,
    show_default=True,
    help="Most blocks per eth_getLogs request (halved when the node says it is too many).",
)


@click.group("audit", invoke_without_command=True)
@click.option("--rpc", "rpc_url", help="JSON-RPC URL of a node of the ledger's chain.")
@_rpc_token_option
@click.option(
    "--logs",
    "logs_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Audit a recorded ledger (JSON, as `consentledger audit record` writes) instead of a "
    "node; the report names the file's SHA-256.",
)
@click.option(
    "--deployment",
    "deployment_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The deployment record (consentledger deploy writes it). Required.",
)
@click.option("--enterprise", help="USCC of an enterprise: also write its portability report.")
@click.option(
    "--bureau",
    "bureau_url",
    envvar="CONSENTLEDGER_BUREAU_DATABASE_URL",
    metavar="DB_URL",
    help="The bureau's database (read only), to name --enterprise by its registered name in "
    "the portability report. Also $CONSENTLEDGER_BUREAU_DATABASE_URL.",
)
@click.option(
    "--gateway-url",
    metavar="URL",
    help="The gateway's public address: the portability report links to its /dashboard "
    "(default: the path alone).",
)
@click.option(
    "--subject-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the bureau's subject key (hex), to name --enterprise on the chain. "
    "Default: $CONSENTLEDGER_SUBJECT_KEY.",
)
@click.option("--subject", help="The enterprise's 32-byte subject id (0x..), instead of a USCC.")
@click.option("--from-block", type=click.IntRange(min=0), help="First block to report on.")
@click.option("--to-block", type=click.IntRange(min=0), help="Last block to audit (default: head).")
@_block_range_option
@click.option("--follow", "follow_chain", is_flag=True, help="Keep auditing new blocks.")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    default=2.0,
    show_default=True,
    help="Seconds between looks for new blocks with --follow.",
)
@click.option(
    "--follow-for",
    type=click.FloatRange(min=0),
    help="Stop following after this many seconds (default: until Ctrl-C).",
)
@click.option(
    "--confirmations",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Audit only blocks this far below the head (0 on a chain with immediate finality).",
)
@click.option(
    "--journal",
    "journal_url",
    envvar="CONSENTLEDGER_JOURNAL_URL",
    metavar="DB_URL",
    help="The gateway's database (any SQLAlchemy URL, read only): cross-check its journal "
    "against the chain, both ways. Also $CONSENTLEDGER_JOURNAL_URL, which keeps a password "
    "out of the process list.",
)
@click.option(
    "--journal-open-grace",
    type=click.IntRange(min=0),
    default=DEFAULT_OPEN_GRACE,
    show_default=True,
    metavar="SECONDS",
    help="A journal entry still pending or batched this long before the audited head's block "
    "time is a finding (younger ones are reported as open).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for report.json, report.html and portability reports. Required.",
)
@click.pass_context
def audit(
    ctx: click.Context,
    rpc_url: str | None,
    rpc_token_file: Path | None,
    logs_file: Path | None,
    deployment_file: Path | None,
    enterprise: str | None,
    bureau_url: str | None,
    gateway_url: str | None,
    subject_key_file: Path | None,
    subject: str | None,
    from_block: int | None,
    to_block: int | None,
    block_range: int,
    follow_chain: bool,
    poll_interval: float,
    follow_for: float | None,
    confirmations: int,
    journal_url: str | None,
    journal_open_grace: int,
    out_dir: Path | None,
) -> None:
    """Replay a ConsentLedger and prove that every release was consented.

    Exit code 0: clean; 1: findings (listed in the reports); 2: could not audit.
    `consentledger audit record` records a live ledger to a file to audit offline.
    """
    if ctx.invoked_subcommand is not None:
        return
    if deployment_file is None or out_dir is None:
        missing = "--deployment FILE" if deployment_file is None else "--out DIR"
        raise AuditArgumentError(f"give {missing}")
    from consentledger.audit.evidence import evidence_of
    from consentledger.audit.journal_check import JournalCheck, JournalDatabase
    from consentledger.audit.output import write_reports
    from consentledger.audit.recorded import RecordedJsonRpc
    from consentledger.audit.report import ReportNames
    from consentledger.audit.runner import Audit, follow
    from consentledger.bureau.uscc import validate_uscc
    from consentledger.chain.deploy import Deployment
    from consentledger.chain.jsonrpc import HttpJsonRpc, JsonRpc

    if (rpc_url is None) == (logs_file is None):
        raise AuditArgumentError("give either --rpc URL (a node) or --logs FILE (a recording)")
    if follow_chain and (to_block is not None or logs_file is not None):
        raise AuditArgumentError(
            "--follow audits a live node up to its head: drop --to-block/--logs"
        )
    if follow_for is not None and not follow_chain:
        raise AuditArgumentError("--follow-for needs --follow")
    if from_block is not None and to_block is not None and from_block > to_block:
        raise AuditArgumentError(f"--from-block {from_block} is after --to-block {to_block}")
    subject_bytes = _subject(enterprise, subject_key_file, subject)
    deployment = Deployment.load(deployment_file)
    rpc: JsonRpc = (
        RecordedJsonRpc.load(logs_file)
        if logs_file is not None
        else HttpJsonRpc(str(rpc_url), _rpc_token(rpc_token_file))
    )
    evidence = evidence_of(logs_file).to_json() if logs_file is not None else None
    console = Console(stderr=True)
    journal_db: JournalDatabase | None = None
    try:
        # Opened before the chain is read: a journal that cannot be read fails the audit at once.
        journal_db = JournalDatabase(journal_url) if journal_url else None
        journal = (
            JournalCheck(journal_db, deployment.relayers, open_grace=journal_open_grace)
            if journal_db is not None
            else None
        )
        with _progress_bar(console) as hook:
            runner = Audit(
                rpc,
                deployment,
                from_block=from_block,
                to_block=to_block,
                block_range=block_range,
                subject=subject_bytes,
                progress=hook,
                journal=journal,
            )
            result = runner.run(confirmations)
        names = ReportNames(
            uscc=validate_uscc(enterprise) if enterprise else None,
            enterprise_name=_enterprise_name(bureau_url, enterprise),
            banks=journal_db.bank_names() if journal_db is not None else {},
            gateway_url=gateway_url,
        )
        written = write_reports(
            result, out_dir, subject=subject_bytes, names=names, evidence=evidence
        )
        console.print(_summary(result))
        if evidence is not None:
            console.print(f"evidence: {logs_file} (SHA-256 {evidence['sha256']})", style="dim")
        if result.events_replayed:
            console.print(
                f"{result.events_replayed} events replayed in {result.replay_seconds:.2f} s "
                f"({result.events_per_second:,.0f} events/s)",
                style="dim",
            )
        if follow_chain:
            console.print(f"following the chain (reports in {out_dir}); Ctrl-C stops", style="dim")

            def update(latest: AuditResult) -> None:
                write_reports(latest, out_dir, subject=subject_bytes, names=names)
                console.print(_summary(latest))

            follow(
                runner,
                poll_interval=poll_interval,
                duration=follow_for,
                confirmations=confirmations,
                on_update=update,
            )
            result = runner.result()
            written = write_reports(result, out_dir, subject=subject_bytes, names=names)
    finally:
        rpc.close()
        if journal_db is not None:
            journal_db.close()
    console.print(f"reports: {written.report_json}, {written.report_html}", style="dim")
    if written.portability_json is not None:
        console.print(f"portability report: {written.portability_json}", style="dim")
    ctx.exit(EXIT_CLEAN if result.clean else EXIT_FINDINGS)


@audit.command("record")
@click.option(
    "--rpc", "rpc_url", required=True, help="JSON-RPC URL of a node of the ledger's chain."
)
@_rpc_token_option
@click.option(
    "--deployment",
    "deployment_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The deployment record (consentledger deploy writes it).",
)
@click.option(
    "--to-block", type=click.IntRange(min=0), help="Last block to record (default: head)."
)
@_block_range_option
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (JSON); `consentledger audit --logs FILE` replays it offline.",
)
def record(
    rpc_url: str,
    rpc_token_file: Path | None,
    deployment_file: Path,
    to_block: int | None,
    block_range: int,
    out_file: Path,
) -> None:
    """Record a live ledger's logs, from its deployment block to the head, from any node to one
    file: the evidence an auditor replays offline. Prints the file's SHA-256."""
    from consentledger.audit.evidence import record_ledger
    from consentledger.chain.deploy import Deployment
    from consentledger.chain.jsonrpc import HttpJsonRpc

    deployment = Deployment.load(deployment_file)
    rpc = HttpJsonRpc(rpc_url, _rpc_token(rpc_token_file))
    try:
        result, evidence = record_ledger(
            rpc, deployment, out_file, to_block=to_block, block_range=block_range
        )
    finally:
        rpc.close()
    console = Console(stderr=True)
    console.print(
        f"recorded blocks {result.window_first}-{result.window_last} "
        f"({result.events_replayed} events) to {out_file}"
    )
    click.echo(f"sha256 {evidence.sha256}  {out_file}")
