"""Errors to problems: every exception of the package under the root, and the one table that picks
an HTTP status from an error's class (the statuses and codes clients already depend on)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import consentledger
from consentledger.bureau.store import BureauNotSeededError, UnknownEnterpriseError
from consentledger.bureau.uscc import parse_uscc
from consentledger.chain.client import TransactionTimeoutError
from consentledger.chain.relayer import NotRecordedError, OutcomePendingError
from consentledger.errors import ConsentLedgerError
from consentledger.gateway import errors
from consentledger.gateway.problems import headers_of, problem_for, status_of
from consentledger.gateway.siwe import SiweFormatError, parse_message
from consentledger.ledger.errors import LedgerRevertError


def _raised(fn: object, *args: object) -> ConsentLedgerError:
    with pytest.raises(ConsentLedgerError) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value


CASES: list[tuple[str, ConsentLedgerError, int, str]] = [
    ("bad-uscc", _raised(parse_uscc, "91"), 422, "invalid_uscc_length"),
    ("missing-api-key", errors.MissingApiKeyError(), 401, "missing_api_key"),
    ("siwe", errors.SignInRefusedError("siwe_expired", "expired"), 401, "siwe_expired"),
    ("siwe-forbidden", errors.SignInNotPermittedError("siwe_not_controller", "no"), 403, ""),
    ("denied", errors.AccessDeniedError("EXPIRED", {}), 403, "access_denied"),
    ("unknown-query", errors.UnknownQueryError("no read"), 404, "unknown_query"),
    ("unknown-enterprise", UnknownEnterpriseError("x"), 404, "unknown_enterprise"),
    ("bank-exists", errors.BankExistsError("exists"), 409, "bank_exists"),
    ("too-large", errors.BodyTooLargeError(10), 413, "body_too_large"),
    ("too-deep", errors.BodyTooDeepError(10), 400, "body_too_deep"),
    ("throttled", errors.TooManyFailedAuthenticationsError(7), 429, ""),
    ("key-reused", errors.IdempotencyKeyReusedError(), 422, "idempotency_key_reused"),
    ("not-recorded", NotRecordedError("no"), 503, "not_recorded"),
    ("pending", OutcomePendingError("soon"), 503, "outcome_pending"),
    ("not-seeded", BureauNotSeededError("sqlite://"), 503, "bureau_not_seeded"),
    ("regulator", errors.RegulatorKeyMissingError(), 503, "regulator_key_missing"),
    ("timeout", TransactionTimeoutError(b"\x01" * 32, 1.0), 504, "transaction_timeout"),
    ("revert-409", LedgerRevertError("ConsentsInvalidTransition", 1, 2), 409, ""),
    ("revert-422", LedgerRevertError("ConsentsReadsExceedCap", 5, 3), 422, ""),
]


@pytest.mark.parametrize(
    ("error", "status", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_status_comes_from_the_class(error: ConsentLedgerError, status: int, code: str) -> None:
    problem = problem_for(error)
    assert status_of(error) == status
    assert problem.status == status
    if code:
        assert problem.code == code


def test_a_revert_keeps_the_contract_error_and_a_foreseen_one_says_nothing_was_sent() -> None:
    revert = LedgerRevertError("ConsentsInvalidTransition", 1, 2)
    chain = problem_for(revert)
    assert (chain.code, chain.model_extra) == (
        "consents_invalid_transition",
        {"contract_error": "ConsentsInvalidTransition", "arguments": [1, 2]},
    )
    foreseen = problem_for(errors.ForeseenRefusalError(revert))
    assert (foreseen.status, foreseen.code) == (409, chain.code)
    assert foreseen.model_extra == {**(chain.model_extra or {}), "prechecked": True}
    assert "nothing was sent" in foreseen.detail


def test_challenges_and_retry_times_travel_as_headers() -> None:
    assert headers_of(errors.InvalidApiKeyError()) == {"WWW-Authenticate": "Bearer"}
    assert headers_of(errors.SignInRefusedError("siwe_malformed", "x")) == {
        "WWW-Authenticate": "SIWE"
    }
    assert headers_of(errors.TooManyFailedAuthenticationsError(7)) == {"Retry-After": "7"}
    assert headers_of(OutcomePendingError("soon")) == {"Retry-After": "1"}
    assert headers_of(NotRecordedError("no")) == {}


def test_a_message_that_is_not_eip_4361_is_a_package_error() -> None:
    with pytest.raises(SiweFormatError) as caught:
        parse_message("hello")
    assert isinstance(caught.value, ConsentLedgerError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "siwe_malformed"


def test_every_exception_of_the_package_is_under_the_root() -> None:
    outside = []
    for info in pkgutil.walk_packages(consentledger.__path__, "consentledger."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not issubclass(value, ConsentLedgerError)
            ):
                outside.append(f"{module.__name__}.{name}")
    assert outside == []
