"""The hotline end to end: simulated callers on the real Asterisk 22, the gateway's IVR over AMI.

Callers are Local channels into ``1022@hotline`` (config/asterisk as shipped); they key in
with ``PlayDTMF`` while a prompt plays and see every prompt the IVR runs. Prompts are short
tones named by the catalogue's real ids, so the assertions read as the dialogue.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from gateway.app import start_gateway
from gateway.dossier import Status
from gateway.ports import SourceError
from gateway.privacy import DossierView
from gateway.settings import build_settings
from ivr import limits
from ivr.ami import AgentConnect, AmiLinkSettings, AmiSession, QueueCallerJoin
from ivr.call import CallSummary, Outcome
from ivr.escalation import Escalation, QueueProgress, QueueStage
from ivr.heartbeat import HEARTBEAT_VARIABLE, MAX_AGE_VARIABLE
from ivr.hotline import Hotline
from ivr.ownership import PostgresOwnership
from ivr.script import CatalogueScript
from prompts.catalog import build_catalogue
from prompts.cli import render_config
from prompts.speech import Spoken
from tests.support.asterisk import SOUNDS, Asterisk
from tests.support.fake_ami import eventually
from tests.support.hotline import (
    FAST_POLICY,
    NEVER_OPEN,
    SOUND_PREFIX,
    Caller,
    Callers,
    HotlineGateway,
    hotline_gateway,
    install_prompt_sounds,
    link_settings,
    remove_prompt_sounds,
)
from tests.support.lookup_fakes import CODE, PHONE, dossier
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.asterisk

DIGITS = "0000022292401010001"  # CODE on the keypad
READY_CODE = "000.00.22.H29-240102-0002"
READY_DIGITS = "0000022292401020002"
TWIN_CODE = "000.00.22.G29-240101-0001"  # same digits as CODE: ambiguous on the keypad
STRANGER = "0987654321"  # a caller with no dossier
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"

DOSSIERS = (
    dossier(CODE, Status.PROCESSING),
    dossier(READY_CODE, Status.RESULT_READY, phone=None),
)


@pytest.fixture(scope="module")
def prompt_sounds(asterisk: Asterisk) -> Iterator[Path]:
    base = install_prompt_sounds(asterisk.root / SOUNDS, build_catalogue())
    yield base
    remove_prompt_sounds(base)


@pytest.fixture
def link(asterisk: Asterisk, prompt_sounds: Path) -> AmiLinkSettings:
    return link_settings(asterisk.host, asterisk.port, asterisk.username, asterisk.secret)


@pytest_asyncio.fixture
async def callers(link: AmiLinkSettings, asterisk: Asterisk) -> AsyncIterator[Callers]:
    async with Callers.connected(link) as callers:
        try:
            yield callers
        finally:
            asterisk.hangup_all()
            await eventually(lambda: asterisk.channels() == [], timeout=15)


@pytest_asyncio.fixture
async def gateway(link: AmiLinkSettings, callers: Callers) -> AsyncIterator[HotlineGateway]:
    async with hotline_gateway(link, DOSSIERS) as gateway:
        yield gateway


def ended_calls(gateway: HotlineGateway) -> list[CallSummary]:
    summaries: list[CallSummary] = []
    gateway.dispatcher.on_call_ended(summaries.append)
    return summaries


def digits_read_back(question: tuple[str, ...]) -> str:
    return "".join(p.removeprefix("digits/") for p in question if p.startswith("digits/"))


async def look_up(caller: Caller, digits: str) -> tuple[str, ...]:
    """Key a code in at the first question, confirm it; the question that follows."""
    await caller.answer(digits + "#")
    read_back = await caller.answer("1")
    assert read_back.prompts[0] == "ivr/you_entered"
    assert digits_read_back(read_back.prompts) == digits
    return (await caller.prompt()).prompts


# --- the dialogue -----------------------------------------------------------------------------


async def test_found_status_is_read_and_left_on_the_channel(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(STRANGER)
    first = await caller.answer(DIGITS + "#")
    assert first.prompts == ("ivr/greeting", "ivr/enter_code")
    confirm = await caller.answer("1")
    assert digits_read_back(confirm.prompts) == DIGITS
    status = await caller.prompt()
    assert status.prompts[:2] == ("ivr/status_is", "status/processing")
    assert "ivr/due_date" in status.prompts
    assert status.prompts[-1] == "ivr/menu"
    assert await caller.variable("STATUSGW_DOSSIER") == CODE
    assert await caller.variable("STATUSGW_STATUS") == "processing"
    assert await caller.variable("STATUSGW_OUTCOME") == "read"
    assert gateway.source.calls == [("phone", STRANGER), ("digits", DIGITS)]


async def test_a_code_typed_during_the_greeting_is_kept(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(STRANGER)
    # Keys start the moment the greeting starts: the prompt stops and the entry goes on.
    await caller.answer(READY_DIGITS + "#", delay=0.0)
    confirm = await caller.answer("1", delay=0.0)  # and the read-back is interrupted too
    assert digits_read_back(confirm.prompts) == READY_DIGITS
    status = await caller.prompt()
    assert status.prompts[:2] == ("ivr/status_is", "status/result_ready")
    assert "ivr/collect_at_desk" in status.prompts


async def test_not_found_says_so_and_offers_another_try(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(STRANGER)
    question = await look_up(caller, "1234567890")
    assert question == ("ivr/not_found", "ivr/menu")
    assert await caller.variable("STATUSGW_OUTCOME") == "not_found"
    await caller.press("2")
    assert (await caller.prompt()).prompts == ("ivr/enter_code",)


async def test_confirm_two_re_enters_and_menu_repeats(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(STRANGER)
    await caller.answer("99999999#")
    await caller.answer("2")  # "that is not what I meant"
    await caller.answer(DIGITS + "#")
    await caller.answer("1")
    await caller.answer("1")  # the menu: repeat
    again = await caller.answer("*")
    assert again.prompts[:2] == ("ivr/status_is", "status/processing")
    menu = await caller.prompt()
    assert menu.prompts == ("ivr/menu",)
    assert [q[-1] for q in caller.questions()] == [
        "ivr/enter_code",
        "ivr/confirm_or_reenter",
        "ivr/enter_code",
        "ivr/confirm_or_reenter",
        "ivr/menu",
        "ivr/menu",
        "ivr/menu",
    ]


async def test_caller_number_offers_the_callers_dossiers(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(PHONE)
    offer = await caller.answer("1")
    assert offer.prompts[:2] == ("ivr/greeting", "ivr/found_for_caller")
    assert "ivr/or_enter_other" in offer.prompts
    status = await caller.prompt()
    assert status.prompts[:2] == ("ivr/status_is", "status/processing")
    assert await caller.variable("STATUSGW_DOSSIER") == CODE
    assert ("phone", PHONE) in gateway.source.calls


async def test_ambiguous_digits_ask_for_the_whole_code(
    link: AmiLinkSettings, callers: Callers
) -> None:
    async with hotline_gateway(link, [*DOSSIERS, dossier(TWIN_CODE, phone=None)]):
        caller = await callers.dial(STRANGER)
        question = await look_up(caller, DIGITS)
        assert question == ("ivr/enter_full_code", "ivr/enter_code")


async def test_a_slow_lookup_gets_a_wait_prompt(link: AmiLinkSettings, callers: Callers) -> None:
    async with hotline_gateway(link, DOSSIERS, voice_deadline=10.0) as gateway:
        gateway.source.gate = asyncio.Event()
        caller = await callers.dial(STRANGER)
        await caller.answer(DIGITS + "#")
        await caller.answer("1")
        await caller.until_heard("ivr/please_wait")
        gateway.source.gate.set()
        status = await caller.prompt()
        assert status.prompts[:2] == ("ivr/status_is", "status/processing")


async def test_an_unavailable_source_goes_to_the_operators(
    gateway: HotlineGateway, callers: Callers
) -> None:
    gateway.source.fail = SourceError("the one-stop system is down")
    caller = await callers.dial(STRANGER)
    await caller.answer(DIGITS + "#")
    await caller.answer("1")
    await caller.until(QueueCallerJoin)
    assert caller.said()[-2:] == ["ivr/unavailable", "ivr/transfer"]
    assert await caller.variable("STATUSGW_REASON") == "lookup_failed"


# --- tries, timeouts and the operators --------------------------------------------------------


async def test_three_silences_go_to_the_operators(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(STRANGER)
    await caller.until(QueueCallerJoin)
    assert caller.questions() == [
        ("ivr/greeting", "ivr/enter_code"),
        ("ivr/no_input", "ivr/enter_code"),
        ("ivr/no_input", "ivr/enter_code"),
    ]
    assert caller.said()[-2:] == ["ivr/too_many_attempts", "ivr/transfer"]
    assert await caller.variable("STATUSGW_OUTCOME") == "escalated"
    assert await caller.variable("STATUSGW_REASON") == "no_input"


async def test_three_bad_entries_go_to_the_operators(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(STRANGER)
    for _ in range(3):
        await caller.answer("12#")  # too short to be a dossier code
    await caller.until(QueueCallerJoin)
    assert [q[0] for q in caller.questions()] == [
        "ivr/greeting",
        "ivr/invalid_input",
        "ivr/invalid_input",
    ]
    assert await caller.variable("STATUSGW_REASON") == "invalid_input"


async def test_escalation_context_reaches_the_queue_and_the_operator(
    gateway: HotlineGateway, callers: Callers
) -> None:
    caller = await callers.dial(STRANGER)
    await look_up(caller, DIGITS)
    await caller.press("0")
    join = await caller.until(QueueCallerJoin)
    assert isinstance(join, QueueCallerJoin) and join.queue == "operators"
    # Present on the caller's channel as it joins the queue ...
    assert await caller.variable("STATUSGW_DOSSIER") == CODE
    assert await caller.variable("STATUSGW_STATUS") == "processing"
    assert await caller.variable("STATUSGW_OUTCOME") == "escalated"
    assert await caller.variable("STATUSGW_PATH") == "code>confirm>confirm:1>found>menu:0>operator"
    assert (await caller.variable("STATUSGW_SAID")).startswith("trạng thái: đang được xử lý")
    # ... and inherited by the operator's leg when the desk answers.
    connect = await caller.until(AgentConnect)
    assert isinstance(connect, AgentConnect)
    assert await caller.session.get_var("STATUSGW_DOSSIER", connect.member_channel) == CODE
    # The console hears about it: the escalation, then its progress in the queue.
    await eventually(lambda: any(isinstance(e, QueueProgress) for e in gateway.escalations[2:]))
    escalation = gateway.escalations[0]
    assert isinstance(escalation, Escalation)
    assert (escalation.call_id, escalation.dossier) == (caller.unique_id, CODE)
    stages = {e.stage for e in gateway.escalations if isinstance(e, QueueProgress)}
    assert {QueueStage.JOINED, QueueStage.RINGING, QueueStage.ANSWERED} <= stages
    assert gateway.bus.open_escalations() == ()


async def test_outside_hours_a_mobile_caller_gets_the_result_by_sms(
    link: AmiLinkSettings, callers: Callers
) -> None:
    async with hotline_gateway(link, DOSSIERS, operator_hours=NEVER_OPEN) as gateway:
        caller = await callers.dial(STRANGER)
        await look_up(caller, DIGITS)
        await caller.press("0")  # while the status plays
        sms_offer = await caller.answer("1")
        assert sms_offer.prompts == ("ivr/operators_closed_sms_offer",)
        menu = await caller.prompt()
        assert menu.prompts == ("ivr/sms_sent", "ivr/menu")
        assert [(phone, view.code) for phone, view in gateway.texter.sent] == [(STRANGER, CODE)]
        assert gateway.escalations == []


async def test_outside_hours_bad_tries_end_the_call_politely(
    link: AmiLinkSettings, callers: Callers
) -> None:
    async with hotline_gateway(link, DOSSIERS, operator_hours=NEVER_OPEN):
        caller = await callers.dial(STRANGER)
        await caller.until_end()
        assert caller.said()[-3:] == [
            "ivr/too_many_attempts",
            "ivr/operators_closed",
            "ivr/goodbye",
        ]
        assert caller.queue_events == []


async def test_the_call_length_cap_hands_over(link: AmiLinkSettings, callers: Callers) -> None:
    policy = replace(FAST_POLICY, max_call_seconds=3)
    async with hotline_gateway(link, DOSSIERS, policy=policy):
        caller = await callers.dial(STRANGER)
        await caller.prompt()
        # The dialplan's backstop follows the gateway's cap (600 s in the dialplan itself).
        assert float(await caller.variable("TIMEOUT(absolute)")) <= 3 + limits.CAP_GRACE
        await caller.until(QueueCallerJoin)
        assert await caller.variable("STATUSGW_REASON") == "call_too_long"


async def test_caller_hanging_up_mid_prompt_ends_the_session(
    gateway: HotlineGateway, callers: Callers
) -> None:
    summaries = ended_calls(gateway)
    caller = await callers.dial(STRANGER)
    await caller.answer(DIGITS + "#")
    await caller.prompt()  # the read-back is playing
    await caller.hang_up()
    await eventually(lambda: len(summaries) == 1)
    assert summaries[0].outcome is Outcome.ABANDONED
    assert summaries[0].path[-1] == "hangup"
    assert gateway.dispatcher.calls == 0


# --- faults -----------------------------------------------------------------------------------


class BrokenStatus(CatalogueScript):
    """The words, except that saying a status fails (a bug, or a status nobody foresaw)."""

    def status(self, view: DossierView) -> Spoken:
        raise RuntimeError(f"cannot say {view.status}")


async def test_a_failure_in_the_dialogue_sends_the_caller_to_the_operators(
    link: AmiLinkSettings, callers: Callers
) -> None:
    script = BrokenStatus(build_catalogue())
    async with hotline_gateway(link, DOSSIERS, script=script) as gateway:
        summaries = ended_calls(gateway)
        caller = await callers.dial(STRANGER)
        await caller.answer(DIGITS + "#")
        await caller.answer("1")
        await caller.until(QueueCallerJoin)
        assert await caller.variable("STATUSGW_OUTCOME") == "error"
        await eventually(lambda: len(summaries) == 1)
        assert summaries[0].outcome is Outcome.ERROR


async def serve(caller: Caller, digits: str = DIGITS) -> str:
    """A patient caller: answers whatever it is asked until it hears a status or is queued."""
    try:
        while True:
            question = (await caller.prompt(timeout=30)).prompts
            if question[:1] == ("ivr/status_is",):
                return "status"
            if question[-1] == "ivr/confirm_or_reenter":
                await asyncio.sleep(0.1)
                await caller.press("1")
            elif question[-1] == "ivr/enter_code":
                await asyncio.sleep(0.1)
                await caller.press(digits + "#")
    except AssertionError:  # the IVR let the call go: it must be on its way to the operators
        await caller.until(QueueCallerJoin, timeout=30)
        return "operators"


async def test_cutting_the_ami_link_mid_calls_loses_no_caller(
    asterisk: Asterisk, link: AmiLinkSettings, callers: Callers
) -> None:
    proxy = TcpProxy(asterisk.host, asterisk.port)
    await proxy.start()
    try:
        async with hotline_gateway(replace(link, port=proxy.port), DOSSIERS) as gateway:
            first = [await callers.dial(STRANGER) for _ in range(10)]
            runs = [asyncio.create_task(serve(c)) for c in first]
            await asyncio.sleep(1.0)  # callers are now at different steps
            proxy.cut()
            # Calls that arrive while the link is down are found by the recovery scan.
            second = [await callers.dial(STRANGER) for _ in range(10)]
            runs += [asyncio.create_task(serve(c)) for c in second]
            outcomes = await asyncio.gather(*runs)
            assert proxy.connections >= 2  # the gateway logged in again
            recovered = gateway.dispatcher.recoveries[-1]
            assert recovered.adopted + recovered.resumed > 0, recovered
            assert all(outcome in ("status", "operators") for outcome in outcomes), outcomes
            assert outcomes.count("status") >= 10
    finally:
        await proxy.stop()


async def set_global(session: AmiSession, name: str, value: str) -> None:
    await session.set_global(name, value)


async def test_without_the_gateway_callers_go_straight_to_the_operators(
    callers: Callers,
) -> None:
    await set_global(callers.session, HEARTBEAT_VARIABLE, "")
    channel = await callers.dial_unanswered(STRANGER)
    await callers.wait_event(channel, QueueCallerJoin, timeout=10)
    assert await callers.session.get_var("STATUSGW_OUTCOME", channel) == "gateway-down"


async def test_a_stale_heartbeat_sends_callers_to_the_operators(
    link: AmiLinkSettings, callers: Callers
) -> None:
    try:
        async with hotline_gateway(link, DOSSIERS, heartbeat_stale=2) as gateway:
            beat = int(await callers.session.get_var(HEARTBEAT_VARIABLE))
            assert await callers.session.get_var(MAX_AGE_VARIABLE) == "2"
            await gateway.heartbeat.stop(clear=False)  # the gateway hangs: no more beats
            await eventually(lambda: time.time() - beat > 3, timeout=10)
            channel = await callers.dial_unanswered(STRANGER)
            await callers.wait_event(channel, QueueCallerJoin, timeout=10)
            assert gateway.dispatcher.calls == 0
    finally:
        await set_global(callers.session, MAX_AGE_VARIABLE, "15")


@contextlib.asynccontextmanager
async def standby_pair(link: AmiLinkSettings) -> AsyncIterator[tuple[Hotline, Hotline]]:
    """Two gateways on one Asterisk competing for one advisory lock; the first one owns."""
    key = secrets.randbelow(2**31)
    async with contextlib.AsyncExitStack() as stack:
        hotlines: list[Hotline] = []
        for _ in range(2):
            gateway = await stack.enter_async_context(hotline_gateway(link, DOSSIERS, active=False))
            ownership = PostgresOwnership(PG_DSN, key, retry_interval=0.2, check_interval=0.2)
            hotline = Hotline(gateway.ami, gateway.dispatcher, gateway.heartbeat, ownership)
            await hotline.start()
            stack.push_async_callback(hotline.stop)
            hotlines.append(hotline)
            await eventually(lambda: hotlines[0].owner, timeout=10)
        yield hotlines[0], hotlines[1]


async def die(hotline: Hotline) -> None:
    """The owner's process dies: its lock connection, heartbeat and AMI link just stop."""
    assert hotline._task is not None
    hotline._task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await hotline._task
    await hotline.heartbeat.stop(clear=False)
    await hotline.dispatcher.close()
    await hotline.ami.close()


async def test_the_standby_takes_over_when_the_owner_dies(
    link: AmiLinkSettings, callers: Callers
) -> None:
    async with standby_pair(link) as (owner, standby):
        assert owner.owner and not standby.owner
        caller = await callers.dial(STRANGER)
        await caller.answer(DIGITS + "#")
        await eventually(lambda: owner.dispatcher.calls == 1)
        assert standby.dispatcher.calls == 0  # the standby leaves the owner's calls alone
        await die(owner)
        await eventually(lambda: standby.owner, timeout=10)
        # The call the dead owner left inside AsyncAGI is adopted and served to the end.
        assert await serve(caller) == "status"
        later = await callers.dial(STRANGER)
        assert await serve(later) == "status"
        assert standby.heartbeat.beats > 0


@pytest.mark.postgres
async def test_losing_the_lock_connection_loses_ownership() -> None:
    key = secrets.randbelow(2**31)
    history: dict[str, list[bool]] = {"first": [], "second": []}

    def recorder(name: str) -> Callable[[bool], Awaitable[None]]:
        async def changed(owned: bool) -> None:
            history[name].append(owned)

        return changed

    first = PostgresOwnership(PG_DSN, key, retry_interval=2.0, check_interval=0.1)
    second = PostgresOwnership(PG_DSN, key, retry_interval=0.1, check_interval=0.1)
    tasks = [asyncio.create_task(first.run(recorder("first")))]
    try:
        await eventually(lambda: first.owned)
        tasks.append(asyncio.create_task(second.run(recorder("second"))))
        await asyncio.sleep(0.3)
        assert not second.owned  # the lock is taken: standby
        admin = await asyncpg.connect(PG_DSN)
        try:
            terminated = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objid = $1 AND granted",
                key,
            )
        finally:
            await admin.close()
        assert terminated == 1
        await eventually(lambda: second.owned and not first.owned)
        assert history == {"first": [True, False], "second": [True]}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_gateway_as_run_answers_the_hotline(
    asterisk: Asterisk, callers: Callers, tmp_path: Path
) -> None:
    """``statusgw run`` with ``[ami] enabled``: the composition root's hotline serves a call."""
    settings = build_settings(
        {
            "ami": {
                "enabled": True,
                "host": asterisk.host,
                "port": asterisk.port,
                "username": asterisk.username,
                "secret": asterisk.secret,
            },
            "ivr": {"operator_hours": ["daily 00:00-24:00"], "heartbeat_interval": 1.0},
            "prompts": {"sound_prefix": SOUND_PREFIX, "dir": str(tmp_path)},
        }
    )
    prompts = render_config(settings)
    base = install_prompt_sounds(
        asterisk.root / SOUNDS, build_catalogue(prompts.agencies, prompts.style)
    )
    gateway = await start_gateway(settings)
    try:
        async with asyncio.timeout(10):  # the owner's first heartbeat opens the hotline
            while not await callers.session.get_var(HEARTBEAT_VARIABLE):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        caller = await callers.dial(STRANGER)  # the sample's second dossier is this caller's
        offer = await caller.answer("1")
        assert offer.prompts[:2] == ("ivr/greeting", "ivr/found_for_caller")
        status = await caller.prompt()
        assert status.prompts[:2] == ("ivr/status_is", "status/result_ready")
        assert await caller.variable("STATUSGW_DOSSIER") == "000.00.22.H29-240101-0002"
        await caller.hang_up()
        await caller.until_end()
    finally:
        await gateway.stop()
        remove_prompt_sounds(base)
    # A gateway that stopped empties its heartbeat: callers go straight to the operators.
    assert await callers.session.get_var(HEARTBEAT_VARIABLE) == ""
