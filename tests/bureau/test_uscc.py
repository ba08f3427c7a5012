"""USCC validation (GB 32100-2015, GB 11714 organisation check) against a naive reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentledger.bureau.divisions import division_codes
from consentledger.bureau.rows import BatchBuilder
from consentledger.bureau.showcase import SHOWCASE_USCCS
from consentledger.bureau.synthetic import SyntheticBureau
from consentledger.bureau.uscc import (
    InvalidUSCCError,
    USCCAuthorityError,
    USCCCharacterError,
    USCCCheckCharacterError,
    USCCDivisionError,
    USCCEntityTypeError,
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


# GB 32100-2015 appendix A (with its amendments for authorities A and N), transcribed by hand:
# authority, then the entity types it issues.
REFERENCE_PAIRS = [
    a + t
    for a, types in {
        "1": "1239",
        "2": "19",
        "3": "123459",
        "4": "19",
        "5": "1239",
        "6": "129",
        "7": "129",
        "8": "19",
        "9": "123",
        "A": "19",
        "N": "1239",
        "Y": "1",
    }.items()
    for t in types
]


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
    st.sampled_from(REFERENCE_PAIRS),
    st.sampled_from(sorted(division_codes())),
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


# --- positions 1-2: registration authority and entity type (GB 32100-2015, appendix A) ---------


def _complete(first16: str) -> str:
    """``first16`` with both check characters, so that only the table checks can fail."""
    return first16 + "".join(check_characters(first16))


@pytest.mark.parametrize("pair", REFERENCE_PAIRS)
def test_every_pair_of_the_standard_is_accepted(pair: str) -> None:
    code = _complete(f"{pair}440300MA5H8REU")
    parsed = parse_uscc(code)
    assert parsed.registration_authority + parsed.entity_type == pair
    assert parsed.authority_name[0]
    assert parsed.entity_type_name[0]


@pytest.mark.parametrize(
    "pair",
    sorted({a + t for a in REFERENCE_ALPHABET for t in REFERENCE_ALPHABET} - set(REFERENCE_PAIRS)),
)
def test_every_other_pair_is_refused(pair: str) -> None:
    with pytest.raises((USCCAuthorityError, USCCEntityTypeError)) as caught:
        parse_uscc(_complete(f"{pair}440300MA5H8REU"))
    assert caught.value.code in ("invalid_uscc_authority", "invalid_uscc_entity_type")


PINGSHAN = _complete("91440310MA5H8REU")
GUANGMING = _complete("91440311MA5H8REU")

TABLE_FAILURES = [
    # The cases a Shenzhen credit analyst found accepted; check characters are right in each.
    pytest.param("01440300MA5H8REU3W", USCCAuthorityError, "no authority 0", id="authority-0"),
    pytest.param("90440300MA5H8REU3N", USCCEntityTypeError, "9 issues types 1-3", id="type-9-0"),
    pytest.param("9A440300MA5H8REU3P", USCCEntityTypeError, "9 issues types 1-3", id="type-9-A"),
    pytest.param(_complete("99440300MA5H8REU"), USCCEntityTypeError, "9 has no 9", id="type-9-9"),
    pytest.param(_complete("Y2440300MA5H8REU"), USCCEntityTypeError, "Y has 1 only", id="Y2"),
    pytest.param(_complete("B1440300MA5H8REU"), USCCAuthorityError, "no authority B", id="auth-B"),
    # Positions 3-8 against GB/T 2260.
    pytest.param("91000000MA5H8REU3Q", USCCDivisionError, "000000 is no division", id="div-0"),
    pytest.param("91990000MA5H8REU3A", USCCDivisionError, "no province 99", id="div-99"),
    pytest.param(_complete("91440399MA5H8REU"), USCCDivisionError, "no 440399", id="div-440399"),
    pytest.param(_complete("91440301MA5H8REU"), USCCDivisionError, "市辖区 row", id="div-440301"),
]


@pytest.mark.parametrize(("code", "error", "why"), TABLE_FAILURES)
def test_table_failures_are_named_checks(
    code: str, error: type[InvalidUSCCError], why: str
) -> None:
    assert reference_is_valid(code), "the check characters are right: only the tables fail"
    with pytest.raises(error) as caught:
        parse_uscc(code)
    assert caught.value.code == error.code
    assert not is_valid_uscc(code)


def test_authority_and_type_are_checked_before_the_check_characters() -> None:
    # Wrong authority and wrong final character: the authority is what is reported.
    with pytest.raises(USCCAuthorityError):
        parse_uscc("01440300MA5H8REU3X")


# --- positions 3-8: GB/T 2260 divisions, named ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "name_en", "since"),
    [
        pytest.param("914403001922038216", "广东省深圳市", "Shenzhen", 1981, id="huawei-440300"),
        pytest.param("91440300708461136T", "广东省深圳市", "Shenzhen", 1981, id="tencent-440300"),
        pytest.param("9144030071526726XG", "广东省深圳市", "Shenzhen", 1981, id="tencent-2"),
        pytest.param(HAND_WORKED, "广东省深圳市南山区", "Nanshan", 1990, id="nanshan"),
        pytest.param(
            _complete("91440310MA5H8REU"), "广东省深圳市坪山区", "Pingshan", 2016, id="ps"
        ),
        pytest.param(
            _complete("91440311MA5H8REU"), "广东省深圳市光明区", "Guangming", 2018, id="gm"
        ),
        pytest.param(_complete("91440000MA5H8REU"), "广东省", "Guangdong", 1981, id="province"),
        pytest.param(_complete("91110105MA5H8REU"), "北京市朝阳区", None, 1981, id="beijing"),
        pytest.param(_complete("11100000MA5H8REU"), "中华人民共和国", None, 1949, id="national"),
    ],
)
def test_division_is_named(code: str, name: str, name_en: str | None, since: int) -> None:
    division = parse_uscc(code).describe()["division"]
    assert isinstance(division, dict)
    assert division["name"] == name
    assert division["name_en"] == name_en
    assert division["since"] == since


def test_retired_division_stays_valid() -> None:
    # 441283 高要市 became 高要区 (441204) in 2015: codes issued under it remain in use.
    parsed = parse_uscc(_complete("91441283MA5H8REU"))
    assert parsed.division_info.name == "高要市"
    assert parsed.division_info.until == 2015


def test_division_table_covers_guangdong_and_the_country() -> None:
    codes = division_codes()
    assert {"440300", "440303", "440304", "440305", "440306", "440307", "440308"} <= codes
    assert {"440309", "440310", "440311"} <= codes
    assert len([c for c in codes if c.startswith("44")]) >= 140
    assert len(codes) > 3000
    assert sum(1 for c in codes if c.endswith("0000")) >= 34  # every province-level division


# --- normalisation (NFKC, case, surrounding spaces) --------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            "\uff19\uff11\uff14\uff14\uff10\uff13\uff10\uff10\uff11\uff19\uff12\uff12\uff10\uff13"
            "\uff18\uff12\uff11\uff16",
            "914403001922038216",
            id="full-width-digits-huawei",
        ),
        pytest.param(
            "９１４４０３００７０８４６１１３６Ｔ",  # noqa: RUF001 (full-width input on purpose)
            "91440300708461136T",
            id="full-width-digits-and-letter-tencent",
        ),
        pytest.param(
            "\u30009144030071526726xg\u3000", "9144030071526726XG", id="ideographic-space-lower"
        ),
        pytest.param("914403\uff105MA5DKW7Q1B", HAND_WORKED, id="one-full-width-digit"),
    ],
)
def test_nfkc_normalisation(given: str, expected: str) -> None:
    assert parse_uscc(given).code == expected
