"""Compile contracts/ into the package's committed artifacts.

python scripts/compile_contracts.py            compile and write the artifacts
python scripts/compile_contracts.py --if-stale compile only if the sources changed (runs npm ci
                                               first when node_modules is missing)
python scripts/compile_contracts.py --check    recompile in memory; exit 1 if the committed
                                               artifacts differ from a fresh compile
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from consentledger.chain.compiler import (
    ARTIFACTS_DIR,
    Checkout,
    compile_checkout,
    render,
    stale_artifacts,
    write_artifacts,
)

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--if-stale", action="store_true", help="compile only if the sources changed")
    mode.add_argument("--check", action="store_true", help="fail if committed artifacts are stale")
    args = parser.parse_args(argv)
    checkout = Checkout(ROOT)

    if args.check:
        fresh = compile_checkout(checkout)
        differing = [
            name
            for name, artifact in fresh.items()
            if not (ARTIFACTS_DIR / f"{name}.json").exists()
            or (ARTIFACTS_DIR / f"{name}.json").read_text() != render(artifact)
        ]
        if differing:
            print(f"stale artifacts: {', '.join(differing)}; run `make compile`", file=sys.stderr)
            return 1
        print("artifacts are fresh")
        return 0

    if args.if_stale:
        stale = stale_artifacts(checkout)
        if not stale:
            print("contracts unchanged; artifacts are fresh")
            return 0
        if not (ROOT / "node_modules" / "solc").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)

    write_artifacts(compile_checkout(checkout))
    print(f"wrote artifacts to {ARTIFACTS_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
