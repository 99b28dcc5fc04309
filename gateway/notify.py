"""Status-change notifications as pure rules: who may subscribe, which change is news, when
a notification may go out. No I/O, no clock: every function is given ``now``.

A subscription (one number following one dossier) moves through these states, each forced
by one rule:

    subscribe ──► QUIET (the subscriber knows the latest status)
    QUIET ──observe(new status)──► PENDING (due_at = now, or the end of quiet hours)
    PENDING ──observe(the status the subscriber knows)──► QUIET (it changed back: no news)
    PENDING ──observe(another status)──► PENDING (the latest wins: one SMS tells it)
    PENDING ──release(due, daily cap left)──► QUIET, or ENDED if the status is final
    PENDING ──release(cap spent / quiet hours)──► PENDING (due_at moved to when it may go)
    any ──expire(subscription_days)──► ENDED

"One SMS per real change": a report (webhook or poll, from any instance, repeated or late)
is news only if its status differs from the latest one seen and it is not older than the
latest report; so the same change arriving twice, or by both paths, notifies once.
Notifications held overnight are coalesced: the morning SMS tells the status then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from gateway.dossier import Status
from gateway.lookup import LookupResult, Outcome
from gateway.privacy import Disclosure

__all__ = [
    "ChangeOrigin",
    "NotifyPolicy",
    "QuietHours",
    "Release",
    "StatusChange",
    "SubscribeOutcome",
    "Subscription",
    "decide_subscribe",
    "observe",
    "release",
]


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours without notification SMS, e.g. 21:00-07:00 (may wrap midnight)."""

    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, hours: str, zone: str) -> QuietHours:
        """``"21:00-07:00"`` in ``zone``; equal start and end mean no quiet hours."""
        start, _, end = hours.partition("-")
        return cls(
            time.fromisoformat(start.strip()), time.fromisoformat(end.strip()), ZoneInfo(zone)
        )

    def is_quiet(self, now: datetime) -> bool:
        local = now.astimezone(self.zone).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release_at(self, now: datetime) -> datetime:
        """``now`` if a notification may go now, else the end of this quiet period (UTC)."""
        if not self.is_quiet(now):
            return now
        local = now.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        return end.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    quiet: QuietHours
    daily_cap: int = 3
    max_subscriptions: int = 10
    subscription_days: int = 180

    def local_day(self, now: datetime) -> date:
        """The subscriber's calendar day, which the daily cap counts in."""
        return now.astimezone(self.quiet.zone).date()

    def next_day(self, now: datetime) -> datetime:
        """The first moment of the next local day (UTC)."""
        tomorrow = self.local_day(now) + timedelta(days=1)
        return datetime.combine(tomorrow, time(0), tzinfo=self.quiet.zone).astimezone(UTC)

    def expires(self, subscription: Subscription, now: datetime) -> bool:
        return now - subscription.created_at >= timedelta(days=self.subscription_days)


class ChangeOrigin(Enum):
    WEBHOOK = "webhook"  # the one-stop system told us
    POLL = "poll"  # we asked the sources


@dataclass(frozen=True, slots=True)
class StatusChange:
    code: str  # canonical dossier code
    status: Status
    changed_at: datetime  # when the source says it changed (the report time if it does not)
    origin: ChangeOrigin


@dataclass(frozen=True, slots=True)
class Subscription:
    subscriber: str  # national form of the number (gateway.phone.normalize_msisdn)
    code: str
    created_at: datetime
    notified: Status  # what the subscriber last heard of (at subscription: the status then)
    seen: Status  # the latest status reported
    seen_at: datetime | None = None  # when that status was reported to have changed
    due_at: datetime | None = None  # a notification of ``seen`` may go from then; None: none

    @classmethod
    def new(cls, subscriber: str, code: str, status: Status, now: datetime) -> Subscription:
        return cls(subscriber, code, now, notified=status, seen=status, seen_at=None)


def observe(
    subscription: Subscription, change: StatusChange, now: datetime, policy: NotifyPolicy
) -> Subscription | None:
    """The subscription after a reported change, or None when the report is not news."""
    if subscription.seen_at is not None and change.changed_at < subscription.seen_at:
        return None  # older than what we know: a late or replayed report
    if change.status is subscription.seen:
        return None  # the same status again: a repeat, or the other path's report
    if change.status is subscription.notified:
        # Changed back before the subscriber heard of the intermediate status: no news.
        return replace(subscription, seen=change.status, seen_at=change.changed_at, due_at=None)
    due = subscription.due_at or policy.quiet.release_at(now)
    return replace(subscription, seen=change.status, seen_at=change.changed_at, due_at=due)


@dataclass(frozen=True, slots=True)
class Release:
    """What to do with a subscription whose notification is due."""

    send: Status | None  # the status to tell the subscriber now; None: nothing now
    after: Subscription | None  # the subscription's next state; None: it ends


def release(
    subscription: Subscription, now: datetime, sent_today: int, policy: NotifyPolicy
) -> Release:
    """Decide a due subscription: send now, hold (quiet hours, daily cap), or end."""
    if policy.expires(subscription, now):
        return Release(send=None, after=None)
    if subscription.due_at is None or subscription.seen is subscription.notified:
        return Release(send=None, after=replace(subscription, due_at=None))
    if subscription.due_at > now:
        return Release(send=None, after=subscription)
    if policy.quiet.is_quiet(now):
        return Release(send=None, after=replace(subscription, due_at=policy.quiet.release_at(now)))
    if sent_today >= policy.daily_cap:
        tomorrow = policy.quiet.release_at(policy.next_day(now))
        return Release(send=None, after=replace(subscription, due_at=tomorrow))
    status = subscription.seen
    if status.is_final:
        return Release(send=status, after=None)  # nothing will change any more
    return Release(send=status, after=replace(subscription, notified=status, due_at=None))


class SubscribeOutcome(Enum):
    SUBSCRIBED = "subscribed"
    ALREADY = "already"  # the number already follows this dossier
    NEEDS_FACTOR = "needs_factor"  # the number is not the dossier's and no factor matched
    NOT_FOUND = "not_found"
    FINAL = "final"  # the dossier will not change any more
    TOO_MANY = "too_many"  # the number follows max_subscriptions dossiers already
    UNAVAILABLE = "unavailable"  # the sources cannot answer now: try later
    RATE_LIMITED = "rate_limited"


def decide_subscribe(result: LookupResult) -> SubscribeOutcome:
    """Whether a lookup made for ``DK <code>`` allows the subscription.

    Following a dossier is a standing disclosure, so it needs what a detailed lookup needs:
    the sender's number is the dossier's phone, or the citizen added its last 4 digits (or the
    whole number). The store decides ALREADY and TOO_MANY afterwards.
    """
    if result.outcome is Outcome.RATE_LIMITED:
        return SubscribeOutcome.RATE_LIMITED
    if result.outcome is Outcome.UNAVAILABLE:
        return SubscribeOutcome.UNAVAILABLE
    if result.outcome is not Outcome.FOUND or result.view is None:
        return SubscribeOutcome.NOT_FOUND
    if result.view.disclosure is not Disclosure.VERIFIED:
        return SubscribeOutcome.NEEDS_FACTOR
    if result.view.status.is_final:
        return SubscribeOutcome.FINAL
    return SubscribeOutcome.SUBSCRIBED
