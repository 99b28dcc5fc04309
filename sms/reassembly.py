"""MO concatenation: parts of a citizen's long SMS in, whole messages out.

Pure and clock-free: every call takes ``now`` (monotonic seconds). Parts come from a UDH (8- or
16-bit reference), from SAR TLVs (:meth:`sms.text.Concat.from_sar`), or are whole already (no
concatenation, e.g. one ``message_payload``); the caller turns all three into a :class:`MoPart`.

One message is keyed by (sender, destination, reference, total), as Kannel does; the sender is
part of the key because on a short code every MO shares the destination and two phones may pick
the same 8-bit reference (Jasmin's key lacks it). Life of one key:

- collecting: parts are stored by sequence number, so arrival order does not matter; a second
  copy of a sequence number is ignored (first copy wins; SMSCs redeliver when a resp is lost).
- complete: the last missing part yields a :class:`CompleteMo`. The parts stay remembered for
  ``timeout_s`` so that a part redelivered after completion is recognised as a duplicate instead
  of opening a new message that would later be released as a second, partial one.
- timed out: ``timeout_s`` after its *first* part an incomplete message leaves. With the
  ``"release"`` policy (default) it comes out with ``partial=True`` and the received parts joined
  in order (a space where parts are missing): the dossier code is usually in the first part, so
  the citizen still gets an answer. With ``"drop"`` it is discarded and counted.
- evicted: at ``max_pending`` collecting messages a new one pushes out the oldest, which then
  follows the timeout policy. Messages that leave without an :meth:`Reassembler.add` call to
  return them (timed out, evicted, superseded) come out of the next :meth:`Reassembler.expire`.

Memory is bounded: at most ``max_pending`` collecting messages of at most 255 parts, as many
remembered completions, and as many released messages waiting for ``expire``.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Literal

from sms.text import Concat, join_parts

IncompletePolicy = Literal["release", "drop"]

_Key = tuple[str, str, int, int]


@dataclass(frozen=True, slots=True)
class MoPart:
    """One received ``deliver_sm`` text, with its place in a longer message if it has one."""

    sender: str
    destination: str
    text: str
    concat: Concat | None = None


@dataclass(frozen=True, slots=True)
class CompleteMo:
    """A whole MO message; ``partial`` when parts were still ``missing`` at the timeout."""

    sender: str
    destination: str
    text: str
    parts: int = 1
    total: int = 1
    partial: bool = False
    missing: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ReassemblyStats:
    """Counters since start, for metrics; ``pending`` is the current number collecting."""

    pending: int
    completed: int
    duplicates: int
    released_partial: int
    dropped: int
    evicted: int


@dataclass(slots=True)
class _Collecting:
    first_seen: float
    texts: dict[int, str]


@dataclass(frozen=True, slots=True)
class _Completed:
    at: float
    texts: dict[int, str]


class Reassembler:
    """Joins concatenated MO parts; see the module docstring for the rules."""

    def __init__(
        self, timeout_s: float, max_pending: int, on_timeout: IncompletePolicy = "release"
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        if on_timeout not in ("release", "drop"):
            raise ValueError(f"on_timeout must be 'release' or 'drop', got {on_timeout!r}")
        self._timeout = timeout_s
        self._max_pending = max_pending
        self._on_timeout = on_timeout
        self._collecting: dict[_Key, _Collecting] = {}  # insertion order = arrival order
        self._completed: OrderedDict[_Key, _Completed] = OrderedDict()
        self._released: deque[CompleteMo] = deque()
        self._done = self._duplicates = self._partial = self._dropped = self._evicted = 0

    def __len__(self) -> int:
        return len(self._collecting)

    def add(self, part: MoPart, now: float) -> CompleteMo | None:
        """Store one part; the whole message when this part completes it, else None."""
        concat = part.concat
        if concat is None:
            self._done += 1
            return CompleteMo(part.sender, part.destination, part.text)
        key = (part.sender, part.destination, concat.ref, concat.total)
        collecting = self._collecting.get(key)
        if collecting is not None and self._expired(collecting.first_seen, now):
            self._leave_incomplete(key)  # a stale message with a reused reference
            collecting = None
        if collecting is None:
            if self._redelivered(key, concat.seq, part.text, now):
                self._duplicates += 1
                return None
            collecting = self._open(key, now)
        if concat.seq in collecting.texts:
            self._duplicates += 1
            return None
        collecting.texts[concat.seq] = part.text
        if len(collecting.texts) < concat.total:
            return None
        del self._collecting[key]
        self._remember(key, _Completed(now, collecting.texts))
        self._done += 1
        return self._assemble(key, collecting.texts)

    def expire(self, now: float) -> list[CompleteMo]:
        """Time out messages whose first part is ``timeout_s`` old; return everything released.

        Call it periodically (a second or so); released messages are in first-part order.
        """
        for key in [k for k, c in self._collecting.items() if self._expired(c.first_seen, now)]:
            self._leave_incomplete(key)
        for key in [k for k, c in self._completed.items() if self._expired(c.at, now)]:
            del self._completed[key]
        released = list(self._released)
        self._released.clear()
        return released

    def stats(self) -> ReassemblyStats:
        return ReassemblyStats(
            pending=len(self._collecting),
            completed=self._done,
            duplicates=self._duplicates,
            released_partial=self._partial,
            dropped=self._dropped,
            evicted=self._evicted,
        )

    def _expired(self, since: float, now: float) -> bool:
        return now - since >= self._timeout

    def _redelivered(self, key: _Key, seq: int, text: str, now: float) -> bool:
        # same reference and the same text: a late copy; a different text is a new message
        completed = self._completed.get(key)
        return (
            completed is not None
            and not self._expired(completed.at, now)
            and completed.texts.get(seq) == text
        )

    def _open(self, key: _Key, now: float) -> _Collecting:
        if len(self._collecting) >= self._max_pending:
            self._evicted += 1
            self._leave_incomplete(next(iter(self._collecting)))
        collecting = self._collecting[key] = _Collecting(now, {})
        return collecting

    def _remember(self, key: _Key, completed: _Completed) -> None:
        self._completed.pop(key, None)
        self._completed[key] = completed
        if len(self._completed) > self._max_pending:
            self._completed.popitem(last=False)

    def _leave_incomplete(self, key: _Key) -> None:
        collecting = self._collecting.pop(key)
        if self._on_timeout == "drop":
            self._dropped += 1
            return
        if len(self._released) >= self._max_pending:
            self._released.popleft()  # nobody is calling expire(); keep memory bounded
            self._dropped += 1
        self._partial += 1
        self._released.append(self._assemble(key, collecting.texts))

    @staticmethod
    def _assemble(key: _Key, texts: dict[int, str]) -> CompleteMo:
        sender, destination, _, total = key
        missing = tuple(seq for seq in range(1, total + 1) if seq not in texts)
        pieces: list[str] = []
        gap = False
        for seq in range(1, total + 1):
            text = texts.get(seq)
            if text is None:
                gap = bool(pieces)
                continue
            if gap:
                pieces.append(" ")  # keep the words on both sides of a missing part apart
                gap = False
            pieces.append(text)
        return CompleteMo(
            sender=sender,
            destination=destination,
            text=join_parts(pieces),
            parts=len(texts),
            total=total,
            partial=bool(missing),
            missing=missing,
        )
