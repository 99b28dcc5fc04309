"""Runs one :class:`ivr.call.CallSession` per call over the AMI link (the asyncio side).

``AsyncAGIStart`` creates a call: a task that feeds its session the events of that call one
at a time (keys, lookup answers, timers, the end of AGI) and carries out the commands the
session returns. Nothing here decides what to say.

How commands are carried out, and why:

- AGI lines of one step are sent back to back without waiting for each result: AsyncAGI runs
  queued commands one after another but looks for new ones only every ~100 ms, so a step that
  waited for each ``SET VARIABLE`` would add that wait per line. Results are watched by tasks;
  only the collecting command's answer (``GET FULL VARIABLE``) is fed back as :class:`Keys`.
- Lookups run as tasks bounded by the session's own deadline, answering with the request's
  ``ref``; a session ignores an answer that is no longer for its latest request.
- Timers are ``call_later`` handles with a generation: one replaced or cancelled never fires.

Guard rails:

- A command that fails because the channel left AGI or hung up ends the session (the outcome
  was written to the channel beforehand). One that gets no result within its budget means the
  channel is stuck: the call is redirected to the operators with ``STATUSGW_OUTCOME=error``,
  as is a call whose session raised. No caller is left in silence inside AsyncAGI.
- A command lost with the AMI link marks the call; after the next login ``recover()`` lists
  the channels (``CoreShowChannels``): a marked call still in AsyncAGI is asked its current
  question again, a call that left meanwhile is ended, and a channel in AsyncAGI that no call
  here owns (left by a dead owner, or before a restart) is adopted as a new call.
- Only the owner (see ``ivr.ownership``) takes calls; on losing ownership the calls are let go
  without touching their channels, for the new owner to adopt.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from gateway.clock import Clock
from gateway.lookup import Channel, DigitsKind, DigitsMatch
from gateway.lookup import Outcome as LookupOutcome
from ivr import agi, limits
from ivr.ami.errors import AmiError, AmiFailure
from ivr.ami.events import AmiEvent, AsyncAgiEnd, AsyncAgiStart, ChannelInfo
from ivr.ami.session import AmiSession
from ivr.call import (
    VAR_OUTCOME,
    CallEnv,
    CallPolicy,
    CallSession,
    CallSummary,
    Outcome,
    Script,
    State,
)
from ivr.commands import (
    Ambiguous,
    Answer,
    CancelTimer,
    Collect,
    Command,
    Escalate,
    FindByDigits,
    FindByPhone,
    Found,
    Hangup,
    Keys,
    LookupFailed,
    NotFound,
    PhoneMatches,
    Play,
    SetVariables,
    StartTimer,
    TextResult,
    Timer,
)
from ivr.escalation import Escalation, EscalationBus
from ivr.hours import OperatorHours
from ivr.ports import ResultTexter, VoiceLookup

log = structlog.get_logger(__name__)

# The events the dispatcher needs from the link (as AMI ``Filter`` rules for the login).
EVENT_FILTERS = (
    "Event: AsyncAGIStart",
    "Event: AsyncAGIExec",
    "Event: AsyncAGIEnd",
    "Event: QueueCaller",
    "Event: AgentCalled",
    "Event: AgentConnect",
    "Event: FullyBooted",
    "Event: Shutdown",
)
_QUEUE_EVENTS = (
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
)


@dataclass(frozen=True, slots=True)
class HotlineRoute:
    """Where the dialplan takes a caller the gateway gives up on (the operators queue)."""

    context: str = "hotline"
    exten: str = "operators"
    priority: int = 1


# --- events of one call, as its task sees them ----------------------------------------------


@dataclass(frozen=True, slots=True)
class _TimerFired:
    timer: Timer
    generation: int


@dataclass(frozen=True, slots=True)
class _Ended:
    """The channel left AsyncAGI (hangup, break, or found gone by a recovery scan)."""


@dataclass(frozen=True, slots=True)
class _Stuck:
    """A command got no result within its budget, or Asterisk refused it."""

    detail: str


@dataclass(frozen=True, slots=True)
class _Recover:
    pass


_Event = Keys | Answer | _TimerFired | _Ended | _Stuck | _Recover


@dataclass(eq=False)
class _Call:
    session: CallSession
    started: float
    events: asyncio.Queue[_Event] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    timers: dict[Timer, asyncio.TimerHandle] = field(default_factory=dict)
    generations: dict[Timer, int] = field(default_factory=dict)
    digit_timeouts: agi.DigitTimeouts | None = None
    work: set[asyncio.Task[None]] = field(default_factory=set)
    link_lost: bool = False
    failed: bool = False
    released: bool = False  # let go for another owner: the call goes on without us

    @property
    def channel(self) -> str:
        return self.session.env.channel

    @property
    def unique_id(self) -> str:
        return self.session.env.unique_id

    def post(self, event: _Event) -> None:
        self.events.put_nowait(event)


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    resumed: int = 0
    adopted: int = 0
    ended: int = 0


class Dispatcher:
    """Routes AsyncAGI calls to dialogue sessions and carries out their commands."""

    def __init__(
        self,
        *,
        ami: AmiSession,
        lookup: VoiceLookup,
        script: Script,
        hours: OperatorHours,
        clock: Clock,
        bus: EscalationBus,
        texter: ResultTexter,
        sound_prefix: str,
        policy: CallPolicy | None = None,
        route: HotlineRoute | None = None,
        command_timeout: float = limits.COLLECT_COMMAND_TIMEOUT,
    ) -> None:
        self._ami = ami
        self._lookup = lookup
        self._script = script
        self._hours = hours
        self._clock = clock
        self._bus = bus
        self._texter = texter
        self._prefix = sound_prefix
        self._policy = policy or CallPolicy()
        self._route = route or HotlineRoute()
        self._command_timeout = command_timeout  # no result by then: the channel is stuck
        self._calls: dict[str, _Call] = {}
        self._active = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._ended: list[Callable[[CallSummary], None]] = []
        self.completed = 0
        self.recoveries: list[RecoveryReport] = []  # the latest scans, newest last

    # --- lifecycle ------------------------------------------------------------------------

    def attach(self) -> None:
        """Listen to the link (once). Calls are taken only while :meth:`activate` d."""
        if self._unsubscribe:
            return
        on = self._ami.on_event
        self._unsubscribe = [
            on("AsyncAGIStart", self._on_start),
            on("AsyncAGIEnd", self._on_end),
            *(on(name, self._on_queue_event) for name in _QUEUE_EVENTS),
            self._ami.on_link(self._on_link),
        ]

    async def activate(self) -> RecoveryReport:
        """Become the one that drives calls; adopt the calls left in AsyncAGI."""
        self._active = True
        log.info("ivr_dispatcher_active")
        if not self._ami.connected:
            return RecoveryReport()
        return await self.recover()

    async def deactivate(self) -> None:
        """Stop driving calls (ownership lost): let them go without touching the channels."""
        self._active = False
        calls = list(self._calls.values())
        self._calls.clear()
        for call in calls:
            await self._release(call)
        log.warning("ivr_dispatcher_standby", released=len(calls))

    async def drain(self, timeout: float) -> None:
        """Take no new calls; give the current ones ``timeout`` s, then hand them over."""
        self._active = False
        tasks = [c.task for c in self._calls.values() if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for call in list(self._calls.values()):
            await self._redirect(call, "shutdown")
            await self._release(call)
        self._calls.clear()

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for call in list(self._calls.values()):
            await self._release(call)
        self._calls.clear()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def on_call_ended(self, listener: Callable[[CallSummary], None]) -> Callable[[], None]:
        """Call ``listener`` with each finished call's summary (metrics, tests)."""
        self._ended.append(listener)
        return lambda: self._ended.remove(listener) if listener in self._ended else None

    @property
    def active(self) -> bool:
        return self._active

    @property
    def calls(self) -> int:
        return len(self._calls)

    def state_of(self, unique_id: str) -> State | None:
        call = self._calls.get(unique_id)
        return call.session.state if call else None

    # --- AMI events (inside the reader: never block) --------------------------------------

    def _on_start(self, event: AmiEvent) -> None:
        if not isinstance(event, AsyncAgiStart) or not self._active:
            return
        if event.uniqueid in self._calls:
            return  # already adopted by a recovery scan
        self._begin(CallEnv(event.channel, event.uniqueid, event.caller_id))

    def _on_end(self, event: AmiEvent) -> None:
        if isinstance(event, AsyncAgiEnd):
            call = self._calls.get(event.uniqueid)
            if call is not None:
                call.post(_Ended())

    def _on_queue_event(self, event: AmiEvent) -> None:
        self._bus.follow(event, self._clock.now())

    def _on_link(self, up: bool) -> None:
        if up and self._active:
            self._spawn(self._recover_logged())

    # --- one call -------------------------------------------------------------------------

    def _begin(self, env: CallEnv, *, adopted: bool = False) -> _Call:
        session = CallSession(env, self._script, self._operators_open, self._policy)
        call = _Call(session, time.monotonic())
        self._calls[env.unique_id] = call
        call.task = asyncio.create_task(self._run(call, adopted), name=f"call-{env.unique_id}")
        return call

    def _operators_open(self) -> bool:
        return self._hours.is_open(self._clock.now())

    async def _run(self, call: _Call, adopted: bool) -> None:
        log_ = log.bind(call_id=call.unique_id)
        try:
            self._execute(call, call.session.start())
            while call.session.state is not State.ENDED:
                event = await call.events.get()
                self._execute(call, self._feed(call, event))
        except asyncio.CancelledError:
            raise
        except Exception:
            log_.exception("call_failed")
            call.failed = True
            await self._redirect(call, "error")
        finally:
            self._finish(call, adopted)

    def _feed(self, call: _Call, event: _Event) -> list[Command]:
        session = call.session
        match event:
            case Keys():
                return session.on_keys(event)
            case PhoneMatches() | Found() | NotFound() | Ambiguous() | LookupFailed():
                return session.on_answer(event)
            case _TimerFired(timer=timer, generation=generation):
                if call.generations.get(timer) != generation:
                    return []  # replaced or cancelled after it was queued
                call.timers.pop(timer, None)
                return session.on_timeout(timer)
            case _Ended():
                return session.on_hangup()
            case _Recover():
                return session.recover()
            case _Stuck(detail=detail):
                raise RuntimeError(f"channel stuck: {detail}")
        return []

    def _finish(self, call: _Call, adopted: bool) -> None:
        self._cancel_timers(call)
        for task in call.work:
            task.cancel()
        if self._calls.get(call.unique_id) is call:
            del self._calls[call.unique_id]
        summary = call.session.summary
        if call.released:
            log.info("call_released", call_id=summary.unique_id, state=summary.state.value)
            return
        self.completed += 1
        if call.failed:
            summary = replace(summary, outcome=Outcome.ERROR)
        log.info(
            "call_ended",
            call_id=summary.unique_id,
            caller=call.session.env.caller,
            outcome=summary.outcome.value,
            dossier=summary.dossier,
            lookups=summary.lookups,
            path=">".join(summary.path),
            escalation=summary.escalation.value if summary.escalation else None,
            adopted=adopted,
            seconds=round(time.monotonic() - call.started, 1),
        )
        for listener in list(self._ended):
            try:
                listener(summary)
            except Exception:
                log.exception("call_ended_listener_failed")

    async def _release(self, call: _Call) -> None:
        call.released = True
        if call.task is not None and not call.task.done():
            call.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call.task

    # --- carrying out commands ------------------------------------------------------------

    def _execute(self, call: _Call, commands: list[Command]) -> None:
        lines: list[str] = []  # AGI lines of this step, sent together at the end
        answer = False
        for command in commands:
            match command:
                case SetVariables():
                    lines += agi.set_lines(command)
                case Play():
                    lines += agi.play_lines(command, self._prefix)
                case Collect():
                    collect, call.digit_timeouts = agi.collect_lines(
                        command, self._prefix, call.digit_timeouts
                    )
                    lines += collect
                    answer = True  # a Collect is the last AGI command of a step
                case FindByPhone():
                    self._work(call, self._find_by_phone(call, command))
                case FindByDigits():
                    self._work(call, self._find_by_digits(call, command))
                case StartTimer():
                    self._arm(call, command)
                case CancelTimer():
                    self._disarm(call, command.timer)
                case TextResult():
                    self._spawn(self._text(command))
                case Escalate():
                    self._publish(call, command)
                    lines.append(agi.BREAK)
                case Hangup():
                    lines.append(agi.HANGUP)
        self._send(call, agi.merge_msets(lines), answer=answer)

    def _send(self, call: _Call, lines: list[str], *, answer: bool = False) -> None:
        """Queue ``lines`` on the channel in order; the last one answers if ``answer``."""
        for index, line in enumerate(lines):
            is_answer = answer and index == len(lines) - 1
            self._work(call, self._command(call, line, is_answer))

    async def _command(self, call: _Call, line: str, is_answer: bool) -> None:
        try:
            result = await self._ami.agi(call.channel, line, self._command_timeout)
        except AmiError as exc:
            self._command_failed(call, line, exc)
            return
        if not is_answer:
            return
        keys = agi.keys_from(result)
        # Read ending without keys or timeout means the caller hung up (AsyncAGIEnd follows)
        # or Asterisk could not run it; either way the session cannot go on in AGI.
        call.post(keys if keys is not None else _Stuck(f"Read answered {result.line!r}"))

    def _command_failed(self, call: _Call, line: str, exc: AmiError) -> None:
        if exc.reason is AmiFailure.CHANNEL_GONE:
            call.post(_Ended())
        elif exc.reason is AmiFailure.DISCONNECTED:
            call.link_lost = True
        elif call.session.state is not State.ENDED:
            verb = " ".join(line.split()[:2])
            call.post(_Stuck(f"{verb}: {exc}"))

    async def _find_by_phone(self, call: _Call, command: FindByPhone) -> None:
        views: list[Any] = []
        try:
            async with asyncio.timeout(limits.PHONE_MATCH_DEADLINE + 1):
                views = await self._lookup.by_phone(command.phone, Channel.VOICE)
        except Exception as exc:
            log.warning("caller_number_lookup_failed", call_id=call.unique_id, error=str(exc))
        call.post(PhoneMatches(command.ref, tuple(views)))

    async def _find_by_digits(self, call: _Call, command: FindByDigits) -> None:
        answer: Answer = LookupFailed(command.ref)
        try:
            async with asyncio.timeout(self._policy.lookup_deadline + 1):
                match = await self._lookup.by_digits(command.digits, Channel.VOICE, command.caller)
            answer = answer_of(match, command.ref)
        except Exception as exc:
            log.warning("lookup_failed", call_id=call.unique_id, error=str(exc) or type(exc))
        call.post(answer)

    async def _text(self, command: TextResult) -> None:
        try:
            async with asyncio.timeout(limits.SMS_SEND_TIMEOUT):
                await self._texter.send_result(command.phone, command.view)
        except Exception as exc:
            log.warning("sms_result_failed", phone=command.phone, error=str(exc) or type(exc))

    def _publish(self, call: _Call, command: Escalate) -> None:
        env = call.session.env
        self._bus.publish(
            Escalation(
                call_id=env.unique_id,
                channel=env.channel,
                caller=env.caller,
                reason=command.reason,
                dossier=command.dossier,
                status=command.status,
                entered=command.entered,
                said=command.said,
                path=command.path,
                at=self._clock.now(),
            )
        )

    # --- timers ---------------------------------------------------------------------------

    def _arm(self, call: _Call, command: StartTimer) -> None:
        self._disarm(call, command.timer)
        generation = call.generations.get(command.timer, 0) + 1
        call.generations[command.timer] = generation
        event = _TimerFired(command.timer, generation)
        loop = asyncio.get_running_loop()
        call.timers[command.timer] = loop.call_later(command.seconds, call.post, event)

    def _disarm(self, call: _Call, timer: Timer) -> None:
        handle = call.timers.pop(timer, None)
        if handle is not None:
            handle.cancel()
        call.generations[timer] = call.generations.get(timer, 0) + 1

    def _cancel_timers(self, call: _Call) -> None:
        for timer in list(call.timers):
            self._disarm(call, timer)

    # --- fail-safe and recovery -----------------------------------------------------------

    async def _redirect(self, call: _Call, why: str) -> None:
        """Send the caller to the operators through the dialplan, outside AGI."""
        if call.session.state in (State.ENDED, State.ESCALATED):
            return
        try:
            await self._ami.action(
                "Setvar", Channel=call.channel, Variable=VAR_OUTCOME, Value=Outcome.ERROR.value
            )
            await self._ami.redirect(
                call.channel,
                context=self._route.context,
                exten=self._route.exten,
                priority=self._route.priority,
            )
            log.warning("call_sent_to_operators", call_id=call.unique_id, why=why)
        except AmiError as exc:
            log.error("call_redirect_failed", call_id=call.unique_id, why=why, error=str(exc))

    async def recover(self) -> RecoveryReport:
        """After a (re)login: resume calls that lost a command, end the ones gone, adopt orphans."""
        channels = await self._ami.core_show_channels()
        alive = {c.uniqueid for c in channels}
        in_agi = {c.uniqueid: c for c in channels if in_async_agi(c)}
        resumed = ended = adopted = 0
        for call in list(self._calls.values()):
            if call.unique_id not in alive or call.unique_id not in in_agi:
                call.post(_Ended())
                ended += 1
            elif call.link_lost:
                call.link_lost = False
                call.post(_Recover())
                resumed += 1
        if self._active:
            for info in in_agi.values():
                if info.uniqueid not in self._calls and self._ours(info):
                    self._begin(CallEnv(info.channel, info.uniqueid, info.caller_id), adopted=True)
                    adopted += 1
        report = RecoveryReport(resumed=resumed, adopted=adopted, ended=ended)
        self.recoveries.append(report)
        del self.recoveries[:-100]
        log.info("ivr_recovery", resumed=resumed, adopted=adopted, ended=ended)
        return report

    def _ours(self, info: ChannelInfo) -> bool:
        """A channel in AsyncAGI inside the hotline context is a hotline call."""
        return info.context == self._route.context

    async def _recover_logged(self) -> None:
        try:
            async with asyncio.timeout(limits.RECOVERY_SCAN_TIMEOUT):
                await self.recover()
        except (AmiError, TimeoutError) as exc:
            log.error("ivr_recovery_failed", error=str(exc) or type(exc).__name__)

    # --- tasks ----------------------------------------------------------------------------

    def _work(self, call: _Call, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        call.work.add(task)
        task.add_done_callback(call.work.discard)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def in_async_agi(info: ChannelInfo) -> bool:
    """The channel is inside AsyncAGI: idle in ``AGI(agi:async)`` or running one of our EXECs."""
    return info.in_async_agi or info.application in agi.EXEC_APPLICATIONS


def answer_of(match: DigitsMatch, ref: int) -> Answer:
    """The dialogue's answer for a digits lookup."""
    if match.kind is DigitsKind.UNIQUE and match.result.view is not None:
        return Found(ref, match.result.view)
    if match.kind is DigitsKind.AMBIGUOUS:
        return Ambiguous(ref)
    outcome = match.result.outcome
    if outcome is LookupOutcome.NOT_FOUND:
        return NotFound(ref)
    return LookupFailed(ref, rate_limited=outcome is LookupOutcome.RATE_LIMITED)
