"""One definition per operation, run synchronously or asynchronously.

A role (bank, enterprise, operator) is bound to a runner. Its operations are written once, as
flows (:mod:`consentledger.client.http`), and decorated with :class:`operation`: called on a role
bound to a :class:`~consentledger.client.http.SyncRunner` an operation returns its result, on one
bound to an :class:`~consentledger.client.http.AsyncRunner` it returns an awaitable of it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import update_wrapper
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from pydantic import BaseModel, ValidationError

from consentledger.client.errors import UnexpectedAnswerError, problem_error
from consentledger.client.http import AsyncRunner, Flow, HttpResponse, SyncRunner

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=SyncRunner | AsyncRunner)

PROBLEM_JSON = "application/problem+json"


class Role(Generic[R]):
    """A party talking to the gateway through one runner."""

    def __init__(self, runner: R) -> None:
        self.runner: R = runner


class operation(Generic[P, T]):  # noqa: N801 - used as a decorator, like ``property``
    """Turns a flow method into an operation of its role (see the module's docstring)."""

    def __init__(self, flow: Callable[Concatenate[Any, P], Flow[T]]) -> None:
        self.flow = flow
        self.name = flow.__name__
        update_wrapper(self, flow)  # type: ignore[arg-type]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, role: None, owner: type) -> operation[P, T]: ...

    @overload
    def __get__(self, role: Role[SyncRunner], owner: type) -> Callable[P, T]: ...

    @overload
    def __get__(self, role: Role[AsyncRunner], owner: type) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, role: Role[Any] | None, owner: type) -> Any:
        if role is None:
            return self
        flow, runner = self.flow, role.runner

        def run(*args: P.args, **kwargs: P.kwargs) -> Any:
            return runner.run(flow(role, *args, **kwargs))

        update_wrapper(run, flow)
        # Bound once per role: the instance's attribute hides this (non-data) descriptor, so a
        # load generator's every read does not build the wrapper again.
        vars(role)[self.name] = run
        return run


def parse(response: HttpResponse, model: type[M], status: int = 200) -> M:
    """The answer as ``model`` if it has the expected status; else the named problem exception."""
    if response.status != status:
        raise failure(response, f"{status} with {model.__name__}")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise UnexpectedAnswerError(response.status, response.content, model.__name__) from exc


def parse_list(response: HttpResponse, model: type[M]) -> list[M]:
    """A JSON array of ``model`` (200)."""
    if response.status != 200:
        raise failure(response, f"200 with a list of {model.__name__}")
    try:
        items = json.loads(response.content)
        return [model.model_validate(item) for item in items]
    except (ValueError, TypeError, ValidationError) as exc:
        raise UnexpectedAnswerError(response.status, response.content, model.__name__) from exc


def failure(response: HttpResponse, expected: str) -> Exception:
    """The exception for an answer that is not the expected one: the problem's named exception,
    or :class:`UnexpectedAnswerError` if the answer is not a problem document."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith(PROBLEM_JSON) or response.status >= 400:
        try:
            problem = json.loads(response.content)
        except ValueError:
            problem = None
        if isinstance(problem, dict) and "code" in problem:
            return problem_error(response.status, problem, response.headers.get("retry-after"))
    return UnexpectedAnswerError(response.status, response.content, expected)
