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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

from consentledger.bureau.documents import last_complete_month
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
