"""Simulated hotline callers on the real Asterisk, driven over the AMI (no SIP phone).

``call_hotline`` originates ``Local/s@caller`` into ``1022@hotline``: the ``;2`` half answers
and waits in the ``caller`` context, the ``;1`` half runs the hotline dialplan, so the
channel the gateway sees in ``AsyncAGIStart`` is ``Local/s@caller-XXXXXXXX;1``.
``press_keys`` delivers keys to that half with ``PlayDTMF Receive: true``, spaced so Asterisk
keeps every one (keys received back to back are dropped after the first). Keys only count
while a collecting command runs: wait for its ``AGIExecStart`` first (``EventLog``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from ivr.ami import AmiEvent, AmiSession, OriginateResponse

KEY_GAP = 0.1  # seconds between simulated key presses (Asterisk drops keys < ~50 ms apart)

E = TypeVar("E")


class EventLog:
    """Every event a session receives, kept in order, with waiting on a condition."""

    def __init__(self, session: AmiSession) -> None:
        self.events: list[AmiEvent] = []
        self._changed = asyncio.Event()
        self.unsubscribe = session.on_event("*", self._add)

    def _add(self, event: AmiEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, kind: type[E], where: Callable[[E], bool] = lambda _: True, timeout: float = 10.0
    ) -> E:
        """The first event of ``kind`` matching ``where`` (already received or still to come)."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events[seen:]:
                    if isinstance(event, kind) and where(event):
                        return event
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: type[E], where: Callable[[E], bool] = lambda _: True) -> list[E]:
        return [e for e in self.events if isinstance(e, kind) and where(e)]


async def call_hotline(
    session: AmiSession, caller_id: str = "0912345678", exten: str = "1022"
) -> OriginateResponse:
    """Place one simulated call; the response's ``channel`` is the hotline half (``;1``)."""
    return await session.originate(
        "Local/s@caller", context="hotline", exten=exten, caller_id=caller_id
    )


async def press_keys(session: AmiSession, channel: str, keys: str, gap: float = KEY_GAP) -> None:
    """Key in ``keys`` as the caller on the hotline half ``channel``."""
    for index, key in enumerate(keys):
        if index:
            await asyncio.sleep(gap)
        await session.play_dtmf(channel, key, receive=True)
