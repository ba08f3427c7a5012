"""The ledger's refusal: a contract's custom error, as the model predicts it and as the chain
raises it."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from consentledger.errors import ConsentLedgerError


class LedgerRevertError(ConsentLedgerError, ValueError):
    """The ledger refuses an action: ``error`` is the contract's custom error name, ``args`` its
    arguments in declaration order. The chain client raises the same class for a real revert, so
    the model's prediction and the chain's answer compare with ``==``."""

    code = "ledger_rejected"

    def __init__(self, error: str, *args: Any) -> None:
        self.error = error
        self.error_args: tuple[Any, ...] = tuple(args)
        rendered = ", ".join(_render(a) for a in args)
        super().__init__(f"{error}({rendered})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LedgerRevertError):
            return NotImplemented
        return (self.error, _normalise(self.error_args)) == (
            other.error,
            _normalise(other.error_args),
        )

    def __hash__(self) -> int:
        return hash((self.error, _normalise(self.error_args)))


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, IntEnum):
        return value.name
    return str(value)


def _normalise(args: tuple[Any, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, str) and arg.startswith("0x") and len(arg) == 42:
            out.append(arg.lower())
        elif isinstance(arg, IntEnum):
            out.append(int(arg))
        else:
            out.append(arg)
    return tuple(out)
