"""The escalation bus, the words bound to the catalogue, and the heartbeat (no Asterisk)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.privacy import Disclosure, DossierView
from ivr.ami.events import (
    AgentCalled,
    AgentConnect,
    Hangup,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
)
from ivr.call import Cue
from ivr.commands import EscalationReason
from ivr.escalation import (
    MAX_OPEN,
    Escalation,
    EscalationBus,
    EscalationEvent,
    QueueProgress,
    QueueStage,
)
from ivr.heartbeat import HEARTBEAT_VARIABLE, MAX_AGE_VARIABLE, Heartbeat
from ivr.script import CatalogueScript, cue_prompt_id
from prompts.catalog import Catalogue, build_catalogue

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def escalation(call_id: str = "1.1") -> Escalation:
    return Escalation(
        call_id=call_id,
        channel="Local/s@caller-1;1",
        caller="0912345678",
        reason=EscalationReason.REQUESTED,
        dossier="000.00.22.H29-240101-0001",
        status=Status.PROCESSING,
        entered="0000022292401010001",
        said="trạng thái: đang được xử lý",
        path=("code", "confirm", "operator"),
        at=NOW,
    )


def test_an_escalation_stays_open_until_answered() -> None:
    bus = EscalationBus()
    seen: list[EscalationEvent] = []
    bus.subscribe(seen.append)
    bus.publish(escalation())
    bus.follow(QueueCallerJoin("operators", "Local/s@caller-1;1", "1.1", 1, 1), NOW)
    bus.follow(
        AgentCalled("operators", "Local/s@caller-1;1", "1.1", "desk;1", "L/d", "Desk 1", {}), NOW
    )
    assert bus.open_escalations() == (escalation(),)
    # Asterisk reports the caller leaving the queue before the operator's answer.
    bus.follow(QueueCallerLeave("operators", "Local/s@caller-1;1", "1.1", 1, 0), NOW)
    bus.follow(
        AgentConnect("operators", "Local/s@caller-1;1", "1.1", "d;1", "L/d", "Desk 1", 4, 2, {}),
        NOW,
    )
    stages = [e.stage for e in seen if isinstance(e, QueueProgress)]
    assert stages == [QueueStage.JOINED, QueueStage.RINGING, QueueStage.LEFT, QueueStage.ANSWERED]
    answered = seen[-1]
    assert isinstance(answered, QueueProgress)
    assert (answered.operator, answered.hold_time) == ("Desk 1", 4)
    assert bus.open_escalations() == ()


def test_queue_events_of_other_calls_are_ignored() -> None:
    bus = EscalationBus()
    seen: list[EscalationEvent] = []
    bus.subscribe(seen.append)
    bus.follow(QueueCallerJoin("operators", "SIP/x", "9.9", 1, 1), NOW)
    bus.follow(Hangup("SIP/x", "9.9", 16, "Normal"), NOW)
    assert seen == []


def test_an_abandoned_call_closes_its_escalation() -> None:
    bus = EscalationBus()
    bus.publish(escalation())
    bus.follow(QueueCallerAbandon("operators", "Local/s@caller-1;1", "1.1", 1, 1, 30), NOW)
    assert bus.escalation("1.1") is None


def test_a_failing_listener_does_not_stop_the_others() -> None:
    bus = EscalationBus()
    seen: list[EscalationEvent] = []

    def broken(_: EscalationEvent) -> None:
        raise RuntimeError("console went away")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(seen.append)
    bus.publish(escalation())
    assert seen == [escalation()]
    unsubscribe()
    bus.publish(escalation("2.2"))
    assert len(seen) == 1


def test_open_escalations_are_bounded() -> None:
    bus = EscalationBus()
    for n in range(MAX_OPEN + 5):
        bus.publish(escalation(f"{n}.0"))
    assert len(bus.open_escalations()) == MAX_OPEN
    assert bus.open_escalations()[0].call_id == "5.0"


# --- the words ----------------------------------------------------------------------------------


def test_every_cue_is_a_catalogue_sentence() -> None:
    catalogue = build_catalogue()
    script = CatalogueScript(catalogue)
    for cue in Cue:
        assert script.cue(cue).ids == (cue_prompt_id(cue),)
        assert catalogue[cue_prompt_id(cue)].vi


def test_a_catalogue_without_a_cue_is_refused() -> None:
    with pytest.raises(KeyError, match="ivr/menu"):
        CatalogueScript(Catalogue([p for p in build_catalogue() if p.id != "ivr/menu"], {}))


def test_the_status_says_the_due_date_on_the_local_clock_and_where_to_collect() -> None:
    catalogue = build_catalogue(["UBND phường Bến Nghé"])
    script = CatalogueScript(catalogue)
    ready = DossierView(
        "000.00.22.H29-240101-0001",
        Status.RESULT_READY,
        datetime(2025, 3, 5, 2, 0, tzinfo=UTC),  # 09:00 in Hồ Chí Minh City
        False,
        "UBND phường Bến Nghé",
        Disclosure.BASIC,
    )
    spoken = script.status(ready)
    assert spoken.ids[:2] == ("ivr/status_is", "status/result_ready")
    assert "chín giờ sáng" in spoken.text
    assert "ivr/collect_at" in spoken.ids
    assert all(i in catalogue for i in spoken.ids)
    late = DossierView("X", Status.PROCESSING, None, True, "", Disclosure.BASIC)
    assert script.status(late).ids == ("ivr/status_is", "status/processing", "ivr/overdue")


def test_the_offer_names_each_dossier_by_its_last_digits() -> None:
    script = CatalogueScript(build_catalogue())
    views = [
        DossierView(code, Status.PROCESSING, None, False, "", Disclosure.VERIFIED)
        for code in ("000.00.22.H29-240101-0001", "000.00.22.H29-240101-0777")
    ]
    spoken = script.offer(views)
    assert spoken.ids[-1] == "ivr/or_enter_other"
    assert "không bảy bảy bảy" in spoken.text


def test_read_back_spells_every_digit() -> None:
    spoken = CatalogueScript(build_catalogue()).read_back("0912")
    assert [i for i in spoken.ids if i.startswith("digits/")] == [
        "digits/0",
        "digits/9",
        "digits/1",
        "digits/2",
    ]


# --- the heartbeat -----------------------------------------------------------------------------


class RecordingAmi:
    def __init__(self) -> None:
        self.globals: list[tuple[str, str]] = []

    async def set_global(self, name: str, value: str) -> None:
        self.globals.append((name, value))


async def test_the_heartbeat_writes_its_age_limit_once_per_link_and_epoch_seconds() -> None:
    ami = RecordingAmi()
    clock = ManualClock(NOW)
    heartbeat = Heartbeat(ami, clock, interval=5, stale=15)  # type: ignore[arg-type]
    await heartbeat.beat()
    clock.advance(5)
    await heartbeat.beat()
    heartbeat.link_restored()
    await heartbeat.beat()
    epoch = int(NOW.timestamp())
    assert ami.globals == [
        (MAX_AGE_VARIABLE, "15"),
        (HEARTBEAT_VARIABLE, str(epoch)),
        (HEARTBEAT_VARIABLE, str(epoch + 5)),
        (MAX_AGE_VARIABLE, "15"),
        (HEARTBEAT_VARIABLE, str(epoch + 5)),
    ]
    await heartbeat.stop(clear=True)
    assert ami.globals[-1] == (HEARTBEAT_VARIABLE, "")
