"""Delivery receipts land on their outbox row, also when the SMSC sends the receipt before
the submit_sm_resp (``statusgw run`` on PostgreSQL, node-smpp SMSC)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.support.gateway_process import GatewayProcess, gateway_sections
from tests.support.pg import PgSchema
from tests.support.smsc import Smsc

pytestmark = [pytest.mark.postgres, pytest.mark.smsc]

CODE = "000.00.22.H29-240101-0001"


async def receipts(url: str, schema: str) -> list[tuple[str, str | None]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            f"SELECT destination, receipt FROM {schema}.outbox WHERE state = 'sent'"
            " ORDER BY destination"
        )
    finally:
        await connection.close()
    return [(row["destination"], row["receipt"]) for row in rows]


@pytest.mark.parametrize("receipt_before_resp", [False, True])
async def test_receipts_update_the_outbox_row(
    smsc: Smsc, pg_schema: PgSchema, tmp_path: Path, receipt_before_resp: bool
) -> None:
    await smsc.configure(auto_receipts="always", receipt_before_resp=receipt_before_resp)
    sections = gateway_sections(smsc, pg_schema.url, pg_schema.schema)
    gateway = await GatewayProcess.start(smsc, tmp_path, "gw", sections)
    try:
        senders = [f"8491000000{n}" for n in range(3)]
        for sender in senders:
            await smsc.send_mo(f"TRA {CODE}", source=sender)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        found: list[tuple[str, str | None]] = []
        while loop.time() < deadline:
            found = await receipts(pg_schema.url, pg_schema.schema)
            if len(found) == 3 and all(receipt for _, receipt in found):
                break
            await asyncio.sleep(0.05)
        assert [receipt for _, receipt in found] == ["delivered"] * 3, gateway.output()
    finally:
        await gateway.kill()
