"""The city credit bureau's data: enterprises, their 11 categories, USCCs and size classes.

What the gateway calls::

    from consentledger.bureau import BureauStore, canonicalize

    store = BureauStore.open()                       # $CONSENTLEDGER_BUREAU_DATABASE_URL or SQLite
    document = store.fetch(uscc, categories, history_months)   # JSON-ready, consented only
    canonical = canonicalize(document)               # RFC 8785 bytes and their SHA-256
    size = store.classify(uscc)                      # or classify_document(document)

Modules: :mod:`.uscc` (codes and check characters), :mod:`.industry` (industry codes to
sectors), :mod:`.classification` (the 2011 SME size rules), :mod:`.models` and :mod:`.store`
(the database), :mod:`.history` (the history-window rule), :mod:`.documents` (JSON values and
canonical bytes), :mod:`.synthetic`, :mod:`.showcase` and :mod:`.seeding` (demo data),
:mod:`.cli` (``consentledger bureau``).
"""

from __future__ import annotations

from consentledger.bureau.classification import (
    SIZE_RULES,
    Figure,
    Measure,
    MissingInput,
    SizeClass,
    SizeClassification,
    classify_document,
    classify_figures,
    size_class,
)
from consentledger.bureau.documents import (
    CanonicalDocument,
    JSONObject,
    NotCanonicalizableError,
    canonical_bytes,
    canonicalize,
)
from consentledger.bureau.history import InvalidHistoryWindowError
from consentledger.bureau.industry import (
    IndustryCodeTooCoarseError,
    InvalidIndustryCodeError,
    Sector,
    parse_industry_code,
    sector_of,
)
from consentledger.bureau.seeding import SeedReport, seed_store
from consentledger.bureau.showcase import (
    CATERING_CHAIN_USCC,
    CHIP_DISTRIBUTOR_USCC,
    CONSTRUCTION_FIRM_USCC,
    SHOWCASE,
    SHOWCASE_USCCS,
    SOFTWARE_STARTUP_USCC,
)
from consentledger.bureau.sources import SOURCE_DEPARTMENTS, UnsuppliedCategoryError
from consentledger.bureau.store import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    BureauAlreadySeededError,
    BureauDatabaseError,
    BureauNotSeededError,
    BureauStore,
    MissingAsOfError,
    UnknownEnterpriseError,
    database_url,
)
from consentledger.bureau.uscc import (
    USCC,
    InvalidUSCCError,
    check_characters,
    is_valid_uscc,
    make_uscc,
    parse_uscc,
    validate_uscc,
)

__all__ = [
    "CATERING_CHAIN_USCC",
    "CHIP_DISTRIBUTOR_USCC",
    "CONSTRUCTION_FIRM_USCC",
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_URL",
    "SHOWCASE",
    "SHOWCASE_USCCS",
    "SIZE_RULES",
    "SOFTWARE_STARTUP_USCC",
    "SOURCE_DEPARTMENTS",
    "USCC",
    "BureauAlreadySeededError",
    "BureauDatabaseError",
    "BureauNotSeededError",
    "BureauStore",
    "CanonicalDocument",
    "Figure",
    "IndustryCodeTooCoarseError",
    "InvalidHistoryWindowError",
    "InvalidIndustryCodeError",
    "InvalidUSCCError",
    "JSONObject",
    "Measure",
    "MissingAsOfError",
    "MissingInput",
    "NotCanonicalizableError",
    "Sector",
    "SeedReport",
    "SizeClass",
    "SizeClassification",
    "UnknownEnterpriseError",
    "UnsuppliedCategoryError",
    "canonical_bytes",
    "canonicalize",
    "check_characters",
    "classify_document",
    "classify_figures",
    "database_url",
    "is_valid_uscc",
    "make_uscc",
    "parse_industry_code",
    "parse_uscc",
    "sector_of",
    "seed_store",
    "size_class",
    "validate_uscc",
]
