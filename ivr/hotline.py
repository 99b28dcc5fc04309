"""The hotline as one service: ownership decides, the dispatcher and the heartbeat follow.

- Owner: the heartbeat beats (the dialplan hands calls to AsyncAGI) and the dispatcher takes
  calls, adopting any left in AsyncAGI by a previous owner.
- Standby: no heartbeat from this instance, no calls; the AMI link stays up, ready.
- Stop: the dispatcher drains (calls still in the IVR after ``drain_timeout`` go to the
  operators) and the heartbeat is emptied, so the dialplan sends new callers to the
  operators at once, unless a standby takes over and beats again.

:func:`build_hotline` wires it from ``[ivr]`` and ``[prompts]`` settings; the composition root
passes the AMI link, the lookup service, the prompt catalogue and the SMS texter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from gateway.clock import Clock
from gateway.settings import Settings
from ivr.ami.session import AmiSession
from ivr.call import CallPolicy
from ivr.dispatcher import Dispatcher
from ivr.escalation import EscalationBus
from ivr.heartbeat import Heartbeat
from ivr.hours import OperatorHours
from ivr.ownership import Ownership, PostgresOwnership, SoleOwner
from ivr.ports import ResultTexter, VoiceLookup
from ivr.script import CatalogueScript
from prompts.catalog import Catalogue
from prompts.speech import DEFAULT_STYLE, SpeechStyle

log = structlog.get_logger(__name__)


class Hotline:
    def __init__(
        self,
        ami: AmiSession,
        dispatcher: Dispatcher,
        heartbeat: Heartbeat,
        ownership: Ownership,
        *,
        drain_timeout: float = 10.0,
    ) -> None:
        self.ami = ami
        self.dispatcher = dispatcher
        self.heartbeat = heartbeat
        self.ownership = ownership
        self._drain_timeout = drain_timeout
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._owner_changes = asyncio.Lock()

    @property
    def owner(self) -> bool:
        return self.dispatcher.active

    async def start(self) -> None:
        """Listen on the (already connected) AMI link and start competing for ownership."""
        self.dispatcher.attach()
        self._unsubscribe = self.ami.on_link(self._on_link)
        self._task = asyncio.create_task(self.ownership.run(self._owner_changed), name="ivr-owner")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._unsubscribe is not None:
            self._unsubscribe()
        was_owner = self.dispatcher.active
        await self.heartbeat.stop(clear=was_owner)
        if was_owner:
            await self.dispatcher.drain(self._drain_timeout)
        await self.dispatcher.close()

    async def _owner_changed(self, owned: bool) -> None:
        async with self._owner_changes:
            if owned:
                log.info("ivr_owner")
                self.heartbeat.start()
                await self.dispatcher.activate()
            else:
                log.warning("ivr_standby")
                await self.heartbeat.stop(clear=False)
                await self.dispatcher.deactivate()

    def _on_link(self, up: bool) -> None:
        if up:
            self.heartbeat.link_restored()


def call_policy(settings: Settings) -> CallPolicy:
    ivr = settings.ivr
    return CallPolicy(
        first_digit_timeout=ivr.first_digit_timeout,
        inter_digit_timeout=ivr.inter_digit_timeout,
        max_tries=ivr.max_tries,
        wait_prompt_after=ivr.wait_prompt_after,
        lookup_deadline=ivr.lookup_deadline,
        max_call_seconds=ivr.max_call_seconds,
        sms_offer=ivr.sms_offer,
    )


def build_hotline(
    settings: Settings,
    *,
    ami: AmiSession,
    lookup: VoiceLookup,
    catalogue: Catalogue,
    clock: Clock,
    texter: ResultTexter,
    bus: EscalationBus,
    style: SpeechStyle = DEFAULT_STYLE,
) -> Hotline:
    ivr = settings.ivr
    hours = OperatorHours.parse(ivr.operator_hours, ivr.timezone, ivr.closed_days)
    dispatcher = Dispatcher(
        ami=ami,
        lookup=lookup,
        script=CatalogueScript(catalogue, style, timezone=hours.timezone),
        hours=hours,
        clock=clock,
        bus=bus,
        texter=texter,
        sound_prefix=settings.prompts.sound_prefix,
        policy=call_policy(settings),
    )
    heartbeat = Heartbeat(ami, clock, interval=ivr.heartbeat_interval, stale=ivr.heartbeat_stale)
    ownership: Ownership = (
        PostgresOwnership(ivr.owner_lock_dsn, ivr.owner_lock_key)
        if ivr.owner_lock_dsn
        else SoleOwner()
    )
    return Hotline(ami, dispatcher, heartbeat, ownership)
