"""A webhook receiver as a real process on loopback, and the tests' handle on it.

Run as ``python -m tests.harness.webhook_receiver PORT LOG SECRET [--answer STATUS]``: it accepts
``POST`` on any path, checks the Standard Webhooks signature with ``SECRET`` (any of a
comma-separated list; the ``standardwebhooks`` package, the receiver's side of the spec),
appends one JSON line per request to ``LOG`` (flushed and synced before it answers) and answers
``STATUS`` (default 204). A request whose signature does not verify is logged with
``verified: false`` and answered 400.

:class:`Receiver` starts it, stops it (SIGKILL: down, as a crashed receiver is), starts it again
on the same port, and reads what it logged.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from consentledger.chain.anvil import free_port

ROOT = Path(__file__).resolve().parents[2]


def serve(port: int, log_path: Path, secret: str, status: int) -> None:
    """The receiver's process: serve until killed."""
    hooks = [Webhook(s) for s in secret.split(",") if s]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = False
            for hook in hooks:
                try:
                    hook.verify(body, headers)
                except WebhookVerificationError:
                    continue
                verified = True
            answered = status if verified else 400
            line = {
                "id": headers.get("webhook-id"),
                "timestamp": headers.get("webhook-timestamp"),
                "verified": verified,
                "path": self.path,
                "body": json.loads(body) if body else None,
                "status": answered,
            }
            with log_path.open("a") as out:
                out.write(json.dumps(line) + "\n")
                out.flush()
                os.fsync(out.fileno())
            self.send_response(answered)
            if 300 <= status < 400:
                self.send_header("location", "http://127.0.0.1:9/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


@dataclass
class Receiver:
    """A receiver process on a fixed loopback port (so it can go down and come back)."""

    log_path: Path
    secret: str = ""
    status: int = 204
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.webhook_receiver", str(self.port),
             str(self.log_path), self.secret, "--answer", str(self.status)],
            cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the receiver did not listen on {self.port} within {timeout} s")

    def kill(self) -> None:
        """Down: SIGKILL, and wait for it to go."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def received(self) -> list[dict[str, Any]]:
        """Every request it logged, in order."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for(self, count: int, timeout: float = 120.0) -> list[dict[str, Any]]:
        """The logged requests once there are at least ``count`` (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{len(self.received())} webhooks of {count} within {timeout} s")


if __name__ == "__main__":
    _port, _log, _secret = sys.argv[1], sys.argv[2], sys.argv[3]
    _status = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--answer" else 204
    serve(int(_port), Path(_log), _secret, _status)
