"""Status-change notifications through the whole gateway: DK/HUY by SMS over the node-smpp
SMSC, changes by the authenticated webhook and by polling a PostgreSQL source, notices
out through the PostgreSQL outbox."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from adapters.postgres import COLUMNS, schema_sql
from gateway.app import Gateway, start_gateway
from gateway.http.events import PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from gateway.settings import build_settings
from tests.support.pg import PgSchema, free_port
from tests.support.smsc import Smsc

pytestmark = [pytest.mark.postgres, pytest.mark.smsc]

CODE = "000.00.22.H29-240101-0001"
PHONE = "84912345678"  # the dossier's own phone: DK needs no extra digits
TOKEN = "webhook-token-0123456789"
SECRET = "webhook-secret-0123456789"
NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam: not quiet hours


class DaytimeClock:
    """Wall time fixed in the daytime; monotonic time real, so timers and leases run."""

    def now(self) -> datetime:
        return NOW

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class World:
    gateway: Gateway
    smsc: Smsc
    base: str
    db: asyncpg.Connection
    schema: str

    async def sms(self, text: str) -> str:
        mark = self.smsc.mark()
        await self.smsc.send_mo(text, source=PHONE)
        return await self.next_sms(mark)

    async def next_sms(self, mark: int) -> str:
        event = await self.smsc.wait_for("mt", timeout=20.0, after=mark, destination=PHONE)
        return str(event["text"])

    async def post(self, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.base + PATH, data=json.dumps(body), headers=headers) as answer,
        ):
            return answer.status, await answer.json(content_type=None)

    async def set_status(self, status: str) -> None:
        await self.db.execute(
            f"UPDATE {self.schema}.dossiers SET status = $1, updated_at = now() WHERE code = $2",
            status,
            CODE,
        )


@pytest_asyncio.fixture
async def world(smsc: Smsc, pg_schema: PgSchema) -> AsyncIterator[World]:
    """Changes arrive by the webhook only (polling off: the source and the webhook could
    otherwise race to tell the same change)."""
    async with _world(smsc, pg_schema, poll_interval=0.0) as made:
        yield made


@pytest_asyncio.fixture
async def polling_world(smsc: Smsc, pg_schema: PgSchema) -> AsyncIterator[World]:
    async with _world(smsc, pg_schema, poll_interval=0.2) as made:
        yield made


@contextlib.asynccontextmanager
async def _world(smsc: Smsc, pg_schema: PgSchema, poll_interval: float) -> AsyncIterator[World]:
    schema = pg_schema.schema
    db = await asyncpg.connect(pg_schema.url)
    await db.execute(f"CREATE SCHEMA {schema}")
    await db.execute(schema_sql(f"{schema}.dossiers"))
    await db.execute(
        f"INSERT INTO {schema}.dossiers (code, status, due_at, agency, procedure, phone)"
        " VALUES ($1, '4', '2025-03-20T09:00:00+07:00', 'UBND phường Bến Nghé',"
        " 'Đăng ký khai sinh', '0912345678')",
        CODE,
    )
    port = free_port()
    raw = {
        "smpp": {
            "enabled": True,
            "host": smsc.host,
            "port": smsc.port,
            "system_id": smsc.system_id,
            "password": smsc.password,
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
            "throughput": 0.0,
        },
        "source": {
            "kind": "postgres",
            "dsn": pg_schema.url,
            "query": f"SELECT {COLUMNS} FROM {schema}.dossiers WHERE code = $1",
        },
        "cache": {"ttl_open": 1.0},
        "limits": {"sender_per_minute": 0, "sender_per_day": 0, "not_found_threshold": 0},
        "store": {"url": pg_schema.url, "schema": f"{schema}_store"},
        "notify": {
            "webhook_tokens": [TOKEN],
            "webhook_secrets": [SECRET],
            "poll_interval": poll_interval,
            "release_interval": 0.1,
        },
        "http": {"enabled": True, "listen": f"127.0.0.1:{port}", "anonymous": True},
        "log": {"level": "warning"},
    }
    mark = smsc.mark()
    gateway = await start_gateway(build_settings(raw), DaytimeClock())
    try:
        await smsc.wait_for("bind", after=mark, status=0)
        yield World(gateway, smsc, f"http://127.0.0.1:{port}", db, schema)
    finally:
        await gateway.stop()
        await db.execute(f"DROP SCHEMA IF EXISTS {schema}_store CASCADE")
        await db.close()


async def test_webhook_change_reaches_the_subscriber_once(world: World) -> None:
    assert (await world.sms(f"DK {CODE}")).startswith("Da dang ky nhan tin")
    mark = world.smsc.mark()
    event = {"code": CODE, "status": "9", "changed_at": "2025-03-01T09:30:00+07:00"}
    status, body = await world.post(event, Authorization=f"Bearer {TOKEN}")
    assert (status, body) == (202, {"accepted": 1, "notifications_due": 1})
    notice = await world.next_sms(mark)
    assert notice.startswith(f"HS {CODE} chuyen sang: DA CO KET QUA")
    # The same change again (a retry of the webhook): accepted, nothing new to tell.
    status, body = await world.post(event, Authorization=f"Bearer {TOKEN}")
    assert (status, body) == (202, {"accepted": 1, "notifications_due": 0})
    assert world.gateway.notifier is not None
    assert await world.gateway.notifier.release_due() == 0


async def test_a_signed_webhook_is_accepted_and_a_bad_one_refused(world: World) -> None:
    await world.sms(f"DK {CODE}")
    body = {"events": [{"code": CODE, "status": "paying"}]}
    raw = json.dumps(body).encode()
    stamp = str(int(NOW.timestamp()))
    good = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, raw)}
    status, answer = await world.post(body, **good)
    assert (status, answer["accepted"]) == (202, 1)
    old = str(int(NOW.timestamp()) - 3600)  # a replay an hour later
    replayed = {TIMESTAMP_HEADER: old, SIGNATURE_HEADER: sign(SECRET, old, raw)}
    assert (await world.post(body, **replayed))[0] == 401
    assert (await world.post(body, Authorization="Bearer wrong-token-000000"))[0] == 401
    assert (await world.post(body))[0] == 401
    bad = {"code": CODE, "status": "nonsense"}
    status, problem = await world.post(bad, Authorization=f"Bearer {TOKEN}")
    assert status == 400 and problem["error_id"] == "input.invalid"


async def test_polling_finds_a_change_and_a_final_status_ends_the_subscription(
    polling_world: World,
) -> None:
    world = polling_world
    assert (await world.sms(f"DK {CODE}")).startswith("Da dang ky")
    mark = world.smsc.mark()
    await world.set_status("5")  # needs supplement: only polling can see it
    assert "CHO BO SUNG HO SO" in await world.next_sms(mark)
    mark = world.smsc.mark()
    await world.set_status("10")
    final = await world.next_sms(mark)
    assert "DA TRA KET QUA" in final and "ngung bao tin" in final
    assert (await world.sms(f"HUY {CODE}")).startswith("So nay chua dang ky")


async def test_huy_stops_the_notices(world: World) -> None:
    await world.sms(f"DK {CODE}")
    assert (await world.sms("HUY")).startswith("Da huy nhan tin 1 ho so")
    status, body = await world.post({"code": CODE, "status": "9"}, Authorization=f"Bearer {TOKEN}")
    assert (status, body["notifications_due"]) == (202, 0)
