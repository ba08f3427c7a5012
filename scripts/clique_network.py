"""A three-signer Clique network of EthereumJS clients on loopback, for running the gateway,
deploys and audits against several nodes of one chain.

Starts the signers from a generated genesis (one-second blocks, 30M gas), each with the others as
its only peers (no discovery, every socket on 127.0.0.1), waits until they are connected and agree
on a block, then prints each node's JSON-RPC URL and writes the funded key (10^24 wei, never a
secret: a throwaway key of a local chain) to ``DIR/funder.key``. Ctrl-C (or SIGTERM) stops every
signer and removes the data unless ``--keep``.

    python scripts/clique_network.py [--dir DIR] [--signers 3] [--keep]

Then, for instance: ``consentledger deploy --rpc-url URL_A ...`` and a gateway with
``CONSENTLEDGER_CHAIN=URL_A,URL_B`` and ``CONSENTLEDGER_CONFIRMATIONS=2`` (Clique can reorganise).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from consentledger.chain.nodes import CliqueNetwork


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="data directory (default: a new temporary one)")
    parser.add_argument("--signers", type=int, default=3, help="how many signers (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory at the end")
    args = parser.parse_args(argv)
    root = args.dir or Path(tempfile.mkdtemp(prefix="consentledger-clique-"))
    root.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    network = CliqueNetwork(args.signers, root=root)
    try:
        network.start()
        key = root / "funder.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(bytes(network.funder.key).hex())
        for index, node in enumerate(network.nodes):
            print(f"signer {index}: {node.url} (log {node.log_path})")
        print(f"funded key: {key} ({network.funder.address})")
        print(f"CONSENTLEDGER_CHAIN={','.join(network.urls)}")
        print("Ctrl-C stops the network.", flush=True)
        stop.wait()
    finally:
        network.close()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
