"""Compiled contract artifacts (ABI, bytecode, compiler version and settings), committed.

Written by ``scripts/compile_contracts.py``; read with :func:`load_artifact`.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from consentledger.errors import ConsentLedgerError


class ArtifactMissingError(ConsentLedgerError, FileNotFoundError):
    """No compiled artifact for a contract name."""

    code = "artifact_missing"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"no compiled artifact for {name!r}; run `make compile` (scripts/compile_contracts.py)"
        )


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` as a dict (``abi``, ``bytecode``, ``compiler``, ...)."""
    resource = resources.files(__name__).joinpath(f"{name}.json")
    if not resource.is_file():
        raise ArtifactMissingError(name)
    artifact: dict[str, Any] = json.loads(resource.read_text())
    return artifact


def artifact_hash(name: str) -> str:
    """sha256 over the artifact's ABI and creation bytecode: what a deployment ran."""
    artifact = load_artifact(name)
    payload = json.dumps({"abi": artifact["abi"], "bytecode": artifact["bytecode"]}, sort_keys=True)
    return "0x" + hashlib.sha256(payload.encode()).hexdigest()
