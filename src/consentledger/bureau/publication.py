"""How long adverse records are published, and credit repair, applied when a document is read.

Administrative penalties are published for three years from the decision, minor ones (a warning,
a circulated criticism or a low fine) for three months (市场监督管理行政处罚信息公示规定, SAMR
Order 2021 No. 45). Credit repair ends publication early: once the enterprise has corrected the
conduct and the authority has accepted its repair application, the record is no longer published
(失信行为纠正后的信用信息修复管理办法（试行）, NDRC Order 2023 No. 58). The bureau keeps the record;
a read on or after the day publication ends does not show it.
"""

from __future__ import annotations

from datetime import date

from consentledger.bureau.documents import JSONObject

#: Publication period of an administrative penalty, in years from the decision.
PENALTY_PUBLICATION_YEARS = 3
#: Publication period of a minor penalty, in months from the decision.
MINOR_PENALTY_PUBLICATION_MONTHS = 3

#: The rules as a penalties section states them.
PUBLICATION_RULES: JSONObject = {
    "penalty_years": PENALTY_PUBLICATION_YEARS,
    "minor_penalty_months": MINOR_PENALTY_PUBLICATION_MONTHS,
    "rule": "administrative penalties are published for 3 years from the decision, minor ones "
    "(warning, circulated criticism, low fine) for 3 months (市场监督管理行政处罚信息公示规定, "
    "SAMR Order 2021 No. 45); credit repair ends publication early (失信行为纠正后的信用信息"
    "修复管理办法（试行）, NDRC Order 2023 No. 58); a record no longer published is left out",
}


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (31 May + 3 -> 31 Aug)."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    following = date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    last = following.toordinal() - 1
    return date.fromordinal(min(date(year, month0 + 1, 1).toordinal() + day.day - 1, last))


def penalty_published_until(decided_on: date, *, minor: bool, repaired_on: date | None) -> date:
    """The first day a penalty is no longer published: the end of its period, or the day credit
    repair took it down if that is earlier."""
    if minor:
        end = add_months(decided_on, MINOR_PENALTY_PUBLICATION_MONTHS)
    else:
        end = add_months(decided_on, 12 * PENALTY_PUBLICATION_YEARS)
    return end if repaired_on is None else min(end, repaired_on)


def penalty_published(
    decided_on: date, as_of: date, *, minor: bool, repaired_on: date | None
) -> bool:
    """Whether a penalty is published on ``as_of``."""
    until = penalty_published_until(decided_on, minor=minor, repaired_on=repaired_on)
    return decided_on <= as_of < until
