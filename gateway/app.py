"""The composition root: the one place that builds everything from settings and runs it.

Nothing below this module reads the environment, picks an implementation or starts a task on
its own; it is all decided here, in the order data flows: store and lookup first, then the
channels that use them (SMS, hotline), then the HTTP API that reports on all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web

from gateway.clock import Clock, SystemClock
from gateway.codes import CodeGrammar
from gateway.health import Health
from gateway.logging import configure_logging
from gateway.lookup import LookupService
from gateway.lookup_factory import build_lookup
from gateway.metrics import Metrics
from gateway.notifier import Notifier, PollSchedule
from gateway.notify import NotifyPolicy, QuietHours
from gateway.oversight import Oversight, start_oversight
from gateway.settings import Settings
from gateway.store import MemoryStore, MessageStore, StoreUnavailable
from ivr.escalation import EscalationBus
from sms.commands import CommandGrammar
from sms.limits import SmppConfig
from sms.notify_replies import NotifyReplies
from sms.pipeline import PipelineLimits, SmsPipeline
from sms.replies import SmsReplies
from sms.responder import Responder
from sms.texter import OutboxTexter
from sms.transport import ClientState, SmppClient

_log = structlog.get_logger("statusgw")

Closer = Callable[[], Awaitable[None]]


@dataclass
class Gateway:
    """Everything one process runs; :meth:`stop` takes it down in the reverse order."""

    settings: Settings
    clock: Clock
    health: Health
    lookup: LookupService
    store: MessageStore
    pipeline: SmsPipeline | None = None
    smpp: SmppClient | None = None
    http_runner: web.AppRunner | None = None
    metrics: Metrics = field(default_factory=Metrics)  # this gateway's own registry
    escalations: EscalationBus = field(default_factory=EscalationBus)  # hotline → console
    oversight: Oversight | None = None  # audit, call log, reports, console
    notifier: Notifier | None = None  # status-change notifications (DK/HUY, webhook, polling)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[Closer] = field(default_factory=list)

    async def stop(self) -> None:
        """Drain: refuse new MO, finish the replies in flight, unbind, then close the rest."""
        drain = self.settings.smpp.drain_timeout
        if self.pipeline is not None:
            await self.pipeline.stop_accepting()
            if not await self.pipeline.drain(drain):
                _log.warning("drain_incomplete", timeout_s=drain)
        if self.smpp is not None:
            await self.smpp.stop(drain)
        if self.pipeline is not None:
            await self.pipeline.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for close in reversed(self._closers):
            await close()


async def build_store(settings: Settings, clock: Clock) -> MessageStore:
    if settings.store.url.startswith("memory://"):
        return MemoryStore(clock, dedup_window=settings.store.dedup_window)
    from adapters.pg_store import PgStoreConfig, open_pg_store

    return await open_pg_store(PgStoreConfig.from_settings(settings.store))


def smpp_config(settings: Settings) -> SmppConfig:
    s = settings.smpp
    return SmppConfig(
        host=s.host,
        port=s.port,
        system_id=s.system_id,
        password=s.password,
        system_type=s.system_type,
        bind=s.bind,
        address_range=s.address_range,
        short_code=s.short_code,
        source_ton=s.source_ton,
        source_npi=s.source_npi,
        window=s.window,
        throughput=s.throughput,
        response_timeout=s.response_timeout,
        enquire_link_interval=s.enquire_link_interval,
        dead_link_timeout=s.enquire_link_timeout,
        reconnect_min=s.reconnect_min,
        reconnect_max=s.reconnect_max,
        registered_delivery=1 if s.registered_delivery else 0,
        max_pdu_size=s.max_pdu_size,
    )


def build_responder(settings: Settings, lookup: LookupService, clock: Clock) -> Responder:
    sms = settings.sms
    grammar = CommandGrammar(
        codes=CodeGrammar(settings.codes.other_schemes),
        prefixes=[sms.agency_prefix] if sms.agency_prefix else [],
        max_codes=sms.max_codes,
    )
    return Responder(
        grammar=grammar,
        replies=sms_replies(settings),
        lookup=lookup,
        clock=clock,
        short_codes={settings.smpp.short_code},
        max_codes=sms.max_codes,
    )


def sms_replies(settings: Settings) -> SmsReplies:
    return SmsReplies(
        short_code=settings.smpp.short_code,
        hotline=settings.sms.hotline,
        accented=settings.sms.encoding != "fold",
    )


def pipeline_limits(settings: Settings) -> PipelineLimits:
    sms = settings.sms
    return PipelineLimits(
        backlog=sms.backlog,
        lease=settings.store.lease_seconds,
        senders=max(16, settings.smpp.window * 2),
        # A processor holds its message until the answer is committed: with a durable store
        # that wait, not the lookup, sets how many must run to keep up with the SMSC's window.
        processors=max(32, settings.smpp.window * 2),
        encoding=sms.encoding,
        max_parts=sms.max_parts,
        reassembly_timeout=sms.reassembly_timeout,
    )


async def start_gateway(settings: Settings, clock: Clock | None = None) -> Gateway:
    """Build and start every enabled part; the caller owns :meth:`Gateway.stop`."""
    if not structlog.is_configured():  # embedded without serve(): redaction must still hold
        configure_logging(settings.log.level, settings.log.format)
    clock = clock or SystemClock()
    health = Health(clock)
    lookup = build_lookup(settings, health, clock)
    store = await build_store(settings, clock)
    gateway = Gateway(settings, clock, health, lookup, store)
    gateway._closers += [lookup.close, store.close]
    texter = OutboxTexter(store, sms_replies(settings)) if settings.smpp.enabled else None
    gateway.oversight = await start_oversight(
        settings,
        lookup=lookup,
        store=store,
        health=health,
        clock=clock,
        bus=gateway.escalations,
        metrics=gateway.metrics,
        texter=texter,
    )
    gateway._closers.append(gateway.oversight.close)
    _start_store_jobs(gateway)
    if settings.smpp.enabled:
        _start_sms(gateway)
    if settings.ami.enabled:
        await _start_hotline(gateway, texter)
    if settings.http.enabled:
        await _start_http(gateway)
    _log.info(
        "started",
        sms=settings.smpp.enabled,
        hotline=settings.ami.enabled,
        http=settings.http.listen if settings.http.enabled else None,
        source=settings.source.kind,
        store=settings.store.url.partition("://")[0],
    )
    return gateway


def build_notifier(
    settings: Settings, store: MessageStore, lookup: LookupService, clock: Clock
) -> Notifier:
    """Notifications keep their subscriptions in the same store as the messages, so a
    notice and its new state are written together."""
    from gateway.subscriptions import MemorySubscriptions, SubscriptionStore

    subscriptions: SubscriptionStore = MemorySubscriptions(store)
    if not isinstance(store, MemoryStore):
        from adapters.pg_notify import PgSubscriptions
        from adapters.pg_store import PgStore

        assert isinstance(store, PgStore)
        subscriptions = PgSubscriptions(store)
    notify = settings.notify
    policy = NotifyPolicy(
        QuietHours.parse(notify.quiet_hours, notify.timezone),
        daily_cap=notify.daily_cap,
        max_subscriptions=notify.max_subscriptions,
        subscription_days=notify.subscription_days,
    )
    return Notifier(
        store=subscriptions,
        lookup=lookup,
        policy=policy,
        texts=NotifyReplies(sms_replies(settings)),
        clock=clock,
        schedule=PollSchedule(
            notify.poll_interval, notify.poll_concurrency, notify.release_interval
        ),
    )


def _start_store_jobs(gateway: Gateway) -> None:
    """Notifications (when SMS is on) and, with PostgreSQL, the retention purge."""
    settings, loop = gateway.settings, asyncio.get_running_loop()
    if settings.smpp.enabled and settings.notify.enabled:
        gateway.notifier = build_notifier(settings, gateway.store, gateway.lookup, gateway.clock)
        gateway._tasks.append(loop.create_task(gateway.notifier.run(), name="notify"))
    if not isinstance(gateway.store, MemoryStore):
        from adapters.pg_notify import PgRetention, RetentionPolicy
        from adapters.pg_store import PgStore

        assert isinstance(gateway.store, PgStore)
        store = settings.store
        policy = RetentionPolicy(
            store.retention_days,
            store.audit_retention_days,
            store.dedup_window,
            store.retention_interval,
        )
        retention = PgRetention(gateway.store, policy, gateway.clock)
        gateway._tasks.append(loop.create_task(retention.run(), name="retention"))


def _start_sms(gateway: Gateway) -> None:
    settings = gateway.settings
    responder = build_responder(settings, gateway.lookup, gateway.clock)
    responder.subscriptions = gateway.notifier
    owner = f"{socket.gethostname()}:{os.getpid()}"
    pipeline = SmsPipeline(
        gateway.store, responder, gateway.clock, pipeline_limits(settings), owner
    )
    client = SmppClient(smpp_config(settings), pipeline, pipeline)
    pipeline.attach(client)
    pipeline.start()
    gateway.metrics.watch_sms(pipeline.stats, client.stats)
    gateway.health.register("smpp", required=True, detail="connecting")
    gateway.pipeline, gateway.smpp = pipeline, client
    loop = asyncio.get_running_loop()
    gateway._tasks.append(loop.create_task(client.run(), name="smpp"))
    gateway._tasks.append(
        loop.create_task(_report_smpp(gateway.health, client), name="smpp-health")
    )


async def _report_smpp(health: Health, client: SmppClient) -> None:
    while True:
        state = client.state
        health.report("smpp", state is ClientState.BOUND, state.value)
        await asyncio.sleep(1.0)


async def _start_hotline(gateway: Gateway, texter: OutboxTexter | None) -> None:
    """The hotline: one AMI link, the dialogue on every call it owns, escalations to the bus.

    It speaks the catalogue ``statusgw prompts build`` renders from the same settings. A
    refused or unreachable AMI is a start-up error (exit 69) naming the host, not a retry loop.
    """
    from ivr.ami import AmiError, AmiLinkSettings, AmiSession
    from ivr.dispatcher import EVENT_FILTERS
    from ivr.hotline import build_hotline
    from ivr.limits import AMI_PING_TIMEOUT
    from ivr.ports import NoTexter
    from prompts.catalog import build_catalogue
    from prompts.cli import render_config

    settings = gateway.settings
    a = settings.ami
    ami = AmiSession(
        AmiLinkSettings(
            a.host,
            a.port,
            a.username,
            a.secret,
            event_filters=EVENT_FILTERS,
            ping_timeout=AMI_PING_TIMEOUT,
        )
    )
    try:
        await ami.connect()
    except AmiError as exc:
        raise ConnectionError(str(exc)) from None
    prompts = render_config(settings)
    hotline = build_hotline(
        settings,
        ami=ami,
        lookup=gateway.lookup,
        catalogue=build_catalogue(prompts.agencies, prompts.style),
        clock=gateway.clock,
        texter=texter or NoTexter(),
        bus=gateway.escalations,
        style=prompts.style,
    )
    if gateway.oversight is not None:
        gateway.oversight.observe_hotline(hotline.dispatcher, ami)
    await hotline.start()
    gateway._closers += [ami.close, hotline.stop]  # closed in reverse: drain calls, then log off


async def _start_http(gateway: Gateway) -> None:
    from gateway.http.app import build_http_app

    settings = gateway.settings
    oversight = gateway.oversight
    app = build_http_app(
        gateway.lookup,
        gateway.health,
        settings,
        clock=gateway.clock,
        metrics=gateway.metrics,
        reports=oversight.reports if oversight else None,
        console=oversight.console_app if oversight else None,
    )
    if gateway.notifier is not None:
        from gateway.http.events import add_event_routes

        codes = CodeGrammar(settings.codes.other_schemes)
        add_event_routes(app, gateway.notifier, settings.notify, gateway.clock, codes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http.host, settings.http.port)
    await site.start()
    gateway.http_runner = runner
    gateway._closers.append(runner.cleanup)


async def serve(settings: Settings) -> int:
    """``statusgw run``: start, wait for SIGTERM or SIGINT, drain, exit 0."""
    configure_logging(settings.log.level, settings.log.format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        gateway = await start_gateway(settings)
    except (OSError, StoreUnavailable) as exc:  # a peer we cannot run without is away
        _log.error("start_failed", error=str(exc))
        return 69
    await stop.wait()
    _log.info("stopping")
    await gateway.stop()
    _log.info("stopped")
    return 0
