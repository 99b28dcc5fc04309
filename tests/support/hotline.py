"""The hotline end to end on the real Asterisk: the gateway's IVR wired as the composition root
would wire it, simulated callers on an AMI session of their own, and prompt sound files.

Simulated callers (``Callers.dial``) originate ``Local/s@caller`` into ``1022@hotline`` with a
caller name that tags them (``sim3fa2c1-17``), so each one finds its own ``AsyncAGIStart``. They
see what the IVR plays through ``AGIExecStart`` (the ``Command`` text) and press keys with
``PlayDTMF Receive: true`` while a collecting command runs, as a person would while a prompt
plays. Events are routed by channel, so hundreds of callers share one AMI session cheaply.

Prompts are short tones written straight into the Asterisk root under their own prefix
(sentences a little longer than the fragments), so a test hears the dialogue's real prompt
ids without rendering speech.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import secrets
import shutil
import struct
import time
import wave
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from gateway.clock import SystemClock
from gateway.dossier import Dossier
from gateway.lookup import Channel
from gateway.ports import DossierSource
from gateway.privacy import DossierView
from ivr.agi import KEYS_VARIABLE
from ivr.ami import (
    AgentConnect,
    AgiExecEnd,
    AgiExecStart,
    AmiEvent,
    AmiLinkSettings,
    AmiSession,
    AsyncAgiEnd,
    AsyncAgiStart,
    QueueCallerJoin,
)
from ivr.call import CallPolicy, Script
from ivr.dispatcher import EVENT_FILTERS, Dispatcher
from ivr.escalation import EscalationBus, EscalationEvent
from ivr.heartbeat import Heartbeat
from ivr.hours import OperatorHours
from ivr.limits import AMI_PING_TIMEOUT
from ivr.script import CatalogueScript
from prompts.catalog import Catalogue, PromptKind, build_catalogue
from tests.support.lookup_fakes import ScriptedSource, build_service

SOUND_PREFIX = "statusgw-ivr-test"
ALWAYS_OPEN = ("daily 00:00-24:00",)
NEVER_OPEN: tuple[str, ...] = ()
KEY_GAP = 0.12  # seconds between keys (Asterisk drops keys received < ~50 ms apart)
SENTENCE_SECONDS = 0.5
FRAGMENT_SECONDS = 0.12

# Timeouts short enough for tests, in the proportions of the real ones.
FAST_POLICY = CallPolicy(
    first_digit_timeout=2.0,
    inter_digit_timeout=1.2,
    menu_timeout=1.5,
    wait_prompt_after=0.8,
    lookup_deadline=3.0,
)


# --- prompt sounds ------------------------------------------------------------------------


def _tone(path: Path, seconds: float, frequency: float) -> None:
    frames = int(8000 * seconds)
    samples = (int(6000 * math.sin(2 * math.pi * frequency * n / 8000)) for n in range(frames))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with wave.open(str(temporary), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    temporary.rename(path)


def install_prompt_sounds(
    sounds_dir: Path,
    catalogue: Catalogue,
    prefix: str = SOUND_PREFIX,
    *,
    sentence_seconds: float = SENTENCE_SECONDS,
    fragment_seconds: float = FRAGMENT_SECONDS,
) -> Path:
    """A tone per prompt at ``<sounds_dir>/<prefix>/vi/<id>.wav``; returns the prefix dir."""
    base = sounds_dir / prefix
    for index, prompt in enumerate(catalogue):
        long = prompt.kind in (PromptKind.SENTENCE, PromptKind.STATUS, PromptKind.AGENCY)
        seconds = sentence_seconds if long else fragment_seconds
        _tone(base / "vi" / f"{prompt.id}.wav", seconds, 300 + (index % 40) * 20)
    for path in base.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    base.chmod(0o755)
    return base


def remove_prompt_sounds(base: Path) -> None:
    shutil.rmtree(base, ignore_errors=True)


# --- the gateway's hotline --------------------------------------------------------------------


class RecordingTexter:
    """The SMS channel as the hotline sees it: records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, DossierView]] = []

    async def send_result(self, phone: str, view: DossierView) -> None:
        self.sent.append((phone, view))


@dataclass
class HotlineGateway:
    """The IVR side of the gateway: AMI link, dispatcher, heartbeat, lookup over a source."""

    ami: AmiSession
    dispatcher: Dispatcher
    heartbeat: Heartbeat
    bus: EscalationBus
    texter: RecordingTexter
    source: ScriptedSource
    escalations: list[EscalationEvent] = field(default_factory=list)


def link_settings(host: str, port: int, username: str, secret: str) -> AmiLinkSettings:
    """The gateway's link as the composition root makes it: only the dispatcher's events."""
    return AmiLinkSettings(
        host, port, username, secret, event_filters=EVENT_FILTERS, ping_timeout=AMI_PING_TIMEOUT
    )


@contextlib.asynccontextmanager
async def hotline_gateway(
    link: AmiLinkSettings,
    dossiers: Sequence[Dossier],
    *,
    source: DossierSource | None = None,
    policy: CallPolicy = FAST_POLICY,
    operator_hours: Iterable[str] = ALWAYS_OPEN,
    catalogue: Catalogue | None = None,
    active: bool = True,
    heartbeat_interval: float = 1.0,
    heartbeat_stale: int = 15,
    voice_deadline: float = 1.5,
    script: Script | None = None,
) -> AsyncIterator[HotlineGateway]:
    """A running hotline; on exit it stops, empties the heartbeat and logs off.

    Lookups go to a :class:`ScriptedSource` over ``dossiers`` (``gateway.source``, which a test
    can make slow or failing), or to ``source`` when one is given.
    """
    catalogue = catalogue or build_catalogue()
    clock = SystemClock()
    scripted = ScriptedSource(dossiers)
    lookup = build_service([source or scripted], deadlines={Channel.VOICE: voice_deadline})
    ami = AmiSession(link)
    bus = EscalationBus()
    texter = RecordingTexter()
    dispatcher = Dispatcher(
        ami=ami,
        lookup=lookup,
        script=script or CatalogueScript(catalogue),
        hours=OperatorHours.parse(operator_hours, "Asia/Ho_Chi_Minh"),
        clock=clock,
        bus=bus,
        texter=texter,
        sound_prefix=SOUND_PREFIX,
        policy=policy,
    )
    heartbeat = Heartbeat(ami, clock, interval=heartbeat_interval, stale=heartbeat_stale)
    gateway = HotlineGateway(ami, dispatcher, heartbeat, bus, texter, scripted)
    bus.subscribe(gateway.escalations.append)
    dispatcher.attach()
    await ami.connect()
    try:
        if active:
            heartbeat.start()
            await heartbeat.beat()
            await dispatcher.activate()
        yield gateway
    finally:
        await heartbeat.stop(clear=True)
        await dispatcher.close()
        await lookup.close()
        await ami.close()


# --- simulated callers ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heard:
    """One command the IVR ran on the caller's channel, as the caller experiences it."""

    command: str
    at: float  # time.monotonic() when Asterisk started it

    @property
    def collects(self) -> bool:
        return self.command.startswith("EXEC Read ")

    @property
    def plays(self) -> bool:
        return self.command.startswith(("EXEC Read ", "EXEC Playback "))

    @property
    def prompts(self) -> tuple[str, ...]:
        """The prompt ids, without the sound prefix (``ivr/menu``, ``digits/5``)."""
        words = self.command.split(" ", 2)
        if len(words) < 3 or not self.plays:
            return ()
        files = words[2].split(",")[1] if self.collects else words[2]
        marker = f"{SOUND_PREFIX}/vi/"
        return tuple(f.removeprefix(marker) for f in files.split("&") if f)


class Callers:
    """Simulated callers sharing one AMI session; events are routed to each by channel."""

    FILTERS = (
        "Event: AGIExecStart",
        "Event: AGIExecEnd",
        "Event: AsyncAGIStart",
        "Event: AsyncAGIEnd",
        "Event: OriginateResponse",
        "Event: QueueCallerJoin",
        "Event: AgentConnect",
    )

    def __init__(
        self,
        session: AmiSession,
        *,
        every_channel: bool = True,
        key_sessions: Sequence[AmiSession] = (),
    ) -> None:
        self.session = session
        # Asterisk runs one session's actions one at a time: with many callers, their keys go
        # over sessions of their own (no events), or one caller's key waits behind others'.
        self._key_sessions = list(key_sessions) or [session]
        self._next_key_session = itertools.cycle(self._key_sessions)
        self._boxes: dict[str, asyncio.Queue[AmiEvent]] = defaultdict(asyncio.Queue)
        self._starts: dict[str, asyncio.Future[AsyncAgiStart]] = {}
        self._tags = itertools.count(1)
        self._prefix = f"sim{secrets.token_hex(3)}-"  # sessions see each other's calls
        self._every_channel = every_channel  # False: only this session's calls (cheaper)
        self._mine: set[str] = set()
        self._unsubscribe = [
            session.on_event(name, self._route)
            for name in (
                "AGIExecStart",
                "AGIExecEnd",
                "AsyncAGIEnd",
                "QueueCallerJoin",
                "AgentConnect",
            )
        ]
        self._unsubscribe.append(session.on_event("AsyncAGIStart", self._started))

    @classmethod
    @contextlib.asynccontextmanager
    async def connected(
        cls, link: AmiLinkSettings, *, every_channel: bool = True, key_sessions: int = 0
    ) -> AsyncIterator[Callers]:
        session = AmiSession(
            replace(link, events="call,agi,agent", event_filters=cls.FILTERS, action_timeout=30.0)
        )
        keys = [
            AmiSession(replace(link, events="off", event_filters=(), action_timeout=30.0))
            for _ in range(key_sessions)
        ]
        try:
            for each in (session, *keys):
                await each.connect()
            yield cls(session, every_channel=every_channel, key_sessions=keys)
        finally:
            for each in (session, *keys):
                await each.close()

    def _route(self, event: AmiEvent) -> None:
        channel = getattr(event, "channel", "")
        if channel and (self._every_channel or channel in self._mine):
            self._boxes[channel].put_nowait(event)

    def _started(self, event: AmiEvent) -> None:
        if isinstance(event, AsyncAgiStart) and event.caller_name in self._starts:
            self._mine.add(event.channel)
            future = self._starts.pop(event.caller_name)
            if not future.done():
                future.set_result(event)

    async def dial(self, caller_id: str | None = "0912345678", timeout: float = 15.0) -> Caller:
        """Call the hotline and wait until the gateway may drive the call (AsyncAGIStart)."""
        tag = f"{self._prefix}{next(self._tags)}"
        started = asyncio.get_running_loop().create_future()
        self._starts[tag] = started
        caller = f'"{tag}" <{caller_id}>' if caller_id else f'"{tag}" <>'
        await self.session.originate(
            "Local/s@caller", context="hotline", exten="1022", caller_id=caller
        )
        async with asyncio.timeout(timeout):
            start = await started
        box = self._boxes[start.channel]
        return Caller(self, start.channel, start.uniqueid, box, next(self._next_key_session))

    async def dial_unanswered(self, caller_id: str = "0912345678") -> str:
        """Call the hotline without waiting for AGI (it may never come); the ;1 channel."""
        response = await self.session.originate(
            "Local/s@caller", context="hotline", exten="1022", caller_id=caller_id
        )
        return response.channel

    async def wait_event(
        self, channel: str, kind: type[AmiEvent], timeout: float = 20.0
    ) -> AmiEvent:
        """The next ``kind`` event on ``channel`` (for calls placed with dial_unanswered)."""
        box = self._boxes[channel]
        async with asyncio.timeout(timeout):
            while True:
                event = await box.get()
                if isinstance(event, kind):
                    return event

    def forget(self, channel: str) -> None:
        self._boxes.pop(channel, None)
        self._mine.discard(channel)


class Caller:
    """One simulated caller on the hotline half ``channel`` (``Local/s@caller-N;1``)."""

    def __init__(
        self,
        callers: Callers,
        channel: str,
        unique_id: str,
        box: asyncio.Queue[AmiEvent],
        keys: AmiSession,
    ) -> None:
        self._callers = callers
        self.session = callers.session
        self._keys = keys
        self.channel = channel
        self.unique_id = unique_id
        self._box = box
        self.heard: list[Heard] = []
        self.ended = False
        self.queue_events: list[AmiEvent] = []
        self.last_key_at: float | None = None
        self.longest_gap = 0.0  # seconds between one AGI command's end and the next's start
        self._ended_at: float | None = None

    @property
    def caller_half(self) -> str:
        return self.channel[:-1] + "2"

    async def _next(self, timeout: float) -> AmiEvent:
        async with asyncio.timeout(timeout):
            event = await self._box.get()
        if isinstance(event, AsyncAgiEnd):
            self.ended = True
        elif isinstance(event, AgiExecStart):
            now = time.monotonic()
            self.heard.append(Heard(event.command, now))
            if self._ended_at is not None:
                self.longest_gap = max(self.longest_gap, now - self._ended_at)
        elif isinstance(event, AgiExecEnd):
            self._ended_at = time.monotonic()
        elif isinstance(event, QueueCallerJoin | AgentConnect):
            self.queue_events.append(event)
        return event

    async def prompt(self, timeout: float = 20.0) -> Heard:
        """Wait until the IVR asks something (a collecting command starts)."""
        while True:
            event = await self._next(timeout)
            if isinstance(event, AsyncAgiEnd):
                raise AssertionError(f"the IVR ended the call instead; heard {self.said()}")
            if isinstance(event, AgiExecStart) and self.heard[-1].collects:
                return self.heard[-1]

    async def answer(self, keys: str, *, delay: float = 0.15, timeout: float = 20.0) -> Heard:
        """Wait for the next question, then key in ``keys`` while it plays; returns it."""
        heard = await self.prompt(timeout)
        await asyncio.sleep(delay)
        await self.press(keys)
        return heard

    async def press(self, keys: str, gap: float = KEY_GAP) -> None:
        for index, key in enumerate(keys):
            if index:
                await asyncio.sleep(gap)
            await self._keys.play_dtmf(self.channel, key, receive=True)
            # Asterisk answers once the key is queued on the channel: the key is "pressed".
            self.last_key_at = time.monotonic()

    async def until_heard(self, prompt_id: str, timeout: float = 20.0) -> Heard:
        """Let the IVR go on until it plays ``prompt_id`` (in any command)."""
        while True:
            event = await self._next(timeout)
            if isinstance(event, AsyncAgiEnd):
                raise AssertionError(f"the call ended before {prompt_id}; heard {self.said()}")
            if isinstance(event, AgiExecStart) and prompt_id in self.heard[-1].prompts:
                return self.heard[-1]

    async def until_end(self, timeout: float = 20.0) -> None:
        """Let the IVR go on (no keys) until the call leaves AsyncAGI."""
        while not self.ended:
            await self._next(timeout)

    async def until(self, kind: type[AmiEvent], timeout: float = 20.0) -> AmiEvent:
        while True:
            event = await self._next(timeout)
            if isinstance(event, kind):
                return event

    async def hang_up(self) -> None:
        """The caller puts the phone down (the far half of the Local channel hangs up)."""
        await self._keys.hangup(self.caller_half)

    async def variable(self, name: str) -> str:
        return await self._keys.get_var(name, self.channel)

    def said(self) -> list[str]:
        """Every prompt id played so far, in order."""
        return [p for heard in self.heard for p in heard.prompts]

    def questions(self) -> list[tuple[str, ...]]:
        return [heard.prompts for heard in self.heard if heard.collects]

    def close(self) -> None:
        self._callers.forget(self.channel)


__all__ = [
    "ALWAYS_OPEN",
    "FAST_POLICY",
    "KEYS_VARIABLE",
    "NEVER_OPEN",
    "SOUND_PREFIX",
    "Caller",
    "Callers",
    "Heard",
    "HotlineGateway",
    "RecordingTexter",
    "hotline_gateway",
    "install_prompt_sounds",
    "link_settings",
    "remove_prompt_sounds",
]
