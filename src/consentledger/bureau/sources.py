"""The departments that supply each data category to the Shenzhen credit bureau."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from consentledger.categories import SEEDED_CATEGORIES, Category
from consentledger.errors import ConsentLedgerError

#: Who supplies each seeded category (the bureau integrates them; it creates none itself).
SOURCE_DEPARTMENTS: Mapping[Category, str] = MappingProxyType(
    {
        Category.BUSINESS_REGISTRATION: "Shenzhen Administration for Market Regulation",
        Category.SOCIAL_INSURANCE: "Shenzhen Social Insurance Fund Administration",
        Category.HIGH_TECH_QUALIFICATION: "Shenzhen Science, Technology and Innovation Bureau",
        Category.TAX: "Shenzhen Tax Service, State Taxation Administration",
        Category.HOUSING_PROVIDENT_FUND: "Shenzhen Housing Provident Fund Management Center",
        Category.INTELLECTUAL_PROPERTY: "Shenzhen Administration for Market Regulation "
        "(Intellectual Property Office)",
        Category.JUDICIAL: "Shenzhen Intermediate People's Court",
        Category.ADMINISTRATIVE_PENALTIES: "Shenzhen Administration for Market Regulation "
        "(credit supervision)",
        Category.UTILITIES: "Shenzhen Water Group, Shenzhen Power Supply Bureau, Shenzhen Gas",
        Category.CUSTOMS: "Shenzhen Customs District",
        Category.AUDITED_FINANCIAL_STATEMENTS: "Shenzhen Institute of Certified Public Accountants "
        "(audit report filing)",
    }
)


class UnsuppliedCategoryError(ConsentLedgerError, ValueError):
    """A category governance knows but the bureau does not supply yet (12, 13)."""

    code = "unsupplied_category"

    def __init__(self, category: Category) -> None:
        self.category = category
        supplied = ", ".join(f"{c.value} {c.slug}" for c in SEEDED_CATEGORIES)
        super().__init__(
            f"the bureau does not supply category {category.value} {category.slug} yet; "
            f"it supplies: {supplied}"
        )


def check_supplied(category: Category) -> Category:
    """``category`` if the bureau supplies it, else :class:`UnsuppliedCategoryError`."""
    if category not in SOURCE_DEPARTMENTS:
        raise UnsuppliedCategoryError(category)
    return category
