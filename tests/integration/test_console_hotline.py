"""A real caller presses 0 on the real Asterisk; the operator's console shows the call with
what the IVR said, ringing at (then answered by) the operator's desk in the queue."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from gateway.audit import MemoryAuditLog
from gateway.clock import SystemClock
from gateway.console.board import CallState
from gateway.console.web import Console
from gateway.operations import MemoryCallLog
from gateway.reports import MemoryReportData
from gateway.settings import ConsoleSettings
from ivr.ami import AmiLinkSettings, QueueCallerJoin
from prompts.catalog import build_catalogue
from tests.support.asterisk import SOUNDS, Asterisk
from tests.support.console import OPERATOR, PASSWORD, password_hash
from tests.support.fake_ami import eventually
from tests.support.hotline import (
    Callers,
    HotlineGateway,
    hotline_gateway,
    install_prompt_sounds,
    link_settings,
    remove_prompt_sounds,
)
from tests.support.lookup_fakes import CODE, ScriptedSource, build_service, dossier

pytestmark = pytest.mark.asterisk

DIGITS = "0000022292401010001"  # CODE on the keypad
CALLER = "0987654321"
DESK = "Desk 1"  # the operators queue's member in config/asterisk/queues.conf
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


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
async def hotline(link: AmiLinkSettings, callers: Callers) -> AsyncIterator[HotlineGateway]:
    async with hotline_gateway(link, [dossier(CODE)]) as gateway:
        yield gateway


@pytest_asyncio.fixture
async def console(hotline: HotlineGateway) -> AsyncIterator[tuple[Console, str]]:
    audit, calls = MemoryAuditLog(), MemoryCallLog()
    settings = ConsoleSettings(
        enabled=True, users=(f"{OPERATOR}:operator:{password_hash()}",), members={OPERATOR: DESK}
    )
    lookup = build_service([ScriptedSource([dossier(CODE)])])
    console = Console(
        settings,
        bus=hotline.bus,
        lookup=lookup,
        calls=calls,
        reports=MemoryReportData(audit, calls),
        clock=SystemClock(),
    )
    console.start()
    root = web.Application()
    root.add_subapp("/console", console.app())
    runner = web.AppRunner(root)
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield console, f"http://127.0.0.1:{port}"
    finally:
        await console.close()
        await runner.cleanup()
        await lookup.close()


async def test_the_operator_sees_the_escalated_caller_with_the_ivr_context(
    hotline: HotlineGateway, callers: Callers, console: tuple[Console, str]
) -> None:
    board, base = console[0].board, console[1]
    caller = await callers.dial(CALLER)
    await caller.answer(DIGITS + "#")
    await caller.answer("1")  # confirm the code read back
    await caller.prompt()  # the status, then the menu
    await caller.press("0")
    await caller.until(QueueCallerJoin)
    await eventually(lambda: board.find(caller.unique_id) is not None)
    # The desk in config/asterisk answers by itself: the call ends up on its operator's screen.
    await eventually(
        lambda: any(
            c.call_id == caller.unique_id and c.state is CallState.CONNECTED
            for c in board.live.values()
        )
    )
    call = board.find(caller.unique_id)
    assert call is not None and call.operator == DESK
    assert call.escalation.dossier == CODE
    assert call.escalation.said.startswith("trạng thái: đang được xử lý")

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/console/login") as response:
            token = _CSRF.search(await response.text())
        assert token is not None
        async with http.post(
            f"{base}/console/login",
            data={"csrf": token[1], "name": OPERATOR, "password": PASSWORD},
        ) as response:
            page = await response.text()
    assert "0987***321 — Đang nghe" in page
    assert CODE in page and "trạng thái: đang được xử lý" in page
    assert "Người gọi bấm phím 0" in page
