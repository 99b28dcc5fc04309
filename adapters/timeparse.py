"""Timestamps as upstream systems write them, read into aware datetimes.

Vietnamese systems mostly write local time without an offset: the national portal's
``yyyyMMddHHmmss`` (``20250305090000``), ISO 8601 without a zone, or ``dd/MM/yyyy HH:mm:ss``.
A time without an offset is taken as Vietnam time (UTC+7, no daylight saving).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")

# Tried in order after ISO 8601; the first that matches wins.
DEFAULT_FORMATS: tuple[str, ...] = (
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


def parse_time(
    raw: object, *, formats: tuple[str, ...] = DEFAULT_FORMATS, zone: timezone = VIETNAM
) -> datetime | None:
    """An aware datetime, ``None`` for an empty value; :class:`ValueError` naming the value."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=zone)
    text = str(raw).strip()
    if not text:
        return None
    parsed = _parse_text(text, formats)
    if parsed is None:
        raise ValueError(f"unreadable time {text!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _parse_text(text: str, formats: tuple[str, ...]) -> datetime | None:
    if not text.isdigit():
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
