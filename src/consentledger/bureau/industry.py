"""National industry codes (GB/T 4754-2017) and the sectors of the 2011 SME size rules.

An industry code is a section letter (A-T) and up to four digits: the 2-digit division, the
3-digit group and the 4-digit class, e.g. ``F5179`` (wholesale of other machinery and electronic
products) or ``K7020`` (property management). The letter may be omitted (``5179``): the division
names its section.

Which codes each sector of the 2011 rules (工信部联企业〔2011〕300号, art. 4) covers follows the
statistics bureau's mapping, 统计上大中小微型企业划分办法(2017) (国统字〔2017〕213号):

========================  ==========================================================
sector                    codes
========================  ==========================================================
agriculture               A (divisions 01-05)
industry                  B, C, D (06-46)
construction              E (47-50)
wholesale / retail        F 51 / F 52
transport                 G 54-58 and G 5910 (loading and unloading, 装卸搬运);
                          railway (G 53) is not part of it
warehousing / postal      G 592-599 / G 60
accommodation / catering  H 61 / H 62
information transmission  I 63-64
software and IT services  I 65
real-estate development   K 7010
property management       K 7020
leasing and business      L 71-72
other (未列明行业)         M, N, O, Q 85, R, K 7030 and K 7090
========================  ==========================================================

The rest is outside the rule's sectors (:class:`Scope`): finance (section J) has its own rule,
《金融业企业划型标准规定》 (银发〔2015〕309号), by the average of four quarter-ends' total assets;
railway (G 53), education (P), health (Q 84), public administration (S), international
organisations (T) and K 7040 (leasing of own property) are classified with the "other" figures
only by reference (art. 6 of the 2011 rules), and a result says so.

Where the code is too coarse to pick a sector (section F alone, G 59 without the group, K 70
without the class, Q without the division), the caller gets :class:`IndustryCodeTooCoarseError`
instead of a guess.
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


#: The size rule and the industry mapping this module implements, as a result names them.
SIZE_RULE = "中小企业划型标准规定 (工信部联企业〔2011〕300号)"
SIZE_RULE_MAPPING = "统计上大中小微型企业划分办法(2017) (国统字〔2017〕213号)"
FINANCE_RULE = "金融业企业划型标准规定 (银发〔2015〕309号)"


class Scope(StrEnum):
    """How the 2011 rules apply to an industry."""

    IN_RULE = "in_rule"  # one of the 16 sectors of art. 4 (per the 2017 mapping)
    BY_REFERENCE = "by_reference"  # outside the sectors, classified by reference (art. 6)
    OUTSIDE_RULE = "outside_rule"  # finance: its own rule, not the 2011 one


@dataclass(frozen=True, slots=True)
class SectorScope:
    """The sector an industry code is classified as, and on what footing."""

    sector: Sector | None
    scope: Scope
    note: str


class InvalidIndustryCodeError(ConsentLedgerError, ValueError):
    """A string that is not a GB/T 4754-2017 industry code."""

    code = "invalid_industry_code"

    def __init__(self, given: str, reason: str) -> None:
        self.given = given
        self.reason = reason
        super().__init__(f"invalid industry code {given!r}: {reason}")


class OutsideSizeRuleError(ConsentLedgerError, ValueError):
    """An industry the 2011 SME rules do not classify at all (finance has its own rule)."""

    code = "outside_size_rule"

    def __init__(self, given: str, note: str) -> None:
        self.given = given
        self.note = note
        super().__init__(f"industry code {given!r}: {note}")


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
    # 其他未列明行业 in the 2017 mapping: science and technical services, water, environment and
    # public facilities, resident services and repair, culture, sports and entertainment.
    "M": Sector.OTHER,
    "N": Sector.OTHER,
    "O": Sector.OTHER,
    "R": Sector.OTHER,
}

_DIVISION_SECTORS: dict[int, Sector] = {
    51: Sector.WHOLESALE,
    52: Sector.RETAIL,
    **dict.fromkeys(range(54, 59), Sector.TRANSPORT),
    60: Sector.POSTAL,
    61: Sector.ACCOMMODATION,
    62: Sector.CATERING,
    63: Sector.INFORMATION_TRANSMISSION,
    64: Sector.INFORMATION_TRANSMISSION,
    65: Sector.SOFTWARE_IT_SERVICES,
    85: Sector.OTHER,  # social work
}

_ART6 = "classified with the other-sector figures by reference only (art. 6 of the 2011 rules)"
_BY_REFERENCE_SECTIONS = {
    "P": "education is not a sector of the 2011 rules",
    "S": "public administration is not a sector of the 2011 rules",
    "T": "international organisations are not a sector of the 2011 rules",
}
_BY_REFERENCE_DIVISIONS = {
    53: "railway transport is excluded from transport (2017 mapping)",
    84: "health is not a sector of the 2011 rules",
}
_FINANCE_NOTE = (
    f"finance (section J) is outside the 2011 rules; its rule is {FINANCE_RULE}, by the average "
    "of the four quarter-ends' total assets of a fiscal year, which the bureau does not hold"
)

# Sections whose divisions fall into different sectors: a bare letter is not enough.
_SPLIT_SECTIONS = frozenset({"F", "G", "H", "I", "K", "Q"})


def sector_scope(code: str | IndustryCode) -> SectorScope:
    """The size-rule sector of an industry code and whether the rule covers it (module docstring).

    Raises :class:`IndustryCodeTooCoarseError` when the code does not say enough.
    """
    parsed = code if isinstance(code, IndustryCode) else parse_industry_code(code)
    given = str(parsed)
    if parsed.section == "J":
        return SectorScope(None, Scope.OUTSIDE_RULE, _FINANCE_NOTE)
    if parsed.section in _BY_REFERENCE_SECTIONS:
        return SectorScope(
            Sector.OTHER, Scope.BY_REFERENCE, f"{_BY_REFERENCE_SECTIONS[parsed.section]}: {_ART6}"
        )
    if parsed.section in _SECTION_SECTORS:
        return SectorScope(_SECTION_SECTORS[parsed.section], Scope.IN_RULE, SIZE_RULE_MAPPING)
    division = parsed.division
    if division is None:
        raise IndustryCodeTooCoarseError(
            given, f"section {parsed.section} spans several sectors; give the division"
        )
    if division in _BY_REFERENCE_DIVISIONS:
        return SectorScope(
            Sector.OTHER, Scope.BY_REFERENCE, f"{_BY_REFERENCE_DIVISIONS[division]}: {_ART6}"
        )
    if division == 59:
        if len(parsed.digits) < 3:
            raise IndustryCodeTooCoarseError(
                given,
                "G 59 needs the group (591 loading and unloading is transport, 592-599 "
                "warehousing)",
            )
        if parsed.digits.startswith("591"):
            return SectorScope(Sector.TRANSPORT, Scope.IN_RULE, SIZE_RULE_MAPPING)
        return SectorScope(Sector.WAREHOUSING, Scope.IN_RULE, SIZE_RULE_MAPPING)
    if division == 70:
        if len(parsed.digits) < 4:
            raise IndustryCodeTooCoarseError(
                given,
                "real estate needs the 4-digit class (7010 development, 7020 property "
                "management, 7030 and 7090 other sectors, 7040 other sectors by reference)",
            )
        by_class = {
            "7010": Sector.REAL_ESTATE_DEVELOPMENT,
            "7020": Sector.PROPERTY_MANAGEMENT,
            "7030": Sector.OTHER,
            "7090": Sector.OTHER,
        }
        if parsed.digits in by_class:
            return SectorScope(by_class[parsed.digits], Scope.IN_RULE, SIZE_RULE_MAPPING)
        return SectorScope(
            Sector.OTHER,
            Scope.BY_REFERENCE,
            f"K {parsed.digits} (leasing of own property) is outside the 2017 mapping: {_ART6}",
        )
    return SectorScope(_DIVISION_SECTORS[division], Scope.IN_RULE, SIZE_RULE_MAPPING)


def sector_of(code: str | IndustryCode) -> Sector:
    """The size-rule sector of an industry code, in the rule or by reference (art. 6).

    Raises :class:`OutsideSizeRuleError` for finance (section J), which has its own rule.
    """
    scope = sector_scope(code)
    if scope.sector is None:
        raise OutsideSizeRuleError(str(code).strip().upper(), scope.note)
    return scope.sector
