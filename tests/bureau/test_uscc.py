"""USCC validation (GB 32100-2015, GB 11714 organisation check) against a naive reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentledger.bureau.rows import BatchBuilder
from consentledger.bureau.showcase import SHOWCASE_USCCS
from consentledger.bureau.synthetic import SyntheticBureau
from consentledger.bureau.uscc import (
    InvalidUSCCError,
    USCCCharacterError,
    USCCCheckCharacterError,
    USCCLengthError,
    USCCOrganisationCheckError,
    check_characters,
    is_valid_uscc,
    make_uscc,
    parse_uscc,
    uscc_check_character,
)
from consentledger.errors import ConsentLedgerError

# --- a deliberately naive reference, written from domain.md and independent of the module -----

REFERENCE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z


def reference_is_valid(code: str) -> bool:
    """Literal transcription of the two check algorithms."""
    if len(code) != 18 or any(c not in REFERENCE_ALPHABET for c in code):
        return False
    if not code[2:8].isdigit():
        return False
    # GB 11714: letters A-Z valued 10-35 (int(c, 36) does exactly that), weights 3,7,9,10,5,8,4,2.
    org_weights = [3, 7, 9, 10, 5, 8, 4, 2]
    s = 0
    for i in range(8):
        s += int(code[8 + i], 36) * org_weights[i]
    c = 11 - s % 11
    org_expected = "X" if c == 10 else "0" if c == 11 else str(c)
    if code[16] != org_expected:
        return False
    # GB 32100: weight of position i (0-based) is 3**i mod 31; values are alphabet indexes.
    s = 0
    for i in range(17):
        s += REFERENCE_ALPHABET.index(code[i]) * pow(3, i, 31)
    c = 31 - s % 31
    if c == 31:
        c = 0
    return code[17] == REFERENCE_ALPHABET[c]


# --- known-valid codes ---------------------------------------------------------------------------

# Worked by hand for 91440305MA5DKW7Q1B (the chip distributor of the showcase):
#   organisation body M A 5 D K W 7 Q = 22 10 5 13 20 32 7 26 (A-Z as 10-35)
#   3*22 + 7*10 + 9*5 + 10*13 + 5*20 + 8*32 + 4*7 + 2*26 = 747; 747 mod 11 = 10; 11 - 10 = 1 -> "1"
#   positions 1-17 "91440305MA5DKW7Q1" as alphabet indexes: 9 1 4 4 0 3 0 5 21 10 5 13 19 28 7 24 1
#   weighted sum = 2965; 2965 mod 31 = 20; 31 - 20 = 11 -> alphabet[11] = "B"
HAND_WORKED = "91440305MA5DKW7Q1B"
HAND_ORG_SUM = 3 * 22 + 7 * 10 + 9 * 5 + 10 * 13 + 5 * 20 + 8 * 32 + 4 * 7 + 2 * 26
HAND_FINAL_SUM = sum(
    v * w
    for v, w in zip(
        (9, 1, 4, 4, 0, 3, 0, 5, 21, 10, 5, 13, 19, 28, 7, 24, 1),
        (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28),
        strict=True,
    )
)

VALID = [
    pytest.param(HAND_WORKED, id="hand-worked-MA5-nanshan"),
    pytest.param("91440300708461136T", id="public-licence-shenzhen-numeric-org-code"),
    pytest.param("914403001922038216", id="public-licence-shenzhen-check-6"),
    pytest.param("91440304MA5EU3R884", id="showcase-futian"),
    pytest.param("  91440305ma5dkw7q1b\n", id="normalised-whitespace-and-case"),
]


def test_hand_worked_sums() -> None:
    assert HAND_ORG_SUM == 747
    assert 11 - HAND_ORG_SUM % 11 == 1
    assert HAND_FINAL_SUM == 2965
    assert REFERENCE_ALPHABET[31 - HAND_FINAL_SUM % 31] == "B"


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_pass_both_implementations(code: str) -> None:
    parsed = parse_uscc(code)
    assert parsed.code == code.strip().upper()
    assert reference_is_valid(parsed.code)
    assert is_valid_uscc(code)


def test_parts() -> None:
    parsed = parse_uscc(HAND_WORKED)
    assert parsed.registration_authority == "9"
    assert parsed.entity_type == "1"
    assert parsed.division == "440305"
    assert parsed.organisation_code == "MA5DKW7Q1"
    assert parsed.check_character == "B"
    assert str(parsed) == HAND_WORKED


# --- invalid codes: every failure kind ---------------------------------------------------------

INVALID = [
    pytest.param("", USCCLengthError, {"length": 0}, "18 characters", id="empty"),
    pytest.param(HAND_WORKED[:-1], USCCLengthError, {"length": 17}, "has 17", id="too-short"),
    pytest.param(HAND_WORKED + "0", USCCLengthError, {"length": 19}, "has 19", id="too-long"),
    pytest.param(
        "91440305MA5DKW7OQ1",
        USCCCharacterError,
        {"position": 16, "character": "O"},
        "did you mean '0'",
        id="letter-O-not-in-alphabet",
    ),
    pytest.param(
        "91440305MA5DKI7Q1B",
        USCCCharacterError,
        {"position": 14, "character": "I"},
        "position 14",
        id="letter-I-not-in-alphabet",
    ),
    pytest.param(
        "91440305MA5DKW7Q1Z",
        USCCCharacterError,
        {"position": 18, "character": "Z"},
        "'Z' at position 18",
        id="letter-Z-not-in-alphabet",
    ),
    pytest.param(
        "91440305MA5D-W7Q1B",
        USCCCharacterError,
        {"position": 13, "character": "-"},
        "'-' at position 13",
        id="hyphen",
    ),
    pytest.param(
        "9144 305MA5DKW7Q1B",
        USCCCharacterError,
        {"position": 5, "character": " "},
        "position 5",
        id="inner-space",
    ),
    pytest.param(
        "914403\uff105MA5DKW7Q1B",
        USCCCharacterError,
        {"position": 7, "character": "\uff10"},
        "position 7",
        id="full-width-digit",
    ),
    pytest.param(
        "91A40305MA5DKW7Q1B",
        USCCCharacterError,
        {"position": 3, "character": "A"},
        "division code",
        id="letter-in-division",
    ),
    pytest.param(
        "91440305MA5DKW7Q2B",
        USCCOrganisationCheckError,
        {"expected": "1", "actual": "2"},
        "should be '1', it is '2'",
        id="organisation-check",
    ),
    pytest.param(
        "91440305MA5DKW7Q1C",
        USCCCheckCharacterError,
        {"expected": "B", "actual": "C"},
        "should be 'B', it is 'C'",
        id="final-check",
    ),
    pytest.param(
        "914403001922038217",
        USCCCheckCharacterError,
        {"expected": "6", "actual": "7"},
        "position 18",
        id="final-check-numeric",
    ),
]


@pytest.mark.parametrize(("code", "error", "attributes", "message"), INVALID)
def test_invalid_codes_name_what_is_wrong(
    code: str, error: type[InvalidUSCCError], attributes: dict[str, object], message: str
) -> None:
    with pytest.raises(error) as caught:
        parse_uscc(code)
    exc = caught.value
    assert isinstance(exc, ConsentLedgerError)
    assert isinstance(exc, ValueError)
    for name, value in attributes.items():
        assert getattr(exc, name) == value
    assert message in str(exc)
    assert exc.code.startswith("invalid_uscc")
    assert not is_valid_uscc(code)
    assert not reference_is_valid(code.strip().upper())


def test_organisation_check_reported_before_final_check() -> None:
    # A wrong organisation digit with a final character recomputed to match: only GB 11714 fails.
    first17 = HAND_WORKED[:16] + "2"
    code = first17 + uscc_check_character(first17)
    with pytest.raises(USCCOrganisationCheckError):
        parse_uscc(code)


def test_never_fixes_a_code() -> None:
    with pytest.raises(USCCCharacterError):
        parse_uscc("91440305MA5DKW7Q1B".replace("0", "O", 1))


def test_check_characters_complete_a_prefix() -> None:
    assert check_characters(HAND_WORKED[:16]) == ("1", "B")
    assert make_uscc("440305", "MA5DKW7Q") == HAND_WORKED


def test_showcase_constants_are_valid() -> None:
    for code in SHOWCASE_USCCS:
        assert parse_uscc(code).code == code
        assert reference_is_valid(code)


# --- properties -------------------------------------------------------------------------------

_body_chars = st.sampled_from(REFERENCE_ALPHABET)
_prefixes = st.tuples(
    st.sampled_from("159NY"),
    st.sampled_from("123"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=REFERENCE_ALPHABET, min_size=8, max_size=8),
).map("".join)


@given(_prefixes)
def test_completed_prefixes_validate(prefix: str) -> None:
    organisation, final = check_characters(prefix)
    code = prefix + organisation + final
    assert parse_uscc(code).code == code
    assert reference_is_valid(code)


@given(_prefixes, st.integers(min_value=0, max_value=17), _body_chars)
def test_any_single_substitution_is_caught(prefix: str, position: int, replacement: str) -> None:
    code = prefix + "".join(check_characters(prefix))
    if code[position] == replacement:
        return
    mutated = code[:position] + replacement + code[position + 1 :]
    assert not is_valid_uscc(mutated)
    assert not reference_is_valid(mutated)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_generated_codes_validate_for_any_seed(seed: int) -> None:
    generator = SyntheticBureau(seed=seed)
    builder = BatchBuilder()
    codes = [generator.enterprise(builder) for _ in range(25)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert parse_uscc(code).code == code
        assert reference_is_valid(code)
