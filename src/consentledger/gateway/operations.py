"""Every route's OpenAPI operation: a stable ``operationId`` and the problem codes it can answer.

A route declares both with :func:`operation`::

    @router.post("/queries", response_model=QueryResult, **operation("recordRead", READ_PROBLEMS))

Problems are named by the error classes the route's service raises (their ``code``; a family of
codes such as the sign-in refusals by its class, with every code it has) or by the contract's
custom errors (:class:`Revert`, problem code in snake case). Each code's HTTP status comes from
:func:`consentledger.gateway.problems.status_of_class`, the one mapping. When the app is
assembled (:func:`document`), the problems answered before the route runs are added from its
dependencies (a bank key, the operator's or auditor's token, a sign-in; a body to parse), and the
codes become the operation's ``x-problem-codes`` and one documented response per status, with an
example problem for each code. ``tests/gateway/test_openapi_document.py`` fails on a route
without an operation id or problem codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from consentledger.bureau.store import BureauDatabaseError
from consentledger.chain.client import TransactionFailedError, TransactionTimeoutError
from consentledger.chain.jsonrpc import ChainUnavailableError
from consentledger.errors import ConsentLedgerError
from consentledger.gateway.db import GatewayDatabaseError
from consentledger.gateway.problems import (
    PROBLEM_JSON,
    Problem,
    problem,
    revert_status,
    snake_case,
    status_of_class,
)

#: The extension member listing an operation's problem codes.
CODES_KEY = "x-problem-codes"
_OPERATION_ID = re.compile(r"^[a-z][A-Za-z0-9]*$")


@dataclass(frozen=True, slots=True)
class Revert:
    """A custom error of the contract (``ConsentsReadsExceedCap``), answered as its problem."""

    error: str


@dataclass(frozen=True, slots=True)
class Code:
    """A problem code answered outside the error classes (the framework's own)."""

    code: str
    status: int
    description: str


#: Answered by the framework for any route: a request that does not match the route's schema.
INVALID_REQUEST = Code("invalid_request", 422, "the request does not match its schema")
#: A body that is not JSON.
MALFORMED_BODY = Code("malformed_body", 400, "the body is not JSON")
#: An unexpected failure: nothing released, nothing written.
INTERNAL_ERROR = Code("internal_error", 500, "the gateway failed unexpectedly")

Declared = type[ConsentLedgerError] | Revert | Code
Problems = Iterable[Declared]

#: What any operation that reads the chain or the gateway's database can run into.
CHAIN_READ: tuple[Declared, ...] = (ChainUnavailableError, GatewayDatabaseError)
#: ... and one that sends a transaction and waits for it.
CHAIN_WRITE: tuple[Declared, ...] = (
    *CHAIN_READ,
    TransactionFailedError,
    TransactionTimeoutError,
)
#: ... and one that reads the bureau's data.
BUREAU_READ: tuple[Declared, ...] = (BureauDatabaseError,)


@dataclass(frozen=True, slots=True)
class ProblemCode:
    """One code an operation can answer: its status and what it means."""

    code: str
    status: int
    description: str


#: Every code any operation declared, with its status (filled as routes are declared).
KNOWN: dict[str, ProblemCode] = {}


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ")


def expand(declared: Declared) -> list[ProblemCode]:
    """The codes a declared problem stands for."""
    if isinstance(declared, Code):
        return [ProblemCode(declared.code, declared.status, declared.description)]
    if isinstance(declared, Revert):
        description = f"the ledger refused with {declared.error}"
        return [ProblemCode(snake_case(declared.error), revert_status(declared.error), description)]
    found: list[ProblemCode] = []
    for cls in (declared, *_subclasses(declared)):
        if "code" not in cls.__dict__ and "codes" not in cls.__dict__:
            continue  # a family's member without a code of its own
        description = _first_line(cls.__doc__) or cls.__name__
        codes: tuple[str, ...] = getattr(cls, "codes", ()) or (cls.code,)
        found += [ProblemCode(code, status_of_class(cls), description) for code in codes]
    return found


def _subclasses(cls: type[ConsentLedgerError]) -> list[type[ConsentLedgerError]]:
    """Every subclass of ``cls`` defined so far: declaring an error declares its kinds, as an
    ``except`` clause catches them."""
    found: list[type[ConsentLedgerError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _register(declared: Iterable[Declared]) -> list[str]:
    codes: list[str] = []
    for item in declared:
        for found in expand(item):
            KNOWN.setdefault(found.code, found)
            codes.append(found.code)
    return sorted(set(codes))


def operation(
    operation_id: str, *problems: Problems, openapi_extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The keyword arguments of a route's decorator: its operation id and problem codes (and
    any other ``openapi_extra`` of the operation, such as a request body FastAPI does not
    parse)."""
    if not _OPERATION_ID.match(operation_id):
        raise ValueError(f"operation ids are lowerCamelCase: {operation_id!r}")
    codes = _register(item for group in problems for item in group)
    return {
        "operation_id": operation_id,
        "openapi_extra": {**(openapi_extra or {}), CODES_KEY: codes},
    }


def responses_of(codes: Iterable[str]) -> dict[int | str, dict[str, Any]]:
    """One problem response per status, with an example problem for each of its codes."""
    by_status: dict[int, list[ProblemCode]] = {}
    for code in sorted(set(codes)):
        known = KNOWN[code]
        by_status.setdefault(known.status, []).append(known)
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(by_status):
        found = by_status[status]
        examples = {
            p.code: {
                "summary": p.description,
                "value": problem(status, p.code, p.description).model_dump(exclude_none=True),
            }
            for p in found
        }
        responses[status] = {
            "model": Problem,
            "description": ", ".join(f"`{p.code}`" for p in found),
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "examples": examples,
                }
            },
        }
    return responses


def document(router: APIRouter, before: Callable[[APIRoute], Problems]) -> None:
    """Complete every route's problems with those ``before`` says are answered before it runs,
    and write them as its ``x-problem-codes`` and documented responses."""
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        extra = dict(route.openapi_extra or {})
        codes = set(extra.get(CODES_KEY, ())) | set(_register([*before(route), INTERNAL_ERROR]))
        extra[CODES_KEY] = sorted(codes)
        route.openapi_extra = extra
        for status, spec in responses_of(codes).items():
            route.responses[status] = spec


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route of an app or router, inside included routers too (FastAPI keeps an
    included router as one lazy entry that holds the original router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            yield from api_routes(included.routes)
