"""The periodic report ("báo cáo tổng hợp"): how much the service answered, how well, for whom.

Figures over a period ``[start, end)``:

- lookups per channel, per outcome, per status and per agency (found dossiers only);
- not-found rate: not found / (found + not found), the share of codes nobody knows
  (mistyped, guessed, or not yet in the source);
- hotline calls per outcome; *containment*: calls the IVR answered itself (status read, or
  told "not found") / all calls; escalations per reason;
- the operators' queue: answered, abandoned, *abandonment* = abandoned / (answered +
  abandoned), mean and longest wait;
- the senders refused most often by the rate limits, masked.

The figures come from :class:`Tallies` (counts grouped finely enough for all of them), which
each store computes its own way (in memory here, in SQL for PostgreSQL); :func:`build_report`
then does the arithmetic once. :func:`report_csv` and :func:`report_json` render it.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from gateway.audit import LookupAudit, MemoryAuditLog
from gateway.operations import CallRecord, MemoryCallLog, QueueRecord

CONTAINED_OUTCOMES = frozenset({"read", "not_found"})
MAX_PERIOD = timedelta(days=366)


class PeriodError(ValueError):
    """A report period that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class LookupTally:
    channel: str
    outcome: str
    status: str  # "" unless found
    agency: str  # "" unless found
    count: int


@dataclass(frozen=True, slots=True)
class CallTally:
    outcome: str
    escalation: str  # "" unless escalated
    count: int


@dataclass(frozen=True, slots=True)
class QueueTally:
    result: str  # answered | abandoned
    count: int
    waits_known: int  # calls whose wait is known
    wait_total: int  # seconds, over those
    wait_max: int


@dataclass(frozen=True, slots=True)
class LimitedSender:
    requester: str  # masked
    refusals: int


@dataclass(frozen=True, slots=True)
class Tallies:
    lookups: tuple[LookupTally, ...] = ()
    calls: tuple[CallTally, ...] = ()
    queue: tuple[QueueTally, ...] = ()
    limited: tuple[LimitedSender, ...] = ()  # most refusals first


class ReportData(Protocol):
    async def tallies(self, start: datetime, end: datetime, top: int = 10) -> Tallies:
        """Counts of the entries with ``start <= at < end``; the ``top`` refused senders."""
        ...


class MemoryReportData:
    """Tallies of the in-process logs (``memory://``)."""

    def __init__(self, audit: MemoryAuditLog, calls: MemoryCallLog) -> None:
        self._audit = audit
        self._calls = calls

    async def tallies(self, start: datetime, end: datetime, top: int = 10) -> Tallies:
        return tally(
            [e for e in self._audit.entries if start <= e.at < end],
            [c for c in self._calls.calls if start <= c.at < end],
            [q for q in self._calls.queue if start <= q.at < end],
            top,
        )


def tally(
    lookups: Sequence[LookupAudit],
    calls: Sequence[CallRecord],
    queue: Sequence[QueueRecord],
    top: int = 10,
) -> Tallies:
    """Group entries held in memory the way the SQL form does."""
    by_lookup = Counter((e.channel, e.outcome, e.status, e.agency) for e in lookups)
    by_call = Counter((c.outcome, c.escalation or "") for c in calls)
    limited = Counter(e.requester for e in lookups if e.outcome == "rate_limited")
    return Tallies(
        lookups=tuple(LookupTally(*key, count=n) for key, n in sorted(by_lookup.items())),
        calls=tuple(CallTally(*key, count=n) for key, n in sorted(by_call.items())),
        queue=tuple(_queue_tally(r, queue) for r in sorted({q.result for q in queue})),
        limited=tuple(
            LimitedSender(who, n)
            for who, n in sorted(limited.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        ),
    )


def _queue_tally(result: str, queue: Sequence[QueueRecord]) -> QueueTally:
    mine = [q for q in queue if q.result == result]
    waits = [q.wait_seconds for q in mine if q.wait_seconds is not None]
    return QueueTally(result, len(mine), len(waits), sum(waits), max(waits, default=0))


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookupFigures:
    total: int
    by_channel: dict[str, int]
    by_outcome: dict[str, int]
    by_status: dict[str, int]
    by_agency: dict[str, int]
    not_found_rate: float | None  # None when nothing was found or not found


@dataclass(frozen=True, slots=True)
class CallFigures:
    total: int
    by_outcome: dict[str, int]
    contained: int
    containment_rate: float | None
    escalated: int
    escalations_by_reason: dict[str, int]


@dataclass(frozen=True, slots=True)
class QueueFigures:
    answered: int
    abandoned: int
    abandonment_rate: float | None
    mean_wait_seconds: float | None
    longest_wait_seconds: int


@dataclass(frozen=True, slots=True)
class Report:
    start: datetime
    end: datetime
    lookups: LookupFigures
    calls: CallFigures
    queue: QueueFigures
    limited_senders: tuple[LimitedSender, ...] = field(default=())


def build_report(tallies: Tallies, start: datetime, end: datetime) -> Report:
    return Report(
        start,
        end,
        _lookup_figures(tallies.lookups),
        _call_figures(tallies.calls),
        _queue_figures(tallies.queue),
        tallies.limited,
    )


def _lookup_figures(lookups: Iterable[LookupTally]) -> LookupFigures:
    rows = list(lookups)
    found = [r for r in rows if r.outcome == "found"]
    outcomes = _sum((r.outcome, r.count) for r in rows)
    known = outcomes.get("found", 0) + outcomes.get("not_found", 0)
    return LookupFigures(
        total=sum(r.count for r in rows),
        by_channel=_sum((r.channel, r.count) for r in rows),
        by_outcome=outcomes,
        by_status=_sum((r.status, r.count) for r in found if r.status),
        by_agency=_sum((r.agency, r.count) for r in found if r.agency),
        not_found_rate=_ratio(outcomes.get("not_found", 0), known),
    )


def _call_figures(calls: Iterable[CallTally]) -> CallFigures:
    rows = list(calls)
    total = sum(r.count for r in rows)
    contained = sum(r.count for r in rows if r.outcome in CONTAINED_OUTCOMES)
    escalated = [r for r in rows if r.escalation]
    return CallFigures(
        total=total,
        by_outcome=_sum((r.outcome, r.count) for r in rows),
        contained=contained,
        containment_rate=_ratio(contained, total),
        escalated=sum(r.count for r in escalated),
        escalations_by_reason=_sum((r.escalation, r.count) for r in escalated),
    )


def _queue_figures(queue: Iterable[QueueTally]) -> QueueFigures:
    rows = {r.result: r for r in queue}
    answered = rows.get("answered", QueueTally("answered", 0, 0, 0, 0))
    abandoned = rows.get("abandoned", QueueTally("abandoned", 0, 0, 0, 0))
    known = answered.waits_known + abandoned.waits_known
    return QueueFigures(
        answered=answered.count,
        abandoned=abandoned.count,
        abandonment_rate=_ratio(abandoned.count, answered.count + abandoned.count),
        mean_wait_seconds=(
            round((answered.wait_total + abandoned.wait_total) / known, 1) if known else None
        ),
        longest_wait_seconds=max(answered.wait_max, abandoned.wait_max),
    )


def _sum(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for key, count in pairs:
        totals[key] += count
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- renderings ------------------------------------------------------------------------------


def report_dict(report: Report) -> dict[str, Any]:
    body = asdict(report)
    body["start"], body["end"] = report.start.isoformat(), report.end.isoformat()
    return body


def report_json(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2)


def report_csv(report: Report) -> str:
    """One figure a row, ``section,key,value``: opens as is in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "key", "value"])
    writer.writerow(["period", "start", report.start.isoformat()])
    writer.writerow(["period", "end", report.end.isoformat()])
    for section in ("lookups", "calls", "queue"):
        for key, value in asdict(getattr(report, section)).items():
            if isinstance(value, dict):
                for sub, count in value.items():
                    writer.writerow([f"{section}.{key}", sub, count])
            else:
                writer.writerow([section, key, "" if value is None else value])
    for sender in report.limited_senders:
        writer.writerow(["limited_senders", sender.requester, sender.refusals])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ReportFile:
    text: str
    content_type: str
    filename: str


def report_file(report: Report, fmt: str) -> ReportFile:
    """The report as a download: ``csv`` (for spreadsheets), anything else JSON."""
    first = report.start.date().isoformat()
    last = report.end.date().isoformat()
    name = f"statusgw-report-{first}-{last}"
    if fmt == "csv":
        return ReportFile(report_csv(report), "text/csv", f"{name}.csv")
    return ReportFile(report_json(report), "application/json", f"{name}.json")


# --- periods ---------------------------------------------------------------------------------


def parse_period(
    start: str, end: str | None, timezone: str, now: datetime
) -> tuple[datetime, datetime]:
    """``YYYY-MM-DD`` (a local day: ``end`` is inclusive) or ISO 8601 times; ``end`` empty: now."""
    zone = ZoneInfo(timezone)
    begin = _instant(start, zone, end_of_day=False)
    finish = _instant(end, zone, end_of_day=True) if end else now
    if finish <= begin:
        raise PeriodError("the end of the period must come after its start")
    if finish - begin > MAX_PERIOD:
        raise PeriodError("a report covers at most 366 days")
    return begin, finish


def today(timezone: str, now: datetime) -> tuple[datetime, datetime]:
    """From local midnight to ``now``."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(), zone).astimezone(UTC), now


def _instant(text: str, zone: ZoneInfo, *, end_of_day: bool) -> datetime:
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is neither YYYY-MM-DD nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
