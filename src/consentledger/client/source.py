"""A data-source department's side: pushing batches of feed records (``/v1/feeds``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from consentledger.client.http import Flow, HttpRequest
from consentledger.client.models import BatchReport
from consentledger.client.operation import R, Role, operation, parse


class Source(Role[R]):
    """A source (``social_insurance``, ``tax``...) by its feed credential."""

    def __init__(self, runner: R, name: str, credential: str) -> None:
        super().__init__(runner)
        self.name = name
        self.headers = {"Authorization": f"Bearer {credential}"}

    @operation
    def push(
        self,
        records: Sequence[Mapping[str, Any]],
        idempotency_key: str,
        *,
        as_of: date | None = None,
    ) -> Flow[BatchReport]:
        """Push a batch (all or nothing): its report, or the ``feed_rejected`` problem (its
        ``report`` names every refused record). The same key with the same batch answers the
        first report again."""
        params = {"as_of": as_of.isoformat()} if as_of is not None else {}
        response = yield HttpRequest(
            "POST",
            f"/v1/feeds/{self.name}/batches",
            json=[dict(r) for r in records],
            headers={**self.headers, "Idempotency-Key": idempotency_key},
            params=params,
        )
        return parse(response, BatchReport, 201)
