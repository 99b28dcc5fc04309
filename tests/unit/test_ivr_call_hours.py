"""Operator hours and the [ivr] settings that gate escalation."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.settings import ConfigError, build_settings
from ivr.hours import HoursError, OperatorHours

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
RULES = ("mon-fri 07:30-11:30", "mon-fri 13:00-17:00", "sat 07:30-11:30")


def hours(closed: tuple[str, ...] = ()) -> OperatorHours:
    return OperatorHours.parse(RULES, "Asia/Ho_Chi_Minh", closed)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2025, 3, 3, 7, 29, tzinfo=HCM), False),  # Monday, before opening
        (datetime(2025, 3, 3, 7, 30, tzinfo=HCM), True),
        (datetime(2025, 3, 3, 11, 30, tzinfo=HCM), False),  # the end is excluded
        (datetime(2025, 3, 3, 12, 15, tzinfo=HCM), False),  # lunch
        (datetime(2025, 3, 7, 16, 59, tzinfo=HCM), True),  # Friday afternoon
        (datetime(2025, 3, 8, 9, 0, tzinfo=HCM), True),  # Saturday morning
        (datetime(2025, 3, 8, 14, 0, tzinfo=HCM), False),
        (datetime(2025, 3, 9, 9, 0, tzinfo=HCM), False),  # Sunday
    ],
)
def test_open_by_the_local_wall_clock(local: datetime, expected: bool) -> None:
    assert hours().is_open(local) is expected


def test_times_in_other_zones_are_converted() -> None:
    # 01:00 UTC on a Monday is 08:00 in Hồ Chí Minh City.
    assert hours().is_open(datetime(2025, 3, 3, 1, 0, tzinfo=UTC))
    assert not hours().is_open(datetime(2025, 3, 3, 11, 0, tzinfo=UTC))


def test_closed_days_override_the_week() -> None:
    national_day = datetime(2025, 9, 2, 9, 0, tzinfo=HCM)  # a Tuesday
    assert hours().is_open(national_day)
    assert not hours(("2025-09-02",)).is_open(national_day)


def test_always_open_and_never_open() -> None:
    always = OperatorHours.parse(["daily 00:00-24:00"], "UTC")
    assert always.is_open(datetime(2025, 3, 9, 23, 59, 59, tzinfo=UTC))
    assert not OperatorHours.parse([], "UTC").is_open(datetime(2025, 3, 3, 9, tzinfo=UTC))


def test_day_lists() -> None:
    rule = OperatorHours.parse(["mon,wed 08:00-09:00"], "UTC")
    assert rule.is_open(datetime(2025, 3, 5, 8, 30, tzinfo=UTC))  # Wednesday
    assert not rule.is_open(datetime(2025, 3, 4, 8, 30, tzinfo=UTC))  # Tuesday


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        hours().is_open(datetime(2025, 3, 3, 9, 0))


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("mon-fri", "expected"),
        ("mon-fry 07:00-08:00", "unknown day"),
        ("fri-mon 07:00-08:00", "backwards"),
        ("mon 7h-8h", "not a time"),
        ("mon 09:00-08:00", "not after"),
        ("mon 09:00", "time range"),
    ],
)
def test_bad_rules_are_named(rule: str, words: str) -> None:
    with pytest.raises(HoursError, match=words) as info:
        OperatorHours.parse([rule], "UTC")
    assert rule in str(info.value)


def test_settings_validate_the_ivr_section() -> None:
    ivr = build_settings({"ivr": {"operator_hours": ["daily 00:00-24:00"]}}).ivr
    assert ivr.operator_hours == ("daily 00:00-24:00",)
    assert ivr.max_tries == 3
    for bad, words in [
        ({"operator_hours": ["sun 9-10"]}, "sun 9-10"),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"closed_days": ["2 September"]}, "2 September"),
        ({"heartbeat_interval": 10.0, "heartbeat_stale": 15}, "heartbeat_stale"),
        ({"lookup_deadline": 0.5}, "lookup_deadline"),
        ({"max_tries": 0}, "ivr.max_tries"),
        ({"owner_lock_dsn": "redis://x"}, "ivr.owner_lock_dsn"),
    ]:
        with pytest.raises(ConfigError, match=words):
            build_settings({"ivr": bad})
