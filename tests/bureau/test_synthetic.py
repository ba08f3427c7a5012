"""Synthetic data: deterministic for a seed, plausible, with the showcase always present."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
import rfc8785
from sqlalchemy import func, select

from consentledger.bureau.classification import SizeClass
from consentledger.bureau.divisions import find_division
from consentledger.bureau.filings import patent_check_digit
from consentledger.bureau.models import (
    AdministrativeRecord,
    Arrears,
    CourtRecord,
    CustomsRegistration,
    Enterprise,
    EnterpriseRecord,
    HighTechCertificate,
    MonthlyFigures,
)
from consentledger.bureau.rows import Row
from consentledger.bureau.seeding import SyntheticWorkerError, _from_worker, seed_store
from consentledger.bureau.showcase import SHOWCASE, SHOWCASE_USCCS
from consentledger.bureau.store import BureauStore
from consentledger.bureau.synthetic import DISTRICTS, GENERATOR_VERSION, SyntheticBureau
from consentledger.bureau.uscc import ALPHABET, parse_uscc

from .conftest import SHARED_ENTERPRISES, sqlite_url


def _digest(batches: Iterable[dict[str, list[Row]]]) -> str:
    """SHA-256 of every generated row, table by table in generation order (not batch order)."""
    tables: dict[str, list[Row]] = {}
    for batch in batches:
        for table, rows in batch.items():
            tables.setdefault(table, []).extend(rows)
    digest = hashlib.sha256()
    for table in sorted(tables):
        for row in tables[table]:
            plain = {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
            digest.update(table.encode() + rfc8785.dumps(plain))
    return digest.hexdigest()


def test_same_seed_same_data() -> None:
    first = _digest(SyntheticBureau(seed=7).batches(150, batch_size=64))
    random.seed(12345)  # global random state must not matter
    second = _digest(SyntheticBureau(seed=7).batches(150, batch_size=40))
    assert first == second


# Golden vector: the rows of seed 7, 20 enterprises, default as-of date. It holds on every machine
# (one random.Random stream, IEEE-exact arithmetic); a deliberate change to the generator updates
# it together with GENERATOR_VERSION.
PINNED_SEED_7 = "f90bf495bfafe65eea7196e78fce5be4899b3457cc5194d03eba4d68732c4701"


def test_generator_output_is_pinned() -> None:
    assert GENERATOR_VERSION == "2"
    assert _digest(SyntheticBureau(seed=7).batches(20)) == PINNED_SEED_7


def test_other_seed_or_as_of_other_data() -> None:
    base = _digest(SyntheticBureau(seed=7).batches(50))
    assert _digest(SyntheticBureau(seed=8).batches(50)) != base
    assert _digest(SyntheticBureau(seed=7, as_of=date(2025, 3, 31)).batches(50)) != base


def test_generator_process_writes_the_same_data(tmp_path: Path) -> None:
    digests = []
    for parallel in (False, True):
        with BureauStore.open(sqlite_url(tmp_path / f"parallel-{parallel}.db")) as store:
            report = seed_store(store, enterprises=30, seed=3, parallel=parallel, progress=False)
            assert report.parallel is parallel
            digests.append(store.content_digest())
    assert digests[0] == digests[1]


def test_progress_bar_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with BureauStore.open(sqlite_url(tmp_path / "progress.db")) as store:
        seed_store(store, enterprises=10, progress=True)
    assert "seeding the bureau" in capsys.readouterr().err


def test_showcase_is_always_present(tmp_path: Path) -> None:
    with BureauStore.open(sqlite_url(tmp_path / "none.db")) as store:
        report = seed_store(store, enterprises=0, progress=False)
        assert report.enterprises == len(SHOWCASE_USCCS)
        for showcase in SHOWCASE:
            document = store.fetch(showcase.uscc, [1], 0)
            sections = document["categories"]
            assert isinstance(sections, dict)
            registration = sections["business_registration"]
            assert isinstance(registration, dict)
            assert registration["name"] == showcase.name
            assert registration["industry_code"] == showcase.industry_code


def test_every_usccs_is_valid_and_unique(seeded: BureauStore) -> None:
    codes = seeded.usccs()
    assert len(codes) == SHARED_ENTERPRISES + len(SHOWCASE_USCCS)
    assert len(set(codes)) == len(codes)
    assert codes[: len(SHOWCASE_USCCS)] == list(SHOWCASE_USCCS)
    for code in codes:
        assert parse_uscc(code).division.startswith("4403")


def test_most_enterprises_are_micro_or_small(seeded: BureauStore) -> None:
    sizes: Counter[SizeClass | None] = Counter()
    for uscc in seeded.usccs()[len(SHOWCASE_USCCS) :]:
        sizes[seeded.classify(uscc).size] += 1
    classified = sum(n for size, n in sizes.items() if size is not None)
    assert (sizes[SizeClass.MICRO] + sizes[SizeClass.SMALL]) / classified >= 0.8
    assert sizes[SizeClass.MEDIUM] > 0
    assert sizes[None] / SHARED_ENTERPRISES < 0.35  # most can be classified from bureau data


def _enterprises_with(store: BureauStore, model: type[EnterpriseRecord]) -> int:
    with store.engine.connect() as conn:
        query = select(func.count(func.distinct(model.enterprise_id)))
        return conn.execute(query).scalar_one()


def test_spread_of_sectors_districts_and_troubles(seeded: BureauStore) -> None:
    with seeded.engine.connect() as conn:
        codes = list(conn.execute(select(Enterprise.industry_code, Enterprise.district_code)))
    sections = Counter(code[0] for code, _ in codes)
    assert len(sections) >= 10
    assert max(sections.values()) / len(codes) < 0.4
    assert {district for _, district in codes} == {d.code for d in DISTRICTS}
    shares = {
        model.__name__: _enterprises_with(seeded, model) / len(codes)
        for model in (Arrears, CourtRecord, AdministrativeRecord, HighTechCertificate)
    }
    for name, share in shares.items():
        assert 0.01 <= share <= 0.3, (name, share)
    assert _enterprises_with(seeded, CustomsRegistration) > 0


def test_headcounts_hire_and_lay_off(seeded: BureauStore) -> None:
    with seeded.engine.connect() as conn:
        rows = conn.execute(
            select(MonthlyFigures.enterprise_id, MonthlyFigures.insured_headcount).order_by(
                MonthlyFigures.enterprise_id, MonthlyFigures.month
            )
        ).all()
    series: dict[int, list[int]] = {}
    for enterprise_id, heads in rows:
        assert heads is not None
        series.setdefault(enterprise_id, []).append(heads)
    both = sum(
        1
        for values in series.values()
        if any(b > a for a, b in pairwise(values)) and any(b < a for a, b in pairwise(values))
    )
    assert both / len(series) >= 0.3


def test_patent_check_digit_matches_the_published_example() -> None:
    assert patent_check_digit("201710601862") == "3"
    with pytest.raises(ValueError, match="12 digits"):
        patent_check_digit("2017106018")


def test_a_failing_generator_process_is_reported() -> None:
    batches = _from_worker(seed=1, as_of=date(2025, 6, 30), months=0, enterprises=5, batch_size=5)
    with pytest.raises(SyntheticWorkerError, match="months of history must be >= 1"):
        list(batches)


@pytest.mark.parametrize(
    ("enterprises", "months", "message"),
    [(-1, 24, "number of enterprises"), (10, 0, "months of history")],
    ids=["negative-count", "no-history"],
)
def test_seed_arguments_are_checked(
    empty_store: BureauStore, enterprises: int, months: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        seed_store(empty_store, enterprises=enterprises, months=months, progress=False)


def test_the_dataset_records_its_facts(seeded: BureauStore) -> None:
    meta = seeded.meta()
    assert seeded.dataset_as_of() == date(2025, 6, 30)
    assert meta["enterprises"] == str(SHARED_ENTERPRISES + len(SHOWCASE_USCCS))
    assert meta["months"] == "24"
    assert meta["generator"].startswith("consentledger.bureau.synthetic/")


# --- what a Shenzhen banker would recognise ----------------------------------------------------


def _generated(count: int = 1500) -> dict[str, list[Row]]:
    tables: dict[str, list[Row]] = {}
    for batch in SyntheticBureau(seed=11).batches(count):
        for table, rows in batch.items():
            tables.setdefault(table, []).extend(rows)
    return tables


@pytest.fixture(scope="module")
def generated() -> dict[str, list[Row]]:
    return _generated()


def _synthetic(generated: dict[str, list[Row]]) -> list[Row]:
    return [e for e in generated["bureau_enterprise"] if e["uscc"] not in SHOWCASE_USCCS]


def test_codes_carry_440300_and_district_codes_never_predate_the_district(
    generated: dict[str, list[Row]],
) -> None:
    """Shenzhen's market regulator issues 440300 whatever the district; a district code is the
    exception and never older than the district (GB/T 2260: 440309/440310 since 2016, 440311
    since 2018)."""
    enterprises = _synthetic(generated)
    divisions = Counter(e["uscc"][2:8] for e in enterprises)
    assert divisions["440300"] / len(enterprises) >= 0.85
    assert len(divisions) > 1
    for e in enterprises:
        division = find_division(e["uscc"][2:8])
        assert division is not None
        assert e["founded"].year >= division.since, (e["uscc"], e["founded"])


def test_codes_are_issued_in_date_order(generated: dict[str, list[Row]]) -> None:
    """After 2015-10-01 (GB 32100-2015) organisation bodies MA5D... to MA5H... follow the
    issue date."""
    issued = sorted(
        (e["founded"], e["uscc"][8:16])
        for e in _synthetic(generated)
        if e["founded"] >= date(2015, 10, 1)
    )
    assert len(issued) > 100
    for (day_a, body_a), (day_b, body_b) in pairwise(issued):
        if day_a < day_b:
            assert [ALPHABET.index(c) for c in body_a] < [ALPHABET.index(c) for c in body_b]
    assert issued[0][1].startswith("MA5D")
    assert issued[-1][1].startswith("MA5H")


def test_a_mix_of_statuses_whose_data_stops(generated: dict[str, list[Row]]) -> None:
    enterprises = _synthetic(generated)
    statuses = Counter(e["status"] for e in enterprises)
    assert set(statuses) == {"in_operation", "deregistered", "revoked"}
    assert statuses["in_operation"] / len(enterprises) > 0.9
    last_month: dict[int, date] = {}
    for row in generated["bureau_monthly"]:
        last_month[row["enterprise_id"]] = max(
            row["month"], last_month.get(row["enterprise_id"], row["month"])
        )
    latest = max(last_month.values())
    closed = [e["id"] for e in enterprises if e["status"] != "in_operation"]
    assert sum(1 for i in closed if last_month[i] < latest) / len(closed) > 0.8


def test_revenue_covers_minimum_wage_costs(generated: dict[str, list[Row]]) -> None:
    """Revenue per insured employee at least Shenzhen's minimum wage with the employer's
    contributions (2,360 yuan a month, about 37,000 yuan a year with contributions)."""
    december: dict[tuple[int, int], int] = {}
    for row in generated["bureau_monthly"]:
        if row["month"].month == 12 and row["insured_headcount"]:
            december[(row["enterprise_id"], row["month"].year)] = row["insured_headcount"]
    founded = {e["id"]: e["founded"].year for e in generated["bureau_enterprise"]}
    below = total = 0
    for tax in generated["bureau_tax_year"]:
        heads = december.get((tax["enterprise_id"], tax["year"]))
        if heads and tax["year"] > founded[tax["enterprise_id"]]:  # whole years only
            total += 1
            below += tax["taxable_revenue_fen"] / heads < 37_000 * 100
    assert total > 500
    assert below / total < 0.03


def test_individual_businesses_look_like_shops(generated: dict[str, list[Row]]) -> None:
    """个体工商户 (USCC 92): names end in their trade, not in 有限公司; no shareholders."""
    enterprises = _synthetic(generated)
    individual = [e for e in enterprises if e["uscc"].startswith("92")]
    companies = [e for e in enterprises if e["uscc"].startswith("91")]
    assert 0.05 < len(individual) / len(enterprises) < 0.2
    assert len(individual) + len(companies) == len(enterprises)
    holders = {s["enterprise_id"] for s in generated["bureau_shareholder"]}
    for e in individual:
        assert not e["name"].endswith("有限公司"), e["name"]
        assert e["id"] not in holders
    for e in companies:
        assert e["name"].endswith("有限公司") or e["name"].endswith("合伙企业(有限合伙)")
        assert not e["name"].endswith("商行有限公司")


def test_synthetic_districts_agree_with_the_division_table() -> None:
    for district in DISTRICTS:
        division = find_division(district.code)
        assert division is not None
        assert (division.name, division.english_name) == (district.name, district.name_en)
