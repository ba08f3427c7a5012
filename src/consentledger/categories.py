"""The data categories and purposes: one table, used by deployment, the bureau and the gateway.

Codes are stable and match the on-chain registry (category codes 1..63, purpose codes 1..65535).
The contract holds which codes exist; this module holds the names and the seed that a fresh
deployment registers. Categories 12 and 13 are known to governance but not seeded: the regulator
adds them when the bureau starts to supply them.

Every category and purpose has a Chinese and an English name (:attr:`Category.name_zh`,
:attr:`Purpose.name_zh`, ...). Categories 1-3 are the ones the founding material names (工商,
社保, 高新资质: :attr:`Category.named_by_seed`); 4-11 and all the names are this project's own.
The purposes follow credit practice: 贷前审查 (pre-loan review), 贷后管理 (post-loan
management), 授信额度复审 (credit-line review), 开户尽职调查 (account-opening due diligence)
and 担保资格审查 (guarantor review).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

from consentledger.errors import ConsentLedgerError

DAY = 24 * 60 * 60


class Category(IntEnum):
    """Data categories of the city credit bureau (domain.md)."""

    BUSINESS_REGISTRATION = 1
    SOCIAL_INSURANCE = 2
    HIGH_TECH_QUALIFICATION = 3
    TAX = 4
    HOUSING_PROVIDENT_FUND = 5
    INTELLECTUAL_PROPERTY = 6
    JUDICIAL = 7
    ADMINISTRATIVE_PENALTIES = 8
    UTILITIES = 9
    CUSTOMS = 10
    AUDITED_FINANCIAL_STATEMENTS = 11
    GOVERNMENT_PROCUREMENT = 12
    LOCAL_FINANCIAL_ORGANISATIONS = 13

    @property
    def slug(self) -> str:
        """The lower-case name used in APIs and documents, e.g. ``social_insurance``."""
        return self.name.lower()

    @property
    def bit(self) -> int:
        """The category's bit in a consent's category mask."""
        return 1 << self.value

    @property
    def name_zh(self) -> str:
        """The Chinese name, e.g. ``社会保险``."""
        return _CATEGORY_NAMES[self][0]

    @property
    def name_en(self) -> str:
        """The English name, e.g. ``social insurance``."""
        return _CATEGORY_NAMES[self][1]

    @property
    def named_by_seed(self) -> bool:
        """Whether the founding material names this category (1-3); 4-13 are ours."""
        return self.value <= 3


_CATEGORY_NAMES: dict[Category, tuple[str, str]] = {
    Category.BUSINESS_REGISTRATION: ("工商登记", "business registration"),
    Category.SOCIAL_INSURANCE: ("社会保险", "social insurance"),
    Category.HIGH_TECH_QUALIFICATION: ("高新技术企业资质", "high-tech qualification"),
    Category.TAX: ("纳税", "tax"),
    Category.HOUSING_PROVIDENT_FUND: ("住房公积金", "housing provident fund"),
    Category.INTELLECTUAL_PROPERTY: ("知识产权", "intellectual property"),
    Category.JUDICIAL: ("司法", "judicial"),
    Category.ADMINISTRATIVE_PENALTIES: ("行政处罚", "administrative penalties"),
    Category.UTILITIES: ("水电气缴费", "utilities"),
    Category.CUSTOMS: ("海关", "customs"),
    Category.AUDITED_FINANCIAL_STATEMENTS: ("审计财务报表", "audited financial statements"),
    Category.GOVERNMENT_PROCUREMENT: ("政府采购", "government procurement"),
    Category.LOCAL_FINANCIAL_ORGANISATIONS: ("地方金融组织", "local financial organisations"),
}


#: Categories a fresh deployment registers (codes 1-11).
SEEDED_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c <= 11)


class UnknownCategoryError(ConsentLedgerError, ValueError):
    """A category named by code or name that does not exist."""

    code = "unknown_category"

    def __init__(self, given: object) -> None:
        self.given = given
        names = ", ".join(f"{c.value} {c.slug}" for c in Category)
        super().__init__(f"unknown data category {given!r}; known categories: {names}")


def parse_category(value: int | str) -> Category:
    """A category from its code (``2``, ``"2"``) or name (``"social_insurance"``, any case)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return Category(value)
        except ValueError:
            raise UnknownCategoryError(value) from None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_category(int(text))
        try:
            return Category[text.upper().replace("-", "_").replace(" ", "_")]
        except KeyError:
            raise UnknownCategoryError(value) from None
    raise UnknownCategoryError(value)


def mask_of(categories: Iterable[Category | int]) -> int:
    """The bitmask of a set of categories (bit i: code i)."""
    mask = 0
    for category in categories:
        mask |= 1 << int(category)
    return mask


#: The categories the size classification reads (a size-class read asks for those of them its
#: consent grants, or for all of them).
SIZE_CATEGORIES = (
    Category.BUSINESS_REGISTRATION,
    Category.SOCIAL_INSURANCE,
    Category.TAX,
    Category.AUDITED_FINANCIAL_STATEMENTS,
)


def categories_of(mask: int) -> tuple[Category, ...]:
    """The categories in a bitmask, in code order. Unknown bits raise UnknownCategoryError."""
    found: list[Category] = []
    code = 0
    rest = mask
    while rest:
        if rest & 1:
            found.append(parse_category(code))
        rest >>= 1
        code += 1
    return tuple(found)


class Purpose(IntEnum):
    """Purposes a consent may name (credit practice's names in :attr:`name_zh`)."""

    CREDIT_UNDERWRITING = 1
    POST_LOAN_MONITORING = 2
    CREDIT_LIMIT_REVIEW = 3
    ACCOUNT_OPENING_DUE_DILIGENCE = 4
    GUARANTOR_REVIEW = 5

    @property
    def slug(self) -> str:
        return self.name.lower()

    @property
    def name_zh(self) -> str:
        """The Chinese name used in credit practice, e.g. ``贷前审查``."""
        return _PURPOSE_NAMES[self][0]

    @property
    def name_en(self) -> str:
        """The English name, e.g. ``pre-loan review``."""
        return _PURPOSE_NAMES[self][1]


_PURPOSE_NAMES: dict[Purpose, tuple[str, str]] = {
    Purpose.CREDIT_UNDERWRITING: ("贷前审查", "pre-loan review"),
    Purpose.POST_LOAN_MONITORING: ("贷后管理", "post-loan management"),
    Purpose.CREDIT_LIMIT_REVIEW: ("授信额度复审", "credit-line review"),
    Purpose.ACCOUNT_OPENING_DUE_DILIGENCE: ("开户尽职调查", "account-opening due diligence"),
    Purpose.GUARANTOR_REVIEW: ("担保资格审查", "guarantor review"),
}


@dataclass(frozen=True, slots=True)
class PurposeCaps:
    """A purpose's caps on every consent granted for it (Account Aggregator fair-use style)."""

    purpose: Purpose
    allowed: tuple[Category, ...]
    max_duration: int  # seconds, at most MAX_CONSENT_DURATION (1,826 days)
    max_reads: int
    max_history_months: int

    @property
    def allowed_mask(self) -> int:
        return mask_of(self.allowed)


_ALL_SEEDED = SEEDED_CATEGORIES
_C = Category

#: Purposes a fresh deployment defines, with their caps.
SEEDED_PURPOSES: tuple[PurposeCaps, ...] = (
    # A loan decision: everything the bureau has, for a short window.
    PurposeCaps(Purpose.CREDIT_UNDERWRITING, _ALL_SEEDED, 90 * DAY, 50, 36),
    # Monitoring a loan on the books: the signals that move (headcount, tax, arrears, courts),
    # for as long as the credit runs, up to the ledger's five-year cap; about monthly reads.
    PurposeCaps(
        Purpose.POST_LOAN_MONITORING,
        (
            _C.BUSINESS_REGISTRATION,
            _C.SOCIAL_INSURANCE,
            _C.TAX,
            _C.HOUSING_PROVIDENT_FUND,
            _C.JUDICIAL,
            _C.ADMINISTRATIVE_PENALTIES,
            _C.UTILITIES,
            _C.AUDITED_FINANCIAL_STATEMENTS,
        ),
        1826 * DAY,
        400,
        12,
    ),
    # Reviewing a credit line: the underwriting view, renewed yearly.
    PurposeCaps(Purpose.CREDIT_LIMIT_REVIEW, _ALL_SEEDED, 180 * DAY, 24, 24),
    # Know-your-business at account opening: identity and red flags only.
    PurposeCaps(
        Purpose.ACCOUNT_OPENING_DUE_DILIGENCE,
        (_C.BUSINESS_REGISTRATION, _C.JUDICIAL, _C.ADMINISTRATIVE_PENALTIES),
        30 * DAY,
        5,
        12,
    ),
    # A guarantor's standing, checked once when a loan is secured by its guarantee: identity,
    # solvency and red flags, no operating detail (utilities, IP, customs).
    PurposeCaps(
        Purpose.GUARANTOR_REVIEW,
        (
            _C.BUSINESS_REGISTRATION,
            _C.SOCIAL_INSURANCE,
            _C.TAX,
            _C.JUDICIAL,
            _C.ADMINISTRATIVE_PENALTIES,
            _C.AUDITED_FINANCIAL_STATEMENTS,
        ),
        90 * DAY,
        20,
        24,
    ),
)


class UnknownPurposeError(ConsentLedgerError, ValueError):
    """A purpose named by code or name that does not exist."""

    code = "unknown_purpose"

    def __init__(self, given: object) -> None:
        self.given = given
        names = ", ".join(f"{p.value} {p.slug}" for p in Purpose)
        super().__init__(f"unknown purpose {given!r}; known purposes: {names}")


def parse_purpose(value: int | str) -> Purpose:
    """A purpose from its code or name (any case)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return Purpose(value)
        except ValueError:
            raise UnknownPurposeError(value) from None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_purpose(int(text))
        try:
            return Purpose[text.upper().replace("-", "_").replace(" ", "_")]
        except KeyError:
            raise UnknownPurposeError(value) from None
    raise UnknownPurposeError(value)


def seed_registries(
    register_category: Callable[[int, str], object],
    define_purpose: Callable[[int, str, int, int, int, int], object],
) -> None:
    """Apply the seed through two callbacks (a chain client's, or the state model's):
    ``register_category(code, name)`` per seeded category, then
    ``define_purpose(code, name, allowed_mask, max_duration, max_reads, max_history_months)``."""
    for category in SEEDED_CATEGORIES:
        register_category(category.value, category.slug)
    for caps in SEEDED_PURPOSES:
        define_purpose(
            caps.purpose.value,
            caps.purpose.slug,
            caps.allowed_mask,
            caps.max_duration,
            caps.max_reads,
            caps.max_history_months,
        )
