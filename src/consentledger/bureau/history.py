"""The history window a consent grants: which points of a time series a document includes.

The rule, for a window of ``N`` months read as of a date ``D``:

* A point is *visible* once its period has ended by ``D``: a monthly point on the month's last day,
  a yearly point (tax year, fiscal year, customs year) on 31 December. Later points are never shown.
* Let ``P`` be the latest month that has ended by ``D``. A visible point is *in the window* when its
  period ends in one of the ``N`` months ``P - N + 1 .. P``: a monthly series shows ``N`` months.
* The latest visible point of every series is always included, window or not: the window limits
  how much *history* a bank sees, never the current state. So ``N = 0`` means "latest point only",
  and a stale series still shows its last known value (with its month, so its age is plain).

Records that are states rather than series (shareholders, certificates, patents, lawsuits,
penalties) are not windowed; only those dated on or before ``D`` are shown.

In a released document a series is a list of points that name their period: ``"month"``
(``YYYY-MM``) for a monthly point, ``"year"`` or ``"fiscal_year"`` for a yearly one.
:func:`points_outside_window` applies the same rule to a document after the fact, so whoever holds
a released document (the auditor, with the gateway's journal) can check each point against the
window the document was cut to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, TypeVar

from consentledger.bureau.documents import last_complete_month, parse_month_label
from consentledger.errors import ConsentLedgerError

T = TypeVar("T")


class InvalidHistoryWindowError(ConsentLedgerError, ValueError):
    """A history window that is not a whole number of months >= 0."""

    code = "invalid_history_window"

    def __init__(self, given: object) -> None:
        self.given = given
        super().__init__(f"history window must be a whole number of months >= 0, got {given!r}")


def check_history_months(value: object) -> int:
    """``value`` as a history window in months; raises :class:`InvalidHistoryWindowError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidHistoryWindowError(value)
    return value


def select_window(
    points: Sequence[T],
    end_month: Callable[[T], int],
    as_of: date,
    history_months: int,
) -> list[T]:
    """The points of one series that a window of ``history_months`` shows as of ``as_of``.

    ``end_month`` gives the month index (see :func:`documents.month_index`) in which a point's
    period ends. Order is preserved.
    """
    months = check_history_months(history_months)
    last = last_complete_month(as_of)
    visible = [p for p in points if end_month(p) <= last]
    if not visible:
        return []
    latest = max(end_month(p) for p in visible)
    first = last - months + 1
    return [p for p in visible if end_month(p) >= first or end_month(p) == latest]


#: The keys that make a list item a point of a series, with the month its period ends in.
_PERIOD_KEYS: tuple[tuple[str, Callable[[Any], int]], ...] = (
    ("month", parse_month_label),
    ("year", lambda year: int(year) * 12 + 11),
    ("fiscal_year", lambda year: int(year) * 12 + 11),
)


@dataclass(frozen=True, slots=True)
class OutOfWindowPoint:
    """A point a document holds that its window does not show: where, and its period."""

    section: str
    series: str
    period: str

    def __str__(self) -> str:
        return f"{self.section}.{self.series} {self.period}"


def _series_end_month(points: Sequence[Any]) -> Callable[[Any], int] | None:
    """How a list's points name their period, if the list is a series (every point a mapping
    with the same period key); None for a list of states or anything else."""
    if not points or not all(isinstance(p, Mapping) for p in points):
        return None
    for key, end_month in _PERIOD_KEYS:
        if all(key in p for p in points):
            return partial(_end_month_of, key, end_month)
    return None


def _end_month_of(key: str, end_month: Callable[[Any], int], point: Mapping[str, Any]) -> int:
    return end_month(point[key])


def points_outside_window(
    sections: Mapping[str, Any], as_of: date, history_months: int
) -> list[OutOfWindowPoint]:
    """The points of every series in a document's ``sections`` (category name -> section) that
    a window of ``history_months`` as of ``as_of`` does not show: the rule of
    :func:`select_window`, applied to what a document holds. Raises ``ValueError`` for a point
    whose period cannot be read (a document not made by the bureau)."""
    outside: list[OutOfWindowPoint] = []
    for name, section in sections.items():
        if not isinstance(section, Mapping):
            continue
        for series, points in section.items():
            if not isinstance(points, list):
                continue
            end_month = _series_end_month(points)
            if end_month is None:
                continue
            shown = {id(p) for p in select_window(points, end_month, as_of, history_months)}
            outside.extend(
                OutOfWindowPoint(str(name), str(series), _period(p))
                for p in points
                if id(p) not in shown
            )
    return outside


def _period(point: Mapping[str, Any]) -> str:
    for key, _ in _PERIOD_KEYS:
        if key in point:
            return f"{key} {point[key]}"
    return "?"
