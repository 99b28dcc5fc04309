"""Report figures from seeded records: lookups, calls, queue, refused senders; CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.audit import LookupAudit, MemoryAuditLog
from gateway.operations import CallRecord, MemoryCallLog, QueueRecord
from gateway.reports import (
    MemoryReportData,
    PeriodError,
    Report,
    build_report,
    parse_period,
    report_csv,
    report_json,
    today,
)

START = datetime(2025, 3, 1, tzinfo=UTC)
END = START + timedelta(days=1)


def lookup(
    channel: str,
    outcome: str,
    status: str = "",
    agency: str = "",
    *,
    who: str = "8491****678",
    hours: float = 1,
) -> LookupAudit:
    disclosure = "basic" if outcome == "found" else ""
    return LookupAudit(
        START + timedelta(hours=hours),
        channel,
        who,
        "000.00.22.H29-240101-0001",
        disclosure,
        outcome,
        status,
        agency,
    )


def seeded() -> tuple[list[LookupAudit], list[CallRecord], list[QueueRecord]]:
    lookups = [
        lookup("sms", "found", "processing", "UBND phường Bến Nghé"),
        lookup("sms", "found", "processing", "UBND phường Bến Nghé"),
        lookup("sms", "found", "result_ready", "UBND quận 1"),
        lookup("voice", "found", "processing", "UBND quận 1"),
        lookup("sms", "not_found"),
        lookup("http", "unavailable", who="kiosk"),
        lookup("sms", "rate_limited", who="8490****001"),
        lookup("sms", "rate_limited", who="8490****001"),
        lookup("sms", "rate_limited", who="8490****002"),
        lookup("sms", "found", "processing", "UBND quận 1", hours=30),  # outside the period
    ]
    calls = [
        CallRecord(START + timedelta(hours=2), "c1", "read", None, "X", 1),
        CallRecord(START + timedelta(hours=2), "c2", "read", None, "X", 1),
        CallRecord(START + timedelta(hours=2), "c3", "not_found", None, None, 1),
        CallRecord(START + timedelta(hours=2), "c4", "escalated", "requested", "X", 1),
        CallRecord(START + timedelta(hours=2), "c5", "escalated", "no_input", None, 0),
        CallRecord(START + timedelta(hours=2), "c6", "abandoned", None, None, 0),
    ]
    queue = [
        QueueRecord(START + timedelta(hours=3), "c4", "answered", 30, "Desk 1"),
        QueueRecord(START + timedelta(hours=3), "c5", "abandoned", 90, None),
        QueueRecord(START + timedelta(hours=3), "c7", "answered", None, "Desk 2"),
    ]
    return lookups, calls, queue


async def report_of_seeded() -> Report:
    audit, log = MemoryAuditLog(), MemoryCallLog()
    lookups, calls, queue = seeded()
    for entry in lookups:
        await audit.record(entry)
    await log.write([*calls, *queue])
    data = MemoryReportData(audit, log)
    return build_report(await data.tallies(START, END, top=1), START, END)


async def test_lookup_figures() -> None:
    report = await report_of_seeded()
    lookups = report.lookups
    assert lookups.total == 9
    assert lookups.by_channel == {"sms": 7, "http": 1, "voice": 1}
    assert lookups.by_outcome == {"found": 4, "rate_limited": 3, "not_found": 1, "unavailable": 1}
    assert lookups.by_status == {"processing": 3, "result_ready": 1}
    assert lookups.by_agency == {"UBND quận 1": 2, "UBND phường Bến Nghé": 2}
    assert lookups.not_found_rate == 0.2  # 1 of the 5 found or not found


async def test_call_and_queue_figures() -> None:
    report = await report_of_seeded()
    calls, queue = report.calls, report.queue
    assert calls.total == 6
    assert calls.contained == 3  # read twice, told not found once
    assert calls.containment_rate == 0.5
    assert calls.escalated == 2
    assert calls.escalations_by_reason == {"no_input": 1, "requested": 1}
    assert (queue.answered, queue.abandoned) == (2, 1)
    assert queue.abandonment_rate == round(1 / 3, 4)
    assert queue.mean_wait_seconds == 60.0  # the two known waits
    assert queue.longest_wait_seconds == 90


async def test_the_most_refused_senders_come_first_masked() -> None:
    report = await report_of_seeded()
    senders = report.limited_senders
    assert [(s.requester, s.refusals) for s in senders] == [("8490****001", 2)]


async def test_an_empty_period_has_no_rates() -> None:
    data = MemoryReportData(MemoryAuditLog(), MemoryCallLog())
    report = build_report(await data.tallies(START, END), START, END)
    assert report.lookups.total == 0
    assert report.lookups.not_found_rate is None
    assert report.calls.containment_rate is None
    assert report.queue.abandonment_rate is None and report.queue.mean_wait_seconds is None


async def test_csv_has_one_figure_a_row() -> None:
    report = await report_of_seeded()
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0] == ["section", "key", "value"]
    table = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert table[("lookups", "total")] == "9"
    assert table[("lookups.by_channel", "sms")] == "7"
    assert table[("calls", "containment_rate")] == "0.5"
    assert table[("queue", "abandoned")] == "1"
    assert table[("limited_senders", "8490****001")] == "2"
    assert table[("period", "start")] == "2025-03-01T00:00:00+00:00"


async def test_json_keeps_the_structure() -> None:
    report = await report_of_seeded()
    body = json.loads(report_json(report))
    assert body["lookups"]["by_agency"]["UBND quận 1"] == 2
    assert body["calls"]["contained"] == 3
    assert body["limited_senders"] == [{"requester": "8490****001", "refusals": 2}]


def test_days_are_local_days_and_the_end_day_is_included() -> None:
    now = datetime(2025, 3, 10, tzinfo=UTC)
    start, end = parse_period("2025-03-01", "2025-03-02", "Asia/Ho_Chi_Minh", now)
    assert start == datetime(2025, 2, 28, 17, 0, tzinfo=UTC)
    assert end == datetime(2025, 3, 2, 17, 0, tzinfo=UTC)
    start, end = parse_period("2025-03-01T08:00:00+07:00", None, "Asia/Ho_Chi_Minh", now)
    assert start == datetime(2025, 3, 1, 1, 0, tzinfo=UTC) and end == now


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-03-02", "2025-03-01"), ("yesterday", None), ("2020-01-01", "2025-01-01")],
)
def test_bad_periods_are_refused(start: str, end: str | None) -> None:
    with pytest.raises(PeriodError):
        parse_period(start, end, "Asia/Ho_Chi_Minh", datetime(2025, 3, 10, tzinfo=UTC))


def test_today_starts_at_local_midnight() -> None:
    now = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)  # 03:00 on 2 March in Vietnam
    start, end = today("Asia/Ho_Chi_Minh", now)
    assert start == datetime(2025, 3, 1, 17, 0, tzinfo=UTC) and end == now
