"""Status-change notifications at work: DK/HUY from SMS, changes from the webhook and from
polling, and the release of due notifications into the outbox.

Three inputs, one rule set (:mod:`gateway.notify`):

- ``subscribe``/``unsubscribe`` (the SMS channel's ``Subscriptions``): a lookup decides,
  with the same second factor as a detailed answer; the store keeps the subscription.
- ``report`` (webhook) and ``poll_once`` (the sources, for subscribed codes only): a change
  becomes news due at once or at the end of quiet hours.
- ``release_due``: due notifications go into the outbox, within each subscriber's daily cap,
  in the same store step that records them; a final status ends the subscription.

Several instances may run all three: the store's locking gives each due notification to one
of them, and the "same status is no news" rule absorbs the duplicates of polling twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import structlog

from gateway.clock import Clock
from gateway.codes import DossierCode
from gateway.dossier import Status
from gateway.lookup import Channel, LookupRequest, LookupService
from gateway.notify import (
    ChangeOrigin,
    NotifyPolicy,
    StatusChange,
    SubscribeOutcome,
    Subscription,
    decide_subscribe,
    observe,
    release,
)
from gateway.phone import mask_msisdn, normalize_msisdn, to_international
from gateway.ports import SourceError
from gateway.store import ReplyDraft
from gateway.subscriptions import AddResult, SubscriptionStore

RELEASE_BATCH = 200
PURGE_INTERVAL = 3600.0  # seconds between purges of expired subscriptions
POLL_PAGE = 500


class NotifyTexts(Protocol):
    def subscribed(self, code: str, status: Status) -> str: ...
    def already(self, code: str) -> str: ...
    def needs_factor(self, code: str) -> str: ...
    def final(self, code: str, status: Status) -> str: ...
    def too_many(self, cap: int) -> str: ...
    def unsubscribed(self, code: str) -> str: ...
    def not_subscribed(self, code: str) -> str: ...
    def unsubscribed_all(self, count: int) -> str: ...
    def changed(self, code: str, status: Status) -> str: ...
    def not_found(self, code: str) -> str: ...
    def unavailable(self) -> str: ...
    def rate_limited(self, retry_after: float | None) -> str: ...


@dataclass(frozen=True, slots=True)
class PollSchedule:
    interval: float = 300.0  # seconds between polls; 0: never
    concurrency: int = 4
    release_interval: float = 5.0


class Notifier:
    def __init__(
        self,
        *,
        store: SubscriptionStore,
        lookup: LookupService,
        policy: NotifyPolicy,
        texts: NotifyTexts,
        clock: Clock,
        schedule: PollSchedule | None = None,
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._policy = policy
        self._texts = texts
        self._clock = clock
        self._schedule = schedule or PollSchedule()
        self._news = asyncio.Event()
        self._log = structlog.get_logger("statusgw.notify")

    # ---- SMS commands (sms.responder.Subscriptions) ------------------------------------------

    async def subscribe(self, sender: str, code: DossierCode, factor: str | None) -> str:
        result = await self._lookup.lookup(
            LookupRequest(code, Channel.SMS, requester=sender, factor=factor)
        )
        outcome = decide_subscribe(result)
        canonical = code.canonical
        if outcome is SubscribeOutcome.SUBSCRIBED and result.view is not None:
            subscription = Subscription.new(
                normalize_msisdn(sender), canonical, result.view.status, self._clock.now()
            )
            added = await self._store.add(subscription, self._policy.max_subscriptions)
            outcome = {
                AddResult.ADDED: SubscribeOutcome.SUBSCRIBED,
                AddResult.ALREADY: SubscribeOutcome.ALREADY,
                AddResult.TOO_MANY: SubscribeOutcome.TOO_MANY,
            }[added]
        self._log.info(
            "notify.subscribe", sender=mask_msisdn(sender), code=canonical, outcome=outcome.value
        )
        status = result.view.status if result.view is not None else Status.UNKNOWN
        match outcome:
            case SubscribeOutcome.SUBSCRIBED:
                return self._texts.subscribed(canonical, status)
            case SubscribeOutcome.ALREADY:
                return self._texts.already(canonical)
            case SubscribeOutcome.NEEDS_FACTOR:
                return self._texts.needs_factor(canonical)
            case SubscribeOutcome.FINAL:
                return self._texts.final(canonical, status)
            case SubscribeOutcome.TOO_MANY:
                return self._texts.too_many(self._policy.max_subscriptions)
            case SubscribeOutcome.UNAVAILABLE:
                return self._texts.unavailable()
            case SubscribeOutcome.RATE_LIMITED:
                return self._texts.rate_limited(result.retry_after)
            case SubscribeOutcome.NOT_FOUND:
                return self._texts.not_found(canonical)

    async def unsubscribe(self, sender: str, code: DossierCode | None) -> str:
        subscriber = normalize_msisdn(sender)
        if code is None:
            count = await self._store.remove_all(subscriber)
            self._log.info("notify.unsubscribe_all", sender=mask_msisdn(sender), count=count)
            return self._texts.unsubscribed_all(count)
        removed = await self._store.remove(subscriber, code.canonical)
        self._log.info(
            "notify.unsubscribe", sender=mask_msisdn(sender), code=code.canonical, removed=removed
        )
        if removed:
            return self._texts.unsubscribed(code.canonical)
        return self._texts.not_subscribed(code.canonical)

    # ---- changes -----------------------------------------------------------------------------

    async def report(self, change: StatusChange) -> int:
        """Take one reported change; return how many subscribers now have news due."""
        now = self._clock.now()
        pending = await self._store.observe(
            change.code, lambda s: observe(s, change, now, self._policy)
        )
        if pending:
            self._news.set()
        # A poll that finds nothing new is the common case: not worth a line each time.
        quiet = not pending and change.origin is ChangeOrigin.POLL
        (self._log.debug if quiet else self._log.info)(
            "notify.change",
            code=change.code,
            status=change.status.value,
            origin=change.origin.value,
            pending=pending,
        )
        return pending

    async def report_many(self, changes: Sequence[StatusChange]) -> int:
        return sum([await self.report(change) for change in changes])

    async def poll_once(self) -> int:
        """Ask the sources for every subscribed code; report what they say. Returns the
        number of subscribers with news due."""
        limit = asyncio.Semaphore(self._schedule.concurrency)
        pending = 0
        after = ""
        while True:
            codes = await self._store.codes(after, POLL_PAGE)
            if not codes:
                return pending
            results = await asyncio.gather(*(self._poll(code, limit) for code in codes))
            pending += sum(results)
            after = codes[-1]

    async def _poll(self, code: str, limit: asyncio.Semaphore) -> int:
        async with limit:
            try:
                answer = await self._lookup.sources.fetch(code)
            except SourceError as exc:
                self._log.warning("notify.poll_failed", code=code, error=str(exc))
                return 0
        if not answer.dossiers:
            return 0
        dossier = answer.dossiers[0]
        changed_at = dossier.updated_at or self._clock.now()
        return await self.report(StatusChange(code, dossier.status, changed_at, ChangeOrigin.POLL))

    async def release_due(self) -> int:
        """Queue the notifications that are due; return how many were queued."""
        now = self._clock.now()
        day = self._policy.local_day(now)
        total = 0
        while True:
            queued = await self._store.release_due(
                now,
                day,
                RELEASE_BATCH,
                lambda s, sent: release(s, now, sent, self._policy),
                self._render,
            )
            total += queued
            if queued < RELEASE_BATCH:
                break
        if total:
            self._log.info("notify.released", count=total)
        return total

    def _render(self, subscription: Subscription, status: Status) -> ReplyDraft:
        return ReplyDraft(
            to_international(subscription.subscriber),
            self._texts.changed(subscription.code, status),
        )

    async def purge_expired(self) -> int:
        cutoff = self._clock.now() - timedelta(days=self._policy.subscription_days)
        return await self._store.purge_expired(cutoff)

    # ---- loops -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Release and poll until cancelled; a failed round is logged and tried again."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._release_loop())
            if self._schedule.interval > 0:
                group.create_task(self._poll_loop())

    async def _release_loop(self) -> None:
        purged_at: float | None = None
        while True:
            try:
                await self.release_due()
                now = self._clock.monotonic()
                if purged_at is None or now - purged_at >= PURGE_INTERVAL:
                    purged_at = now
                    await self.purge_expired()  # subscriptions past subscription_days
            except Exception as exc:  # a store outage must not end notifications for good
                self._log.warning("notify.release_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._schedule.release_interval):
                    await self._news.wait()
            self._news.clear()

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception as exc:
                self._log.warning("notify.poll_round_failed", error=str(exc))
            await asyncio.sleep(self._schedule.interval)
