"""When operators take calls: weekly opening hours plus closed days (public holidays).

Status lookups run day and night; only escalation to a person is gated by these hours, as
public-service hotlines do. The rules are written the way an office posts them::

    "mon-fri 07:30-11:30"
    "mon-fri 13:00-17:00"
    "sat 07:30-11:30"

A day part is a day, a range (``mon-fri``) or a comma list (``mon,wed``); the times are the
local wall clock of ``timezone``, end excluded. ``"daily 00:00-24:00"`` means always open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALIASES = {"daily": "mon-sun", "weekdays": "mon-fri"}


class HoursError(ValueError):
    """An opening-hours rule that cannot be read; the message quotes it."""


@dataclass(frozen=True, slots=True)
class OpeningSpan:
    weekdays: frozenset[int]  # Monday is 0
    start: timedelta  # since local midnight
    end: timedelta

    def contains(self, local: datetime) -> bool:
        since_midnight = timedelta(
            hours=local.hour, minutes=local.minute, seconds=local.second
        ) + timedelta(microseconds=local.microsecond)
        return local.weekday() in self.weekdays and self.start <= since_midnight < self.end


@dataclass(frozen=True, slots=True)
class OperatorHours:
    spans: tuple[OpeningSpan, ...]
    timezone: ZoneInfo
    closed_days: frozenset[date] = frozenset()

    @classmethod
    def parse(
        cls, rules: Iterable[str], timezone: str, closed_days: Iterable[str] = ()
    ) -> OperatorHours:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"unknown time zone {timezone!r}") from None
        closed = frozenset(_parse_date(text) for text in closed_days)
        return cls(tuple(_parse_rule(rule) for rule in rules), zone, closed)

    def is_open(self, at: datetime) -> bool:
        """Whether an operator can take a call at ``at`` (an aware datetime)."""
        if at.tzinfo is None:
            raise ValueError("operator hours need an aware datetime")
        local = at.astimezone(self.timezone)
        if local.date() in self.closed_days:
            return False
        return any(span.contains(local) for span in self.spans)


def _parse_rule(rule: str) -> OpeningSpan:
    parts = rule.split()
    if len(parts) != 2:
        raise HoursError(f"opening hours {rule!r}: expected 'DAYS HH:MM-HH:MM'")
    days_text, times_text = parts
    start_text, sep, end_text = times_text.partition("-")
    if not sep:
        raise HoursError(f"opening hours {rule!r}: expected a time range like 07:30-11:30")
    start, end = _parse_clock(rule, start_text), _parse_clock(rule, end_text)
    if end <= start:
        raise HoursError(f"opening hours {rule!r}: the end is not after the start")
    return OpeningSpan(_parse_days(rule, days_text.lower()), start, end)


def _parse_days(rule: str, text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in _ALIASES.get(text, text).split(","):
        first, sep, last = item.partition("-")
        if first not in _DAYS or (sep and last not in _DAYS):
            raise HoursError(f"opening hours {rule!r}: unknown day in {text!r} (use mon..sun)")
        low, high = _DAYS.index(first), _DAYS.index(last if sep else first)
        if high < low:
            raise HoursError(f"opening hours {rule!r}: day range {item!r} runs backwards")
        days.update(range(low, high + 1))
    return frozenset(days)


def _parse_clock(rule: str, text: str) -> timedelta:
    if text == "24:00":
        return timedelta(hours=24)
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        raise HoursError(f"opening hours {rule!r}: {text!r} is not a time (HH:MM)") from None
    return timedelta(hours=clock.hour, minutes=clock.minute)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HoursError(f"closed day {text!r} is not a date (YYYY-MM-DD)") from None
