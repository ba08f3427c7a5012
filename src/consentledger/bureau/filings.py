"""When annual figures become known, and the number formats some records use."""

from __future__ import annotations

from datetime import date

#: Annual income-tax returns for a year are filed by 31 May of the next year.
TAX_YEAR_CLOSE = (5, 31)
#: Audited statements for a fiscal year are filed by 30 April of the next year.
AUDIT_YEAR_CLOSE = (4, 30)
#: Annual reports to the market regulator for a year are filed by 30 June of the next year
#: (企业信息公示暂行条例, art. 8).
ANNUAL_REPORT_CLOSE = (6, 30)

#: The bodies that jointly issue a national high-tech enterprise certificate in Shenzhen.
HIGH_TECH_ISSUER = (
    "Shenzhen Science, Technology and Innovation Bureau; Shenzhen Municipal Finance Bureau; "
    "Shenzhen Tax Service, State Taxation Administration"
)


def latest_closed_year(as_of: date, close: tuple[int, int]) -> int:
    """The latest year whose annual figures are filed by ``as_of`` (``close``: month, day)."""
    month, day = close
    return as_of.year - 1 if as_of >= date(as_of.year, month, day) else as_of.year - 2


def patent_check_digit(application: str) -> str:
    """The CNIPA check digit of a 12-digit patent application number.

    The digits are weighted 2, 3, ..., 9, 2, 3, 4, 5; the check is the sum mod 11, with 10
    written ``X`` (``201710601862`` -> ``3``).
    """
    if len(application) != 12 or not application.isdigit():
        raise ValueError(f"a patent application number has 12 digits, got {application!r}")
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(w * int(d) for w, d in zip(weights, application, strict=True))
    check = total % 11
    return "X" if check == 10 else str(check)
