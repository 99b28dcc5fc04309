"""``statusgw demo``: the whole SMS path on the embedded defaults, with no external service.

A development SMSC runs in the process; the gateway binds to it over real SMPP on loopback,
reads the bundled sample dossiers, and answers a scripted set of citizen messages. With
``--stay`` it then takes messages typed on the terminal, and serves the operator console
(``--http-port``, 8080 by default) with sample escalated calls and accounts printed here.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from gateway.app import start_gateway
from gateway.console.demo import OPERATOR, SUPERVISOR, DemoAccounts, demo_accounts, play_hotline
from gateway.logging import configure_logging
from gateway.phone import mask_msisdn
from gateway.settings import Settings, build_settings
from sms.devsmsc import DevReply, DevSmsc
from sms.text import gsm7_decode

SHORT_CODE = "8283"
_SYSTEM_ID, _PASSWORD = "statusgw", "demo"
_REPLY_WAIT = 10.0


@dataclass(frozen=True, slots=True)
class Scene:
    title: str
    sender: str
    text: str


SCRIPT = (
    Scene("a citizen looks a dossier up", "84901000001", "TRA 000.00.22.H29-240101-0001"),
    Scene(
        "the applicant's own phone (second factor: more detail)",
        "84912345678",
        "tra cứu 000.00.22.H29-240101-0001",
    ),
    Scene("messy typing: spaces, lower case", "84901000002", "hs  000 00 22 h29 240101 0002."),
    Scene("a code that does not exist", "84901000003", "TRA 000.00.22.H29-240101-0999"),
    Scene("a procedure code by mistake", "84901000004", "TC 1.000494.000.00.00.H29"),
    Scene(
        "a long accented message (sent in two parts)",
        "84901000005",
        "Cho tôi hỏi hồ sơ 38.98.H29-210519-0013 của tôi đã giải quyết đến đâu rồi ạ? "
        "Tôi nộp ở UBND quận 1, cảm ơn cán bộ rất nhiều.",
    ),
    Scene(
        "two codes in one message",
        "84901000006",
        "HS 000.17.22.H56-210531-0001 000.00.06.H56-231027-0361",
    ),
    Scene("asking for help", "84901000007", "HD"),
)


def decode_for_display(payload: bytes, data_coding: int) -> str:
    if data_coding == 8:
        return payload.decode("utf-16-be", errors="replace")
    return gsm7_decode(payload)


def demo_settings(port: int, console: dict[str, object] | None = None) -> Settings:
    return build_settings(
        (console or {})
        | {
            "smpp": {
                "enabled": True,
                "port": port,
                "system_id": _SYSTEM_ID,
                "password": _PASSWORD,
                "short_code": SHORT_CODE,
                "throughput": 0.0,
                "reconnect_max": 2.0,
                "drain_timeout": 3.0,
            },
            "log": {"level": "warning", "format": "console"},
        }
    )


async def run_demo(stay: bool = False, port: int = 0, http_port: int = 8080) -> int:
    smsc = DevSmsc(_SYSTEM_ID, _PASSWORD, decode_for_display)
    bound_port = await smsc.start(port=port)
    accounts = demo_accounts() if stay else None
    settings = demo_settings(bound_port, accounts.settings(http_port) if accounts else None)
    configure_logging(settings.log.level, settings.log.format)
    gateway = await start_gateway(settings)
    hotline: asyncio.Task[None] | None = None
    if accounts is not None:
        hotline = asyncio.create_task(play_hotline(gateway.escalations, gateway.clock))
        _say_console(accounts, http_port)
    try:
        await smsc.wait_bound(10.0)
        _say(f"statusgw demo: a development SMSC on 127.0.0.1:{bound_port}, short code")
        _say(f"{SHORT_CODE}, the bundled sample dossiers. Every message below travels over SMPP.")
        for scene in SCRIPT:
            _say(f"\n# {scene.title}")
            await _exchange(smsc, scene.sender, scene.text)
        if stay:
            await _interactive(smsc)
    finally:
        if hotline is not None:
            hotline.cancel()
        await gateway.stop()
        await smsc.close()
    return 0


def _say_console(accounts: DemoAccounts, http_port: int) -> None:
    _say(f"Operator console: http://127.0.0.1:{http_port}/console/ (sample calls arrive there)")
    _say(f"  operator:   {OPERATOR} / {accounts.password}")
    _say(f"  supervisor: {SUPERVISOR} / {accounts.password}")
    _say(f"  metrics:    http://127.0.0.1:{http_port}/metrics\n")


async def _exchange(smsc: DevSmsc, sender: str, text: str) -> list[DevReply]:
    _say(f"  {mask_msisdn(sender)} → {SHORT_CODE}: {text}")
    await smsc.send_mo(sender, text, SHORT_CODE)
    replies: list[DevReply] = []
    try:
        async with asyncio.timeout(_REPLY_WAIT):
            replies.append(await smsc.replies.get())
            while True:  # a message may be answered with several replies
                async with asyncio.timeout(0.3):
                    replies.append(await smsc.replies.get())
    except TimeoutError:
        pass
    for reply in replies:
        coding = "UCS-2" if reply.data_coding == 8 else "GSM-7"
        _say(f"  {reply.source} → {mask_msisdn(reply.destination)}: {reply.text}")
        _say(f"      ({coding}, {reply.parts} part{'s' if reply.parts > 1 else ''})")
    if not replies:
        _say("  (no reply)")
    return replies


async def _interactive(smsc: DevSmsc) -> None:
    _say(f"\nType a message to {SHORT_CODE} (Ctrl-D to stop):")
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if line.strip():
            await _exchange(smsc, "84909999999", line.strip())


def _say(text: str) -> None:
    print(text, flush=True)


__all__ = ["run_demo"]
