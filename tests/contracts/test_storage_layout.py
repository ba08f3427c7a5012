"""The access ledger's reading of a consent's storage word holds to solc's storage layout.

``AccessLedger._judge`` loads a consent (``Consents.ConsentRecord``) as one storage word and reads
each field as ``uintN(word >> _REC_FIELD)``: a shift and a width that must be the field's bit
offset and size in the struct as solc packs it. The committed artifact carries solc's
``storageLayout`` (and ``test_artifacts`` holds the artifact to a fresh compile of the sources), so
a change to the struct without the shifts, or to the shifts without the struct, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from consentledger.chain.artifacts import load_artifact

ROOT = Path(__file__).resolve().parents[2]
ACCESS_LEDGER = ROOT / "contracts" / "AccessLedger.sol"

_CONSTANT = re.compile(r"uint256 private constant (_REC_[A-Z_]+) = (\d+);")
#: Every read of the word: ``uintN(word)`` (the field at bit 0) or ``uintN(word >> _REC_X)``.
_READ = re.compile(r"uint(\d+)\(word(?: >> (_REC_[A-Z_]+))?\)")


#: A struct's members as solc lays them out: name -> (slot, bit offset, bits).
Record = dict[str, tuple[int, int, int]]


def _camel(constant: str) -> str:
    """``_REC_NOT_BEFORE`` -> ``notBefore``: the struct member a shift constant names."""
    first, *rest = constant.removeprefix("_REC_").lower().split("_")
    return first + "".join(word.title() for word in rest)


@pytest.fixture(scope="module")
def record() -> Record:
    """``ConsentRecord``'s members as solc lays them out: name -> (slot, bit offset, bits)."""
    layout: dict[str, Any] = load_artifact("ConsentLedger")["storageLayout"]
    types = layout["types"]
    (consents,) = (v for v in layout["storage"] if v["label"] == "_consents")
    struct = types[types[consents["type"]]["value"]]
    assert struct["label"] == "struct Consents.ConsentRecord"
    return {
        member["label"]: (
            int(member["slot"]),
            8 * member["offset"],
            8 * int(types[member["type"]]["numberOfBytes"]),
        )
        for member in struct["members"]
    }


@pytest.fixture(scope="module")
def source() -> str:
    return ACCESS_LEDGER.read_text()


def test_the_record_is_one_storage_word(record: Record) -> None:
    assert {slot for slot, _offset, _bits in record.values()} == {0}
    assert max(offset + bits for _slot, offset, bits in record.values()) <= 256


def shift_problems(record: Record, source: str) -> list[str]:
    """Each ``_REC_*`` constant that is not the bit offset of the member it names."""
    problems = []
    for constant, value in _CONSTANT.findall(source):
        field = _camel(constant)
        if field not in record:
            problems.append(f"{constant} names no ConsentRecord member ({field})")
        elif int(value) != record[field][1]:
            problems.append(f"{constant} = {value}, but {field} is at bit {record[field][1]}")
    return problems


def width_problems(record: Record, source: str) -> list[str]:
    """Each ``uintN(word >> _REC_X)`` that does not start at a member or reads another width."""
    constants = {name: int(value) for name, value in _CONSTANT.findall(source)}
    at_offset = {offset: (name, bits) for name, (_slot, offset, bits) in record.items()}
    problems = []
    for width, constant in _READ.findall(source):
        offset = constants[constant] if constant else 0
        if offset not in at_offset:
            problems.append(f"uint{width}(word >> {constant or 0}) starts inside a member")
            continue
        name, bits = at_offset[offset]
        if int(width) != bits:
            problems.append(f"{name} is a uint{bits}, read as uint{width}")
    return problems


def test_each_shift_is_its_fields_bit_offset(record: Record, source: str) -> None:
    assert _CONSTANT.findall(source), "no _REC_* constants found in AccessLedger.sol"
    assert shift_problems(record, source) == []


def test_each_read_has_its_fields_width(record: Record, source: str) -> None:
    assert _READ.findall(source), "no reads of the consent's storage word in AccessLedger.sol"
    assert width_problems(record, source) == []


def _wider_not_before(record: Record) -> Record:
    """The layout after ``uint40 notBefore`` became ``uint48``: every later member moves up."""
    at = record["notBefore"][1]
    moved = {
        name: (slot, offset + 8 if offset > at else offset, bits)
        for name, (slot, offset, bits) in record.items()
    }
    moved["notBefore"] = (0, at, 48)
    return moved


@pytest.mark.parametrize(
    ("wider", "shift", "caught"),
    [
        pytest.param(False, "_REC_NOT_BEFORE = 24;", False, id="as compiled"),
        pytest.param(True, "_REC_NOT_BEFORE = 24;", True, id="struct changed alone"),
        pytest.param(False, "_REC_NOT_BEFORE = 32;", True, id="shift changed alone"),
    ],
)
def test_a_change_to_one_side_alone_is_caught(
    record: Record, source: str, wider: bool, shift: str, caught: bool
) -> None:
    edited_source = source.replace("_REC_NOT_BEFORE = 24;", shift)
    edited = _wider_not_before(record) if wider else record
    problems = shift_problems(edited, edited_source) + width_problems(edited, edited_source)
    assert bool(problems) is caught, problems
