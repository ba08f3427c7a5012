"""Schemathesis against the gateway's own OpenAPI, on the embedded chain.

Every operation gets generated requests, valid (positive) and invalid (negative), sent through
the app with a bank's API key and the operator token. Every response must be documented: no 5xx,
a status code the operation declares, and a body (problem+json included) that matches its schema.

``CONSENTLEDGER_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 30); a longer
run:
``CONSENTLEDGER_FUZZ_EXAMPLES=500 .venv/bin/pytest -s tests/gateway/abuse/test_schemathesis.py``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.harness.gateway import ADMIN, Bank, Gateway

EXAMPLES = int(os.environ.get("CONSENTLEDGER_FUZZ_EXAMPLES", "30"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _fuzz(
    gateway: Gateway,
    operation: Any,
    mode: GenerationMode,
    auth: dict[str, str],
    statuses: Counter[int],
) -> Callable[[], None]:
    """A Hypothesis test sending ``operation``'s generated cases and checking each answer."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        headers = {**(kwargs.pop("headers", None) or {}), **auth}
        if not kwargs.get("cookies"):
            kwargs.pop("cookies", None)
        if "data" in kwargs:  # raw bytes: httpx's name for them is content
            kwargs["content"] = kwargs.pop("data")
        response = gateway.http.request(**kwargs, headers=headers)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    return run


def test_every_generated_request_gets_a_documented_answer(gateway: Gateway, bank: Bank) -> None:
    schema = schemathesis.openapi.from_dict(gateway.app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    for operation in operations:
        auth = ADMIN if operation.path.startswith("/v1/admin") else bank.headers
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(gateway, operation, mode, auth, statuses)()
            except Unsatisfiable:
                # Nothing to negate (no parameters, no body): the positive run covers it.
                assert mode is GenerationMode.NEGATIVE
    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    print(f"\nschemathesis: {total} requests, {len(operations)} operations, {elapsed:.1f} s")
    print(f"schemathesis: statuses {sorted(statuses.items())}")
    assert not [status for status in statuses if status >= 500]
    if EXAMPLES >= 30:
        assert total >= 1000
