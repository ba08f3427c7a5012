"""A webhook receiver for the demo and for trying subscriptions out: an HTTP server on loopback
that checks each delivery's Standard Webhooks signature (the ``standardwebhooks`` package) and
keeps what it received, deduplicated by ``webhook-id`` as the spec asks of a receiver.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True, slots=True)
class Received:
    """One delivery whose signature verified."""

    webhook_id: str
    type: str
    data: dict[str, Any]


class LocalReceiver:
    """Serves ``http://127.0.0.1:<port>/webhooks`` in a thread until closed."""

    def __init__(self) -> None:
        self._hooks: list[Webhook] = []
        self._lock = threading.Lock()
        self._received: dict[str, Received] = {}
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver._take(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"

    def trust(self, secret: str) -> None:
        """Accept deliveries signed with ``secret`` (a subscription's ``whsec_...``)."""
        with self._lock:
            self._hooks.append(Webhook(secret))

    def _take(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            for hook in self._hooks:
                try:
                    payload = hook.verify(body, headers)
                except WebhookVerificationError:
                    continue
                webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
                self._received.setdefault(
                    webhook_id, Received(webhook_id, payload["type"], payload["data"])
                )
                self._arrived.notify_all()
                return 204
        return 400

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """What arrived, once at least ``count`` deliveries did (or ``timeout`` passed)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._received) >= count, timeout)
            return list(self._received.values())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalReceiver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def describe(received: Received) -> str:
    """One line for a delivery: its type and what it is about."""
    data = received.data
    about = data.get("consent_id") or data.get("dispute_id") or ""
    extra = data.get("reason") or data.get("outcome") or ""
    return json.dumps([received.type, about[:18] + "...", extra], ensure_ascii=False)
