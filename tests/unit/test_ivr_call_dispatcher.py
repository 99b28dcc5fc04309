"""The dispatcher's fail-safe against an AMI peer that misbehaves (a fake, for the faults a
real Asterisk cannot be made to show): a channel whose commands never complete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest_asyncio

from gateway.clock import SystemClock
from ivr.ami import AmiLinkSettings, AmiSession
from ivr.call import CallSummary, Outcome
from ivr.dispatcher import Dispatcher
from ivr.escalation import EscalationBus
from ivr.hours import OperatorHours
from ivr.ports import NoTexter
from ivr.script import CatalogueScript
from prompts.catalog import build_catalogue
from tests.support.fake_ami import FakeAmi, eventually, message
from tests.support.lookup_fakes import ScriptedSource, build_service

CHANNEL = "Local/s@caller-00000001;1"


def empty_channel_list(headers: dict[str, str]) -> bytes:
    """The end of an empty CoreShowChannels list (no call is left in AsyncAGI)."""
    return message(
        ("Response", "Success"),
        ("Event", "CoreShowChannelsComplete"),
        ("ActionID", headers["ActionID"]),
        ("EventList", "Complete"),
        ("ListItems", "0"),
    )


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi(secret="s")
    server.ahead_of_answer["coreshowchannels"] = empty_channel_list
    await server.start()
    yield server
    await server.stop()


async def test_a_channel_that_never_answers_is_sent_to_the_operators(fake: FakeAmi) -> None:
    lookup = build_service([ScriptedSource()])
    ami = AmiSession(AmiLinkSettings("127.0.0.1", fake.port, "statusgw", "s"))
    await ami.connect()
    dispatcher = Dispatcher(
        ami=ami,
        lookup=lookup,
        script=CatalogueScript(build_catalogue()),
        hours=OperatorHours.parse(["daily 00:00-24:00"], "UTC"),
        clock=SystemClock(),
        bus=EscalationBus(),
        texter=NoTexter(),
        sound_prefix="statusgw",
        command_timeout=0.3,
    )
    ended: list[CallSummary] = []
    dispatcher.on_call_ended(ended.append)
    dispatcher.attach()
    try:
        await dispatcher.activate()
        env = quote(f"agi_channel: {CHANNEL}\nagi_uniqueid: 1.1\nagi_callerid: unknown\n\n")
        await fake.push(
            message(
                ("Event", "AsyncAGIStart"),
                ("Channel", CHANNEL),
                ("Uniqueid", "1.1"),
                ("Linkedid", "1.1"),
                ("Context", "hotline"),
                ("Exten", "1022"),
                ("Env", env),
            )
        )
        # The greeting is queued, Asterisk acknowledges it, and then nothing ever comes back.
        await eventually(lambda: bool(fake.actions_named("Redirect")), timeout=5)
        redirect = fake.actions_named("Redirect")[0]
        assert (redirect["Channel"], redirect["Context"], redirect["Exten"]) == (
            CHANNEL,
            "hotline",
            "operators",
        )
        outcome = fake.actions_named("Setvar")[-1]
        assert (outcome["Channel"], outcome["Value"]) == (CHANNEL, "error")
        assert outcome["Variable"] == "__STATUSGW_OUTCOME"
        assert fake.actions_named("AGI")[0]["Channel"] == CHANNEL
        await eventually(lambda: len(ended) == 1)
        assert ended[0].outcome is Outcome.ERROR
        assert dispatcher.calls == 0
    finally:
        await dispatcher.close()
        await lookup.close()
        await ami.close()
