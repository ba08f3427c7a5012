"""Industry codes (GB/T 4754-2017) to the sectors of the 2011 size rules."""

from __future__ import annotations

import pytest

from consentledger.bureau.industry import (
    IndustryCodeTooCoarseError,
    InvalidIndustryCodeError,
    Sector,
    parse_industry_code,
    sector_of,
)

SECTORS = [
    ("A0141", Sector.AGRICULTURE),
    ("A", Sector.AGRICULTURE),
    ("05", Sector.AGRICULTURE),
    ("B0610", Sector.INDUSTRY),
    ("C3973", Sector.INDUSTRY),
    ("c39", Sector.INDUSTRY),
    ("D4420", Sector.INDUSTRY),
    ("46", Sector.INDUSTRY),
    ("E4710", Sector.CONSTRUCTION),
    ("50", Sector.CONSTRUCTION),
    ("F5179", Sector.WHOLESALE),
    ("5124", Sector.WHOLESALE),
    ("F52", Sector.RETAIL),
    ("F5292", Sector.RETAIL),
    ("G5431", Sector.TRANSPORT),
    ("G54", Sector.TRANSPORT),
    ("G58", Sector.TRANSPORT),
    ("G5920", Sector.WAREHOUSING),
    ("G6020", Sector.POSTAL),
    ("H6110", Sector.ACCOMMODATION),
    ("H6210", Sector.CATERING),
    ("I6312", Sector.INFORMATION_TRANSMISSION),
    ("I64", Sector.INFORMATION_TRANSMISSION),
    ("I6513", Sector.SOFTWARE_IT_SERVICES),
    ("6520", Sector.SOFTWARE_IT_SERVICES),
    ("K7010", Sector.REAL_ESTATE_DEVELOPMENT),
    ("K7020", Sector.PROPERTY_MANAGEMENT),
    ("7030", Sector.OTHER),
    ("K7090", Sector.OTHER),
    ("L7111", Sector.LEASING_BUSINESS_SERVICES),
    ("L", Sector.LEASING_BUSINESS_SERVICES),
    ("72", Sector.LEASING_BUSINESS_SERVICES),
    ("M7310", Sector.OTHER),
    ("P", Sector.OTHER),
    ("T97", Sector.OTHER),
    (" r9011 ", Sector.OTHER),
]


@pytest.mark.parametrize(("code", "sector"), SECTORS, ids=[c.strip() for c, _ in SECTORS])
def test_sector_of(code: str, sector: Sector) -> None:
    assert sector_of(code) is sector


@pytest.mark.parametrize(
    ("code", "needed"),
    [
        ("F", "give the division"),
        ("G", "give the division"),
        ("K", "give the division"),
        ("K70", "4-digit class"),
        ("K701", "4-digit class"),
    ],
    ids=["F", "G", "K", "K70", "K701"],
)
def test_too_coarse_codes_are_not_guessed(code: str, needed: str) -> None:
    with pytest.raises(IndustryCodeTooCoarseError, match=needed):
        sector_of(code)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "empty"),
        ("Z12", "no section 'Z'"),
        ("F7010", "belongs to section K, not F"),
        ("C99", "no division 99"),
        ("C3", "2-4 digits"),
        ("C39731", "2-4 digits"),
        ("C39A", "2-4 digits"),
        ("00", "no division 00"),
    ],
    ids=[
        "empty",
        "no-section",
        "section-mismatch",
        "no-division",
        "1-digit",
        "5-digits",
        "letter",
        "division-00",
    ],
)
def test_invalid_codes(code: str, reason: str) -> None:
    with pytest.raises(InvalidIndustryCodeError, match=reason):
        parse_industry_code(code)


def test_parse_infers_the_section() -> None:
    parsed = parse_industry_code("7020")
    assert (parsed.section, parsed.digits, parsed.division, str(parsed)) == (
        "K",
        "7020",
        70,
        "K7020",
    )
