"""National industry codes (GB/T 4754-2017) and the 16 sectors of the 2011 SME size rules.

An industry code is a section letter (A-T) and up to four digits: the 2-digit division, the
3-digit group and the 4-digit class, e.g. ``F5179`` (wholesale of other machinery and electronic
products) or ``K7020`` (property management). The letter may be omitted (``5179``): the division
names its section. The sector mapping follows the 2011 rules:

========================  =====================================================
sector                    codes
========================  =====================================================
agriculture               A (divisions 01-05)
industry                  B, C, D (06-46)
construction              E (47-50)
wholesale / retail        F 51 / F 52
transport                 G 53-58
warehousing / postal      G 59 / G 60
accommodation / catering  H 61 / H 62
information transmission  I 63-64
software and IT services  I 65
real-estate development   K 7010
property management       K 7020
leasing and business      L 71-72
other                     everything else (J, M-T, and K 7030-7090)
========================  =====================================================

Where the code is too coarse to pick a sector (section F alone, or K 70 without the class), the
caller gets :class:`IndustryCodeTooCoarseError` instead of a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from consentledger.errors import ConsentLedgerError

#: GB/T 4754-2017 sections and their division ranges (inclusive).
SECTIONS: dict[str, tuple[int, int]] = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 96),
    "T": (97, 97),
}


class Sector(StrEnum):
    """The 16 sectors of the 2011 SME classification rules."""

    AGRICULTURE = "agriculture"
    INDUSTRY = "industry"
    CONSTRUCTION = "construction"
    WHOLESALE = "wholesale"
    RETAIL = "retail"
    TRANSPORT = "transport"
    WAREHOUSING = "warehousing"
    POSTAL = "postal"
    ACCOMMODATION = "accommodation"
    CATERING = "catering"
    INFORMATION_TRANSMISSION = "information_transmission"
    SOFTWARE_IT_SERVICES = "software_it_services"
    REAL_ESTATE_DEVELOPMENT = "real_estate_development"
    PROPERTY_MANAGEMENT = "property_management"
    LEASING_BUSINESS_SERVICES = "leasing_business_services"
    OTHER = "other"


class InvalidIndustryCodeError(ConsentLedgerError, ValueError):
    """A string that is not a GB/T 4754-2017 industry code."""

    code = "invalid_industry_code"

    def __init__(self, given: str, reason: str) -> None:
        self.given = given
        self.reason = reason
        super().__init__(f"invalid industry code {given!r}: {reason}")


class IndustryCodeTooCoarseError(ConsentLedgerError, ValueError):
    """A valid industry code that does not say enough to pick a size-rule sector."""

    code = "industry_code_too_coarse"

    def __init__(self, given: str, needed: str) -> None:
        self.given = given
        self.needed = needed
        super().__init__(f"industry code {given!r} is too coarse to pick a sector: {needed}")


@dataclass(frozen=True, slots=True)
class IndustryCode:
    """A parsed industry code: the section letter and 0, 2, 3 or 4 digits."""

    section: str
    digits: str

    def __str__(self) -> str:
        return self.section + self.digits

    @property
    def division(self) -> int | None:
        """The 2-digit division as a number, or None for a bare section."""
        return int(self.digits[:2]) if self.digits else None


def _section_of_division(division: int) -> str | None:
    for section, (low, high) in SECTIONS.items():
        if low <= division <= high:
            return section
    return None


def parse_industry_code(text: str) -> IndustryCode:
    """Parse ``C3973``, ``3973``, ``C39`` or ``C``; the section must match the division."""
    code = text.strip().upper()
    if not code:
        raise InvalidIndustryCodeError(text, "it is empty")
    section: str | None = None
    digits = code
    if code[0].isalpha():
        section, digits = code[0], code[1:]
        if section not in SECTIONS:
            raise InvalidIndustryCodeError(text, f"there is no section {section!r} (A-T)")
    if digits and (not digits.isascii() or not digits.isdigit() or not 2 <= len(digits) <= 4):
        raise InvalidIndustryCodeError(text, "expected a section letter and/or 2-4 digits")
    if not digits:
        assert section is not None  # the code is non-empty, so a bare code is a letter
        return IndustryCode(section, "")
    division = int(digits[:2])
    owner = _section_of_division(division)
    if owner is None:
        raise InvalidIndustryCodeError(text, f"there is no division {digits[:2]}")
    if section is not None and section != owner:
        raise InvalidIndustryCodeError(
            text, f"division {digits[:2]} belongs to section {owner}, not {section}"
        )
    return IndustryCode(owner, digits)


_SECTION_SECTORS: dict[str, Sector] = {
    "A": Sector.AGRICULTURE,
    "B": Sector.INDUSTRY,
    "C": Sector.INDUSTRY,
    "D": Sector.INDUSTRY,
    "E": Sector.CONSTRUCTION,
    "L": Sector.LEASING_BUSINESS_SERVICES,
}

_DIVISION_SECTORS: dict[int, Sector] = {
    51: Sector.WHOLESALE,
    52: Sector.RETAIL,
    **dict.fromkeys(range(53, 59), Sector.TRANSPORT),
    59: Sector.WAREHOUSING,
    60: Sector.POSTAL,
    61: Sector.ACCOMMODATION,
    62: Sector.CATERING,
    63: Sector.INFORMATION_TRANSMISSION,
    64: Sector.INFORMATION_TRANSMISSION,
    65: Sector.SOFTWARE_IT_SERVICES,
}

# Sections whose divisions fall into different sectors: a bare letter is not enough.
_SPLIT_SECTIONS = frozenset({"F", "G", "H", "I", "K"})


def sector_of(code: str | IndustryCode) -> Sector:
    """The size-rule sector of an industry code (see the module docstring for the mapping)."""
    parsed = code if isinstance(code, IndustryCode) else parse_industry_code(code)
    if parsed.section in _SECTION_SECTORS:
        return _SECTION_SECTORS[parsed.section]
    if parsed.section not in _SPLIT_SECTIONS:
        return Sector.OTHER
    division = parsed.division
    if division is None:
        raise IndustryCodeTooCoarseError(
            str(parsed), f"section {parsed.section} spans several sectors; give the division"
        )
    if division == 70:
        if len(parsed.digits) < 4:
            raise IndustryCodeTooCoarseError(
                str(parsed),
                "real estate needs the 4-digit class (7010 development, 7020 property "
                "management, others count as other sectors)",
            )
        if parsed.digits == "7010":
            return Sector.REAL_ESTATE_DEVELOPMENT
        if parsed.digits == "7020":
            return Sector.PROPERTY_MANAGEMENT
        return Sector.OTHER
    return _DIVISION_SECTORS[division]
