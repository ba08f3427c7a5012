"""``consentledger bureau``: happy paths and clean failures (a message and exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from consentledger.bureau.documents import canonicalize
from consentledger.bureau.showcase import CHIP_DISTRIBUTOR_USCC, SOFTWARE_STARTUP_USCC
from consentledger.bureau.store import DATABASE_URL_ENV, BureauStore
from consentledger.categories import SEEDED_CATEGORIES
from consentledger.cli import main

from .conftest import sqlite_url


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["bureau", *args], env=env)


def test_seed_show_classify(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "cli.db")
    seeded = run("seed", "--enterprises", "25", "--db", url, "--seed", "11", "--no-progress")
    assert seeded.exit_code == 0, seeded.output
    assert "seeded 29 enterprises" in seeded.output
    assert CHIP_DISTRIBUTOR_USCC in seeded.output

    shown = run("show", CHIP_DISTRIBUTOR_USCC, "-c", "1,social_insurance", "-c", "tax", "--db", url)
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert list(document["categories"]) == ["business_registration", "social_insurance", "tax"]
    assert document["history_months"] == 12

    canonical = run("show", CHIP_DISTRIBUTOR_USCC, "-m", "3", "--canonical", "--db", url)
    assert canonical.exit_code == 0
    with BureauStore.open(url, must_exist=True) as store:
        expected = canonicalize(store.fetch(CHIP_DISTRIBUTOR_USCC, SEEDED_CATEGORIES, 3))
    assert canonical.stdout_bytes == expected.data

    classified = run("classify", CHIP_DISTRIBUTOR_USCC, "--db", url)
    assert classified.exit_code == 0, classified.output
    assert "medium" in classified.output
    assert "wholesale" in classified.output
    assert "工信部联企业〔2011〕300号" in classified.output
    assert "scope: in_rule" in classified.output

    as_json = run("classify", SOFTWARE_STARTUP_USCC, "--json", "--db", url)
    result = json.loads(as_json.output)
    assert result["size"] is None
    assert [m["input"] for m in result["missing"]] == ["employees", "revenue"]


def test_database_url_from_the_environment(seeded_url: str) -> None:
    shown = run("classify", CHIP_DISTRIBUTOR_USCC, env={DATABASE_URL_ENV: seeded_url})
    assert shown.exit_code == 0, shown.output
    assert "medium" in shown.output


def test_default_database_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    seeded = run("seed", "-n", "3")
    assert seeded.exit_code == 0, seeded.output
    assert (tmp_path / "consentledger-bureau.db").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "91440305MA5DKW7Q1C"], "check character (position 18) should be 'B'"),
        (["show", "91440305MA5DKW7O1B"], "'O' at position 16"),
        (["classify", "9144030"], "a USCC has 18 characters"),
        (["show", "914403001922038216"], "holds no enterprise with USCC 914403001922038216"),
        (["show", CHIP_DISTRIBUTOR_USCC, "-c", "1,salary"], "unknown data category 'salary'"),
        (["show", CHIP_DISTRIBUTOR_USCC, "-c", "12"], "does not supply category 12"),
        (["show", CHIP_DISTRIBUTOR_USCC, "-m", "-1"], "-1 is not in the range x>=0"),
    ],
    ids=[
        "bad-check",
        "bad-char",
        "bad-length",
        "unknown-enterprise",
        "bad-category",
        "unsupplied",
        "negative-window",
    ],
)
def test_bad_input_exits_2_with_a_message(seeded_url: str, args: list[str], message: str) -> None:
    result = run(*args, "--db", seeded_url)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", CHIP_DISTRIBUTOR_USCC], "no bureau data at"),
        (["classify", CHIP_DISTRIBUTOR_USCC], "consentledger bureau seed"),
    ],
    ids=["show", "classify"],
)
def test_unseeded_database(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "absent.db"
    result = run(*args, "--db", sqlite_url(path))
    assert result.exit_code == 10  # bureau_not_seeded
    assert message in " ".join(result.output.split())
    assert not path.exists()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-dir/sub/x.db",
        "nosuchdialect://user:hunter2@host/db",
        "this is not a url",
    ],
    ids=["unreachable-file", "unknown-dialect", "malformed"],
)
def test_unusable_database_url(url: str) -> None:
    result = run("seed", "-n", "1", "--db", url)
    assert result.exit_code == 11  # bureau_database_unavailable
    assert "cannot use the bureau database" in " ".join(result.output.split())
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_seeding_twice_says_to_replace(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "twice.db")
    assert run("seed", "-n", "2", "--db", url).exit_code == 0
    again = run("seed", "-n", "2", "--db", url)
    assert again.exit_code == 2
    assert "--replace" in again.output
    replaced = run("seed", "-n", "2", "--db", url, "--replace")
    assert replaced.exit_code == 0, replaced.output
