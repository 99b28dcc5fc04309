"""The gateway's AMI layer: one kept-up link to Asterisk, AsyncAGI commands, typed events.

Usage (inside the running loop)::

    session = AmiSession(AmiLinkSettings(host, port, username, secret))
    session.on_event("AsyncAGIStart", on_call)        # callbacks get typed events
    await session.connect()                           # AmiError if the login fails
    result = await session.agi(channel, "GET DATA statusgw/code 8000 24", timeout=30)
"""

from ivr.ami.agiresult import AgiOutcome, AgiResult, parse_agi_result
from ivr.ami.errors import AmiError, AmiFailure
from ivr.ami.events import (
    AgentCalled,
    AgentConnect,
    AgiExecEnd,
    AgiExecStart,
    AmiEvent,
    AsyncAgiEnd,
    AsyncAgiExec,
    AsyncAgiStart,
    ChannelInfo,
    FullyBooted,
    Hangup,
    OriginateResponse,
    OtherEvent,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    Shutdown,
    parse_event,
)
from ivr.ami.framing import AmiMessage
from ivr.ami.session import AmiLinkSettings, AmiSession

__all__ = [
    "AgentCalled",
    "AgentConnect",
    "AgiExecEnd",
    "AgiExecStart",
    "AgiOutcome",
    "AgiResult",
    "AmiError",
    "AmiEvent",
    "AmiFailure",
    "AmiLinkSettings",
    "AmiMessage",
    "AmiSession",
    "AsyncAgiEnd",
    "AsyncAgiExec",
    "AsyncAgiStart",
    "ChannelInfo",
    "FullyBooted",
    "Hangup",
    "OriginateResponse",
    "OtherEvent",
    "QueueCallerAbandon",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "Shutdown",
    "parse_agi_result",
    "parse_event",
]
