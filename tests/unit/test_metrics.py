"""Metrics scraped as Prometheus would, and parsed with Prometheus's own text parser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.health import Health
from gateway.lookup import Channel, LookupRequest
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimits
from ivr.commands import EscalationReason
from ivr.escalation import Escalation, QueueProgress, QueueStage
from sms.pipeline import PipelineStats
from sms.transport import SmppStats
from tests.support.lookup_fakes import ScriptedSource, build_service, code, dossier

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def scrape(metrics: Metrics) -> dict[str, list[Sample]]:
    text = metrics.render().decode()
    families = text_string_to_metric_families(text)
    return {family.name: family.samples for family in families}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    matching = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(matching) == 1, (name, labels, samples)
    return matching[0]


def samples_named(families: dict[str, list[Sample]], name: str) -> Iterator[Sample]:
    for samples in families.values():
        yield from (s for s in samples if s.name == name)


async def test_lookups_are_counted_by_channel_outcome_source_and_cache() -> None:
    source = ScriptedSource([dossier()])
    lookup = build_service([source], limits=RateLimits(sender_per_minute=2))
    metrics = Metrics()
    lookup.on_lookup(metrics.lookup_done)
    try:
        await lookup.lookup(LookupRequest(code(), Channel.SMS, requester="0901000001"))
        await lookup.lookup(LookupRequest(code(), Channel.SMS, requester="0901000001"))
        await lookup.lookup(LookupRequest(code(), Channel.SMS, requester="0901000001"))
        await lookup.lookup(LookupRequest(code("000.00.22.H29-240101-0999"), Channel.HTTP))
        await lookup.by_digits("0000022292401010001", Channel.VOICE, "0901000002")
    finally:
        await lookup.close()
    families = scrape(metrics)
    counts = families["statusgw_lookups"]
    source_name = source.name
    assert (
        value(
            counts,
            "statusgw_lookups_total",
            channel="sms",
            outcome="found",
            source=source_name,
            cache="miss",
        )
        == 1
    )
    assert (
        value(
            counts,
            "statusgw_lookups_total",
            channel="sms",
            outcome="found",
            source=source_name,
            cache="hit",
        )
        == 1
    )
    assert (
        value(
            counts,
            "statusgw_lookups_total",
            channel="sms",
            outcome="rate_limited",
            source="none",
            cache="none",
        )
        == 1
    )
    assert (
        value(
            counts,
            "statusgw_lookups_total",
            channel="http",
            outcome="not_found",
            source="none",  # no source knows it
            cache="miss",
        )
        == 1
    )
    assert (
        value(
            counts,
            "statusgw_lookups_total",
            channel="voice",
            outcome="found",
            source=source_name,
            cache="miss",
        )
        == 1
    )
    latency = families["statusgw_lookup_duration_seconds"]
    assert value(latency, "statusgw_lookup_duration_seconds_count", channel="sms") == 3
    assert value(latency, "statusgw_lookup_duration_seconds_bucket", channel="sms", le="+Inf") == 3


def test_calls_escalations_and_queue_waits() -> None:
    metrics = Metrics()
    for outcome in ("read", "read", "not_found", "escalated", "abandoned"):
        metrics.call_ended(outcome)
    escalation = Escalation(
        "c1", "Local/x;1", "0912345678", EscalationReason.REQUESTED, None, None, None, "", (), T0
    )
    metrics.escalation_event(escalation)
    metrics.escalation_event(QueueProgress("c1", QueueStage.RINGING, "operators", T0, operator="D"))
    metrics.escalation_event(
        QueueProgress("c1", QueueStage.ANSWERED, "operators", T0, operator="D", hold_time=42)
    )
    metrics.escalation_event(
        QueueProgress("c2", QueueStage.ABANDONED, "operators", T0, hold_time=200)
    )
    metrics.watch_calls(lambda: 7)
    metrics.watch_queue(lambda: 3)
    families = scrape(metrics)
    calls = families["statusgw_ivr_calls"]
    assert value(calls, "statusgw_ivr_calls_total", outcome="read") == 2
    assert value(calls, "statusgw_ivr_calls_total", outcome="escalated") == 1
    assert (
        value(families["statusgw_ivr_containment_ratio"], "statusgw_ivr_containment_ratio") == 0.6
    )
    assert value(families["statusgw_ivr_calls_active"], "statusgw_ivr_calls_active") == 7
    assert value(families["statusgw_queue_waiting"], "statusgw_queue_waiting") == 3
    assert (
        value(families["statusgw_escalations"], "statusgw_escalations_total", reason="requested")
        == 1
    )
    queue = families["statusgw_queue_calls"]
    assert value(queue, "statusgw_queue_calls_total", result="answered") == 1
    assert value(queue, "statusgw_queue_calls_total", result="abandoned") == 1
    wait = families["statusgw_queue_wait_seconds"]
    assert value(wait, "statusgw_queue_wait_seconds_sum", result="answered") == 42
    assert value(wait, "statusgw_queue_wait_seconds_bucket", result="answered", le="45.0") == 1
    assert value(wait, "statusgw_queue_wait_seconds_bucket", result="answered", le="30.0") == 0


def test_sms_counters_and_links_are_read_at_scrape_time() -> None:
    metrics = Metrics()
    pipeline, smpp = PipelineStats(), SmppStats()
    health = Health(ManualClock())
    health.register("smpp", required=True)
    health.report("ami", True, "logged in")
    metrics.watch_sms(pipeline, smpp)
    metrics.watch_health(health)
    pipeline.received, pipeline.sent, pipeline.segments = 5, 4, 6
    pipeline.receipt_states.update({"delivered": 3, "undeliverable": 1})
    smpp.submits_accepted, smpp.submits_rejected, smpp.reconnects = 6, 1, 2
    families = scrape(metrics)
    assert value(families["statusgw_sms_mo_received"], "statusgw_sms_mo_received_total") == 5
    assert value(families["statusgw_sms_mt_sent"], "statusgw_sms_mt_sent_total") == 4
    assert value(families["statusgw_sms_mt_segments"], "statusgw_sms_mt_segments_total") == 6
    receipts = families["statusgw_sms_delivery_receipts"]
    assert value(receipts, "statusgw_sms_delivery_receipts_total", state="delivered") == 3
    assert value(receipts, "statusgw_sms_delivery_receipts_total", state="undeliverable") == 1
    submits = families["statusgw_smpp_submits"]
    assert value(submits, "statusgw_smpp_submits_total", result="rejected") == 1
    links = families["statusgw_link_up"]
    assert value(links, "statusgw_link_up", link="smpp") == 0
    assert value(links, "statusgw_link_up", link="ami") == 1
    pipeline.received = 9  # read again at the next scrape, not copied
    assert value(scrape(metrics)["statusgw_sms_mo_received"], "statusgw_sms_mo_received_total") == 9


def test_two_gateways_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()
    first.call_ended("read")
    assert (
        value(scrape(first)["statusgw_ivr_calls"], "statusgw_ivr_calls_total", outcome="read") == 1
    )
    assert not list(samples_named(scrape(second), "statusgw_ivr_calls_total"))
    assert Status.PROCESSING  # the dossier model is importable alongside (no global state)
