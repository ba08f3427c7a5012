"""The category and purpose registry: bilingual names, which categories the seed names."""

from __future__ import annotations

import pytest

from consentledger.categories import SEEDED_PURPOSES, Category, Purpose
from consentledger.ledger.types import MAX_CONSENT_DURATION


@pytest.mark.parametrize("category", list(Category), ids=lambda c: c.slug)
def test_every_category_has_both_names(category: Category) -> None:
    assert category.name_zh
    assert category.name_en
    assert category.name_en.replace(" ", "_").replace("-", "_") == category.slug


def test_only_the_first_three_categories_are_named_by_the_seed() -> None:
    """domain.md: the material names 工商, 社保 and 高新资质; 4-11 are the project's own."""
    assert [c.value for c in Category if c.named_by_seed] == [1, 2, 3]
    assert [c.name_zh for c in Category if c.named_by_seed] == [
        "工商登记",
        "社会保险",
        "高新技术企业资质",
    ]


@pytest.mark.parametrize(
    ("purpose", "zh", "en"),
    [
        (Purpose.CREDIT_UNDERWRITING, "贷前审查", "pre-loan review"),
        (Purpose.POST_LOAN_MONITORING, "贷后管理", "post-loan management"),
        (Purpose.GUARANTOR_REVIEW, "担保资格审查", "guarantor review"),
    ],
    ids=["pre-loan", "post-loan", "guarantor"],
)
def test_credit_practice_purposes(purpose: Purpose, zh: str, en: str) -> None:
    """The purposes credit practice names in authorisations (domain.md, the legal basis)."""
    assert (purpose.name_zh, purpose.name_en) == (zh, en)
    assert purpose in {caps.purpose for caps in SEEDED_PURPOSES}


def test_every_purpose_is_seeded_with_bounded_caps() -> None:
    assert {caps.purpose for caps in SEEDED_PURPOSES} == set(Purpose)
    for caps in SEEDED_PURPOSES:
        assert 0 < caps.max_duration <= MAX_CONSENT_DURATION
        assert caps.purpose.name_zh
        assert caps.purpose.name_en
