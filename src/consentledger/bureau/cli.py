"""``consentledger bureau``: seed the bureau's data, show an enterprise's document, classify it."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consentledger.bureau.documents import canonicalize
from consentledger.bureau.feeds import FEED_SOURCES, RECORD_KINDS, feed_schema, feed_source
from consentledger.bureau.feedwriter import write_feeds
from consentledger.bureau.importing import (
    FeedRejectedError,
    ImportReport,
    import_records,
    read_feed,
)
from consentledger.bureau.known_at import fetch_known_at, parse_known_at
from consentledger.bureau.seeding import seed_store
from consentledger.bureau.showcase import SHOWCASE
from consentledger.bureau.store import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    BureauStore,
    database_url,
)
from consentledger.bureau.synthetic import (
    DEFAULT_AS_OF,
    DEFAULT_ENTERPRISES,
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    SyntheticBureau,
)
from consentledger.categories import SEEDED_CATEGORIES, Category, parse_category

F = TypeVar("F", bound=Callable[..., Any])

_db_option = click.option(
    "--db",
    "db_url",
    envvar=DATABASE_URL_ENV,
    # A callable: the journal's variable alone is refused (bureau_database_unset), not ignored.
    default=lambda: database_url(None),
    show_default=DEFAULT_DATABASE_URL,
    help=f"SQLAlchemy database URL (also read from ${DATABASE_URL_ENV}).",
)


def _generator_options(command: F) -> F:
    """The synthetic generator's options: enterprises, seed, as-of date, months of history."""
    options = (
        click.option(
            "--enterprises",
            "-n",
            type=click.IntRange(min=0),
            default=DEFAULT_ENTERPRISES,
            show_default=True,
            help="Synthetic enterprises to generate (the showcase enterprises come on top).",
        ),
        click.option(
            "--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed."
        ),
        click.option(
            "--as-of",
            type=click.DateTime(formats=["%Y-%m-%d"]),
            default=DEFAULT_AS_OF.isoformat(),
            show_default=True,
            help="The dataset's as-of date (YYYY-MM-DD).",
        ),
        click.option(
            "--months",
            type=click.IntRange(1, 120),
            default=DEFAULT_MONTHS,
            show_default=True,
            help="Months of monthly history per enterprise.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _date(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _categories(values: tuple[str, ...]) -> list[Category]:
    if not values:
        return list(SEEDED_CATEGORIES)
    names = [part for value in values for part in value.split(",") if part.strip()]
    return [parse_category(name) for name in names]


@click.group("bureau")
def bureau() -> None:
    """The city credit bureau's data: seed it, show an enterprise's document, classify it."""


@bureau.command()
@_generator_options
@_db_option
@click.option("--replace", is_flag=True, help="Drop the bureau's existing tables first.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stderr is a terminal).",
)
def seed(
    enterprises: int,
    db_url: str,
    seed: int,
    as_of: datetime,
    months: int,
    replace: bool,
    progress: bool | None,
) -> None:
    """Generate deterministic synthetic data (plus the showcase enterprises) into the database."""
    with BureauStore.open(db_url) as store:
        report = seed_store(
            store,
            enterprises=enterprises,
            seed=seed,
            as_of=as_of.date(),
            months=months,
            replace=replace,
            progress=progress,
        )
        url = store.url
    console = Console()
    console.print(
        f"seeded {report.enterprises:,} enterprises ({report.rows:,} rows) into {url} "
        f"in {report.seconds:.1f} s (seed {report.seed}, as of {report.as_of.isoformat()})"
    )
    for showcase in SHOWCASE:
        console.print(f"  showcase {showcase.uscc}  {showcase.name_en}", highlight=False)


@bureau.command()
@click.argument("uscc")
@click.option(
    "--categories",
    "-c",
    multiple=True,
    help="Category codes or names, comma-separated or repeated (default: all 11).",
)
@click.option(
    "--history-months",
    "-m",
    type=click.IntRange(min=0),
    default=12,
    show_default=True,
    help="History window in months (0: the latest point of each series only).",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Read as of this date (default: the dataset's as-of date).",
)
@click.option(
    "--known-at",
    default=None,
    help="Build it from the record versions the bureau held at this moment (ISO 8601 date-time; "
    "a date: the end of that day, UTC), for disputes and audits (default: the current ones).",
)
@click.option(
    "--canonical",
    is_flag=True,
    help="Print the RFC 8785 canonical bytes (no trailing newline) instead of indented JSON.",
)
@_db_option
def show(
    uscc: str,
    categories: tuple[str, ...],
    history_months: int,
    as_of: datetime | None,
    known_at: str | None,
    canonical: bool,
    db_url: str,
) -> None:
    """Print the JSON document the gateway would release for USCC (or, with --known-at, would
    have released at that moment)."""
    wanted = _categories(categories)
    moment = parse_known_at(known_at) if known_at is not None else None
    with BureauStore.open(db_url, must_exist=True) as store:
        if moment is None:
            document = store.fetch(uscc, wanted, history_months, as_of=_date(as_of))
        else:
            document = fetch_known_at(
                store, uscc, wanted, history_months, known_at=moment, as_of=_date(as_of)
            )
    if canonical:
        sys.stdout.buffer.write(canonicalize(document).data)
        sys.stdout.flush()
    else:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))


@bureau.command()
@click.argument("uscc")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Classify as of this date (default: the dataset's as-of date).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_db_option
def classify(uscc: str, as_of: datetime | None, as_json: bool, db_url: str) -> None:
    """Classify USCC as large, medium, small or micro under the 2011 SME rules."""
    with BureauStore.open(db_url, must_exist=True) as store:
        result = store.classify(uscc, as_of=_date(as_of))
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    console = Console()
    size = result.size.value if result.size else "unknown"
    sector = result.sector.value if result.sector else "unknown sector"
    console.print(
        f"[bold]{result.uscc}[/] {result.name or ''}: [bold]{size}[/] ({sector}, industry code "
        f"{result.industry_code or '-'})",
        highlight=False,
    )
    console.print(result.basis, highlight=False)
    scope = result.scope.value if result.scope else "-"
    console.print(
        f"rule: {result.rule_name}; mapping: {result.mapping}; scope: {scope}", highlight=False
    )
    if result.figures:
        table = Table("figure", "value", "unit", "source", "period")
        for figure in result.figures:
            table.add_row(
                f"{figure.measure.value} ({figure.measure.symbol})",
                f"{figure.value:f}",
                figure.measure.unit,
                f"{figure.category.slug}: {figure.source}",
                figure.period,
            )
        console.print(table)
    for missing in result.missing:
        console.print(f"[yellow]missing[/] {missing.input}: {missing.reason}", highlight=False)


#: From this many records on, an import shows a progress bar (when stderr is a terminal).
PROGRESS_FROM = 10_000


@bureau.command("import")
@click.option(
    "--source",
    "source_name",
    required=True,
    type=click.Choice(list(FEED_SOURCES)),
    help="The department that sent the files; it may write its own categories only.",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date the source's data is current to (default: today, UTC).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the reports (every refused record with its reason) to this JSON file.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: on long imports when stderr is a terminal).",
)
@_db_option
def import_(
    source_name: str,
    files: tuple[Path, ...],
    as_of: datetime | None,
    report_path: Path | None,
    progress: bool | None,
    db_url: str,
) -> None:
    """Import source feeds (JSON Lines, or CSV) into the bureau, each file all or nothing.

    Every record is checked (schema, USCC, the source's categories, a known enterprise,
    versions, duplicates); a file with a refused record writes nothing, and each refusal is
    listed with its line and reason. Importing a file again changes nothing.
    """
    source = feed_source(source_name)
    day = as_of.date() if as_of else datetime.now(UTC).date()
    console = Console(stderr=True)
    reports: list[ImportReport] = []
    with BureauStore.open(db_url) as store:
        for path in files:
            raws = read_feed(path)
            show = len(raws) >= PROGRESS_FROM and (
                sys.stderr.isatty() if progress is None else progress
            )
            if progress or show:
                with Progress(
                    TextColumn(f"importing {path.name}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                ) as bar:
                    task = bar.add_task("import", total=len(raws))
                    report = import_records(
                        store,
                        source,
                        raws,
                        name=str(path),
                        as_of=day,
                        advance=functools.partial(bar.advance, task),
                    )
            else:
                report = import_records(store, source, raws, name=str(path), as_of=day)
            reports.append(report)
            _print_report(report)
    if report_path is not None:
        report_path.write_text(
            json.dumps([r.to_json() for r in reports], ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
    if any(r.refusals for r in reports):
        raise FeedRejectedError(reports)


def _print_report(report: ImportReport) -> None:
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if report.accepted:
        click.echo(
            f"{report.name}: {report.written:,} records written, {report.unchanged:,} already "
            f"imported, {report.enterprises_added:,} enterprises added ({report.source})"
        )
        return
    console.print(
        f"[bold red]{report.name}: refused[/] ({len(report.refusals):,} of {report.records:,} "
        "records; nothing written)"
    )
    for refusal in report.refusals[:50]:
        console.print(f"  {refusal.describe()}", markup=False)
    if len(report.refusals) > 50:
        console.print(f"  ... and {len(report.refusals) - 50:,} more (see --report)")


@bureau.command()
@click.argument("kind", required=False)
def schema(kind: str | None) -> None:
    """Print the published JSON Schema of a feed record KIND (all kinds: without KIND)."""
    if kind is None:
        body: object = {name: feed_schema(name) for name in RECORD_KINDS}
    else:
        body = feed_schema(kind)
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))


@bureau.command("write-feeds")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_generator_options
def write_feeds_(
    directory: Path, enterprises: int, seed: int, as_of: datetime, months: int
) -> None:
    """Write the synthetic data as source feeds: DIRECTORY/SOURCE.jsonl, one file per source.

    Importing them (market_regulation first, with --as-of the same date) gives the documents
    that `seed` gives with the same options.
    """
    generator = SyntheticBureau(seed, as_of.date(), months)
    paths = write_feeds(generator.batches(enterprises), directory)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
