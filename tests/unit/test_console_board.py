"""The console's live board: calls arrive, ring, get answered or abandoned, and leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.console.board import CONNECTED_KEEP, RING_SECONDS, Board, CallState, MemberState
from gateway.dossier import Status
from ivr.ami.events import AgentCalled
from ivr.commands import EscalationReason
from ivr.escalation import Escalation, QueueProgress, QueueStage, queue_progress

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def escalation(call_id: str = "c1", at: datetime = T0) -> Escalation:
    return Escalation(
        call_id=call_id,
        channel=f"Local/s@caller-{call_id};1",
        caller="0912345678",
        reason=EscalationReason.REQUESTED,
        dossier="000.00.22.H29-240101-0001",
        status=Status.PROCESSING,
        entered="0000022292401010001",
        said="Hồ sơ đang được giải quyết.",
        path=("chao", "nhap_ma", "bam_0"),
        at=at,
    )


def progress(
    stage: QueueStage, seconds: float, call_id: str = "c1", **fields: object
) -> QueueProgress:
    return QueueProgress(call_id, stage, "operators", T0 + timedelta(seconds=seconds), **fields)  # type: ignore[arg-type]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_an_escalated_call_waits_then_rings_at_one_desk() -> None:
    board = Board()
    assert board.apply(escalation())
    board.apply(progress(QueueStage.JOINED, 1, position=1))
    assert [c.call_id for c in board.waiting()] == ["c1"]
    assert board.for_member("Desk 1", at(2)) == []
    board.apply(progress(QueueStage.RINGING, 3, operator="Desk 1"))
    call = board.waiting()[0]
    assert call.state is CallState.RINGING and call.position == 1
    assert [c.call_id for c in board.for_member("Desk 1", at(4))] == ["c1"]
    assert board.for_member("Desk 2", at(4)) == []
    assert board.member_state("Desk 1", at(4)) is MemberState.RINGING


def test_a_ring_counts_only_for_a_while() -> None:
    board = Board()
    board.apply(escalation())
    board.apply(progress(QueueStage.RINGING, 0, operator="Desk 1"))
    assert board.for_member("Desk 1", at(RING_SECONDS - 1))
    assert not board.for_member("Desk 1", at(RING_SECONDS + 1))
    board.apply(progress(QueueStage.RINGING, RING_SECONDS + 2, operator="Desk 1"))
    assert board.for_member("Desk 1", at(RING_SECONDS + 3))


def test_the_answering_operator_keeps_the_call_until_closing_it() -> None:
    board = Board()
    board.apply(escalation())
    board.apply(progress(QueueStage.RINGING, 1, operator="Desk 1"))
    board.apply(progress(QueueStage.ANSWERED, 30, operator="Desk 1", hold_time=29))
    board.apply(progress(QueueStage.LEFT, 30, position=1))  # Asterisk: leave after answer
    assert board.waiting() == []
    mine = board.for_member("Desk 1", at(40))
    assert [c.state for c in mine] == [CallState.CONNECTED]
    assert mine[0].waited(at(500)) == 30.0  # the wait stops at the answer
    assert board.member_state("Desk 1", at(40)) is MemberState.ON_CALL
    assert not board.close("c1", "Desk 2", at(50))  # only the one who took it
    assert board.close("c1", "Desk 1", at(50))
    assert board.for_member("Desk 1", at(51)) == []
    found = board.find("c1")
    assert found is not None and found.state is CallState.CLOSED


def test_an_answer_reported_after_leaving_the_queue_still_connects() -> None:
    # Asterisk 22 sends QueueCallerLeave just before AgentConnect for the same call.
    board = Board()
    board.apply(escalation())
    board.apply(progress(QueueStage.RINGING, 1, operator="Desk 1"))
    board.apply(progress(QueueStage.LEFT, 2, position=1))
    assert board.waiting() == []
    assert board.apply(progress(QueueStage.ANSWERED, 2, operator="Desk 1", hold_time=1))
    assert [c.state for c in board.for_member("Desk 1", at(3))] == [CallState.CONNECTED]


def test_an_abandoned_call_leaves_the_board_but_stays_findable() -> None:
    board = Board()
    board.apply(escalation())
    version = board.version
    board.apply(progress(QueueStage.ABANDONED, 80, position=1, hold_time=80))
    assert board.version > version
    assert board.waiting() == []
    found = board.find("c1")
    assert found is not None and found.state is CallState.ABANDONED


def test_leaving_unanswered_ends_the_wait() -> None:
    board = Board()
    board.apply(escalation())
    board.apply(progress(QueueStage.LEFT, 300, position=1))
    found = board.find("c1")
    assert board.waiting() == [] and found is not None and found.state is CallState.LEFT


def test_calls_answered_by_phones_nobody_watches_move_off() -> None:
    board = Board()
    board.apply(escalation())
    board.apply(progress(QueueStage.ANSWERED, 5, operator="Desk 9"))
    assert board.settle({"Desk 1"}, at(6))
    found = board.find("c1")
    assert found is not None and found.state is CallState.ANSWERED_ELSEWHERE
    assert board.live == {}


def test_connected_calls_age_out() -> None:
    board = Board()
    board.apply(escalation())
    board.apply(progress(QueueStage.ANSWERED, 5, operator="Desk 1"))
    assert not board.settle({"Desk 1"}, at(10))
    assert board.settle({"Desk 1"}, at(5) + CONNECTED_KEEP + timedelta(seconds=1))
    assert board.for_member("Desk 1", at(5) + CONNECTED_KEEP * 2) == []


def test_events_of_unknown_calls_change_nothing() -> None:
    board = Board()
    assert not board.apply(progress(QueueStage.RINGING, 1, call_id="other", operator="Desk 1"))
    assert board.version == 0


def test_longest_wait_counts_from_the_escalation() -> None:
    board = Board()
    board.apply(escalation("c1", at(0)))
    board.apply(escalation("c2", at(50)))
    assert board.longest_wait(at(100)) == 100.0
    assert [c.call_id for c in board.waiting()] == ["c1", "c2"]


def test_an_agent_called_event_is_a_ring_for_that_member() -> None:
    event = AgentCalled(
        queue="operators",
        channel="Local/s@caller-1;1",
        uniqueid="c1",
        member_channel="Local/desk1@operator-desk-0001;1",
        interface="Local/desk1@operator-desk/n",
        member_name="Desk 1",
        variables={},
    )
    ring = queue_progress(event, T0)
    assert ring == QueueProgress("c1", QueueStage.RINGING, "operators", T0, operator="Desk 1")
