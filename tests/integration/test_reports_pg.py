"""Reports, call records and notes in PostgreSQL: the SQL tallies give the same report as
the in-memory ones for the same seeded entries; notes are kept per call, capped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from adapters.pg_calls import PgCallLog
from adapters.pg_notify import PgAuditLog
from adapters.pg_store import PgStore, PgStoreConfig, open_pg_store
from gateway.audit import MemoryAuditLog
from gateway.operations import MAX_NOTES_PER_CALL, CallNote, MemoryCallLog, NoteRefused, Recorder
from gateway.reports import MemoryReportData, build_report
from tests.support.pg import PgSchema
from tests.unit.test_reports import END, START, seeded

pytestmark = pytest.mark.postgres


@pytest_asyncio.fixture
async def store(pg_schema: PgSchema) -> AsyncIterator[PgStore]:
    opened = await open_pg_store(PgStoreConfig(url=pg_schema.url, schema=pg_schema.schema))
    try:
        yield opened
    finally:
        await opened.close()


async def test_sql_tallies_make_the_same_report_as_memory(store: PgStore) -> None:
    lookups, calls, queue = seeded()
    pg_calls = PgCallLog(store)
    recorder = Recorder(PgAuditLog(store), pg_calls)
    for entry in [*lookups, *calls, *queue]:
        recorder.record(entry)
    await recorder.flush()
    assert recorder.stats.written == len(lookups) + len(calls) + len(queue)
    assert recorder.stats.dropped == 0

    memory_audit, memory_calls = MemoryAuditLog(), MemoryCallLog()
    for lookup in lookups:
        await memory_audit.record(lookup)
    await memory_calls.write([*calls, *queue])
    expected = build_report(
        await MemoryReportData(memory_audit, memory_calls).tallies(START, END, top=5), START, END
    )
    got = build_report(await pg_calls.tallies(START, END, top=5), START, END)
    assert got == expected
    assert got.lookups.total == 9 and got.calls.containment_rate == 0.5
    assert [s.requester for s in got.limited_senders] == ["8490****001", "8490****002"]


async def test_a_period_excludes_what_falls_outside(store: PgStore) -> None:
    lookups, calls, queue = seeded()
    pg_calls = PgCallLog(store)
    recorder = Recorder(PgAuditLog(store), pg_calls)
    for entry in [*lookups, *calls, *queue]:
        recorder.record(entry)
    await recorder.flush()
    later = build_report(await pg_calls.tallies(END, END + timedelta(days=1)), END, END)
    assert later.lookups.total == 1 and later.calls.total == 0 and later.queue.answered == 0


async def test_notes_are_kept_per_call_in_order_and_capped(store: PgStore) -> None:
    log = PgCallLog(store)
    first = CallNote(
        START, "c1", "lan", "Người dân hỏi hạn trả kết quả", "000.00.22.H29-240101-0001"
    )
    second = CallNote(START + timedelta(minutes=1), "c1", "lan", "Đã gửi SMS", None)
    await log.add_note(second)
    await log.add_note(first)
    await log.add_note(CallNote(START, "c2", "minh", "Cuộc gọi khác", None))
    assert await log.notes("c1") == [first, second]
    for index in range(MAX_NOTES_PER_CALL - 1):
        await log.add_note(CallNote(START, "c2", "minh", f"ghi chú {index}", None))
    with pytest.raises(NoteRefused):
        await log.add_note(CallNote(START, "c2", "minh", "một ghi chú quá nhiều", None))
    assert len(await log.notes("c2")) == MAX_NOTES_PER_CALL
