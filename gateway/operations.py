"""What the hotline's operations side keeps: how each call ended, how each wait for an
operator ended, and the notes operators leave on calls. With the lookup audit
(:mod:`gateway.audit`) it is what the reports and the supervisors' figures are made of.

The channels never wait for it. They hand entries to :class:`Recorder`, which keeps them in
memory and writes batches in the background (every ``flush_interval`` seconds, or sooner
once ``batch_max`` are waiting); when the log is slow or down the oldest unwritten entries are
dropped and counted, and the channels go on answering. Notes are the exception: an operator
is told whether theirs was saved.

No phone numbers here: a call is known by its Asterisk uniqueid; its caller stays on the
live escalation only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog

from gateway.audit import AuditLog, LookupAudit

_log = structlog.get_logger("statusgw.operations")

MAX_NOTE_CHARS = 500
MAX_NOTES_PER_CALL = 50


class NoteRefused(Exception):
    """The note cannot be kept (too long, too many on the call); the message says why."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One hotline call as the IVR ended it."""

    at: datetime
    call_id: str
    outcome: str  # abandoned | not_found | error | read | escalated (ivr.call.Outcome)
    escalation: str | None  # why it went to the operators, if it did
    dossier: str | None
    lookups: int


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """How an escalated call's wait for an operator ended."""

    at: datetime
    call_id: str
    result: str  # answered | abandoned
    wait_seconds: int | None
    operator: str | None  # the queue member that answered


@dataclass(frozen=True, slots=True)
class CallNote:
    at: datetime
    call_id: str
    author: str  # the operator's sign-in name
    text: str
    dossier: str | None = None


CallEntry = CallRecord | QueueRecord


class CallLog(Protocol):
    """Where call entries and notes are kept: :class:`MemoryCallLog` or PostgreSQL."""

    async def write(self, entries: Sequence[CallEntry]) -> None:
        """Keep a batch; raise if it could not be kept (the recorder counts it dropped)."""
        ...

    async def add_note(self, note: CallNote) -> None:
        """Keep one note; :class:`NoteRefused` past the per-call cap."""
        ...

    async def notes(self, call_id: str) -> list[CallNote]:
        """The notes on one call, oldest first."""
        ...


class MemoryCallLog:
    """The embedded log: kept in this process, the newest ``keep`` entries of each kind."""

    def __init__(self, keep: int = 100_000) -> None:
        self.calls: deque[CallRecord] = deque(maxlen=keep)
        self.queue: deque[QueueRecord] = deque(maxlen=keep)
        self._notes: dict[str, list[CallNote]] = {}
        self._keep = keep

    async def write(self, entries: Sequence[CallEntry]) -> None:
        for entry in entries:
            if isinstance(entry, CallRecord):
                self.calls.append(entry)
            else:
                self.queue.append(entry)

    async def add_note(self, note: CallNote) -> None:
        notes = self._notes.setdefault(note.call_id, [])
        if len(notes) >= MAX_NOTES_PER_CALL:
            raise NoteRefused(f"a call takes at most {MAX_NOTES_PER_CALL} notes")
        notes.append(note)
        while len(self._notes) > self._keep:
            self._notes.pop(next(iter(self._notes)))

    async def notes(self, call_id: str) -> list[CallNote]:
        return list(self._notes.get(call_id, ()))


@dataclass(slots=True)
class RecorderStats:
    written: int = 0
    dropped: int = 0  # not written: the backlog overflowed or a batch failed
    failures: int = 0
    pending: int = 0


Entry = LookupAudit | CallEntry


@dataclass
class Recorder:
    """The channels' side of both logs: ``record`` never waits; one task writes batches."""

    audit: AuditLog
    calls: CallLog
    flush_interval: float = 0.5
    batch_max: int = 500
    backlog: int = 50_000  # unwritten entries kept while a log is slow or down
    stats: RecorderStats = field(default_factory=RecorderStats)
    _pending: deque[Entry] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def record(self, entry: Entry) -> None:
        if len(self._pending) >= self.backlog:
            self._pending.popleft()
            self.stats.dropped += 1
        self._pending.append(entry)
        self.stats.pending = len(self._pending)
        if len(self._pending) >= self.batch_max:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="recorder")

    async def flush(self) -> None:
        """Write everything recorded so far (a batch that fails is dropped and counted)."""
        while self._pending:
            size = min(self.batch_max, len(self._pending))
            batch = [self._pending.popleft() for _ in range(size)]
            self.stats.pending = len(self._pending)
            lookups = [e for e in batch if isinstance(e, LookupAudit)]
            calls = [e for e in batch if not isinstance(e, LookupAudit)]
            try:
                # The audit log commits concurrent records together (and never raises).
                await asyncio.gather(*(self.audit.record(e) for e in lookups))
                if calls:
                    await self.calls.write(calls)
            except Exception as exc:
                self.stats.failures += 1
                self.stats.dropped += len(calls)
                self.stats.written += len(lookups)
                _log.warning("calls_not_recorded", entries=len(calls), error=str(exc) or repr(exc))
                continue
            self.stats.written += len(batch)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()
