"""The AMI link over a real socket, against a fake AMI server that injects the faults a real
Asterisk cannot be made to show: a character split across TCP segments, a peer that stops
answering while the socket stays open, an action that is never answered, a cut link."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from ivr.ami import AmiError, AmiEvent, AmiFailure, AmiLinkSettings, AmiSession, OtherEvent
from tests.support.fake_ami import FakeAmi, eventually, message


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def settings(server: FakeAmi, **overrides: Any) -> AmiLinkSettings:
    """Budgets shrunk so faults show within a fraction of a second."""
    fast = AmiLinkSettings(
        "127.0.0.1",
        server.port,
        "statusgw",
        server.secret,
        connect_timeout=2,
        action_timeout=2,
        ping_interval=0.2,
        ping_timeout=0.3,
        reconnect_initial=0.05,
        reconnect_max=0.2,
    )
    return dataclasses.replace(fast, **overrides)


@pytest_asyncio.fixture
async def session(fake: FakeAmi) -> AsyncIterator[AmiSession]:
    ami = AmiSession(settings(fake), rng=lambda: 0.5)
    await ami.connect()
    try:
        yield ami
    finally:
        await ami.close()


async def next_event(session: AmiSession, name: str) -> asyncio.Future[AmiEvent]:
    future: asyncio.Future[AmiEvent] = asyncio.get_running_loop().create_future()

    def take(event: AmiEvent) -> None:
        if not future.done():
            future.set_result(event)

    session.on_event(name, take)
    return future


async def test_character_split_across_segments_arrives_whole(
    fake: FakeAmi, session: AmiSession
) -> None:
    arrived = await next_event(session, "NewCallerid")
    data = message(("Event", "NewCallerid"), ("CallerIDName", "Nguyễn"))
    split = data.index("ễ".encode()) + 1  # inside the three bytes of ễ
    await fake.push(data, [split])
    event = await asyncio.wait_for(arrived, 5)
    assert isinstance(event, OtherEvent)
    assert event.message.get("calleridname") == "Nguyễn"


async def test_half_open_link_is_dropped_and_reopened(fake: FakeAmi) -> None:
    ami = AmiSession(settings(fake), rng=lambda: 0.5)
    changes: list[bool] = []
    ami.on_link(changes.append)
    await ami.connect()
    try:
        fake.answer_pings = False  # the socket stays open; nothing comes back
        await eventually(lambda: changes[-1:] == [False])
        fake.answer_pings = True
        await eventually(lambda: fake.logins >= 2)
        await ami.wait_connected(5)
        assert changes == [True, False, True]
        await ami.action("Ping")
    finally:
        await ami.close()


async def test_a_busy_peer_that_answers_ping_late_keeps_its_link(fake: FakeAmi) -> None:
    ami = AmiSession(settings(fake), rng=lambda: 0.5)
    changes: list[bool] = []
    ami.on_link(changes.append)
    await ami.connect()
    try:
        fake.answer_pings = False  # Pong never comes, but events keep flowing
        pings_before = len(fake.actions_named("Ping"))
        while len(fake.actions_named("Ping")) < pings_before + 3:  # three watchdog rounds
            await fake.push(message(("Event", "Newexten"), ("Channel", "Local/s@caller")))
        assert changes == [True]
        assert fake.logins == 1
    finally:
        fake.answer_pings = True
        await ami.close()


async def test_every_action_has_a_deadline(fake: FakeAmi, session: AmiSession) -> None:
    fake.silent_actions.add("queuestatus")
    with pytest.raises(AmiError) as caught:
        await session.action("QueueStatus", timeout=0.2)
    assert caught.value.reason is AmiFailure.TIMEOUT
    await session.action("Ping")  # the link is still usable


async def test_agi_command_in_flight_fails_when_the_link_is_cut(
    fake: FakeAmi, session: AmiSession
) -> None:
    command = asyncio.create_task(session.agi("Local/s@caller-00000000;1", "GET DATA x", 30))
    await eventually(lambda: bool(fake.actions_named("AGI")))
    fake.cut()
    with pytest.raises(AmiError) as caught:
        await asyncio.wait_for(command, 5)
    assert caught.value.reason is AmiFailure.DISCONNECTED
    await eventually(lambda: fake.logins >= 2)


async def test_agi_result_is_matched_by_command_id(fake: FakeAmi, session: AmiSession) -> None:
    command = asyncio.create_task(session.agi("Local/x;1", "GET DATA statusgw/code 8000 24", 5))
    await eventually(lambda: bool(fake.actions_named("AGI")))
    command_id = fake.actions_named("AGI")[0]["CommandID"]
    other = message(("Event", "AsyncAGIExec"), ("Channel", "Local/x;1"), ("CommandId", "other"))
    ours = message(
        ("Event", "AsyncAGIExec"),
        ("Channel", "Local/x;1"),
        ("CommandId", command_id),
        ("Result", "200%20result%3D0000022292401010001%0A"),
    )
    await fake.push(other + ours)
    result = await asyncio.wait_for(command, 5)
    assert result.result == "0000022292401010001"


async def test_agi_fails_when_the_channel_leaves_async_agi(
    fake: FakeAmi, session: AmiSession
) -> None:
    command = asyncio.create_task(session.agi("Local/x;1", 'STREAM FILE a ""', 5))
    await eventually(lambda: bool(fake.actions_named("AGI")))
    await fake.push(message(("Event", "AsyncAGIEnd"), ("Channel", "Local/x;1")))
    with pytest.raises(AmiError) as caught:
        await asyncio.wait_for(command, 5)
    assert caught.value.reason is AmiFailure.CHANNEL_GONE


async def test_originate_is_always_asynchronous(fake: FakeAmi, session: AmiSession) -> None:
    await session.action("Originate", Channel="Local/s@caller", Exten="1022")  # the ack only
    call = asyncio.create_task(
        session.originate("Local/s@caller", context="hotline", exten="1022", ring_timeout=0.1)
    )
    await eventually(lambda: len(fake.actions_named("Originate")) == 2)
    action_id = fake.actions_named("Originate")[1]["ActionID"]
    await fake.push(
        message(
            ("Event", "OriginateResponse"),
            ("ActionID", action_id),
            ("Response", "Success"),
            ("Channel", "Local/s@caller-00000001;1"),
            ("Reason", "4"),
        )
    )
    answered = await asyncio.wait_for(call, 5)
    assert answered.channel == "Local/s@caller-00000001;1"
    assert [a.get("Async") for a in fake.actions_named("Originate")] == ["true", "true"]


async def test_originate_response_that_overtakes_the_answer_is_not_lost(
    fake: FakeAmi, session: AmiSession
) -> None:
    # Asterisk may emit OriginateResponse (which has a Response header and our ActionID)
    # before it writes the answer to the Originate action itself.
    fake.ahead_of_answer["originate"] = lambda action: message(
        ("Event", "OriginateResponse"),
        ("ActionID", action["ActionID"]),
        ("Response", "Success"),
        ("Channel", "Local/s@caller-00000002;1"),
        ("Reason", "4"),
    )
    answered = await session.originate("Local/s@caller", context="hotline", exten="1022")
    assert answered.channel == "Local/s@caller-00000002;1"


async def test_a_failing_callback_does_not_stop_the_reader(
    fake: FakeAmi, session: AmiSession
) -> None:
    def broken(event: AmiEvent) -> None:
        raise ValueError("subscriber bug")

    session.on_event("UserEvent", broken)
    second = await next_event(session, "Hangup")
    await fake.push(message(("Event", "UserEvent")) + message(("Event", "Hangup"), ("Cause", "16")))
    assert await asyncio.wait_for(second, 5)


async def test_wrong_secret_is_a_clear_error(fake: FakeAmi) -> None:
    ami = AmiSession(settings(fake, secret="wrong"))
    with pytest.raises(AmiError) as caught:
        await ami.connect()
    assert caught.value.reason is AmiFailure.LOGIN_REFUSED
    assert "statusgw" in str(caught.value)


async def test_nobody_listening_is_unreachable(fake: FakeAmi) -> None:
    port = fake.port
    await fake.stop()
    ami = AmiSession(AmiLinkSettings("127.0.0.1", port, "statusgw", "x", connect_timeout=1))
    with pytest.raises(AmiError) as caught:
        await ami.connect()
    assert caught.value.reason is AmiFailure.UNREACHABLE


async def test_actions_while_down_fail_at_once(fake: FakeAmi) -> None:
    ami = AmiSession(settings(fake, reconnect_initial=5, reconnect_max=5))
    await ami.connect()
    try:
        fake.cut()
        with pytest.raises(AmiError) as caught:
            for _ in range(200):  # until the loss is seen; each try fails or answers at once
                await ami.action("Ping", timeout=0.5)
                await asyncio.sleep(0.01)
        assert caught.value.reason is AmiFailure.DISCONNECTED
    finally:
        await ami.close()
