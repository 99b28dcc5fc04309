"""Escalations to the operators, published in-process for the operator console.

When a call leaves the IVR for the ``operators`` queue the dispatcher publishes an
:class:`Escalation` (who, why, which dossier, what the caller heard, the IVR path), then a
:class:`QueueProgress` for each queue event of that call: joined (with its position), answered
by an operator, abandoned, left, and each ring of an operator's phone (``AgentCalled``, so
the console shows that operator the call before they pick up). A console that connects later
asks for ``open_escalations()``.

Listeners run synchronously inside the AMI reader and must not block; one that raises is
logged and the others still run. Open escalations are kept until the call is answered,
abandoned or leaves the queue, and at most ``MAX_OPEN`` of them (the oldest go first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import structlog

from gateway.dossier import Status
from ivr.ami.events import (
    AgentCalled,
    AgentConnect,
    AmiEvent,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
)
from ivr.commands import EscalationReason

log = structlog.get_logger(__name__)

MAX_OPEN = 2000


@dataclass(frozen=True, slots=True)
class Escalation:
    """A caller handed to the operators, with what the IVR knows."""

    call_id: str  # the caller channel's Asterisk uniqueid
    channel: str
    caller: str | None  # full number: the operator may call back; logs mask it
    reason: EscalationReason
    dossier: str | None  # the dossier read out, if any
    status: Status | None
    entered: str | None  # the digits the caller typed last
    said: str  # what the caller heard last (status or "not found")
    path: tuple[str, ...]  # the IVR steps, latest last
    at: datetime


class QueueStage(Enum):
    JOINED = "joined"
    RINGING = "ringing"  # an operator's phone rings for the caller (``operator`` says whose)
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting
    LEFT = "left"  # left the queue (after an answer, or the queue's time limit)


@dataclass(frozen=True, slots=True)
class QueueProgress:
    call_id: str
    stage: QueueStage
    queue: str
    at: datetime
    position: int | None = None
    operator: str | None = None  # the member that answered
    hold_time: int | None = None  # seconds waited


EscalationEvent = Escalation | QueueProgress
Listener = Callable[[EscalationEvent], None]

_CLOSING = frozenset({QueueStage.ANSWERED, QueueStage.ABANDONED, QueueStage.LEFT})


class EscalationBus:
    """In-process publish/subscribe of escalations and their progress in the queue."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._open: OrderedDict[str, Escalation] = OrderedDict()
        self._known: OrderedDict[str, None] = OrderedDict()  # escalated calls, open or not

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns an unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: EscalationEvent) -> None:
        if isinstance(event, Escalation):
            self._open[event.call_id] = event
            self._known[event.call_id] = None
            for table in (self._open, self._known):
                while len(table) > MAX_OPEN:
                    table.popitem(last=False)
        elif event.stage in _CLOSING:
            self._open.pop(event.call_id, None)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("escalation_listener_failed", call_id=event.call_id)

    def open_escalations(self) -> tuple[Escalation, ...]:
        """Escalations not yet answered, abandoned or out of the queue, oldest first."""
        return tuple(self._open.values())

    def escalation(self, call_id: str) -> Escalation | None:
        return self._open.get(call_id)

    def follow(self, event: AmiEvent, now: datetime) -> None:
        """Publish the progress a queue event means for an escalated call (others ignored).

        Asterisk may report the caller leaving the queue before the operator's answer, so
        progress is published for every escalated call still remembered, open or closed.
        """
        progress = queue_progress(event, now)
        if progress is not None and progress.call_id in self._known:
            self.publish(progress)


def queue_progress(event: AmiEvent, now: datetime) -> QueueProgress | None:
    """The :class:`QueueProgress` an AMI queue event stands for, if it is one."""
    match event:
        case QueueCallerJoin():
            return QueueProgress(
                event.uniqueid, QueueStage.JOINED, event.queue, now, position=event.position
            )
        case AgentCalled():
            return QueueProgress(
                event.uniqueid,
                QueueStage.RINGING,
                event.queue,
                now,
                operator=event.member_name or event.interface,
            )
        case AgentConnect():
            return QueueProgress(
                event.uniqueid,
                QueueStage.ANSWERED,
                event.queue,
                now,
                operator=event.member_name or event.interface,
                hold_time=event.hold_time,
            )
        case QueueCallerAbandon():
            return QueueProgress(
                event.uniqueid,
                QueueStage.ABANDONED,
                event.queue,
                now,
                position=event.position,
                hold_time=event.hold_time,
            )
        case QueueCallerLeave():
            return QueueProgress(
                event.uniqueid, QueueStage.LEFT, event.queue, now, position=event.position
            )
    return None
