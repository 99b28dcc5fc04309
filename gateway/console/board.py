"""The live board: escalated calls and the operators' phones, as the console shows them. Pure.

A call's life on the board, and the event that moves it:

    WAITING ──RINGING(member)──► RINGING ──ANSWERED(member)──► CONNECTED ──closed──► gone
       ▲                            │                              (by that operator, or
       └──── the ring stops ────────┘                               after CONNECTED_KEEP)
    WAITING / RINGING ──ABANDONED, or LEFT without an answer──► gone

- A call arrives with its :class:`~ivr.escalation.Escalation` (the caller pressed 0, or the
  IVR gave up): who, which dossier, what the IVR said, the path. The wait is counted from then.
- With ``ringall`` several phones ring at once; each ``RINGING`` adds one. Asterisk says
  nothing when a phone stops ringing unanswered, so a ring counts for ``RING_SECONDS`` only
  (the queue rings again and says so).
- ``CONNECTED`` stays on the answering operator's screen after the queue lets go of the call
  (``LEFT`` comes with every answer), so they can add notes and text the caller; they close
  it. Asterisk may send that ``LEFT`` just *before* the answer: an answer revives a call that
  left.
- Calls that are gone are kept a while (``RECENT_KEEP``) for the call page and notes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum

from ivr.escalation import Escalation, EscalationEvent, QueueProgress, QueueStage

RING_SECONDS = 20.0
CONNECTED_KEEP = timedelta(hours=4)
RECENT_KEEP = 500
MAX_LIVE = 2000


class CallState(Enum):
    WAITING = "waiting"
    RINGING = "ringing"
    CONNECTED = "connected"
    ANSWERED_ELSEWHERE = "answered"  # answered by a phone no console user has
    ABANDONED = "abandoned"
    LEFT = "left"  # left the queue unanswered (its time limit)
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    CallState.WAITING: "Đang chờ",
    CallState.RINGING: "Đang đổ chuông",
    CallState.CONNECTED: "Đang nghe",
    CallState.ANSWERED_ELSEWHERE: "Đã có người nghe",
    CallState.ABANDONED: "Người gọi đã gác máy",
    CallState.LEFT: "Đã rời hàng chờ",
    CallState.CLOSED: "Đã xong",
}


@dataclass(frozen=True, slots=True)
class LiveCall:
    escalation: Escalation
    state: CallState = CallState.WAITING
    position: int | None = None
    ringing: tuple[tuple[str, datetime], ...] = ()  # (member, since)
    operator: str | None = None  # the member that answered
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hold_time: int | None = None  # seconds, as the queue counted it

    @property
    def call_id(self) -> str:
        return self.escalation.call_id

    @property
    def waiting(self) -> bool:
        return self.state in (CallState.WAITING, CallState.RINGING)

    def rings_at(self, member: str, now: datetime) -> bool:
        return any(m == member and _fresh(since, now) for m, since in self.ringing)

    def waited(self, now: datetime) -> float:
        """Seconds from the escalation to the answer, the end, or now."""
        until = self.answered_at or self.ended_at or now
        return max(0.0, (until - self.escalation.at).total_seconds())


class MemberState(Enum):
    FREE = "free"
    RINGING = "ringing"
    ON_CALL = "on_call"

    @property
    def label(self) -> str:
        return {"free": "Sẵn sàng", "ringing": "Đang đổ chuông", "on_call": "Đang nghe"}[self.value]


@dataclass
class Board:
    """Every escalated call the console knows, live or recent; feed it the bus's events."""

    live: OrderedDict[str, LiveCall] = field(default_factory=OrderedDict)
    recent: OrderedDict[str, LiveCall] = field(default_factory=OrderedDict)
    version: int = 0  # moves on every change (the console's streams watch it)

    def apply(self, event: EscalationEvent) -> bool:
        """Take one event; True if the board changed."""
        if isinstance(event, Escalation):
            self.live[event.call_id] = LiveCall(event)
            while len(self.live) > MAX_LIVE:
                self._retire(next(iter(self.live)))
            return self._changed()
        call = self.live.get(event.call_id) or self._left_then_answered(event)
        if call is None:
            return False
        moved = _move(call, event)
        if moved is call:
            return False
        self.live[call.call_id] = moved
        if moved.state in (CallState.ABANDONED, CallState.LEFT, CallState.ANSWERED_ELSEWHERE):
            self._retire(call.call_id)
        return self._changed()

    def _left_then_answered(self, event: QueueProgress) -> LiveCall | None:
        """Asterisk may report a caller leaving the queue just before the answer that took
        them out of it: an answer brings a call that "left" back to the board."""
        call = self.recent.get(event.call_id)
        if (
            call is None
            or call.state is not CallState.LEFT
            or event.stage is not QueueStage.ANSWERED
        ):
            return None
        del self.recent[event.call_id]
        return call

    def close(self, call_id: str, member: str | None, now: datetime) -> bool:
        """The operator who took the call is done with it."""
        call = self.live.get(call_id)
        if call is None or call.state is not CallState.CONNECTED or call.operator != member:
            return False
        self.live[call_id] = replace(call, state=CallState.CLOSED, ended_at=now)
        self._retire(call_id)
        return self._changed()

    def settle(self, members: set[str], now: datetime) -> bool:
        """Move calls answered by phones nobody watches off the board; age out old ones."""
        changed = False
        for call in list(self.live.values()):
            elsewhere = call.state is CallState.CONNECTED and call.operator not in members
            stale = call.answered_at is not None and now - call.answered_at > CONNECTED_KEEP
            if elsewhere or stale:
                state = CallState.ANSWERED_ELSEWHERE if elsewhere else CallState.CLOSED
                self.live[call.call_id] = replace(call, state=state, ended_at=now)
                self._retire(call.call_id)
                changed = True
        return self._changed() if changed else False

    # --- what the pages show ---------------------------------------------------------------

    def waiting(self) -> list[LiveCall]:
        """Calls waiting for an operator (ringing or not), longest wait first."""
        return [c for c in self.live.values() if c.waiting]

    def for_member(self, member: str | None, now: datetime) -> list[LiveCall]:
        """Calls ringing at this phone now, then the ones it answered, newest first."""
        if not member:
            return []
        ringing = [c for c in self.live.values() if c.waiting and c.rings_at(member, now)]
        taken = [
            c
            for c in reversed(self.live.values())
            if c.state is CallState.CONNECTED and c.operator == member
        ]
        return ringing + taken

    def member_state(self, member: str | None, now: datetime) -> MemberState:
        if not member:
            return MemberState.FREE
        calls = self.for_member(member, now)
        if any(c.state is CallState.CONNECTED for c in calls):
            return MemberState.ON_CALL
        return MemberState.RINGING if calls else MemberState.FREE

    def longest_wait(self, now: datetime) -> float:
        return max((c.waited(now) for c in self.waiting()), default=0.0)

    def find(self, call_id: str) -> LiveCall | None:
        return self.live.get(call_id) or self.recent.get(call_id)

    def _retire(self, call_id: str) -> None:
        call = self.live.pop(call_id, None)
        if call is None:
            return
        self.recent[call_id] = call
        while len(self.recent) > RECENT_KEEP:
            self.recent.popitem(last=False)

    def _changed(self) -> bool:
        self.version += 1
        return True


def _move(call: LiveCall, progress: QueueProgress) -> LiveCall:
    match progress.stage:
        case QueueStage.JOINED:
            return replace(call, position=progress.position)
        case QueueStage.RINGING if call.waiting and progress.operator:
            rings = tuple(r for r in call.ringing if r[0] != progress.operator)
            rings += ((progress.operator, progress.at),)
            return replace(call, state=CallState.RINGING, ringing=rings)
        case QueueStage.ANSWERED if progress.operator:
            return replace(
                call,
                state=CallState.CONNECTED,
                operator=progress.operator,
                answered_at=progress.at,
                hold_time=progress.hold_time,
                ringing=(),
            )
        case QueueStage.ABANDONED:
            return replace(
                call, state=CallState.ABANDONED, ended_at=progress.at, hold_time=progress.hold_time
            )
        case QueueStage.LEFT if call.waiting:
            # Leaving unanswered; a LEFT after an answer changes nothing on the board.
            return replace(call, state=CallState.LEFT, ended_at=progress.at)
    return call


def _fresh(since: datetime, now: datetime) -> bool:
    return (now - since).total_seconds() < RING_SECONDS
