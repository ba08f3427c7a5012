"""A gateway started on databases an earlier version made upgrades them in place and serves
reads on them: the gateway database as the first release left it (before the relayer column,
revision j0001) with a bureau of the same day (b0001), and as the last version without schema
versions left them (j0003, b0004). Their rows survive, the relayer column is filled from the
query ids, and a bank the old gateway admitted reads with its old API key. SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from consentledger.bureau.schema_history import BUREAU_HISTORY
from consentledger.bureau.showcase import CATERING_CHAIN_USCC, CHIP_DISTRIBUTOR_USCC
from consentledger.categories import Category
from consentledger.gateway.schema_history import JOURNAL_HISTORY
from consentledger.journal.schema import ReadStatus
from consentledger.ledger.types import first_query_id
from tests.harness.gateway import Bank, running_gateway
from tests.harness.legacy_schemas import (
    copy_bureau_rows,
    create_legacy_schema,
    insert_rows,
    table_rows,
)
from tests.harness.postgres import fresh_database

#: The gateway database's revision an earlier version left, and its bureau's of the same day.
EARLIER = {"j0001": "b0001", "j0003": "b0004"}
#: The signed-request columns (revision j0003), NULL in rows from before.
_REQUEST = ("request_id", "request_deadline", "request_signature")
#: When the old gateway wrote its rows: within the delivery window, so their documents are kept.
WHEN = datetime.now(UTC).replace(microsecond=0)


def _old_gateway_rows(
    legacy: str, bank: Bank, key_id: str, secret: str, relayer: str
) -> dict[str, Any]:
    """What an old gateway left: a bank and its API key, a mined batch (id 1) of two granted
    reads (ids 1 and 2), a read journaled and never batched (3), a used sign-in nonce. The ids
    are the database's own (a PostgreSQL sequence goes on from them)."""
    named = {"relayer": relayer} if legacy != "j0001" else {}  # the old main filled it in
    first = first_query_id(relayer) + 1_000
    entry = {
        "request_hash": "ab" * 32,
        "bank_address": bank.address,
        "kind": "query",
        "uscc": CHIP_DISTRIBUTOR_USCC,
        "subject": "0x" + "11" * 32,
        "consent_id": "0x" + "22" * 32,
        "categories": Category.BUSINESS_REGISTRATION.bit,
        "purpose": 1,
        "history_months": 12,
        "document": b'{"uscc":"' + CHIP_DISTRIBUTOR_USCC.encode() + b'"}',
        "salt": secrets.token_bytes(32),
        "response_hash": "0x" + "33" * 32,
        "created_at": WHEN,
    }
    return {
        "banks": [
            {
                "name": bank.name,
                "address": bank.address,
                "key_id": key_id,
                "key_hash": hashlib.sha256(secret.encode()).hexdigest(),
                "created_at": WHEN,
            }
        ],
        "batches": [
            {
                "tx_hash": "0x" + "44" * 32,
                "raw_tx": b"\x02signed",
                "nonce": 7,
                "status": "mined",
                "block_number": 12,
                "created_at": WHEN,
                **named,
            }
        ],
        "journal": [
            {
                **entry,
                "idempotency_key": f"old-{n}",
                "status": ReadStatus.GRANTED,
                "query_id": f"0x{first + n:064x}",
                "batch_id": 1,
                "tx_hash": "0x" + "44" * 32,
                "block_number": 12,
                "log_index": n,
                "resolved_at": WHEN,
                **named,
            }
            for n in range(2)
        ]
        + [{**entry, "idempotency_key": "old-pending", "status": ReadStatus.PENDING}],
        "signin_nonces": [
            {
                "nonce": "n" * 32,
                "uscc": CHIP_DISTRIBUTOR_USCC,
                "address": Account.create().address,
                "issued_at": WHEN,
                "expires_at": WHEN,
                "used_at": WHEN,
            }
        ],
    }


@pytest.mark.parametrize("legacy", sorted(EARLIER))
def test_a_gateway_upgrades_old_databases_in_place_and_serves_reads_on_them(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    journal_url: str,
    bureau_url: str,
    legacy: str,
) -> None:
    if journal_url.startswith("sqlite"):
        old_bureau = f"sqlite:///{tmp_path / 'bureau.db'}"
    else:
        old_bureau = fresh_database(request.getfixturevalue("postgres_server_url"))
    create_legacy_schema(old_bureau, f"bureau-{EARLIER[legacy]}")
    copy_bureau_rows(bureau_url, old_bureau, [CHIP_DISTRIBUTOR_USCC, CATERING_CHAIN_USCC])
    bureau_before = table_rows(old_bureau)
    create_legacy_schema(journal_url, f"journal-{legacy}")
    key_id, secret, key = secrets.token_hex(8), secrets.token_urlsafe(32), Account.create()
    bank = Bank("Old Bank", key.address, f"clk_{key_id}_{secret}", key)
    relayer = Account.create().address  # the old gateway's relayer key
    insert_rows(journal_url, _old_gateway_rows(legacy, bank, key_id, secret, relayer))
    journal_before = table_rows(journal_url)

    with running_gateway(tmp_path, old_bureau, database_url=journal_url) as gateway:
        context = gateway.context
        assert JOURNAL_HISTORY.current(context.db.engine).at_head
        assert BUREAU_HISTORY.current(context.bureau.engine).at_head
        journal_after = table_rows(journal_url)
        for table in ("banks", "batches", "signin_nonces", "batch_replacements"):
            rows = _without(journal_before[table], "relayer")
            after = _without(journal_after[table], "relayer")
            # Columns added by later revisions are compared with the old rows' own columns only.
            kept = [{k: a[k] for k in b} for a, b in zip(after, rows, strict=True)]
            assert kept == rows, table
        old = {row["id"]: row for row in journal_after["journal"]}
        before = {row["id"]: row for row in journal_before["journal"]}
        for n in (1, 2):
            assert old[n]["relayer"] == relayer  # filled from the query id
            assert old[n]["versions"] is None  # released before documents named their versions
            assert _without([old[n]], "relayer", "versions", *_REQUEST) == _without(
                [before[n]], "relayer", *_REQUEST
            )
        assert journal_after["batches"][0]["relayer"] == relayer
        # The read left pending by the old single-relayer gateway: failed at start, never sent.
        assert old[3]["relayer"] is None
        assert old[3]["status"] == ReadStatus.FAILED
        bureau_after = table_rows(old_bureau, list(bureau_before))
        for table, rows in bureau_before.items():
            kept = [{k: a[k] for k in b} for a, b in zip(bureau_after[table], rows, strict=True)]
            assert kept == rows, table
        if legacy == "j0001":  # the columns added since: NULL, and penalties not minor
            for row in bureau_after["bureau_tax_year"]:
                assert (row["employees"], row["total_assets_fen"]) == (None, None)
            assert {r["minor"] for r in bureau_after["bureau_administrative_record"]} <= {False}

        # The old gateway's bank, admitted on this chain, reads with its old API key.
        assert context.regulator is not None
        context.regulator.add_bank(bank.address)
        chip = gateway.register(CHIP_DISTRIBUTOR_USCC)
        consent = gateway.grant_on_chain(chip, bank, Category.BUSINESS_REGISTRATION.bit)
        result = gateway.read(bank, chip, consent, ["business_registration"])
        assert result.data["uscc"] == chip.uscc
        assert set(result.data["categories"]) == {"business_registration"}
        assert context.ledger.consent(consent).reads_used == 1
        new = [row for row in table_rows(journal_url)["journal"] if row["id"] not in before]
        assert [(row["status"], row["relayer"]) for row in new] == [
            (ReadStatus.GRANTED, context.ledger.account.address)
        ]
        assert new[0]["request_id"] is not None


def _without(rows: list[dict[str, Any]], *columns: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in columns} for row in rows]
