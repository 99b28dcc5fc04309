"""Prometheus metrics, one registry per gateway (tests run several side by side).

Two ways in, chosen by where the numbers already live:

- Events nobody counts yet are reported through this object's small port: a finished lookup
  (:meth:`Metrics.lookup_done`, per channel, outcome, source and cache result, with its
  latency), a finished call (:meth:`call_ended`), escalations and queue waits
  (:meth:`escalation_event`, fed by the escalation bus), operators signing in.
- Counters the channels already keep (``PipelineStats``, ``SmppStats``, the health board,
  the live calls) are read when Prometheus scrapes, by a collector; nothing is copied on the
  hot path. The composition root tells it where they are (:meth:`watch_sms`, ...).

Names follow Prometheus conventions: ``statusgw_`` prefix, ``_total`` counters, ``_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.health import Health
from gateway.lookup import LookupDone
from ivr.escalation import Escalation, EscalationEvent, QueueProgress, QueueStage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0)
WAIT_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
LINKS = ("smpp", "ami")
CONTAINED_OUTCOMES = frozenset({"read", "not_found"})


@dataclass
class _Watched:
    pipeline: object | None = None  # sms.pipeline.PipelineStats
    smpp: object | None = None  # sms.transport.SmppStats
    health: Health | None = None
    calls_active: Callable[[], int] | None = None
    queue_waiting: Callable[[], int] | None = None
    operators_online: Callable[[], int] | None = None
    recorder: object | None = None  # gateway.operations.RecorderStats


class Metrics:
    """The gateway's metrics; :meth:`render` is what ``GET /metrics`` answers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._lookups = Counter(
            "statusgw_lookups",
            "Dossier lookups by channel, outcome, answering source and cache result",
            ["channel", "outcome", "source", "cache"],
            registry=r,
        )
        self._latency = Histogram(
            "statusgw_lookup_duration_seconds",
            "Time to answer a lookup, per channel",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._calls = Counter(
            "statusgw_ivr_calls", "Hotline calls ended, by IVR outcome", ["outcome"], registry=r
        )
        self._contained = Counter(
            "statusgw_ivr_contained_calls",
            "Calls the IVR answered itself (status read, or told not found)",
            registry=r,
        )
        self._escalations = Counter(
            "statusgw_escalations",
            "Calls handed to the operators, by reason",
            ["reason"],
            registry=r,
        )
        self._queue = Counter(
            "statusgw_queue_calls",
            "Escalated calls leaving the operators' queue, by result",
            ["result"],
            registry=r,
        )
        self._wait = Histogram(
            "statusgw_queue_wait_seconds",
            "How long escalated callers waited for an operator, by result",
            ["result"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self._logins = Counter(
            "statusgw_console_logins",
            "Console sign-in attempts by result (ok, wrong, locked)",
            ["result"],
            registry=r,
        )
        self._calls_seen = 0
        self._contained_seen = 0
        self._watched = _Watched()
        r.register(_Collector(self))

    # --- the port the channels call --------------------------------------------------------

    def lookup_done(self, done: LookupDone) -> None:
        result = done.result
        channel = done.channel.value
        self._lookups.labels(
            channel, result.outcome.value, result.source or "none", result.cache
        ).inc()
        self._latency.labels(channel).observe(done.seconds)

    def call_ended(self, outcome: str) -> None:
        self._calls.labels(outcome).inc()
        self._calls_seen += 1
        if outcome in CONTAINED_OUTCOMES:
            self._contained.inc()
            self._contained_seen += 1

    def escalation_event(self, event: EscalationEvent) -> None:
        if isinstance(event, Escalation):
            self._escalations.labels(event.reason.value).inc()
            return
        self._queue_progress(event)

    def login(self, result: str) -> None:
        self._logins.labels(result).inc()

    def _queue_progress(self, progress: QueueProgress) -> None:
        if progress.stage not in (QueueStage.ANSWERED, QueueStage.ABANDONED):
            return
        result = progress.stage.value
        self._queue.labels(result).inc()
        if progress.hold_time is not None:
            self._wait.labels(result).observe(progress.hold_time)

    # --- what is read at scrape time -------------------------------------------------------

    def watch_sms(self, pipeline_stats: object, smpp_stats: object) -> None:
        self._watched.pipeline, self._watched.smpp = pipeline_stats, smpp_stats

    def watch_health(self, health: Health) -> None:
        self._watched.health = health

    def watch_calls(self, active: Callable[[], int]) -> None:
        self._watched.calls_active = active

    def watch_queue(self, waiting: Callable[[], int]) -> None:
        self._watched.queue_waiting = waiting

    def watch_console(self, operators_online: Callable[[], int]) -> None:
        self._watched.operators_online = operators_online

    def watch_recorder(self, stats: object) -> None:
        self._watched.recorder = stats

    def render(self) -> bytes:
        return generate_latest(self.registry)

    @property
    def containment(self) -> float | None:
        """Share of calls since start the IVR answered itself; None before the first call."""
        return self._contained_seen / self._calls_seen if self._calls_seen else None


_PIPELINE = (
    ("received", "statusgw_sms_mo_received", "Citizen messages stored (MO)"),
    ("duplicates", "statusgw_sms_mo_duplicates", "SMSC redeliveries of stored MO"),
    ("refused", "statusgw_sms_mo_refused", "MO refused because the backlog was full"),
    ("answered", "statusgw_sms_mo_answered", "MO answered (replies queued)"),
    ("sent", "statusgw_sms_mt_sent", "Replies accepted by the SMSC (MT)"),
    ("segments", "statusgw_sms_mt_segments", "SMS segments of the replies sent"),
    ("failed", "statusgw_sms_mt_failed", "Replies given up on"),
    ("store_errors", "statusgw_sms_store_errors", "Store operations that failed"),
)
_SMPP = (
    ("binds", "statusgw_smpp_binds", "Successful SMPP binds"),
    ("reconnects", "statusgw_smpp_reconnects", "SMPP connections lost and retried"),
    ("throttled", "statusgw_smpp_throttled", "Submits the SMSC throttled"),
    ("response_timeouts", "statusgw_smpp_response_timeouts", "SMPP responses not received"),
    ("submits_resent", "statusgw_smpp_submits_resent", "Submits sent again after a drop"),
)
_SUBMITS = (("accepted", "submits_accepted"), ("rejected", "submits_rejected"))


class _Collector(Collector):
    """Reads the channels' own counters when Prometheus scrapes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        watched = self._metrics._watched
        yield from _counters(watched.pipeline, _PIPELINE)
        yield from _counters(watched.smpp, _SMPP)
        yield from self._receipts(watched.pipeline, watched.smpp)
        yield from self._links(watched.health)
        yield from self._gauges(watched)
        containment = GaugeMetricFamily(
            "statusgw_ivr_containment_ratio",
            "Share of calls since start the IVR answered without an operator",
        )
        ratio = self._metrics.containment
        if ratio is not None:
            containment.add_metric([], ratio)
        yield containment

    def _receipts(
        self, pipeline: object | None, smpp: object | None
    ) -> Iterator[CounterMetricFamily]:
        states: dict[str, int] = getattr(pipeline, "receipt_states", None) or {}
        family = CounterMetricFamily(
            "statusgw_sms_delivery_receipts", "Delivery receipts by final state", labels=["state"]
        )
        for state, count in sorted(states.items()):
            family.add_metric([state], count)
        yield family
        if smpp is not None:
            submits = CounterMetricFamily(
                "statusgw_smpp_submits", "submit_sm by SMSC answer", labels=["result"]
            )
            for label, attribute in _SUBMITS:
                submits.add_metric([label], getattr(smpp, attribute, 0))
            yield submits

    def _links(self, health: Health | None) -> Iterator[GaugeMetricFamily]:
        links = GaugeMetricFamily(
            "statusgw_link_up", "1 when the link to the SMSC or Asterisk is up", labels=["link"]
        )
        components = GaugeMetricFamily(
            "statusgw_component_up", "1 when a component is up (/readyz)", labels=["component"]
        )
        if health is not None:
            for state in health.readiness().components:
                components.add_metric([state.name], 1.0 if state.ok else 0.0)
                if state.name in LINKS:
                    links.add_metric([state.name], 1.0 if state.ok else 0.0)
        yield links
        yield components

    def _gauges(self, watched: _Watched) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        for name, help_text, read in (
            ("statusgw_ivr_calls_active", "Calls in the IVR now", watched.calls_active),
            ("statusgw_queue_waiting", "Escalated calls waiting now", watched.queue_waiting),
            (
                "statusgw_console_operators_online",
                "Operators with the console open",
                watched.operators_online,
            ),
        ):
            if read is not None:
                gauge = GaugeMetricFamily(name, help_text)
                gauge.add_metric([], read())
                yield gauge
        recorder = watched.recorder
        if recorder is not None:
            dropped = CounterMetricFamily(
                "statusgw_audit_dropped", "Audit entries not written (log slow or down)"
            )
            dropped.add_metric([], getattr(recorder, "dropped", 0))
            yield dropped


def _counters(
    stats: object | None, table: tuple[tuple[str, str, str], ...]
) -> Iterator[CounterMetricFamily]:
    if stats is None:
        return
    for attribute, name, help_text in table:
        family = CounterMetricFamily(name, help_text)
        family.add_metric([], getattr(stats, attribute, 0))
        yield family
