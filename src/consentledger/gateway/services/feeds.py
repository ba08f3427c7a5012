"""The sources' push API and its credentials, without HTTP.

A source (a department) pushes batches of feed records with its credential; each batch goes
through the bureau's one import path (:func:`consentledger.bureau.pushing.push_batch`), all or
nothing, once per Idempotency-Key. The operator issues, shows and revokes the credentials.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from consentledger.bureau.feed_credentials import (
    SourceCredential,
    authenticate_source,
    issue_credential,
    revoke_credential,
    source_credential,
)
from consentledger.bureau.feeds import feed_source
from consentledger.bureau.pushing import PushOutcome, push_batch
from consentledger.gateway.context import GatewayContext
from consentledger.gateway.errors import FeedBatchRejectedError, FeedSourceMismatchError


class FeedCredentialOut(BaseModel):
    """A source's push credential, by its id (the ``<key id>`` of ``cfs_<key id>_<secret>``)."""

    source: str
    key_id: str
    kinds: list[str] = Field(description="The record kinds it may push")
    active: bool = Field(description="False once revoked: the source has no working credential")
    issued_at: datetime

    @classmethod
    def of(cls, credential: SourceCredential) -> FeedCredentialOut:
        return cls(
            source=credential.source,
            key_id=credential.key_id,
            kinds=list(credential.kinds),
            active=credential.active,
            issued_at=credential.issued_at,
        )


class IssuedFeedCredential(FeedCredentialOut):
    credential: str = Field(description="Shown once; the bureau keeps only its hash")


class NewFeedCredential(BaseModel):
    kinds: list[str] | None = Field(
        default=None,
        max_length=64,
        description="The record kinds it may push (default: every kind of its source)",
    )


class RefusedRecord(BaseModel):
    line: int = Field(description="The record's line (JSON Lines) or place (JSON array), from 1")
    record_id: str | None
    code: str
    reason: str


class SupersededVersion(BaseModel):
    record_id: str
    version: int
    by_version: int


class BatchReport(BaseModel):
    """What became of a pushed batch (the same report as a file import's)."""

    name: str
    source: str
    records: int = Field(description="Records in the batch")
    written: int = Field(description="Records accepted and written (new records and versions)")
    unchanged: int = Field(description="Records imported before with the same content")
    enterprises_added: int
    accepted: bool = Field(description="Whether the batch was written (no record refused)")
    superseded: list[SupersededVersion] = Field(
        description="Versions the batch replaced as the ones reads use"
    )
    refusals: list[RefusedRecord]


class FeedService:
    """The push API and the credentials of a running gateway."""

    def __init__(self, context: GatewayContext) -> None:
        self._context = context

    async def authenticate(self, credential: str) -> SourceCredential | None:
        """The source credential ``credential`` is, if it works."""
        context = self._context
        return await context.in_thread(authenticate_source, context.bureau, credential)

    async def push(
        self,
        credential: SourceCredential,
        source: str,
        body: bytes,
        media_type: str,
        idempotency_key: str,
        as_of: date | None,
    ) -> PushOutcome:
        """Import a batch pushed with ``credential`` to ``source``'s feed (all or nothing); a
        batch with refused records raises :class:`FeedBatchRejectedError` with its report."""
        if source != credential.source:
            raise FeedSourceMismatchError(credential.source, source)
        context = self._context
        outcome = await context.in_thread(
            lambda: push_batch(
                context.bureau,
                feed_source(source),
                body,
                media_type,
                idempotency_key=idempotency_key,
                as_of=as_of,
                kinds=credential.kind_set,
            )
        )
        if not outcome.accepted:
            raise FeedBatchRejectedError(outcome.report)
        return outcome

    async def issue(self, source: str, body: NewFeedCredential) -> IssuedFeedCredential:
        """Issue ``source`` a new credential; its earlier one stops working at once."""
        context = self._context
        issued, secret = await context.in_thread(
            issue_credential, context.bureau, source, body.kinds
        )
        return IssuedFeedCredential(**FeedCredentialOut.of(issued).model_dump(), credential=secret)

    async def credential(self, source: str) -> FeedCredentialOut:
        """The source's credential, by its id, and whether it works."""
        context = self._context
        return FeedCredentialOut.of(
            await context.in_thread(source_credential, context.bureau, source)
        )

    async def revoke(self, source: str, key_id: str) -> FeedCredentialOut:
        """Revoke the source's credential ``key_id``: it stops working at once."""
        context = self._context
        return FeedCredentialOut.of(
            await context.in_thread(revoke_credential, context.bureau, source, key_id)
        )
