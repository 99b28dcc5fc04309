"""The demo's console: its accounts make valid settings, and its sample hotline puts calls
on the board that ring, get answered at the demo operator's desk, or are abandoned."""

from __future__ import annotations

import asyncio
import contextlib

from gateway.clock import SystemClock
from gateway.console.auth import verify_password
from gateway.console.board import Board, CallState
from gateway.console.demo import DESK, OPERATOR, SUPERVISOR, demo_accounts, play_hotline
from gateway.settings import build_settings
from ivr.escalation import EscalationBus, EscalationEvent


def test_demo_accounts_make_valid_console_settings() -> None:
    accounts = demo_accounts()
    settings = build_settings(accounts.settings(18080))  # type: ignore[arg-type]
    assert settings.console.enabled and settings.http.listen == "127.0.0.1:18080"
    users = {entry.split(":")[0]: entry for entry in settings.console.users}
    assert set(users) == {OPERATOR, SUPERVISOR}
    assert verify_password(accounts.password, users[OPERATOR].split(":", 2)[2])
    assert settings.console.members == {OPERATOR: DESK}


async def test_the_sample_hotline_plays_a_round_of_calls() -> None:
    bus, board, events = EscalationBus(), Board(), list[EscalationEvent]()
    bus.subscribe(board.apply)
    round_played = asyncio.Event()

    def keep(event: EscalationEvent) -> None:
        events.append(event)
        if len(events) >= 17:  # one round and the start of the next
            round_played.set()

    bus.subscribe(keep)
    task = asyncio.create_task(play_hotline(bus, SystemClock(), pace=0.002))
    try:
        async with asyncio.timeout(10):
            await round_played.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    states = {call.call_id: call.state for call in [*board.live.values(), *board.recent.values()]}
    assert states["demo-1-1"] is CallState.CONNECTED  # on the demo operator's screen
    assert states["demo-2-1"] is CallState.ABANDONED
    # Answered at a desk no console user has (the console moves it off its board).
    assert states["demo-3-1"] is CallState.CONNECTED
    assert states["demo-4-1"] is CallState.LEFT
