"""The bureau's view at a past moment, for the operator (dispute handling, audits): an
enterprise's document from the record versions the bureau held then. Banks never get it: a
bank's read is always of the current versions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from consentledger.bureau.known_at import fetch_known_at, parse_known_at
from consentledger.categories import SEEDED_CATEGORIES, parse_category
from consentledger.gateway.context import GatewayContext


class KnownDocument(BaseModel):
    """An enterprise's document as the bureau would have built it at ``known_at``."""

    known_at: datetime
    document: dict[str, Any] = Field(
        description="The document, its `versions` naming each record's version held then"
    )


class KnownAtService:
    """Documents at a past moment, for the operator of a running gateway."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def document(
        self,
        uscc: str,
        known_at: str,
        categories: Sequence[str],
        history_months: int,
        as_of: date | None,
    ) -> KnownDocument:
        """The enterprise's document from the versions held at ``known_at`` (ISO 8601)."""
        moment = parse_known_at(known_at)
        named = [n.strip() for c in categories for n in c.split(",") if n.strip()]
        wanted = [parse_category(n) for n in named] if named else SEEDED_CATEGORIES
        context = self._context
        document = await context.in_thread(
            lambda: fetch_known_at(
                context.bureau, uscc, wanted, history_months, known_at=moment, as_of=as_of
            )
        )
        return KnownDocument(known_at=moment, document=document)
