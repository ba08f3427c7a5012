"""The gateway's JSON logs: uvicorn's access record and any other record as one JSON object a
line; the plain format is uvicorn's own."""

from __future__ import annotations

import json
import logging
import sys

from uvicorn.config import LOGGING_CONFIG

from consentledger.gateway.logs import JsonAccessFormatter, JsonFormatter, log_config


def _record(name: str, msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = sys.exc_info() if exc else None
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, info)


def test_an_access_line_is_one_json_object() -> None:
    # The record exactly as uvicorn's protocols log a request.
    record = _record(
        "uvicorn.access", '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5123", "POST", "/v1/queries?x=1",
        "1.1", 403,
    )  # fmt: skip
    line = JsonAccessFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "client": "127.0.0.1:5123",
        "method": "POST",
        "path": "/v1/queries?x=1",
        "http_version": "1.1",
        "status": 403,
    }
    assert json.loads(line)["time"].endswith("+00:00")


def test_other_lines_and_tracebacks_are_json_too() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = _record("uvicorn.error", "Application startup %s", "failed", exc=True)
    parsed = json.loads(JsonFormatter().format(record))
    assert (parsed["level"], parsed["logger"]) == ("info", "uvicorn.error")
    assert parsed["message"] == "Application startup failed"
    assert "RuntimeError: boom" in parsed["exception"]


def test_plain_is_uvicorns_own_configuration() -> None:
    assert log_config("plain") == LOGGING_CONFIG
    json_config = log_config("json")
    assert json_config["formatters"]["access"]["()"].endswith("JsonAccessFormatter")
    assert json_config["loggers"] == LOGGING_CONFIG["loggers"]
