"""Where subscriptions live: the interface, and the in-process store behind ``memory://``.

The rules are :mod:`gateway.notify`'s; a store applies them atomically. ``observe`` and
``release_due`` take the rule as a function, so the PostgreSQL store and this one run the
very same code inside their own locking (there: row locks, ``SKIP LOCKED`` for release, the
notification inserted into the outbox in the same transaction as the new state).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Protocol

from gateway.dossier import Status
from gateway.notify import Release, Subscription
from gateway.store import MessageStore, ReplyDraft

Update = Callable[[Subscription], Subscription | None]
Decide = Callable[[Subscription, int], Release]  # (due subscription, sent today) -> release
Render = Callable[[Subscription, Status], ReplyDraft]


class AddResult(Enum):
    ADDED = "added"
    ALREADY = "already"
    TOO_MANY = "too_many"


class SubscriptionStore(Protocol):
    async def add(self, subscription: Subscription, limit: int) -> AddResult:
        """Add unless the subscriber follows this code already or ``limit`` codes in all."""
        ...

    async def remove(self, subscriber: str, code: str) -> bool: ...

    async def remove_all(self, subscriber: str) -> int: ...

    async def get(self, subscriber: str, code: str) -> Subscription | None: ...

    async def codes(self, after: str, limit: int) -> list[str]:
        """Subscribed dossier codes greater than ``after``, in order (for polling by pages)."""
        ...

    async def observe(self, code: str, update: Update) -> int:
        """Apply ``update`` to every subscription of ``code``; return how many got news due."""
        ...

    async def release_due(
        self, now: datetime, day: date, limit: int, decide: Decide, render: Render
    ) -> int:
        """Decide up to ``limit`` subscriptions due by ``now``; queue what is to be sent and
        store the new state together; return how many notifications were queued."""
        ...

    async def purge_expired(self, created_before: datetime) -> int: ...


class MemorySubscriptions:
    """The embedded store; queues notifications into the (memory) message store."""

    def __init__(self, outbox: MessageStore) -> None:
        self._outbox = outbox
        self._rows: dict[tuple[str, str], Subscription] = {}
        self._sent: dict[tuple[str, date], int] = {}

    async def add(self, subscription: Subscription, limit: int) -> AddResult:
        key = (subscription.subscriber, subscription.code)
        if key in self._rows:
            return AddResult.ALREADY
        if sum(1 for s, _ in self._rows if s == subscription.subscriber) >= limit:
            return AddResult.TOO_MANY
        self._rows[key] = subscription
        return AddResult.ADDED

    async def remove(self, subscriber: str, code: str) -> bool:
        return self._rows.pop((subscriber, code), None) is not None

    async def remove_all(self, subscriber: str) -> int:
        mine = [key for key in self._rows if key[0] == subscriber]
        for key in mine:
            del self._rows[key]
        return len(mine)

    async def get(self, subscriber: str, code: str) -> Subscription | None:
        return self._rows.get((subscriber, code))

    async def codes(self, after: str, limit: int) -> list[str]:
        return sorted({code for _, code in self._rows if code > after})[:limit]

    async def observe(self, code: str, update: Update) -> int:
        pending = 0
        for key in [key for key in self._rows if key[1] == code]:
            changed = update(self._rows[key])
            if changed is None:
                continue
            self._rows[key] = changed
            pending += changed.due_at is not None
        return pending

    async def release_due(
        self, now: datetime, day: date, limit: int, decide: Decide, render: Render
    ) -> int:
        due = sorted(
            (s for s in self._rows.values() if s.due_at is not None and s.due_at <= now),
            key=lambda s: s.due_at or now,
        )[:limit]
        queued = 0
        for subscription in due:
            key = (subscription.subscriber, subscription.code)
            outcome = decide(subscription, self._sent.get((subscription.subscriber, day), 0))
            if outcome.send is not None:
                await self._outbox.enqueue([render(subscription, outcome.send)])
                self._sent[(subscription.subscriber, day)] = (
                    self._sent.get((subscription.subscriber, day), 0) + 1
                )
                queued += 1
            if outcome.after is None:
                del self._rows[key]
            else:
                self._rows[key] = outcome.after
        for old in [k for k in self._sent if k[1] < day]:
            del self._sent[old]
        return queued

    async def purge_expired(self, created_before: datetime) -> int:
        old = [key for key, s in self._rows.items() if s.created_at < created_before]
        for key in old:
            del self._rows[key]
        return len(old)
