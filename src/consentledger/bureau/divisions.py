"""Administrative division codes (GB/T 2260), as positions 3-8 of a USCC carry them.

The table ships with the package (``data/gbt2260.csv``; its header names the source, the Ministry
of Civil Affairs' yearly tables, and the extraction date). It holds every county-level-and-above
code in use at any time since 2015, the year USCCs began, with the years it was in use: a code
retired since (a county that became a district) stays valid in the USCCs issued under it, and a
code is never valid before it existed (440310 Pingshan: since 2016).

``100000`` is not in the ministry's table: GB 32100-2015 uses it for national-level registration
(central government bodies, organisations registered by a national authority).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from consentledger.bureau.documents import JSONObject

#: Positions 3-8 of a USCC issued by a national-level registration authority.
NATIONAL_CODE = "100000"

#: English names for Shenzhen and its districts (the bureau's city); other divisions show the
#: Chinese name only.
ENGLISH_NAMES = {
    "440000": "Guangdong",
    "440300": "Shenzhen",
    "440303": "Luohu",
    "440304": "Futian",
    "440305": "Nanshan",
    "440306": "Bao'an",
    "440307": "Longgang",
    "440308": "Yantian",
    "440309": "Longhua",
    "440310": "Pingshan",
    "440311": "Guangming",
}


@dataclass(frozen=True, slots=True)
class Division:
    """One row of the table: a code, its name and the years it was in use (``until`` excluded)."""

    code: str
    name: str
    province: str
    prefecture: str
    level: str
    since: int
    until: int | None

    @property
    def full_name(self) -> str:
        """Province, prefecture and county as written on a licence: ``广东省深圳市南山区``."""
        parts = [self.province]
        if self.level != "province" and self.prefecture not in ("", "直辖", self.province):
            parts.append(self.prefecture)
        if self.name not in parts:
            parts.append(self.name)
        return "".join(parts)

    @property
    def english_name(self) -> str | None:
        """The English name, for Shenzhen and its districts."""
        return ENGLISH_NAMES.get(self.code)

    def in_use(self, year: int) -> bool:
        """Whether the code was in use in ``year``."""
        return self.since <= year and (self.until is None or year < self.until)

    def describe(self) -> JSONObject:
        """The division as shown beside a USCC: code, Chinese full name, English name, since."""
        return {
            "code": self.code,
            "name": self.full_name,
            "name_en": self.english_name,
            "since": self.since,
            "until": self.until,
        }


_NATIONAL = Division(NATIONAL_CODE, "中华人民共和国", "中华人民共和国", "", "national", 1949, None)


@cache
def _table() -> dict[str, tuple[Division, ...]]:
    text = resources.files("consentledger.bureau").joinpath("data/gbt2260.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    table: dict[str, list[Division]] = {NATIONAL_CODE: [_NATIONAL]}
    for row in csv.DictReader(lines):
        division = Division(
            code=row["code"],
            name=row["name"],
            province=row["province"],
            prefecture=row["prefecture"],
            level=row["level"],
            since=int(row["since"]),
            until=int(row["until"]) if row["until"] else None,
        )
        table.setdefault(division.code, []).append(division)
    return {code: tuple(rows) for code, rows in table.items()}


def division_codes() -> frozenset[str]:
    """Every code in the table (in use now or at some time since 2015)."""
    return frozenset(_table())


def find_division(code: str, year: int | None = None) -> Division | None:
    """The division with this code (in ``year`` if given, else its latest name), or None."""
    rows = _table().get(code)
    if not rows:
        return None
    if year is None:
        return rows[-1]
    for row in reversed(rows):
        if row.in_use(year):
            return row
    return None
