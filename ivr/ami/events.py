"""AMI events the gateway acts on, as small frozen classes (pure; no I/O).

``parse_event`` converts an event once, where it enters; nothing past the AMI layer handles
raw headers. Events the gateway does not model arrive as ``OtherEvent``.

Facts about Asterisk 22 these follow (seen on the test Asterisk):

- ``AsyncAGIStart``'s ``Env`` is URL-encoded ``agi_name: value`` lines; ``agi_callerid`` is
  the caller's number (``unknown`` when withheld), ``agi_calleridname`` may be UTF-8.
- ``AsyncAGIExec`` carries the ``CommandId`` the client chose and the URL-encoded ``Result``.
  ``AGIExecStart``/``AGIExecEnd`` carry Asterisk's *own* ``CommandId``, not the client's:
  match those on the channel and the ``Command`` text.
- Queue events name the waiting caller ``Channel`` and the operator's leg ``DestChannel``;
  ``ChanVariable`` headers (``NAME=value``) appear when manager.conf sets ``channelvars``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from ivr.ami.agiresult import AgiResult, parse_agi_result
from ivr.ami.framing import AmiMessage


def _caller(value: str) -> str | None:
    """Asterisk writes ``unknown`` or ``<unknown>`` for a withheld number or name."""
    return None if value.strip("<>").lower() in ("", "unknown") else value


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def parse_agi_env(encoded: str) -> dict[str, str]:
    """``Env`` of AsyncAGIStart: URL-encoded ``agi_x: value`` lines, to a dict."""
    env = {}
    for line in unquote(encoded).splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            env[name.strip()] = value
        elif line.endswith(":"):  # a header with an empty value loses its space
            env[line[:-1].strip()] = ""
    return env


def _variables(message: AmiMessage, header: str = "chanvariable") -> dict[str, str]:
    pairs = (value.partition("=") for value in message.all(header))
    return {name: value for name, _, value in pairs if name}


@dataclass(frozen=True, slots=True)
class AsyncAgiStart:
    """A call reached ``AGI(agi:async)``: the gateway may now send it commands."""

    channel: str
    uniqueid: str
    linkedid: str
    caller_id: str | None
    caller_name: str | None
    context: str
    exten: str
    env: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class AsyncAgiExec:
    """An AsyncAGI command finished; ``command_id`` is the one the gateway sent."""

    channel: str
    uniqueid: str
    command_id: str
    result: AgiResult


@dataclass(frozen=True, slots=True)
class AsyncAgiEnd:
    """The channel left AsyncAGI (ASYNCAGI BREAK, hangup, or dialplan timeout)."""

    channel: str
    uniqueid: str


@dataclass(frozen=True, slots=True)
class AgiExecStart:
    """Asterisk began running an AGI command (``command`` is its text)."""

    channel: str
    uniqueid: str
    command: str


@dataclass(frozen=True, slots=True)
class AgiExecEnd:
    channel: str
    uniqueid: str
    command: str
    result_code: int


@dataclass(frozen=True, slots=True)
class Hangup:
    channel: str
    uniqueid: str
    cause: int
    cause_text: str


@dataclass(frozen=True, slots=True)
class OriginateResponse:
    """The outcome of an ``Originate`` sent with ``Async: true``, matched by ``action_id``."""

    action_id: str
    success: bool
    channel: str
    uniqueid: str
    reason: int  # 4 answered, 5 busy, 8 congestion, 3 no answer, 0/1 failed


@dataclass(frozen=True, slots=True)
class QueueCallerJoin:
    queue: str
    channel: str
    uniqueid: str
    position: int
    count: int


@dataclass(frozen=True, slots=True)
class QueueCallerLeave:
    queue: str
    channel: str
    uniqueid: str
    position: int
    count: int


@dataclass(frozen=True, slots=True)
class QueueCallerAbandon:
    queue: str
    channel: str
    uniqueid: str
    position: int
    original_position: int
    hold_time: int


@dataclass(frozen=True, slots=True)
class AgentCalled:
    """An operator's phone rings for a queued caller."""

    queue: str
    channel: str  # the caller
    uniqueid: str
    member_channel: str  # the operator's leg
    interface: str
    member_name: str
    variables: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class AgentConnect:
    """An operator answered a queued caller."""

    queue: str
    channel: str
    uniqueid: str
    member_channel: str
    interface: str
    member_name: str
    hold_time: int
    ring_time: int
    variables: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class FullyBooted:
    pass


@dataclass(frozen=True, slots=True)
class Shutdown:
    restart: bool


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """Any event the gateway does not model; ``message`` keeps every header."""

    name: str
    message: AmiMessage


AmiEvent = (
    AsyncAgiStart
    | AsyncAgiExec
    | AsyncAgiEnd
    | AgiExecStart
    | AgiExecEnd
    | Hangup
    | OriginateResponse
    | QueueCallerJoin
    | QueueCallerLeave
    | QueueCallerAbandon
    | AgentCalled
    | AgentConnect
    | FullyBooted
    | Shutdown
    | OtherEvent
)


def _async_agi_start(m: AmiMessage) -> AmiEvent:
    env = parse_agi_env(m.get("env"))
    return AsyncAgiStart(
        channel=m.get("channel"),
        uniqueid=m.get("uniqueid"),
        linkedid=m.get("linkedid"),
        caller_id=_caller(env.get("agi_callerid", m.get("calleridnum"))),
        caller_name=_caller(env.get("agi_calleridname", m.get("calleridname"))),
        context=m.get("context"),
        exten=m.get("exten"),
        env=env,
    )


def _async_agi_exec(m: AmiMessage) -> AmiEvent:
    return AsyncAgiExec(
        m.get("channel"), m.get("uniqueid"), m.get("commandid"), parse_agi_result(m.get("result"))
    )


def _originate_response(m: AmiMessage) -> AmiEvent:
    return OriginateResponse(
        action_id=m.action_id,
        success=m.response.lower() == "success",
        channel=m.get("channel"),
        uniqueid=m.get("uniqueid"),
        reason=_int(m.get("reason")),
    )


def _queue_caller(kind: type[QueueCallerJoin] | type[QueueCallerLeave]) -> _Parser:
    def parse(m: AmiMessage) -> AmiEvent:
        return kind(
            m.get("queue"),
            m.get("channel"),
            m.get("uniqueid"),
            _int(m.get("position")),
            _int(m.get("count")),
        )

    return parse


def _agent_called(m: AmiMessage) -> AmiEvent:
    return AgentCalled(
        queue=m.get("queue"),
        channel=m.get("channel"),
        uniqueid=m.get("uniqueid"),
        member_channel=m.get("destchannel"),
        interface=m.get("interface"),
        member_name=m.get("membername"),
        variables=_variables(m),
    )


def _agent_connect(m: AmiMessage) -> AmiEvent:
    return AgentConnect(
        queue=m.get("queue"),
        channel=m.get("channel"),
        uniqueid=m.get("uniqueid"),
        member_channel=m.get("destchannel"),
        interface=m.get("interface"),
        member_name=m.get("membername"),
        hold_time=_int(m.get("holdtime")),
        ring_time=_int(m.get("ringtime")),
        variables=_variables(m),
    )


_Parser = Callable[[AmiMessage], AmiEvent]

_PARSERS: Mapping[str, _Parser] = {
    "asyncagistart": _async_agi_start,
    "asyncagiexec": _async_agi_exec,
    "asyncagiend": lambda m: AsyncAgiEnd(m.get("channel"), m.get("uniqueid")),
    "agiexecstart": lambda m: AgiExecStart(m.get("channel"), m.get("uniqueid"), m.get("command")),
    "agiexecend": lambda m: AgiExecEnd(
        m.get("channel"), m.get("uniqueid"), m.get("command"), _int(m.get("resultcode"))
    ),
    "hangup": lambda m: Hangup(
        m.get("channel"), m.get("uniqueid"), _int(m.get("cause")), m.get("cause-txt")
    ),
    "originateresponse": _originate_response,
    "queuecallerjoin": _queue_caller(QueueCallerJoin),
    "queuecallerleave": _queue_caller(QueueCallerLeave),
    "queuecallerabandon": lambda m: QueueCallerAbandon(
        m.get("queue"),
        m.get("channel"),
        m.get("uniqueid"),
        _int(m.get("position")),
        _int(m.get("originalposition")),
        _int(m.get("holdtime")),
    ),
    "agentcalled": _agent_called,
    "agentconnect": _agent_connect,
    "fullybooted": lambda m: FullyBooted(),
    "shutdown": lambda m: Shutdown(m.get("restart").lower() in ("true", "yes")),
}


def parse_event(message: AmiMessage) -> AmiEvent:
    """The typed form of an AMI event (``OtherEvent`` for the ones not modelled)."""
    parser = _PARSERS.get(message.event.lower())
    return parser(message) if parser else OtherEvent(message.event, message)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """One live channel, from ``CoreShowChannels`` (used to find calls left in AsyncAGI)."""

    channel: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int
    application: str  # "AGI" with application_data "agi:async" while the gateway drives it
    application_data: str
    caller_id: str | None
    state: str
    bridge_id: str

    @property
    def in_async_agi(self) -> bool:
        return self.application == "AGI" and self.application_data.startswith("agi:async")


def parse_channel_info(m: AmiMessage) -> ChannelInfo:
    return ChannelInfo(
        channel=m.get("channel"),
        uniqueid=m.get("uniqueid"),
        linkedid=m.get("linkedid"),
        context=m.get("context"),
        exten=m.get("exten"),
        priority=_int(m.get("priority")),
        application=m.get("application"),
        application_data=m.get("applicationdata"),
        caller_id=_caller(m.get("calleridnum")),
        state=m.get("channelstatedesc"),
        bridge_id=m.get("bridgeid"),
    )
