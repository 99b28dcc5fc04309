"""Nothing lost: ``statusgw run`` processes on the PostgreSQL store, against the node-smpp
SMSC, killed with SIGKILL, cut off from the SMSC, with the database restarted under load.

What "nothing lost" means here, and what SMPP cannot give: every MO the SMSC saw
acknowledged gets a reply. A reply can arrive twice only if it was in flight when its sender
died (submitted, its submit_sm_resp not yet recorded): SMPP has no idempotency key, so the
process that takes the reply over cannot know the SMSC already accepted it. The tests bound
the duplicates by the replies in flight at the kill (``state = 'sending'``) and print both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from tests.support.gateway_process import GatewayProcess, gateway_sections
from tests.support.pg import PgSchema, PrivatePostgres
from tests.support.smsc import Smsc
from tests.support.smsc_load import LoadReport, run_load

pytestmark = [pytest.mark.postgres, pytest.mark.smsc]

CODES = [
    "000.00.22.H29-240101-0001",
    "000.00.22.H29-240101-0002",
    "000.00.22.H29-240102-0003",
    "000.00.22.H29-250301-0100",
    "000.00.23.H29-250302-0101",
    "000.00.24.H29-250303-0102",
    "000.00.22.H29-250304-0103",
    "000.00.23.H29-250305-0104",
]
LOAD_N = 3000
LOAD_DEADLINE_S = 240.0
ESME_RX_T_APPN = 0x64
FIGURES = Path(__file__).resolve().parents[2] / ".cache" / "durability.jsonl"


async def until(
    condition: Callable[[], Awaitable[bool]], timeout: float = 180.0, what: str = ""
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.02)


async def scalar(url: str, sql: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(sql))
    finally:
        await connection.close()


def record(test: str, **figures: object) -> None:
    """Keep the figures of the last runs (the README quotes them)."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as out:
        out.write(json.dumps({"test": test, **figures}) + "\n")
    print(test, figures)


def check_nothing_lost(report: LoadReport) -> None:
    assert report.reason == "complete", report
    assert report.missing == 0, report
    assert report.wrong_text == 0 and report.unmatched == 0, report


async def check_each_answered_once_in_the_store(url: str, schema: str) -> None:
    """Each MO stored once and answered by one queued reply: a duplicate SMS can only be a
    reply row sent again after its sender died, never a second answer."""
    stored_twice = (
        f"SELECT count(*) FROM (SELECT sender FROM {schema}.mo GROUP BY sender"
        " HAVING count(*) > 1) AS twice"
    )
    queued_twice = (
        f"SELECT count(*) FROM (SELECT mo_id FROM {schema}.outbox GROUP BY mo_id"
        " HAVING count(*) > 1) AS twice"
    )
    assert await scalar(url, stored_twice) == 0
    assert await scalar(url, queued_twice) == 0
    assert await scalar(url, f"SELECT count(*) FROM {schema}.mo WHERE answered_at IS NULL") == 0


async def test_kill_9_in_the_middle_of_a_load_loses_no_answer(
    smsc: Smsc, pg_schema: PgSchema, tmp_path: Path
) -> None:
    url, schema = pg_schema.url, pg_schema.schema
    sections = gateway_sections(smsc, url, schema)
    first = await GatewayProcess.start(smsc, tmp_path, "first", sections)
    second: GatewayProcess | None = None
    load = asyncio.create_task(run_load(smsc, CODES, LOAD_N, 100, deadline_s=LOAD_DEADLINE_S))
    try:
        # Killed while MO still arrive and replies leave: both kinds of work are in flight.
        stored = f"SELECT count(*) FROM {schema}.mo"
        sending = f"SELECT count(*) FROM {schema}.outbox WHERE state = 'sending'"

        async def both_in_flight() -> bool:
            return await _at_least(url, stored, LOAD_N // 6) and await _at_least(url, sending, 1)

        await until(both_in_flight, what="a sixth stored and replies being sent")
        await first.kill()
        in_flight = await scalar(
            url,
            f"SELECT count(*) FROM {schema}.outbox WHERE state = 'sending'"
            f" AND claimed_by LIKE '%:{first.process.pid}'",
        )
        open_mo = await scalar(url, f"SELECT count(*) FROM {schema}.mo WHERE answered_at IS NULL")
        second = await GatewayProcess.start(smsc, tmp_path, "second", sections)
        report = await load
        reclaims = await scalar(url, f"SELECT coalesce(sum(reclaims), 0) FROM {schema}.outbox")
        record(
            "kill_9",
            n=LOAD_N,
            acked=report.mo_acked,
            replies=report.replies,
            duplicates=report.duplicates,
            in_flight_at_kill=in_flight,
            open_mo_at_kill=open_mo,
            reclaimed=reclaims,
            mo_resent=report.mo_resent,
        )
        check_nothing_lost(report)
        await check_each_answered_once_in_the_store(url, schema)
        assert report.duplicates <= in_flight, report
        assert report.duplicates <= reclaims, report
    finally:
        load.cancel()
        for gateway in (first, second):
            if gateway is not None:
                await gateway.kill()


async def test_replies_in_flight_when_the_smsc_drops_the_link_are_all_delivered(
    smsc: Smsc, pg_schema: PgSchema, tmp_path: Path
) -> None:
    sections = gateway_sections(
        smsc, pg_schema.url, pg_schema.schema, {"smpp": {"response_timeout": 60.0}}
    )
    gateway = await GatewayProcess.start(smsc, tmp_path, "gw", sections)
    try:
        await smsc.ignore_submits(100)
        mark = smsc.mark()
        senders = [f"8490{n:07d}" for n in range(100)]
        for n, sender in enumerate(senders):
            await smsc.send_mo(f"TRA {CODES[n % len(CODES)]}", source=sender)

        async def all_in_flight() -> bool:
            return len(smsc.find("submit_sm", after=mark, status=None)) >= 100

        await until(all_in_flight, what="100 submits left unanswered")
        assert smsc.find("mt", after=mark) == []
        await smsc.destroy_sessions()

        async def all_delivered() -> bool:
            return {e["destination"].lstrip("+") for e in smsc.find("mt", after=mark)} >= set(
                senders
            )

        await until(all_delivered, what="every reply delivered after the reconnect")
        delivered = [e["destination"].lstrip("+") for e in smsc.find("mt", after=mark)]
        record("link_drop", in_flight=100, delivered=len(delivered))
        assert sorted(delivered) == sorted(senders)  # each once
        schema = pg_schema.schema
        recorded = f"SELECT count(*) FROM {schema}.outbox WHERE state = 'sent'"
        await until(lambda: _at_least(pg_schema.url, recorded, 100), what="all recorded sent")
        assert (
            await scalar(
                pg_schema.url, f"SELECT count(*) FROM {schema}.outbox WHERE state = 'sent'"
            )
            == 100
        )
    finally:
        await gateway.kill()


async def test_postgres_restarted_during_a_load_loses_nothing(
    smsc: Smsc, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    url = private_postgres.url
    sections = gateway_sections(
        smsc, url, "statusgw", {"store": {"ride_through": 0.5, "timeout": 2.0}}
    )
    gateway = await GatewayProcess.start(smsc, tmp_path, "gw", sections)
    load = asyncio.create_task(run_load(smsc, CODES, LOAD_N, 100, deadline_s=LOAD_DEADLINE_S))
    try:
        stored = "SELECT count(*) FROM statusgw.mo"
        await until(lambda: _at_least(url, stored, LOAD_N // 10), what="a tenth stored")
        await private_postgres.restart("immediate", down_for=1.0)
        report = await load
        temporary = report.reject_statuses.get(str(ESME_RX_T_APPN), 0)
        record(
            "postgres_restart",
            n=LOAD_N,
            replies=report.replies,
            duplicates=report.duplicates,
            temporary_errors=temporary,
            reject_statuses=report.reject_statuses,
        )
        check_nothing_lost(report)
        assert temporary > 0, report  # the SMSC was told to retry, and did
    finally:
        load.cancel()
        await gateway.kill()
        print(gateway.output())


async def test_two_instances_share_the_work_and_survive_one_killed(
    smsc: Smsc, pg_schema: PgSchema, tmp_path: Path
) -> None:
    url, schema = pg_schema.url, pg_schema.schema
    sections = gateway_sections(smsc, url, schema)
    first = await GatewayProcess.start(smsc, tmp_path, "first", sections)
    second = await GatewayProcess.start(smsc, tmp_path, "second", sections)
    load = asyncio.create_task(run_load(smsc, CODES, LOAD_N, 100, deadline_s=LOAD_DEADLINE_S))
    try:
        sent = f"SELECT count(*) FROM {schema}.outbox WHERE state = 'sent'"
        await until(lambda: _at_least(url, sent, LOAD_N // 3), what="a third answered")
        senders = await scalar(
            url, f"SELECT count(DISTINCT claimed_by) FROM {schema}.outbox WHERE state = 'sent'"
        )
        await first.kill()
        in_flight = await scalar(  # the killed instance's claims only
            url,
            f"SELECT count(*) FROM {schema}.outbox WHERE state = 'sending'"
            f" AND claimed_by LIKE '%:{first.process.pid}'",
        )
        report = await load
        record(
            "two_instances",
            n=LOAD_N,
            replies=report.replies,
            duplicates=report.duplicates,
            in_flight_at_kill=in_flight,
            senders_before_kill=senders,
            mo_stored_twice=await scalar(
                url,
                f"SELECT count(*) FROM (SELECT sender FROM {schema}.mo GROUP BY sender"
                " HAVING count(*) > 1) AS twice",
            ),
            replies_queued_twice=await scalar(
                url,
                f"SELECT count(*) FROM (SELECT destination FROM {schema}.outbox"
                " GROUP BY destination HAVING count(*) > 1) AS twice",
            ),
            reclaimed=await scalar(url, f"SELECT coalesce(sum(reclaims), 0) FROM {schema}.outbox"),
        )
        check_nothing_lost(report)
        assert senders == 2  # both instances sent replies: the outbox shared the work
        await check_each_answered_once_in_the_store(url, schema)
        assert report.duplicates <= in_flight, report
    finally:
        load.cancel()
        await first.kill()
        await second.kill()
        print(second.output(20000))


async def _at_least(url: str, sql: str, n: int) -> bool:
    return await scalar(url, sql) >= n
