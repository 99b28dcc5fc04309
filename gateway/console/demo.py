"""The console in ``statusgw demo --stay``: two accounts made up for the run, and a small
hotline played on the escalation bus so a newcomer sees calls arrive, ring, get answered.

No Asterisk is involved: the events are the ones the dispatcher would publish for callers
who pressed 0 after hearing a sample dossier's status.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gateway.clock import Clock
from gateway.console.auth import hash_password
from gateway.dossier import Status
from ivr.commands import EscalationReason
from ivr.escalation import Escalation, EscalationBus, EscalationEvent, QueueProgress, QueueStage

OPERATOR, SUPERVISOR = "dienthoaivien", "giamsat"
DESK = "Bàn 1"  # the demo operator's phone
OTHER_DESK = "Bàn 2"  # a phone no console user has
QUEUE = "operators"


@dataclass(frozen=True, slots=True)
class DemoAccounts:
    password: str  # one for both accounts, shown on the terminal

    def settings(self, port: int) -> dict[str, object]:
        """The ``[http]`` and ``[console]`` tables of the demo's settings."""
        encoded = hash_password(self.password)
        return {
            "http": {"enabled": True, "listen": f"127.0.0.1:{port}", "anonymous": True},
            "console": {
                "enabled": True,
                "users": [f"{OPERATOR}:operator:{encoded}", f"{SUPERVISOR}:supervisor:{encoded}"],
                "members": {OPERATOR: DESK},
            },
        }


def demo_accounts() -> DemoAccounts:
    return DemoAccounts(secrets.token_urlsafe(9))


@dataclass(frozen=True, slots=True)
class _Caller:
    call_id: str
    number: str | None
    reason: EscalationReason
    dossier: str | None
    status: Status | None
    said: str
    path: tuple[str, ...]
    entered: str | None = None


_CALLERS = (
    _Caller(
        "demo-1",
        "0912345678",
        EscalationReason.REQUESTED,
        "000.00.22.H29-240101-0001",
        Status.PROCESSING,
        "Hồ sơ 000.00.22.H29-240101-0001 đang được giải quyết, hẹn trả ngày 05/03/2025.",
        ("chao", "nhap_ma", "doc_trang_thai", "bam_0"),
        "0000022292401010001",
    ),
    _Caller(
        "demo-2",
        "0987000111",
        EscalationReason.INVALID_INPUT,
        None,
        None,
        "Mã hồ sơ chưa đúng, xin mời nhập lại.",
        ("chao", "nhap_ma", "sai_ma", "nhap_ma", "sai_ma", "nhap_ma", "sai_ma"),
        "1234",
    ),
    _Caller(
        "demo-3",
        "0903123456",
        EscalationReason.REQUESTED,
        "000.00.22.H29-240102-0003",
        Status.NEEDS_SUPPLEMENT,
        "Hồ sơ 000.00.22.H29-240102-0003 cần bổ sung giấy tờ.",
        ("chao", "so_goi_den", "doc_trang_thai", "bam_0"),
    ),
    _Caller(
        "demo-4",
        None,
        EscalationReason.LOOKUP_FAILED,
        None,
        None,
        "Hệ thống tra cứu đang bận, xin mời gặp điện thoại viên.",
        ("chao", "nhap_ma", "tra_cuu_loi"),
        "0000022292401010002",
    ),
)


async def play_hotline(bus: EscalationBus, clock: Clock, pace: float = 8.0) -> None:
    """Publish the sample calls over a few minutes, then again, until cancelled."""
    rounds = 0
    while True:
        rounds += 1
        for step in _script(rounds):
            await asyncio.sleep(step.after * pace / 8.0)
            bus.publish(step.event(clock))


@dataclass(frozen=True, slots=True)
class _Step:
    after: float  # seconds after the previous step (at the default pace)
    event: Callable[[Clock], EscalationEvent]


def _script(round_: int) -> list[_Step]:
    def call_id(caller: _Caller) -> str:
        return f"{caller.call_id}-{round_}"

    def escalate(caller: _Caller, waited: float = 0.0) -> Callable[[Clock], EscalationEvent]:
        return lambda clock: Escalation(
            call_id=call_id(caller),
            channel=f"Local/s@caller-{call_id(caller)};1",
            caller=caller.number,
            reason=caller.reason,
            dossier=caller.dossier,
            status=caller.status,
            entered=caller.entered,
            said=caller.said,
            path=caller.path,
            at=clock.now() - timedelta(seconds=waited),
        )

    def progress(
        caller: _Caller,
        stage: QueueStage,
        *,
        after: float = 0.5,
        position: int | None = None,
        operator: str | None = None,
        hold_time: int | None = None,
    ) -> _Step:
        def event(clock: Clock) -> EscalationEvent:
            return QueueProgress(
                call_id(caller),
                stage,
                QUEUE,
                clock.now(),
                position=position,
                operator=operator,
                hold_time=hold_time,
            )

        return _Step(after, event)

    first, second, third, fourth = _CALLERS
    return [
        _Step(0.5, escalate(first, waited=35.0)),
        progress(first, QueueStage.JOINED, position=1),
        _Step(0.5, escalate(second, waited=12.0)),
        progress(second, QueueStage.JOINED, position=2),
        progress(first, QueueStage.RINGING, operator=DESK),
        progress(first, QueueStage.RINGING, operator=DESK, after=15.0),  # the queue rings again
        progress(first, QueueStage.ANSWERED, operator=DESK, hold_time=65, after=15.0),
        progress(first, QueueStage.LEFT, position=1),
        _Step(20.0, escalate(third)),
        progress(third, QueueStage.JOINED, position=2),
        progress(third, QueueStage.RINGING, operator=OTHER_DESK),
        _Step(30.0, escalate(fourth)),
        progress(fourth, QueueStage.JOINED, position=3),
        progress(second, QueueStage.ABANDONED, position=1, hold_time=80),
        progress(third, QueueStage.ANSWERED, operator=OTHER_DESK, hold_time=45, after=30.0),
        progress(fourth, QueueStage.LEFT, position=1, after=90.0),
        _Step(60.0, _nothing),
    ]


def _nothing(clock: Clock) -> EscalationEvent:
    """A progress event for no known call: the board ignores it (a pause between rounds)."""
    return QueueProgress("demo-pause", QueueStage.LEFT, QUEUE, clock.now())
