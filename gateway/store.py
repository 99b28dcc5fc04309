"""The message store: every MO kept before it is acknowledged, every reply through an outbox.

The life of a citizen's message, the same whatever the store behind it:

    MO received ──save_mo──► stored ──claim_mo──► processing ──answer_mo──► answered
                                 (lease; a dead owner's claim        │ (replies written in the
                                  is taken again when it ends)       ▼  same step)
    reply queued ──claim_replies──► sending ──reply_sent──► sent ──record_receipt──► delivered
                       ▲                 │ reply_retry (temporary)         or failed
                       └─────────────────┘ reply_failed (permanent)

``memory://`` keeps all of it in the process (nothing survives a restart; the embedded default).
A PostgreSQL store keeps it across crashes and shares it between instances.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from gateway.clock import Clock


class StoreUnavailable(Exception):
    """The store cannot read or write now; the caller answers with a temporary error."""


@dataclass(frozen=True, slots=True)
class InboundMo:
    """A whole citizen message (parts already joined), as it is stored."""

    sender: str
    destination: str
    text: str
    received_at: datetime
    fingerprint: str  # equal for an SMSC's redelivery of the same message


@dataclass(frozen=True, slots=True)
class StoredMo:
    id: str
    sender: str
    destination: str
    text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """One SMS to send (it may take several segments)."""

    destination: str
    text: str


@dataclass(frozen=True, slots=True)
class OutboundSms:
    id: str
    mo_id: str | None
    destination: str
    text: str
    attempts: int  # sends tried before this claim
    created_at: datetime


class MessageStore(Protocol):
    async def save_mo(self, batch: Sequence[InboundMo]) -> list[bool]:
        """Store a batch in one commit. ``True`` for a new message, ``False`` for a redelivery
        of one already stored (within the store's deduplication window). Raises
        :class:`StoreUnavailable` when nothing was stored."""
        ...

    async def claim_mo(self, owner: str, limit: int, lease: float) -> list[StoredMo]:
        """Stored messages not answered yet, claimed by ``owner`` for ``lease`` seconds."""
        ...

    async def answer_mo(self, mo_id: str, replies: Sequence[ReplyDraft]) -> None:
        """Queue the replies and mark the message answered, both or neither."""
        ...

    async def enqueue(self, replies: Sequence[ReplyDraft]) -> None:
        """Queue replies that answer no message (notifications)."""
        ...

    async def claim_replies(self, owner: str, limit: int, lease: float) -> list[OutboundSms]:
        """Replies due for sending, claimed by ``owner`` for ``lease`` seconds."""
        ...

    async def reply_sent(self, reply_id: str, message_ids: Sequence[str]) -> None: ...

    async def reply_retry(self, reply_id: str, delay: float, reason: str) -> None: ...

    async def reply_failed(self, reply_id: str, reason: str) -> None: ...

    async def record_receipt(self, reply_id: str | None, message_id: str, state: str) -> None:
        """A delivery receipt; ``reply_id`` is None when it could not be matched in memory."""
        ...

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new messages or replies may be claimable, or after ``timeout``."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Reply:
    sms: OutboundSms
    state: str = "queued"  # queued | sending | sent | failed
    due: float = 0.0
    claimed_until: float = 0.0
    message_ids: tuple[str, ...] = ()
    receipt: str | None = None
    reason: str = ""


@dataclass(slots=True)
class _Mo:
    mo: StoredMo
    answered: bool = False
    claimed_until: float = 0.0


class MemoryStore:
    """The embedded store: the same contract, kept in this process only."""

    def __init__(self, clock: Clock, dedup_window: float = 120.0, keep: int = 100_000) -> None:
        self._clock = clock
        self._dedup_window = dedup_window
        self._keep = keep
        self._ids = itertools.count(1)
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._mo: dict[str, _Mo] = {}
        self._mo_queue: deque[str] = deque()
        self._replies: dict[str, _Reply] = {}
        self._reply_queue: deque[str] = deque()
        self._done: deque[str] = deque()
        self._work = asyncio.Event()
        self.receipts: dict[str, str] = {}  # message_id -> state, for inspection

    async def save_mo(self, batch: Sequence[InboundMo]) -> list[bool]:
        now = self._clock.monotonic()
        self._forget_seen(now)
        fresh: list[bool] = []
        for inbound in batch:
            if inbound.fingerprint in self._seen:
                fresh.append(False)
                continue
            self._seen[inbound.fingerprint] = now
            mo_id = f"mo-{next(self._ids)}"
            stored = StoredMo(
                mo_id, inbound.sender, inbound.destination, inbound.text, inbound.received_at
            )
            self._mo[mo_id] = _Mo(stored)
            self._mo_queue.append(mo_id)
            fresh.append(True)
        if any(fresh):
            self._work.set()
        return fresh

    async def claim_mo(self, owner: str, limit: int, lease: float) -> list[StoredMo]:
        claimed: list[StoredMo] = []
        now = self._clock.monotonic()
        while self._mo_queue and len(claimed) < limit:
            entry = self._mo.get(self._mo_queue.popleft())
            if entry is None or entry.answered:
                continue
            entry.claimed_until = now + lease
            claimed.append(entry.mo)
        return claimed

    async def answer_mo(self, mo_id: str, replies: Sequence[ReplyDraft]) -> None:
        entry = self._mo.pop(mo_id, None)
        if entry is None:
            return
        entry.answered = True
        self._queue_replies(mo_id, replies)

    async def enqueue(self, replies: Sequence[ReplyDraft]) -> None:
        self._queue_replies(None, replies)

    def _queue_replies(self, mo_id: str | None, replies: Sequence[ReplyDraft]) -> None:
        now = self._clock.now()
        for draft in replies:
            reply_id = f"mt-{next(self._ids)}"
            sms = OutboundSms(reply_id, mo_id, draft.destination, draft.text, 0, now)
            self._replies[reply_id] = _Reply(sms)
            self._reply_queue.append(reply_id)
        if replies:
            self._work.set()

    async def claim_replies(self, owner: str, limit: int, lease: float) -> list[OutboundSms]:
        now = self._clock.monotonic()
        claimed: list[OutboundSms] = []
        postponed: list[str] = []
        while self._reply_queue and len(claimed) < limit:
            reply_id = self._reply_queue.popleft()
            entry = self._replies.get(reply_id)
            if entry is None or entry.state != "queued":
                continue
            if entry.due > now:
                postponed.append(reply_id)
                continue
            entry.state, entry.claimed_until = "sending", now + lease
            claimed.append(entry.sms)
        self._reply_queue.extend(postponed)
        return claimed

    async def reply_sent(self, reply_id: str, message_ids: Sequence[str]) -> None:
        self._finish(reply_id, "sent", message_ids=tuple(message_ids))

    async def reply_failed(self, reply_id: str, reason: str) -> None:
        self._finish(reply_id, "failed", reason=reason)

    async def reply_retry(self, reply_id: str, delay: float, reason: str) -> None:
        entry = self._replies.get(reply_id)
        if entry is None:
            return
        attempts = entry.sms.attempts + 1
        entry.sms = replace(entry.sms, attempts=attempts)
        entry.state, entry.reason = "queued", reason
        entry.due = self._clock.monotonic() + delay
        self._reply_queue.append(reply_id)
        self._work.set()

    def _finish(self, reply_id: str, state: str, **changes: object) -> None:
        entry = self._replies.get(reply_id)
        if entry is None:
            return
        entry.state = state
        for name, value in changes.items():
            setattr(entry, name, value)
        self._done.append(reply_id)
        while len(self._done) > self._keep:
            self._replies.pop(self._done.popleft(), None)

    async def record_receipt(self, reply_id: str | None, message_id: str, state: str) -> None:
        self.receipts[message_id] = state
        entry = self._replies.get(reply_id) if reply_id else None
        if entry is not None:
            entry.receipt = state
        while len(self.receipts) > self._keep:
            self.receipts.pop(next(iter(self.receipts)))

    async def wait_for_work(self, timeout: float) -> None:
        if not self._work.is_set():
            try:
                async with asyncio.timeout(timeout):
                    await self._work.wait()
            except TimeoutError:
                pass
        self._work.clear()

    async def close(self) -> None:
        self._work.set()

    def reply_state(self, reply_id: str) -> str | None:
        entry = self._replies.get(reply_id)
        return entry.state if entry else None

    def outstanding(self) -> int:
        """Messages not answered plus replies not finished (for draining and tests)."""
        open_replies = sum(1 for r in self._replies.values() if r.state in ("queued", "sending"))
        return len(self._mo) + open_replies

    def _forget_seen(self, now: float) -> None:
        horizon = now - self._dedup_window
        while self._seen:
            at = next(iter(self._seen.values()))
            if at >= horizon and len(self._seen) <= self._keep:
                break
            self._seen.popitem(last=False)
