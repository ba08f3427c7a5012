"""``consentledger bureau``: seed the bureau's data, show an enterprise's document, classify it."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import click
from rich.console import Console
from rich.table import Table

from consentledger.bureau.documents import canonicalize
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
)
from consentledger.categories import SEEDED_CATEGORIES, Category, parse_category

_db_option = click.option(
    "--db",
    "db_url",
    envvar=DATABASE_URL_ENV,
    # A callable: the journal's variable alone is refused (bureau_database_unset), not ignored.
    default=lambda: database_url(None),
    show_default=DEFAULT_DATABASE_URL,
    help=f"SQLAlchemy database URL (also read from ${DATABASE_URL_ENV}).",
)


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
@click.option(
    "--enterprises",
    "-n",
    type=click.IntRange(min=0),
    default=DEFAULT_ENTERPRISES,
    show_default=True,
    help="Synthetic enterprises to generate (the showcase enterprises come on top).",
)
@_db_option
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_AS_OF.isoformat(),
    show_default=True,
    help="The dataset's as-of date (YYYY-MM-DD).",
)
@click.option(
    "--months",
    type=click.IntRange(1, 120),
    default=DEFAULT_MONTHS,
    show_default=True,
    help="Months of monthly history per enterprise.",
)
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
    canonical: bool,
    db_url: str,
) -> None:
    """Print the JSON document the gateway would release for USCC."""
    wanted = _categories(categories)
    with BureauStore.open(db_url, must_exist=True) as store:
        document = store.fetch(uscc, wanted, history_months, as_of=_date(as_of))
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
