"""The oversight wiring: lookups, calls and queue events reach the metrics, the audit and
the call log; the AMI link reaches the health board."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gateway.audit import MemoryAuditLog
from gateway.clock import ManualClock
from gateway.health import Health
from gateway.lookup import Channel, LookupRequest
from gateway.metrics import Metrics
from gateway.operations import MemoryCallLog
from gateway.oversight import start_oversight
from gateway.settings import Settings
from gateway.store import MemoryStore
from ivr.call import CallSummary, Outcome, State
from ivr.commands import EscalationReason
from ivr.escalation import Escalation, EscalationBus, QueueProgress, QueueStage
from tests.support.lookup_fakes import ScriptedSource, build_service, code, dossier

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


class FakeDispatcher:
    def __init__(self) -> None:
        self.listeners: list[Callable[[CallSummary], None]] = []

    @property
    def calls(self) -> int:
        return 4

    def on_call_ended(self, listener: Callable[[CallSummary], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: None


class FakeAmi:
    def __init__(self) -> None:
        self.watchers: list[Callable[[bool], None]] = []

    @property
    def connected(self) -> bool:
        return True

    def on_link(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        self.watchers.append(callback)
        return lambda: None


async def test_everything_reaches_the_metrics_and_the_logs() -> None:
    clock = ManualClock(T0)
    health = Health(clock)
    lookup = build_service([ScriptedSource([dossier()])], clock=clock)
    bus, metrics = EscalationBus(), Metrics()
    oversight = await start_oversight(
        Settings(),
        lookup=lookup,
        store=MemoryStore(clock),
        health=health,
        clock=clock,
        bus=bus,
        metrics=metrics,
    )
    dispatcher, ami = FakeDispatcher(), FakeAmi()
    oversight.observe_hotline(dispatcher, ami)
    try:
        await lookup.lookup(LookupRequest(code(), Channel.SMS, requester="84912345678"))
        for listener in dispatcher.listeners:
            listener(
                CallSummary(
                    "c1",
                    Outcome.ESCALATED,
                    State.ESCALATED,
                    None,
                    1,
                    ("chao",),
                    EscalationReason.REQUESTED,
                )
            )
        bus.publish(
            Escalation(
                "c1",
                "Local/x;1",
                "0912345678",
                EscalationReason.REQUESTED,
                None,
                None,
                None,
                "",
                (),
                T0,
            )
        )
        bus.publish(
            QueueProgress(
                "c1", QueueStage.ANSWERED, "operators", T0, operator="Desk 1", hold_time=20
            )
        )
        ami.watchers[0](False)
        await oversight.recorder.flush()
    finally:
        await oversight.close()
        await lookup.close()

    assert isinstance(oversight.audit, MemoryAuditLog)
    [entry] = oversight.audit.entries
    assert (entry.channel, entry.requester, entry.outcome, entry.status) == (
        "sms",
        "8491****678",
        "found",
        "processing",
    )
    assert isinstance(oversight.calls, MemoryCallLog)
    assert [(c.call_id, c.outcome, c.escalation) for c in oversight.calls.calls] == [
        ("c1", "escalated", "requested")
    ]
    assert [(q.result, q.wait_seconds, q.operator) for q in oversight.calls.queue] == [
        ("answered", 20, "Desk 1")
    ]
    scraped = metrics.render().decode()
    assert 'statusgw_ivr_calls_total{outcome="escalated"} 1.0' in scraped
    assert "statusgw_ivr_calls_active 4.0" in scraped
    assert 'statusgw_escalations_total{reason="requested"} 1.0' in scraped
    assert 'statusgw_link_up{link="ami"} 0.0' in scraped
    state = health.state("ami")
    assert state is not None and not state.ok and state.detail == "reconnecting"
