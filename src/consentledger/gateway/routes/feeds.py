"""``/v1/feeds``: the sources' push API (a source's feed credential).

The flow itself is :mod:`consentledger.gateway.services.feeds`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from consentledger.bureau.feeds import UnknownSourceError
from consentledger.bureau.pushing import (
    JSON_ARRAY_TYPE,
    JSON_LINES_TYPES,
    BatchKeyReusedError,
    MalformedBatchError,
    UnsupportedBatchTypeError,
)
from consentledger.gateway.deps import CurrentSource, FeedServiceDep
from consentledger.gateway.errors import FeedBatchRejectedError, FeedSourceMismatchError
from consentledger.gateway.operations import BUREAU_READ, operation
from consentledger.gateway.services.feeds import BatchReport

PREFIX = "/v1/feeds"

router = APIRouter(prefix=PREFIX, tags=["source feeds"])

_RECORDS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "object", "description": "A feed record (see the published schemas)"},
}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The batch: JSON Lines (one record a line) or a JSON array of records",
        "content": {
            **{t: {"schema": {"type": "string"}} for t in JSON_LINES_TYPES[:1]},
            JSON_ARRAY_TYPE: {"schema": _RECORDS},
        },
    }
}


@router.post(
    "/{source}/batches",
    response_model=BatchReport,
    status_code=201,
    **operation(
        "pushFeedBatch",
        (
            FeedSourceMismatchError,
            UnknownSourceError,
            UnsupportedBatchTypeError,
            MalformedBatchError,
            BatchKeyReusedError,
            FeedBatchRejectedError,
        ),
        BUREAU_READ,
        openapi_extra=_BODY,
    ),
)
async def push_batch(
    source: Annotated[
        str, Path(max_length=64, description="The source's name", examples=["social_insurance"])
    ],
    request: Request,
    feeds: FeedServiceDep,
    credential: CurrentSource,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
    as_of: Annotated[
        date | None,
        Query(description="The date the source's data is current to (default: today)"),
    ] = None,
) -> JSONResponse:
    """Import a batch of the source's records: every record checked as the file import checks
    it, then all written in one transaction or none (422 ``feed_rejected`` with the report of
    every refused record). The same Idempotency-Key with the same batch answers the first
    report again (``Idempotent-Replayed: true``); with another batch, 422
    ``idempotency_key_reused``."""
    body = await request.body()
    media_type = request.headers.get("content-type", "")
    outcome = await feeds.push(credential, source, body, media_type, idempotency_key, as_of)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(outcome.report, status_code=201, headers=headers)
