"""How the gateway is watched, wired in one place for the composition root: the lookup audit,
the call log, the metrics and the operator console, each fed by the same few events.

    LookupService ──on_lookup──► metrics (counts, latency) + audit (one row per lookup)
    EscalationBus ──subscribe──► metrics (escalations, queue waits) + call log (queue results)
                                 + console board (live calls)
    Dispatcher ──on_call_ended──► metrics (IVR outcomes, containment) + call log (one per call)

Lookups are recorded here, at the lookup service, for every channel at once (SMS, hotline,
HTTP API, console); nothing else writes the audit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from gateway.audit import AuditLog, LookupAudit, MemoryAuditLog
from gateway.clock import Clock
from gateway.codes import CodeGrammar
from gateway.health import Health
from gateway.lookup import LookupDone, LookupService
from gateway.metrics import Metrics
from gateway.operations import CallLog, CallRecord, MemoryCallLog, QueueRecord, Recorder
from gateway.reports import MemoryReportData, Report, ReportData, build_report, parse_period
from gateway.settings import Settings
from gateway.store import MessageStore
from ivr.escalation import EscalationBus, EscalationEvent, QueueProgress, QueueStage
from ivr.ports import ResultTexter

if TYPE_CHECKING:
    from gateway.console.web import Console
    from ivr.call import CallSummary


class CallSource(Protocol):
    """What the oversight needs from the hotline's dispatcher."""

    @property
    def calls(self) -> int: ...

    def on_call_ended(self, listener: Callable[[CallSummary], None]) -> Callable[[], None]: ...


class LinkSource(Protocol):
    """What the oversight needs from the AMI link (``ivr.ami.AmiSession``)."""

    @property
    def connected(self) -> bool: ...

    def on_link(self, callback: Callable[[bool], None]) -> Callable[[], None]: ...


@dataclass
class Oversight:
    metrics: Metrics
    audit: AuditLog
    calls: CallLog
    reports: ReportData
    recorder: Recorder
    bus: EscalationBus
    clock: Clock
    health: Health
    console: Console | None = None
    console_app: web.Application | None = None

    def observe_hotline(self, dispatcher: CallSource, ami: LinkSource | None = None) -> None:
        """Count and record the hotline's calls, and report the AMI link as ``ami`` on the
        health board (``/readyz``, ``statusgw_link_up``). The composition root calls this
        once, with the dispatcher it built on ``bus``."""
        self.metrics.watch_calls(lambda: dispatcher.calls)
        dispatcher.on_call_ended(self._call_ended)
        if ami is not None:
            self.health.register("ami", required=False, detail="connecting")
            ami.on_link(self._ami_link)
            if ami.connected:
                self._ami_link(True)

    def _ami_link(self, up: bool) -> None:
        self.health.report("ami", up, "logged in" if up else "reconnecting")

    def _call_ended(self, summary: CallSummary) -> None:
        self.metrics.call_ended(summary.outcome.value)
        self.recorder.record(
            CallRecord(
                at=self.clock.now(),
                call_id=summary.unique_id,
                outcome=summary.outcome.value,
                escalation=summary.escalation.value if summary.escalation else None,
                dossier=summary.dossier,
                lookups=summary.lookups,
            )
        )

    def _lookup_done(self, done: LookupDone) -> None:
        self.metrics.lookup_done(done)
        self.recorder.record(
            LookupAudit.of(
                self.clock.now(),
                done.channel,
                done.requester,
                done.code,
                done.result,
                actor=done.actor,
            )
        )

    def _escalation_event(self, event: EscalationEvent) -> None:
        self.metrics.escalation_event(event)
        if isinstance(event, QueueProgress) and event.stage in _QUEUE_ENDS:
            self.recorder.record(
                QueueRecord(
                    at=event.at,
                    call_id=event.call_id,
                    result=event.stage.value,
                    wait_seconds=event.hold_time,
                    operator=event.operator,
                )
            )

    async def close(self) -> None:
        if self.console is not None:
            await self.console.close()
        await self.recorder.close()


_QUEUE_ENDS = frozenset({QueueStage.ANSWERED, QueueStage.ABANDONED})


async def start_oversight(
    settings: Settings,
    *,
    lookup: LookupService,
    store: MessageStore,
    health: Health,
    clock: Clock,
    bus: EscalationBus,
    metrics: Metrics,
    texter: ResultTexter | None = None,
) -> Oversight:
    """Build the logs on the configured store, hook them and the metrics to the events, and
    build the console when it is enabled (the caller mounts ``console_app``)."""
    audit, calls, reports = _logs(store)
    recorder = Recorder(audit, calls)
    oversight = Oversight(metrics, audit, calls, reports, recorder, bus, clock, health)
    metrics.watch_health(health)
    metrics.watch_recorder(recorder.stats)
    metrics.watch_queue(lambda: len(bus.open_escalations()))
    lookup.on_lookup(oversight._lookup_done)
    bus.subscribe(oversight._escalation_event)
    recorder.start()
    if settings.console.enabled:
        from gateway.console.web import Console

        console = Console(
            settings.console,
            bus=bus,
            lookup=lookup,
            calls=calls,
            reports=reports,
            clock=clock,
            texter=texter,
            grammar=CodeGrammar(settings.codes.other_schemes),
            on_login=metrics.login,
        )
        console.start()
        metrics.watch_console(console.online)
        oversight.console, oversight.console_app = console, console.app()
    return oversight


def _logs(store: MessageStore) -> tuple[AuditLog, CallLog, ReportData]:
    """The audit, call log and report data kept where the messages are kept."""
    from adapters.pg_store import PgStore

    if isinstance(store, PgStore):
        from adapters.pg_calls import PgCallLog
        from adapters.pg_notify import PgAuditLog

        pg_calls = PgCallLog(store)
        return PgAuditLog(store), pg_calls, pg_calls
    memory_audit, memory_calls = MemoryAuditLog(keep=200_000), MemoryCallLog()
    return memory_audit, memory_calls, MemoryReportData(memory_audit, memory_calls)


async def make_report(
    settings: Settings, start: str, end: str | None, clock: Clock
) -> tuple[Report, bool]:
    """``statusgw report``: the report of a period from the configured store, and whether
    that store keeps anything between runs (``memory://`` does not)."""
    from gateway.app import build_store

    begin, finish = parse_period(start, end, settings.console.timezone, clock.now())
    store = await build_store(settings, clock)
    try:
        _audit, _calls, reports = _logs(store)
        tallies = await reports.tallies(begin, finish)
    finally:
        await store.close()
    return build_report(tallies, begin, finish), not settings.store.url.startswith("memory://")
