"""The gateway's logs: uvicorn's, with the access log as plain lines or as JSON lines.

A JSON access line holds the time (UTC, ISO 8601), the client, the method, the path with its
query, the HTTP version and the status; every other log line (start-up, errors) is one JSON object
with the time, the level, the logger and the message.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from uvicorn.config import LOGGING_CONFIG

LogFormat = Literal["plain", "json"]


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonAccessFormatter(logging.Formatter):
    """uvicorn's access record (client, method, path, HTTP version, status) as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        client, method, path, version, status = record.args  # type: ignore[misc]
        return json.dumps(
            {
                "time": _time(record),
                "client": client,
                "method": method,
                "path": path,
                "http_version": version,
                "status": int(str(status)),
            },
            separators=(",", ":"),
        )


class JsonFormatter(logging.Formatter):
    """Any other log record as one JSON line (an exception's traceback in ``exception``)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


def log_config(log_format: LogFormat) -> dict[str, Any]:
    """uvicorn's logging configuration, in ``log_format``."""
    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        config["formatters"] = {
            "default": {"()": f"{__name__}.JsonFormatter"},
            "access": {"()": f"{__name__}.JsonAccessFormatter"},
        }
    return config
