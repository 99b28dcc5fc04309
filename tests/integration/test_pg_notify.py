"""Subscriptions, audit and retention in PostgreSQL: the notifier's rules under row locks,
shared by two instances, notifications written into the outbox with their new state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from adapters.pg_notify import PgAuditLog, PgRetention, PgSubscriptions, RetentionPolicy
from adapters.pg_store import PgStore, PgStoreConfig, open_pg_store
from gateway.audit import LookupAudit
from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.notifier import Notifier
from gateway.notify import ChangeOrigin, NotifyPolicy, QuietHours, StatusChange
from gateway.store import InboundMo, ReplyDraft
from sms.notify_replies import NotifyReplies
from sms.replies import SmsReplies
from tests.support.lookup_fakes import CODE, ScriptedSource, build_service, code, dossier
from tests.support.pg import PgSchema

pytestmark = pytest.mark.postgres

POLICY = NotifyPolicy(QuietHours.parse("21:00-07:00", "Asia/Ho_Chi_Minh"), daily_cap=2)
MORNING = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam


@pytest_asyncio.fixture
async def store(pg_schema: PgSchema) -> AsyncIterator[PgStore]:
    opened = await open_pg_store(PgStoreConfig(url=pg_schema.url, schema=pg_schema.schema))
    try:
        yield opened
    finally:
        await opened.close()


def notifier(store: PgStore, clock: ManualClock, source: ScriptedSource) -> Notifier:
    return Notifier(
        store=PgSubscriptions(store),
        lookup=build_service([source], clock=clock),
        policy=POLICY,
        texts=NotifyReplies(SmsReplies(short_code="8283")),
        clock=clock,
    )


def change(status: Status, at: datetime = MORNING, text: str = CODE) -> StatusChange:
    return StatusChange(text, status, at, ChangeOrigin.WEBHOOK)


async def drain(store: PgStore) -> list[str]:
    replies = await store.claim_replies("test", 100, 30.0)
    for reply in replies:
        await store.reply_sent(reply.id, [f"m{reply.id}"])
    return [reply.text for reply in replies]


async def test_one_notice_per_change_between_two_instances(store: PgStore) -> None:
    clock = ManualClock(MORNING)
    source = ScriptedSource([dossier(status=Status.PROCESSING)])
    first, second = notifier(store, clock, source), notifier(store, clock, source)
    assert (await first.subscribe("84912345678", code(), None)).startswith("Da dang ky")
    assert (await second.subscribe("0912345678", code(), None)).startswith("So nay da")
    reports = await asyncio.gather(
        first.report(change(Status.RESULT_READY)), second.report(change(Status.RESULT_READY))
    )
    assert sorted(reports) == [0, 1]
    released = await asyncio.gather(first.release_due(), second.release_due())
    assert sum(released) == 1
    [text] = await drain(store)
    assert "DA CO KET QUA" in text
    source.put(dossier(status=Status.RESULT_READY))
    assert await second.poll_once() == 0  # the poll sees what the webhook said: no news


async def test_quiet_hours_cap_and_final_status_in_postgres(store: PgStore) -> None:
    clock = ManualClock(MORNING)
    codes = [f"000.00.22.H29-240101-000{n}" for n in range(1, 4)]
    source = ScriptedSource([dossier(text) for text in codes])
    service = notifier(store, clock, source)
    for text in codes:
        await service.subscribe("84912345678", code(text), None)
    clock.advance(12 * 3600)  # 22:00 local
    for text in codes:
        await service.report(change(Status.RETURNED, clock.now(), text))
    assert await service.release_due() == 0
    clock.advance(9 * 3600)  # 07:00 local
    assert await service.release_due() == 2  # the daily cap
    assert len(await drain(store)) == 2
    clock.advance(24 * 3600)
    assert await service.release_due() == 1
    assert all("ngung bao tin" in t for t in await drain(store))
    subscriptions = PgSubscriptions(store)
    assert await subscriptions.codes("", 10) == []  # all final: all ended


async def test_huy_in_postgres(store: PgStore) -> None:
    clock = ManualClock(MORNING)
    service = notifier(store, clock, ScriptedSource([dossier()]))
    await service.subscribe("84912345678", code(), None)
    assert await service.unsubscribe("84912345678", None) == "Da huy nhan tin 1 ho so."
    assert (await service.unsubscribe("84912345678", code())).startswith("So nay chua")


async def test_audit_rows_and_retention(store: PgStore) -> None:
    now = datetime.now(UTC)
    audit = PgAuditLog(store)
    old = LookupAudit(now - timedelta(days=400), "sms", "8491****678", CODE, "basic", "found")
    new = LookupAudit(now, "voice", "-", CODE, "", "not_found")
    await asyncio.gather(audit.record(old), audit.record(new))
    await store.save_mo([InboundMo("84912345678", "8283", "TRA x", MORNING, "fp-old")])
    [mo] = await store.claim_mo("a", 1, 30.0)
    await store.answer_mo(mo.id, [ReplyDraft("84912345678", "answer")])
    [reply] = await store.claim_replies("a", 1, 30.0)
    await store.reply_sent(reply.id, ["m-1"])
    await store.enqueue([ReplyDraft("84912345678", "still queued")])
    async with store.transaction() as connection:  # make the finished rows old
        await connection.execute(
            "UPDATE outbox SET finished_at = now() - interval '40 days'"
            " WHERE finished_at IS NOT NULL"
        )
        await connection.execute("UPDATE mo SET answered_at = now() - interval '40 days'")
        await connection.execute("UPDATE message_part SET created_at = now() - interval '40 days'")
    retention = PgRetention(
        store, RetentionPolicy(retention_days=30, dedup_window=0), ManualClock(datetime.now(UTC))
    )
    counts = await retention.purge_once()
    assert counts["outbox"] == 1 and counts["mo"] == 1 and counts["message_part"] == 1
    assert counts["lookup_audit"] == 1 and counts["mo_seen"] == 1
    assert (await store.counts())["queued"] == 1  # an open reply is never purged
    async with store.transaction() as connection:
        rows = await connection.fetch("SELECT channel, requester FROM lookup_audit")
    assert [tuple(r) for r in rows] == [("voice", "-")]
