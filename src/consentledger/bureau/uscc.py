"""Unified Social Credit Codes (USCC, GB 32100-2015), with the GB 11714 organisation-code check.

A USCC has 18 characters over :data:`ALPHABET` (digits and capitals without I, O, S, V, Z)::

    9 1 440305 MA5G0C1B X 3
    | | |      |        | `- pos 18: check character over positions 1-17 (GB 32100)
    | | |      |        `--- pos 17: check digit of the organisation code (GB 11714)
    | | |      `------------ pos 9-16: organisation-code body
    | | `------------------- pos 3-8: administrative division (Shenzhen: 4403xx)
    | `--------------------- pos 2: entity type (1 = enterprise)
    `----------------------- pos 1: registration authority (9 = market supervision)

Input is normalised (Unicode NFKC, so that full-width digits and letters from Chinese input
methods and the ideographic space become ASCII; surrounding whitespace stripped; upper-cased) and
then checked; nothing else is ever "fixed". Every failure raises a subclass of
:class:`InvalidUSCCError` whose ``code`` names the check that failed.

Positions 1 and 2 must be a pair of GB 32100-2015's table (appendix A, with its amendments for
authorities A and N): :data:`ENTITY_TYPES`. Positions 3-8 must be a GB/T 2260 division code in
use at some time since 2015 (:mod:`consentledger.bureau.divisions`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from consentledger.bureau.divisions import Division, find_division
from consentledger.bureau.documents import JSONObject
from consentledger.errors import ConsentLedgerError

#: The 31 characters a USCC may use, in value order (a character's value is its index).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

#: GB 32100 weights for positions 1-17 (3**i mod 31).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714 weights for the first eight characters of the organisation code.
ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

USCC_LENGTH = 18

#: GB 32100-2015, appendix A: registration authorities (position 1), in Chinese and English.
AUTHORITIES = {
    "1": ("机构编制", "institutional staffing"),
    "2": ("外交", "foreign affairs"),
    "3": ("司法行政", "justice administration"),
    "4": ("文化", "culture"),
    "5": ("民政", "civil affairs"),
    "6": ("旅游", "tourism"),
    "7": ("宗教", "religious affairs"),
    "8": ("工会", "trade unions"),
    "9": ("工商", "market supervision"),
    "A": ("中央军委改革和编制办公室", "Central Military Commission staffing office"),
    "N": ("农业", "agriculture"),
    "Y": ("其他", "other"),
}

#: GB 32100-2015, appendix A: the entity types (position 2) each authority issues.
ENTITY_TYPES: dict[str, dict[str, tuple[str, str]]] = {
    "1": {
        "1": ("机关", "government body"),
        "2": ("事业单位", "public institution"),
        "3": ("中央编办直接管理机构编制的群众团体", "mass organisation"),
        "9": ("其他", "other"),
    },
    "2": {"1": ("外国常驻新闻机构", "resident foreign news agency"), "9": ("其他", "other")},
    "3": {
        "1": ("律师执业机构", "law firm"),
        "2": ("公证处", "notary office"),
        "3": ("基层法律服务所", "basic legal service office"),
        "4": ("司法鉴定机构", "forensic appraisal institution"),
        "5": ("仲裁委员会", "arbitration commission"),
        "9": ("其他", "other"),
    },
    "4": {"1": ("外国在华文化中心", "foreign cultural centre"), "9": ("其他", "other")},
    "5": {
        "1": ("社会团体", "social organisation"),
        "2": ("民办非企业单位", "private non-enterprise unit"),
        "3": ("基金会", "foundation"),
        "9": ("其他", "other"),
    },
    "6": {
        "1": ("外国旅游部门常驻代表机构", "foreign tourism office"),
        "2": (
            "港澳台地区旅游部门常驻内地（大陆）代表机构",
            "Hong Kong/Macao/Taiwan tourism office",
        ),
        "9": ("其他", "other"),
    },
    "7": {
        "1": ("宗教活动场所", "place of religious activity"),
        "2": ("宗教院校", "religious school"),
        "9": ("其他", "other"),
    },
    "8": {"1": ("基层工会", "grassroots trade union"), "9": ("其他", "other")},
    "9": {
        "1": ("企业", "enterprise"),
        "2": ("个体工商户", "individual business"),
        "3": ("农民专业合作社", "farmers' cooperative"),
    },
    "A": {"1": ("军队事业单位", "military public institution"), "9": ("其他", "other")},
    "N": {
        "1": ("组级集体经济组织", "group-level collective economic organisation"),
        "2": ("村级集体经济组织", "village-level collective economic organisation"),
        "3": ("乡镇级集体经济组织", "township-level collective economic organisation"),
        "9": ("其他", "other"),
    },
    "Y": {"1": ("其他", "other")},
}

# Characters people type by mistake for the ones the alphabet uses; only named in messages.
_LOOKALIKES = {"O": "0", "I": "1"}


class InvalidUSCCError(ConsentLedgerError, ValueError):
    """A string that is not a valid Unified Social Credit Code."""

    code = "invalid_uscc"

    def __init__(self, given: str, reason: str) -> None:
        self.given = given
        self.reason = reason
        super().__init__(f"invalid USCC {given!r}: {reason}")


class USCCLengthError(InvalidUSCCError):
    """The code does not have 18 characters."""

    code = "invalid_uscc_length"

    def __init__(self, given: str) -> None:
        self.length = len(given)
        super().__init__(given, f"a USCC has {USCC_LENGTH} characters, this one has {self.length}")


class USCCCharacterError(InvalidUSCCError):
    """A character outside the USCC alphabet, or a non-digit in the division code."""

    code = "invalid_uscc_character"

    def __init__(self, given: str, position: int, character: str, allowed: str) -> None:
        self.position = position
        self.character = character
        hint = ""
        if character in _LOOKALIKES:
            hint = f" (did you mean {_LOOKALIKES[character]!r}?)"
        super().__init__(
            given, f"character {character!r} at position {position} is not {allowed}{hint}"
        )


class USCCAuthorityError(InvalidUSCCError):
    """Position 1 is no registration authority of GB 32100-2015 (there is no authority 0)."""

    code = "invalid_uscc_authority"

    def __init__(self, given: str) -> None:
        self.authority = given[0]
        super().__init__(
            given,
            f"position 1 ({self.authority!r}) is no registration authority of GB 32100-2015 "
            f"(one of {''.join(AUTHORITIES)})",
        )


class USCCEntityTypeError(InvalidUSCCError):
    """Position 2 is no entity type of the authority in position 1 (GB 32100-2015)."""

    code = "invalid_uscc_entity_type"

    def __init__(self, given: str) -> None:
        self.authority = given[0]
        self.entity_type = given[1]
        allowed = ", ".join(ENTITY_TYPES[self.authority])
        super().__init__(
            given,
            f"authority {self.authority} ({AUTHORITIES[self.authority][1]}) issues entity types "
            f"{allowed}, not {self.entity_type!r} (position 2)",
        )


class USCCDivisionError(InvalidUSCCError):
    """Positions 3-8 are no GB/T 2260 administrative division in use since 2015."""

    code = "invalid_uscc_division"

    def __init__(self, given: str) -> None:
        self.division = given[2:8]
        super().__init__(
            given,
            f"positions 3-8 ({self.division}) are no administrative division code (GB/T 2260)",
        )


class USCCOrganisationCheckError(InvalidUSCCError):
    """Position 17, the GB 11714 check digit of the organisation code, is wrong."""

    code = "invalid_uscc_organisation_check"

    def __init__(self, given: str, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            given,
            f"organisation code {given[8:17]!r} fails the GB 11714 check: position 17 should be "
            f"{expected!r}, it is {actual!r}",
        )


class USCCCheckCharacterError(InvalidUSCCError):
    """Position 18, the GB 32100 check character, is wrong."""

    code = "invalid_uscc_check_character"

    def __init__(self, given: str, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            given,
            f"check character (position 18) should be {expected!r}, it is {actual!r}",
        )


@dataclass(frozen=True, slots=True)
class USCC:
    """A validated USCC and its parts. Build one with :func:`parse_uscc`."""

    code: str

    def __str__(self) -> str:
        return self.code

    @property
    def registration_authority(self) -> str:
        """Position 1 (``9``: market supervision)."""
        return self.code[0]

    @property
    def entity_type(self) -> str:
        """Position 2 (``1``: enterprise)."""
        return self.code[1]

    @property
    def division(self) -> str:
        """Positions 3-8, the administrative division code (e.g. ``440305`` Nanshan)."""
        return self.code[2:8]

    @property
    def division_info(self) -> Division:
        """The division named by positions 3-8 (its latest name)."""
        found = find_division(self.division)
        if found is None:  # parse_uscc refuses unknown divisions
            raise USCCDivisionError(self.code)
        return found

    @property
    def authority_name(self) -> tuple[str, str]:
        """The registration authority in Chinese and English: ``("工商", "market supervision")``."""
        return AUTHORITIES[self.registration_authority]

    @property
    def entity_type_name(self) -> tuple[str, str]:
        """The entity type in Chinese and English: ``("企业", "enterprise")``."""
        return ENTITY_TYPES[self.registration_authority][self.entity_type]

    def describe(self) -> JSONObject:
        """The code's parts as shown with it: authority, entity type and division, named."""
        return {
            "registration_authority": {
                "code": self.registration_authority,
                "name": self.authority_name[0],
                "name_en": self.authority_name[1],
            },
            "entity_type": {
                "code": self.entity_type,
                "name": self.entity_type_name[0],
                "name_en": self.entity_type_name[1],
            },
            "division": self.division_info.describe(),
        }

    @property
    def organisation_code(self) -> str:
        """Positions 9-17, the GB 11714 organisation code including its check digit."""
        return self.code[8:17]

    @property
    def check_character(self) -> str:
        """Position 18."""
        return self.code[17]


def normalise_uscc(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII, ideographic space to space), strip, upper."""
    return unicodedata.normalize("NFKC", text).strip().upper()


def organisation_check_digit(body: str) -> str:
    """The GB 11714 check digit for an 8-character organisation-code body.

    Digits count their value and letters A-Z 10-35; ``c = 11 - sum mod 11``, 10 is written ``X``
    and 11 ``0``.
    """
    if len(body) != len(ORGANISATION_WEIGHTS):
        raise ValueError(f"an organisation-code body has 8 characters, got {body!r}")
    total = 0
    for weight, ch in zip(ORGANISATION_WEIGHTS, body, strict=True):
        if ch.isdigit() and ch.isascii():
            value = ord(ch) - ord("0")
        elif "A" <= ch <= "Z":
            value = ord(ch) - ord("A") + 10
        else:
            raise ValueError(f"{ch!r} cannot appear in an organisation code")
        total += weight * value
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC.

    Each character counts its index in :data:`ALPHABET`; ``c = 31 - sum mod 31``, 31 is ``0``.
    """
    if len(first17) != USCC_LENGTH - 1:
        raise ValueError(f"need the first 17 characters of a USCC, got {first17!r}")
    try:
        total = sum(w * _VALUE[ch] for w, ch in zip(USCC_WEIGHTS, first17, strict=True))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the USCC alphabet") from None
    return ALPHABET[(31 - total % 31) % 31]


def check_characters(first16: str) -> tuple[str, str]:
    """Both check characters for the first 16 characters of a USCC.

    Returns ``(organisation_check, final_check)``: positions 17 and 18. ``first16 +
    organisation_check + final_check`` is then a valid code.
    """
    if len(first16) != USCC_LENGTH - 2:
        raise ValueError(f"need the first 16 characters of a USCC, got {first16!r}")
    organisation = organisation_check_digit(first16[8:16])
    return organisation, uscc_check_character(first16 + organisation)


def make_uscc(
    division: str, organisation_body: str, *, authority: str = "9", entity_type: str = "1"
) -> str:
    """A valid USCC from its parts, computing both check characters.

    ``division`` is the 6-digit administrative division and ``organisation_body`` the first eight
    characters of the organisation code; the result is validated before it is returned.
    """
    first16 = f"{authority}{entity_type}{division}{organisation_body}"
    organisation, final = check_characters(first16)
    return parse_uscc(first16 + organisation + final).code


@lru_cache(maxsize=4096)
def parse_uscc(text: str) -> USCC:
    """Normalise and validate a USCC; raise an :class:`InvalidUSCCError` subclass if it is bad.
    (Cached: a read checks its enterprise's code several times, and a bank reads the same
    enterprises again and again; a bad code is not cached and raises each time.)

    The checks run in this order and the first failure is reported: length (18), alphabet (each
    position, first offender named), registration authority (position 1) and entity type
    (position 2) per GB 32100-2015, division (positions 3-8 are digits and a GB/T 2260 code), GB
    11714 organisation check (position 17), GB 32100 check character (position 18).
    """
    code = normalise_uscc(text)
    if len(code) != USCC_LENGTH:
        raise USCCLengthError(code)
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            raise USCCCharacterError(
                code, position, ch, "in the USCC alphabet (digits and A-Y without I, O, S, V, Z)"
            )
    if code[0] not in AUTHORITIES:
        raise USCCAuthorityError(code)
    if code[1] not in ENTITY_TYPES[code[0]]:
        raise USCCEntityTypeError(code)
    for position in range(3, 9):
        ch = code[position - 1]
        if not ch.isdigit():
            raise USCCCharacterError(
                code, position, ch, "a digit (positions 3-8 are the division code)"
            )
    if find_division(code[2:8]) is None:
        raise USCCDivisionError(code)
    expected_org = organisation_check_digit(code[8:16])
    if code[16] != expected_org:
        raise USCCOrganisationCheckError(code, expected_org, code[16])
    expected_final = uscc_check_character(code[:17])
    if code[17] != expected_final:
        raise USCCCheckCharacterError(code, expected_final, code[17])
    return USCC(code)


def validate_uscc(text: str) -> str:
    """The normalised code if valid, else an :class:`InvalidUSCCError` subclass is raised."""
    return parse_uscc(text).code


def is_valid_uscc(text: str) -> bool:
    """Whether ``text`` is a valid USCC (after normalisation)."""
    try:
        parse_uscc(text)
    except InvalidUSCCError:
        return False
    return True
