"""Status-change notifications: the pure rules, and the notifier over the memory stores
with an injected clock (quiet hours in Asia/Ho_Chi_Minh, daily caps, HUY, final status)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.notifier import Notifier, PollSchedule
from gateway.notify import (
    ChangeOrigin,
    NotifyPolicy,
    QuietHours,
    StatusChange,
    Subscription,
    observe,
    release,
)
from gateway.store import MemoryStore
from gateway.subscriptions import MemorySubscriptions
from sms.notify_replies import NotifyReplies
from sms.replies import SmsReplies
from tests.support.lookup_fakes import CODE, PHONE, ScriptedSource, build_service, code, dossier

VN = "Asia/Ho_Chi_Minh"
POLICY = NotifyPolicy(QuietHours.parse("21:00-07:00", VN), daily_cap=2)
# 10:00 in Hồ Chí Minh City (UTC+7)
MORNING = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
SUBSCRIBER = "0912345678"


def change(status: Status, at: datetime = MORNING, code_text: str = CODE) -> StatusChange:
    return StatusChange(code_text, status, at, ChangeOrigin.WEBHOOK)


def local(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=POLICY.quiet.zone).astimezone(UTC)


# ---- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (6, 59, True), (7, 0, False)],
)
def test_quiet_hours_wrap_midnight_in_vietnam_time(hour: int, minute: int, quiet: bool) -> None:
    assert POLICY.quiet.is_quiet(local(hour, minute)) is quiet


def test_a_notice_in_quiet_hours_waits_for_seven_in_the_morning() -> None:
    assert POLICY.quiet.release_at(local(22)) == local(7, day=2)
    assert POLICY.quiet.release_at(local(3, day=2)) == local(7, day=2)
    assert POLICY.quiet.release_at(local(12)) == local(12)


def test_equal_start_and_end_mean_never_quiet() -> None:
    never = QuietHours(time(0), time(0), POLICY.quiet.zone)
    assert not never.is_quiet(local(23))


# ---- the rules ---------------------------------------------------------------------------------


def subscription(status: Status = Status.PROCESSING) -> Subscription:
    return Subscription.new(SUBSCRIBER, CODE, status, MORNING)


def test_the_same_status_again_is_not_news() -> None:
    pending = observe(subscription(), change(Status.RESULT_READY), MORNING, POLICY)
    assert pending is not None and pending.due_at == MORNING
    assert observe(pending, change(Status.RESULT_READY), MORNING, POLICY) is None
    assert observe(subscription(), change(Status.PROCESSING), MORNING, POLICY) is None


def test_a_report_older_than_the_latest_is_ignored() -> None:
    pending = observe(subscription(), change(Status.RESULT_READY), MORNING, POLICY)
    assert pending is not None
    late = change(Status.NEEDS_SUPPLEMENT, MORNING - timedelta(hours=1))
    assert observe(pending, late, MORNING, POLICY) is None


def test_changing_back_before_the_notice_left_cancels_it() -> None:
    pending = observe(subscription(), change(Status.NEEDS_SUPPLEMENT), MORNING, POLICY)
    assert pending is not None
    back = observe(pending, change(Status.PROCESSING, MORNING + timedelta(1)), MORNING, POLICY)
    assert back is not None and back.due_at is None
    assert release(back, MORNING, 0, POLICY).send is None


def test_a_final_status_is_sent_and_ends_the_subscription() -> None:
    pending = observe(subscription(), change(Status.RETURNED), MORNING, POLICY)
    assert pending is not None
    decision = release(pending, MORNING, 0, POLICY)
    assert decision.send is Status.RETURNED and decision.after is None


def test_the_daily_cap_holds_the_notice_until_the_next_morning() -> None:
    pending = observe(subscription(), change(Status.RESULT_READY), MORNING, POLICY)
    assert pending is not None
    decision = release(pending, MORNING, POLICY.daily_cap, POLICY)
    assert decision.send is None and decision.after is not None
    assert decision.after.due_at == local(7, day=2)


def test_an_old_subscription_expires() -> None:
    old = subscription()
    later = MORNING + timedelta(days=POLICY.subscription_days)
    pending = observe(old, change(Status.RESULT_READY, later), later, POLICY)
    assert pending is not None
    assert release(pending, later, 0, POLICY).after is None


# ---- the notifier over the memory stores -------------------------------------------------------


class World:
    def __init__(self, now: datetime = MORNING) -> None:
        self.clock = ManualClock(now)
        self.source = ScriptedSource([dossier(status=Status.PROCESSING)])
        self.outbox = MemoryStore(self.clock)
        self.subscriptions = MemorySubscriptions(self.outbox)
        texts = NotifyReplies(SmsReplies(short_code="8283"))
        self.notifier = Notifier(
            store=self.subscriptions,
            lookup=build_service([self.source], clock=self.clock),
            policy=POLICY,
            texts=texts,
            clock=self.clock,
            schedule=PollSchedule(interval=60.0),
        )

    async def sent(self) -> list[tuple[str, str]]:
        replies = await self.outbox.claim_replies("test", 100, 30.0)
        for reply in replies:
            await self.outbox.reply_sent(reply.id, [f"m{reply.id}"])
        return [(r.destination, r.text) for r in replies]

    def move_to(self, when: datetime) -> None:
        self.clock.advance((when - self.clock.now()).total_seconds())


async def test_dk_from_the_dossiers_phone_subscribes_and_confirms() -> None:
    world = World()
    text = await world.notifier.subscribe("84912345678", code(), None)
    assert text.startswith("Da dang ky nhan tin") and "DANG XU LY" in text
    assert await world.subscriptions.get(SUBSCRIBER, CODE) is not None
    again = await world.notifier.subscribe("0912345678", code(), None)
    assert again.startswith("So nay da dang ky")


async def test_dk_from_another_number_needs_the_factor() -> None:
    world = World()
    text = await world.notifier.subscribe("84987654321", code(), None)
    assert "4 so cuoi" in text
    assert await world.subscriptions.get("0987654321", CODE) is None
    text = await world.notifier.subscribe("84987654321", code(), PHONE[-4:])
    assert text.startswith("Da dang ky")


async def test_dk_on_a_final_or_unknown_dossier_is_refused() -> None:
    world = World()
    world.source.put(dossier("000.00.22.H29-240101-0002", Status.RETURNED))
    final = await world.notifier.subscribe("84912345678", code("000.00.22.H29-240101-0002"), None)
    assert "da ket thuc" in final
    missing = await world.notifier.subscribe("84912345678", code("000.00.22.H29-240101-0009"), None)
    assert missing.startswith("Khong tim thay")


async def test_webhook_change_notifies_once_even_when_polling_reports_it_too() -> None:
    world = World()
    await world.notifier.subscribe("84912345678", code(), None)
    assert await world.notifier.report(change(Status.RESULT_READY)) == 1
    assert await world.notifier.report(change(Status.RESULT_READY)) == 0
    world.source.put(dossier(status=Status.RESULT_READY))
    assert await world.notifier.poll_once() == 0
    assert await world.notifier.release_due() == 1
    [(destination, text)] = await world.sent()
    assert destination == "84912345678"
    assert text.startswith(f"HS {CODE} chuyen sang: DA CO KET QUA") and "HUY" in text
    assert await world.notifier.release_due() == 0


async def test_polling_finds_a_change_nobody_reported() -> None:
    world = World()
    await world.notifier.subscribe("84912345678", code(), None)
    assert await world.notifier.poll_once() == 0  # nothing changed yet
    world.source.put(dossier(status=Status.NEEDS_SUPPLEMENT))
    assert await world.notifier.poll_once() == 1
    await world.notifier.release_due()
    [(_, text)] = await world.sent()
    assert "CHO BO SUNG HO SO" in text


async def test_a_change_at_night_is_held_until_morning_and_coalesced() -> None:
    world = World(local(20))
    await world.notifier.subscribe("84912345678", code(), None)
    world.move_to(local(22))
    await world.notifier.report(change(Status.NEEDS_SUPPLEMENT, local(22)))
    world.move_to(local(23))
    await world.notifier.report(change(Status.RESULT_READY, local(23)))
    assert await world.notifier.release_due() == 0
    world.move_to(local(6, 59, day=2))
    assert await world.notifier.release_due() == 0
    world.move_to(local(7, day=2))
    assert await world.notifier.release_due() == 1
    [(_, text)] = await world.sent()
    assert "DA CO KET QUA" in text  # one SMS tells the status of the morning


async def test_the_daily_cap_spreads_notices_over_days() -> None:
    world = World()
    codes = [f"000.00.22.H29-240101-000{n}" for n in range(1, 5)]
    for text in codes[1:]:
        world.source.put(dossier(text))
    for text in codes:
        await world.notifier.subscribe("84912345678", code(text), None)
    for text in codes:
        await world.notifier.report(change(Status.RESULT_READY, code_text=text))
    assert await world.notifier.release_due() == POLICY.daily_cap
    assert len(await world.sent()) == 2
    world.move_to(local(23))
    assert await world.notifier.release_due() == 0
    world.move_to(local(7, day=2))
    assert await world.notifier.release_due() == 2


async def test_a_final_status_ends_the_subscription_after_its_notice() -> None:
    world = World()
    await world.notifier.subscribe("84912345678", code(), None)
    await world.notifier.report(change(Status.RETURNED))
    assert await world.notifier.release_due() == 1
    [(_, text)] = await world.sent()
    assert "DA TRA KET QUA" in text and "ngung bao tin" in text
    assert await world.subscriptions.get(SUBSCRIBER, CODE) is None


async def test_huy_cancels_one_and_huy_alone_cancels_all() -> None:
    world = World()
    world.source.put(dossier("000.00.22.H29-240101-0002"))
    await world.notifier.subscribe("84912345678", code(), None)
    await world.notifier.subscribe("84912345678", code("000.00.22.H29-240101-0002"), None)
    assert (await world.notifier.unsubscribe("84912345678", code())).startswith("Da huy")
    assert (await world.notifier.unsubscribe("84912345678", code())).startswith("So nay chua")
    await world.notifier.report(change(Status.RESULT_READY))
    assert await world.notifier.release_due() == 0
    assert await world.notifier.unsubscribe("84912345678", None) == "Da huy nhan tin 1 ho so."
    assert (await world.notifier.unsubscribe("84912345678", None)).startswith("So nay khong")


async def test_one_number_follows_at_most_the_configured_dossiers() -> None:
    world = World()
    notifier = world.notifier
    notifier._policy = NotifyPolicy(POLICY.quiet, max_subscriptions=1)
    world.source.put(dossier("000.00.22.H29-240101-0002"))
    await notifier.subscribe("84912345678", code(), None)
    text = await notifier.subscribe("84912345678", code("000.00.22.H29-240101-0002"), None)
    assert "toi da" in text


def test_every_text_fits_one_gsm_segment() -> None:
    texts = NotifyReplies(SmsReplies(short_code="8283"))
    long_code = "000.00.22.H29-240101-0001"
    for text in (
        texts.subscribed(long_code, Status.AWAITING_PAYMENT),
        texts.needs_factor(long_code),
        texts.too_many(10),
        texts.changed(long_code, Status.AWAITING_PAYMENT),
        texts.changed(long_code, Status.RETURNED),
        texts.final(long_code, Status.WITHDRAWN),
    ):
        assert texts.replies.size(text) <= 160, text
