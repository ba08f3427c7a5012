"""Unified Social Credit Codes (USCC, GB 32100-2015), with the GB 11714 organisation-code check.

A USCC has 18 characters over :data:`ALPHABET` (digits and capitals without I, O, S, V, Z)::

    9 1 440305 MA5G0C1B X 3
    | | |      |        | `- pos 18: check character over positions 1-17 (GB 32100)
    | | |      |        `--- pos 17: check digit of the organisation code (GB 11714)
    | | |      `------------ pos 9-16: organisation-code body
    | | `------------------- pos 3-8: administrative division (Shenzhen: 4403xx)
    | `--------------------- pos 2: entity type (1 = enterprise)
    `----------------------- pos 1: registration authority (9 = market supervision)

Input is normalised (surrounding whitespace stripped, upper-cased) and then checked; nothing is
ever "fixed". Every failure raises a subclass of :class:`InvalidUSCCError` naming what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from consentledger.errors import ConsentLedgerError

#: The 31 characters a USCC may use, in value order (a character's value is its index).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

#: GB 32100 weights for positions 1-17 (3**i mod 31).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714 weights for the first eight characters of the organisation code.
ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

USCC_LENGTH = 18

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
    def organisation_code(self) -> str:
        """Positions 9-17, the GB 11714 organisation code including its check digit."""
        return self.code[8:17]

    @property
    def check_character(self) -> str:
        """Position 18."""
        return self.code[17]


def normalise_uscc(text: str) -> str:
    """Strip surrounding whitespace and upper-case. Nothing else is changed."""
    return text.strip().upper()


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


def parse_uscc(text: str) -> USCC:
    """Normalise and validate a USCC; raise an :class:`InvalidUSCCError` subclass if it is bad.

    The checks run in this order and the first failure is reported: length (18), alphabet (each
    position, first offender named), division (positions 3-8 are digits), GB 11714 organisation
    check (position 17), GB 32100 check character (position 18).
    """
    code = normalise_uscc(text)
    if len(code) != USCC_LENGTH:
        raise USCCLengthError(code)
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            raise USCCCharacterError(
                code, position, ch, "in the USCC alphabet (digits and A-Y without I, O, S, V, Z)"
            )
    for position in range(3, 9):
        ch = code[position - 1]
        if not ch.isdigit():
            raise USCCCharacterError(
                code, position, ch, "a digit (positions 3-8 are the division code)"
            )
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
