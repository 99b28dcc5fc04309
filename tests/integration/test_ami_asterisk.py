"""The AMI layer against the real Asterisk 22 running config/asterisk as shipped.

Callers are simulated with Local channels (tests/support/hotline_caller.py); the operators
queue is served by a Local desk that answers by itself. Every wait is on a condition (an
event or a state), with a deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ivr.ami import (
    AgentConnect,
    AgiExecStart,
    AgiOutcome,
    AmiError,
    AmiFailure,
    AmiLinkSettings,
    AmiSession,
    AsyncAgiEnd,
    AsyncAgiStart,
    Hangup,
    QueueCallerJoin,
)
from tests.support.asterisk import Asterisk
from tests.support.fake_ami import eventually
from tests.support.hotline_caller import EventLog, call_hotline, press_keys
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.asterisk

HEARTBEAT = "STATUSGW_HEARTBEAT"
CALLER = "0912345678"


def link_settings(asterisk: Asterisk, **overrides: float | str) -> AmiLinkSettings:
    base = AmiLinkSettings(asterisk.host, asterisk.port, asterisk.username, asterisk.secret)
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def ami(asterisk: Asterisk) -> AsyncIterator[AmiSession]:
    session = AmiSession(link_settings(asterisk))
    await session.connect()
    try:
        yield session
    finally:
        await session.close()
        asterisk.hangup_all()
        await eventually(lambda: asterisk.channels() == [])


@pytest_asyncio.fixture
async def events(ami: AmiSession) -> EventLog:
    return EventLog(ami)


async def beat(ami: AmiSession, age: float = 0) -> None:
    """Write the heartbeat as the gateway does, ``age`` seconds in the past."""
    await ami.set_global(HEARTBEAT, str(int(time.time() - age)))


async def test_login_reads_the_banner_and_answers_pings(ami: AmiSession) -> None:
    assert ami.banner == "Asterisk Call Manager/11.0.0"
    reply = await ami.action("Ping")
    assert reply.get("ping") == "Pong"


async def test_wrong_secret_is_refused(asterisk: Asterisk) -> None:
    session = AmiSession(link_settings(asterisk, secret="not-the-secret"))
    with pytest.raises(AmiError) as caught:
        await session.connect()
    assert caught.value.reason is AmiFailure.LOGIN_REFUSED
    assert "Authentication failed" in str(caught.value)


async def test_unknown_action_is_refused(ami: AmiSession) -> None:
    with pytest.raises(AmiError) as caught:
        await ami.action("NoSuchAction")
    assert caught.value.reason is AmiFailure.REFUSED


async def test_an_action_past_its_budget_times_out_and_the_link_survives(
    asterisk: Asterisk,
) -> None:
    # WaitEvent holds the answer for its Timeout when no event is due to this session.
    session = AmiSession(link_settings(asterisk, events="off"))
    await session.connect()
    try:
        with pytest.raises(AmiError) as caught:
            await session.action("WaitEvent", Timeout="2", timeout=0.3)
        assert caught.value.reason is AmiFailure.TIMEOUT
        # The late answer to WaitEvent is dropped; the next action gets its own answer.
        assert (await session.action("Ping", timeout=15)).get("ping") == "Pong"
    finally:
        await session.close()


async def test_globals_round_trip(ami: AmiSession) -> None:
    await ami.set_global(HEARTBEAT, "1700000000")
    assert await ami.get_var(HEARTBEAT) == "1700000000"
    await ami.set_global(HEARTBEAT, "")
    assert await ami.get_var(HEARTBEAT) == ""


@pytest.mark.parametrize("age", [None, 3600], ids=["empty", "stale"])
async def test_without_a_fresh_heartbeat_calls_go_straight_to_the_operators(
    ami: AmiSession, events: EventLog, age: int | None
) -> None:
    if age is None:
        await ami.set_global(HEARTBEAT, "")
    else:
        await beat(ami, age)
    call = await call_hotline(ami, CALLER)
    joined = await events.wait_for(QueueCallerJoin, lambda e: e.channel == call.channel)
    assert joined.queue == "operators"
    await events.wait_for(AgentConnect, lambda e: e.channel == call.channel)
    assert events.of(AsyncAgiStart, lambda e: e.channel == call.channel) == []
    assert await ami.get_var("STATUSGW_OUTCOME", call.channel) == "gateway-down"


async def test_a_call_reaches_async_agi_and_collects_keys_during_the_prompt(
    asterisk: Asterisk, ami: AmiSession, events: EventLog
) -> None:
    prompt = asterisk.synth_sound("statusgw/test", seconds=3)
    await beat(ami)
    call = await call_hotline(ami, f'"Nguyễn Văn Ấn" <{CALLER}>')
    start = await events.wait_for(AsyncAgiStart, lambda e: e.channel == call.channel)
    assert call.channel.startswith("Local/s@caller-") and call.channel.endswith(";1")
    assert (start.caller_id, start.caller_name) == (CALLER, "Nguyễn Văn Ấn")
    assert (start.context, start.exten, start.env["agi_language"]) == ("hotline", "1022", "vi")

    command = f"GET DATA {prompt.name} 5000 6"
    collect = asyncio.create_task(ami.agi(call.channel, command, timeout=20))
    await events.wait_for(
        AgiExecStart, lambda e: e.channel == call.channel and e.command == command
    )
    await press_keys(ami, call.channel, "987#")
    result = await collect
    assert (result.outcome, result.result, result.timed_out) == (AgiOutcome.OK, "987", False)

    language = await ami.agi(call.channel, "GET VARIABLE CHANNEL(language)", timeout=5)
    assert (language.result, language.data) == ("1", "vi")

    await ami.agi(call.channel, "ASYNCAGI BREAK", timeout=5)
    await events.wait_for(Hangup, lambda e: e.channel == call.channel)  # not escalated: ends
    assert events.of(QueueCallerJoin, lambda e: e.channel == call.channel) == []


async def test_keys_not_pressed_give_a_timeout(
    asterisk: Asterisk, ami: AmiSession, events: EventLog
) -> None:
    prompt = asterisk.synth_sound("statusgw/short", seconds=0.3)
    await beat(ami)
    call = await call_hotline(ami, CALLER)
    await events.wait_for(AsyncAgiStart, lambda e: e.channel == call.channel)
    result = await ami.agi(call.channel, f"GET DATA {prompt.name} 500 6", timeout=10)
    assert (result.outcome, result.result, result.timed_out) == (AgiOutcome.OK, "", True)


async def test_an_escalated_call_joins_the_queue_and_an_operator_answers(
    ami: AmiSession, events: EventLog
) -> None:
    await beat(ami)
    call = await call_hotline(ami, CALLER)
    await events.wait_for(AsyncAgiStart, lambda e: e.channel == call.channel)
    # Queued together, the two commands run back to back.
    await asyncio.gather(
        ami.agi(call.channel, "SET VARIABLE STATUSGW_OUTCOME escalated", timeout=5),
        ami.agi(call.channel, "ASYNCAGI BREAK", timeout=5),
    )
    await events.wait_for(AsyncAgiEnd, lambda e: e.channel == call.channel)
    joined = await events.wait_for(QueueCallerJoin, lambda e: e.channel == call.channel)
    answered = await events.wait_for(AgentConnect, lambda e: e.channel == call.channel)
    assert (joined.queue, answered.member_name) == ("operators", "Desk 1")
    assert answered.member_channel.startswith("Local/desk1@operator-desk-")


async def test_a_silent_gateway_is_capped_and_the_caller_handed_over(
    ami: AmiSession, events: EventLog
) -> None:
    await ami.set_global("STATUSGW_IVR_LIMIT", "1")
    try:
        await beat(ami)
        call = await call_hotline(ami, CALLER)
        await events.wait_for(AsyncAgiStart, lambda e: e.channel == call.channel)
        await events.wait_for(QueueCallerJoin, lambda e: e.channel == call.channel)
        assert await ami.get_var("STATUSGW_OUTCOME", call.channel) == "ivr-timeout"
    finally:
        await ami.set_global("STATUSGW_IVR_LIMIT", "600")


async def test_caller_hanging_up_during_a_command(
    asterisk: Asterisk, ami: AmiSession, events: EventLog
) -> None:
    prompt = asterisk.synth_sound("statusgw/test", seconds=3)
    await beat(ami)
    call = await call_hotline(ami, CALLER)
    await events.wait_for(AsyncAgiStart, lambda e: e.channel == call.channel)
    command = f"GET DATA {prompt.name} 5000 6"
    collect = asyncio.create_task(ami.agi(call.channel, command, timeout=20))
    await events.wait_for(AgiExecStart, lambda e: e.command == command)
    await ami.hangup(call.channel.removesuffix(";1") + ";2")  # the caller's side hangs up
    assert (await collect).outcome is AgiOutcome.FAILED  # 200 result=-1
    with pytest.raises(AmiError) as caught:
        await ami.agi(call.channel, "GET VARIABLE CHANNEL(language)", timeout=5)
    assert caught.value.reason in (AmiFailure.REFUSED, AmiFailure.CHANNEL_GONE)


async def test_after_a_cut_link_the_session_returns_and_finds_the_orphaned_call(
    asterisk: Asterisk, ami: AmiSession, events: EventLog
) -> None:
    proxy = TcpProxy(asterisk.host, asterisk.port)
    await proxy.start()
    far = AmiSession(
        link_settings(
            asterisk,
            host="127.0.0.1",
            port=proxy.port,
            ping_interval=0.5,
            ping_timeout=1,
            reconnect_initial=0.1,
            reconnect_max=0.5,
        )
    )
    changes: list[bool] = []
    far.on_link(changes.append)
    await far.connect()
    try:
        prompt = asterisk.synth_sound("statusgw/test", seconds=3)
        await beat(far)
        call = await call_hotline(far, CALLER)
        await events.wait_for(AsyncAgiStart, lambda e: e.channel == call.channel)
        pending = asyncio.create_task(far.agi(call.channel, f"GET DATA {prompt.name} 5000 6", 20))
        await events.wait_for(AgiExecStart, lambda e: e.channel == call.channel)

        proxy.cut()
        with pytest.raises(AmiError) as caught:
            await pending
        assert caught.value.reason is AmiFailure.DISCONNECTED
        await far.wait_connected(10)
        assert changes == [True, False, True]
        assert proxy.connections == 2

        orphans = [c for c in await far.core_show_channels() if c.in_async_agi]
        assert [c.channel for c in orphans] == [call.channel]
        await far.redirect(call.channel, context="hotline", exten="operators")
        await events.wait_for(QueueCallerJoin, lambda e: e.channel == call.channel)
        await eventually(lambda: far.connected)
    finally:
        await far.close()
        await proxy.stop()
