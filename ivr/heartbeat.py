"""The heartbeat the dialplan checks before it hands a call to the gateway.

The owner writes the global ``STATUSGW_HEARTBEAT`` (Unix seconds) every ``interval``, and
``STATUSGW_HEARTBEAT_MAX_AGE`` once per link, so the dialplan's idea of "stale" follows
``[ivr] heartbeat_stale``. When the gateway stops cleanly it empties the heartbeat, so new
callers go straight to the operators instead of waiting for it to go stale; when it dies, the
heartbeat goes stale by itself. A beat that fails (link down) is logged and retried at the next
interval: the dialplan, not the gateway, decides what a missed beat means.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from gateway.clock import Clock
from ivr.ami.errors import AmiError
from ivr.ami.session import AmiSession

log = structlog.get_logger(__name__)

HEARTBEAT_VARIABLE = "STATUSGW_HEARTBEAT"
MAX_AGE_VARIABLE = "STATUSGW_HEARTBEAT_MAX_AGE"


class Heartbeat:
    def __init__(self, ami: AmiSession, clock: Clock, *, interval: float, stale: int) -> None:
        self._ami = ami
        self._clock = clock
        self._interval = interval
        self._stale = stale
        self._task: asyncio.Task[None] | None = None
        self._max_age_written = False
        self.beats = 0

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._max_age_written = False
            self._task = asyncio.create_task(self._run(), name="ivr-heartbeat")

    async def stop(self, *, clear: bool) -> None:
        """Stop beating; ``clear`` empties the heartbeat so the dialplan stops sending calls."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if clear:
            with contextlib.suppress(AmiError):
                await self._ami.set_global(HEARTBEAT_VARIABLE, "")

    def link_restored(self) -> None:
        """The AMI link came back: write the max age again (Asterisk may have restarted)."""
        self._max_age_written = False

    async def beat(self) -> None:
        if not self._max_age_written:
            await self._ami.set_global(MAX_AGE_VARIABLE, str(self._stale))
            self._max_age_written = True
        await self._ami.set_global(HEARTBEAT_VARIABLE, str(int(self._clock.now().timestamp())))
        self.beats += 1

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
            except AmiError as exc:
                log.warning("heartbeat_missed", error=str(exc))
            await asyncio.sleep(self._interval)
