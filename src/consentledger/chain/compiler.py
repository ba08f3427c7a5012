"""Compile the Solidity contracts with solcjs through py-solc-x, and keep the artifacts fresh.

Native solc cannot be downloaded on our machines, so ``scripts/solc`` (a Node wrapper over the npm
package's JS API) answers like the native binary and py-solc-x's ``compile_standard`` drives it.
The compiled artifacts are committed inside the package (``consentledger/chain/artifacts``), so an
installed package runs without Node; only recompiling needs a checkout with ``node_modules``.

An artifact records a *source fingerprint*: a hash of every contract source, the pinned versions of
solc and OpenZeppelin in package.json, and the compiler settings. A stale fingerprint means the
sources changed since the last compile; the test suite goes further and recompiles to compare bytes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentledger.errors import ConsentLedgerError

#: The contracts that get an artifact.
CONTRACTS: tuple[str, ...] = ("ConsentLedger",)

#: Compiler settings; part of the fingerprint, recorded in every artifact.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1000},
    "evmVersion": "cancun",
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.immutableReferences",
                "storageLayout",
            ]
        }
    },
}

ARTIFACTS_DIR = Path(__file__).parent / "artifacts"


class CompilationError(ConsentLedgerError, RuntimeError):
    """The contracts could not be compiled (toolchain missing or solc reported errors)."""

    code = "compilation_failed"


@dataclass(frozen=True, slots=True)
class Checkout:
    """A source checkout: the directory holding contracts/, scripts/solc and package.json."""

    root: Path

    @property
    def contracts_dir(self) -> Path:
        return self.root / "contracts"

    @property
    def solc(self) -> Path:
        return self.root / "scripts" / "solc"

    def sources(self) -> list[Path]:
        """Every contract source, in a stable order."""
        return sorted(self.contracts_dir.rglob("*.sol"))

    def source_key(self, path: Path) -> str:
        """The name solc knows a source by (``contracts/X.sol``)."""
        return path.relative_to(self.root).as_posix()

    def pinned_toolchain(self) -> dict[str, str]:
        """solc and OpenZeppelin versions as pinned in package.json."""
        package = json.loads((self.root / "package.json").read_text())
        deps: dict[str, str] = {
            **package.get("dependencies", {}),
            **package.get("devDependencies", {}),
        }
        return {name: deps[name] for name in ("solc", "@openzeppelin/contracts")}

    def fingerprint(self) -> str:
        """Hash of the sources, the pinned toolchain and the settings."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.pinned_toolchain(), sort_keys=True).encode())
        digest.update(json.dumps(SETTINGS, sort_keys=True).encode())
        for path in self.sources():
            digest.update(self.source_key(path).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()


def compile_checkout(checkout: Checkout) -> dict[str, dict[str, Any]]:
    """Compile every contract source; return an artifact per name in :data:`CONTRACTS`."""
    import solcx  # imported late: only a checkout compiles
    from solcx.exceptions import SolcError

    if shutil.which("node") is None:
        raise CompilationError("Node.js is needed to compile the contracts (solcjs); install node")
    if not (checkout.root / "node_modules" / "solc").is_dir():
        raise CompilationError("node_modules is missing: run `npm ci` (or `make compile`)")
    sources = {checkout.source_key(p): {"content": p.read_text()} for p in checkout.sources()}
    standard_input = {"language": "Solidity", "sources": sources, "settings": SETTINGS}
    try:
        version = str(solcx.wrapper.get_solc_version(checkout.solc, with_commit_hash=True))
        output = solcx.compile_standard(
            standard_input, solc_binary=checkout.solc, base_path=checkout.root
        )
    except SolcError as exc:
        raise CompilationError(f"solc failed: {exc}") from exc
    fingerprint = checkout.fingerprint()
    artifacts: dict[str, dict[str, Any]] = {}
    for name in CONTRACTS:
        key = f"contracts/{name}.sol"
        try:
            compiled = output["contracts"][key][name]
        except KeyError:
            raise CompilationError(f"solc produced no output for {key}:{name}") from None
        artifacts[name] = {
            "contractName": name,
            "sourceName": key,
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            # Byte ranges of the runtime code that the constructor fills in (EIP712's cache).
            "immutableRanges": sorted(
                (ref["start"], ref["length"])
                for refs in compiled["evm"]["deployedBytecode"]["immutableReferences"].values()
                for ref in refs
            ),
            # Where each state variable lives (slots, byte offsets, types): the access ledger reads
            # a consent's storage word by bit offsets that tests/test_storage_layout.py holds to it.
            "storageLayout": compiled["storageLayout"],
            "compiler": {"name": "solcjs", "version": version, "settings": SETTINGS},
            "toolchain": checkout.pinned_toolchain(),
            "sourceFingerprint": fingerprint,
        }
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """The artifact as committed: stable JSON, one trailing newline."""
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], directory: Path = ARTIFACTS_DIR) -> None:
    """Write each artifact to ``<directory>/<name>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        (directory / f"{name}.json").write_text(render(artifact))


def stale_artifacts(checkout: Checkout, directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Names whose committed artifact is missing or whose fingerprint differs from the sources."""
    fingerprint = checkout.fingerprint()
    stale = []
    for name in CONTRACTS:
        path = directory / f"{name}.json"
        if (
            not path.exists()
            or json.loads(path.read_text()).get("sourceFingerprint") != fingerprint
        ):
            stale.append(name)
    return stale
