"""The lookup service with in-memory cache and counters and scripted sources."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from gateway.cache import CacheError, CachePolicy
from gateway.clock import ManualClock
from gateway.codes import digits_key
from gateway.dossier import Status
from gateway.errors import ErrorId
from gateway.health import Health
from gateway.lookup import (
    Channel,
    DigitsKind,
    Disclosure,
    LookupRequest,
    LookupService,
    Outcome,
)
from gateway.ports import SourceError
from gateway.ratelimit import RateLimits
from tests.support.lookup_fakes import (
    CODE,
    PHONE,
    ScriptedSource,
    build_service,
    code,
    dossier,
    failing,
)


def request(
    text: str = CODE,
    channel: Channel = Channel.SMS,
    requester: str | None = None,
    factor: str | None = None,
) -> LookupRequest:
    return LookupRequest(code(text), channel, requester, factor)


async def test_found_dossier_comes_from_the_source_then_from_the_cache() -> None:
    source = ScriptedSource([dossier()])
    service = build_service([source])

    first = await service.lookup(request())
    second = await service.lookup(request())

    assert first.outcome is Outcome.FOUND
    assert first.view is not None
    assert first.view.status is Status.PROCESSING
    assert (first.cache, first.source) == ("miss", "scripted")
    assert (second.cache, second.source) == ("hit", "scripted")
    assert source.calls == [("code", CODE)]
    await service.close()


async def test_unknown_code_is_not_found_and_cached_briefly() -> None:
    clock = ManualClock()
    source = ScriptedSource()
    service = build_service([source], clock=clock, cache_policy=CachePolicy(ttl_negative=10))

    first = await service.lookup(request())
    again = await service.lookup(request())
    clock.advance(11)
    source.put(dossier())
    later = await service.lookup(request())

    assert first.outcome is Outcome.NOT_FOUND
    assert first.error_id is ErrorId.DOSSIER_NOT_FOUND
    assert again.cache == "hit"
    assert later.outcome is Outcome.FOUND
    assert len(source.calls) == 2
    await service.close()


async def test_concurrent_lookups_of_one_cold_code_make_one_source_call() -> None:
    source = ScriptedSource([dossier()])
    source.gate = asyncio.Event()
    service = build_service([source])

    lookups = [asyncio.create_task(service.lookup(request())) for _ in range(200)]
    await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.gather(*lookups)

    assert {r.outcome for r in results} == {Outcome.FOUND}
    assert source.calls == [("code", CODE)]
    await service.close()


async def test_code_alone_discloses_nothing_personal() -> None:
    service = build_service([ScriptedSource([dossier()])])

    result = await service.lookup(request(requester="0987000111"))

    assert result.view is not None
    assert result.view.disclosure is Disclosure.BASIC
    assert result.view.procedure is None
    assert result.view.initials is None
    assert result.view.agency == "UBND phường Bến Nghé"
    await service.close()


async def test_sender_number_of_the_dossier_unlocks_procedure_and_initials() -> None:
    service = build_service([ScriptedSource([dossier()])])

    for spelling in ("+84912345678", "84912345678", PHONE):
        result = await service.lookup(request(requester=spelling))
        assert result.view is not None
        assert result.view.disclosure is Disclosure.VERIFIED, spelling
        assert result.view.procedure == "Đăng ký khai sinh"
        assert result.view.initials == "N.V.H."
    await service.close()


async def test_last_four_digits_unlock_and_wrong_ones_do_not() -> None:
    service = build_service([ScriptedSource([dossier()])])

    right = await service.lookup(request(factor="5678"))
    wrong = await service.lookup(request(factor="5679"))

    assert right.view is not None and right.view.disclosure is Disclosure.VERIFIED
    assert wrong.view is not None and wrong.view.disclosure is Disclosure.BASIC
    assert wrong.view.procedure is None
    await service.close()


# -- cache ages -------------------------------------------------------------------------------


async def test_final_status_is_kept_longer_than_an_open_one() -> None:
    clock = ManualClock()
    returned = dossier("000.00.22.H29-240101-0002", Status.RETURNED)
    source = ScriptedSource([dossier(), returned])
    policy = CachePolicy(ttl_open=60, ttl_final=3600, revalidate_window=0, max_stale=0)
    service = build_service([source], clock=clock, cache_policy=policy)

    await service.lookup(request())
    await service.lookup(request(returned.code))
    clock.advance(61)
    open_again = await service.lookup(request())
    final_again = await service.lookup(request(returned.code))

    assert open_again.cache == "miss"
    assert final_again.cache == "hit"
    await service.close()


async def test_entry_past_ttl_is_served_at_once_and_refreshed_behind() -> None:
    clock = ManualClock()
    source = ScriptedSource([dossier()])
    service = build_service(
        [source], clock=clock, cache_policy=CachePolicy(ttl_open=60, revalidate_window=30)
    )
    await service.lookup(request())
    source.put(dossier(status=Status.RESULT_READY))
    clock.advance(70)

    stale = await service.lookup(request())
    assert stale.cache == "stale"
    assert stale.view is not None and stale.view.status is Status.PROCESSING
    await until(lambda: len(source.calls) == 2)
    await until_refreshed(service)
    fresh = await service.lookup(request())

    assert fresh.cache == "hit"
    assert fresh.view is not None and fresh.view.status is Status.RESULT_READY
    await service.close()


async def test_stale_entry_answers_when_the_source_fails_until_max_stale() -> None:
    clock = ManualClock()
    source = ScriptedSource([dossier()])
    policy = CachePolicy(ttl_open=60, revalidate_window=0, max_stale=600)
    service = build_service([source], clock=clock, cache_policy=policy)
    await service.lookup(request())
    source.fail = SourceError("down")

    clock.advance(300)
    served = await service.lookup(request())
    clock.advance(400)  # 700 s old: past the maximum staleness
    too_old = await service.lookup(request())

    assert (served.outcome, served.cache) == (Outcome.FOUND, "stale")
    assert too_old.outcome is Outcome.UNAVAILABLE
    assert too_old.error_id is ErrorId.LOOKUP_UNAVAILABLE
    assert too_old.retry_after
    await service.close()


async def test_not_found_is_never_served_stale() -> None:
    clock = ManualClock()
    source = ScriptedSource()
    service = build_service([source], clock=clock, cache_policy=CachePolicy(ttl_negative=10))
    await service.lookup(request())
    source.fail = SourceError("down")
    clock.advance(11)

    result = await service.lookup(request())

    assert result.outcome is Outcome.UNAVAILABLE
    await service.close()


async def test_unavailable_when_nothing_cached_and_the_source_fails() -> None:
    source = ScriptedSource([dossier()])
    source.fail = SourceError("down")
    service = build_service([source])

    result = await service.lookup(request())

    assert (result.outcome, result.cache, result.view) == (Outcome.UNAVAILABLE, "none", None)
    await service.close()


# -- deadlines --------------------------------------------------------------------------------


async def test_voice_gives_up_at_its_deadline_while_sms_waits_for_the_same_flight() -> None:
    source = ScriptedSource([dossier()])
    source.gate = asyncio.Event()
    service = build_service([source], deadlines={Channel.VOICE: 0.05, Channel.SMS: 30.0})

    sms = asyncio.create_task(service.lookup(request(channel=Channel.SMS)))
    voice = await service.lookup(request(channel=Channel.VOICE))
    assert voice.outcome is Outcome.UNAVAILABLE
    source.gate.set()
    answered = await sms

    assert answered.outcome is Outcome.FOUND
    assert source.calls == [("code", CODE)]
    # The flight the caller gave up on still filled the cache.
    again = await service.lookup(request(channel=Channel.VOICE))
    assert again.cache == "hit"
    await service.close()


async def test_deadline_serves_a_stale_entry_rather_than_nothing() -> None:
    clock = ManualClock()
    source = ScriptedSource([dossier()])
    policy = CachePolicy(ttl_open=60, revalidate_window=0, max_stale=600)
    service = build_service(
        [source], clock=clock, cache_policy=policy, deadlines={Channel.VOICE: 0.05}
    )
    await service.lookup(request())
    source.hang = True
    clock.advance(100)

    result = await service.lookup(request(channel=Channel.VOICE))

    assert (result.outcome, result.cache) == (Outcome.FOUND, "stale")
    await service.close()


# -- several sources --------------------------------------------------------------------------


async def test_the_first_source_that_knows_the_dossier_wins() -> None:
    provincial = ScriptedSource([dossier(status=Status.NEEDS_SUPPLEMENT)], name="province")
    national = ScriptedSource([dossier(status=Status.RESULT_READY)], name="national")
    service = build_service([provincial, national])

    result = await service.lookup(request())

    assert result.source == "province"
    assert result.view is not None and result.view.status is Status.NEEDS_SUPPLEMENT
    assert national.calls == []
    await service.close()


async def test_a_later_source_answers_what_an_earlier_one_does_not_know() -> None:
    provincial = ScriptedSource([], name="province")
    national = ScriptedSource([dossier()], name="national")
    service = build_service([provincial, national])

    result = await service.lookup(request())

    assert (result.outcome, result.source) == (Outcome.FOUND, "national")
    await service.close()


async def test_a_failed_source_is_passed_over() -> None:
    provincial = failing(ScriptedSource([dossier()], name="province"))
    national = ScriptedSource([dossier(status=Status.RESULT_READY)], name="national")
    service = build_service([provincial, national])

    result = await service.lookup(request())

    assert (result.outcome, result.source) == (Outcome.FOUND, "national")
    await service.close()


async def test_not_found_needs_every_source_to_have_answered() -> None:
    provincial = failing(ScriptedSource([], name="province"))
    national = ScriptedSource([], name="national")
    service = build_service([provincial, national])

    result = await service.lookup(request())

    assert result.outcome is Outcome.UNAVAILABLE
    await service.close()


async def test_breaker_stops_calls_to_a_failing_source_then_lets_one_trial_through() -> None:
    clock = ManualClock()
    source = failing(ScriptedSource([dossier()]))
    service = build_service(
        [source], clock=clock, breaker=(3, 30.0), cache_policy=CachePolicy(ttl_negative=0)
    )
    for _ in range(6):
        result = await service.lookup(request())
        assert result.outcome is Outcome.UNAVAILABLE
    assert len(source.calls) == 3  # the last three were refused by the open circuit

    clock.advance(31)
    source.fail = None
    recovered = await service.lookup(request())

    assert recovered.outcome is Outcome.FOUND
    assert len(source.calls) == 4
    await service.close()


async def test_a_hanging_source_counts_as_failed_after_its_timeout() -> None:
    slow = ScriptedSource([dossier()], name="slow")
    slow.hang = True
    spare = ScriptedSource([dossier()], name="spare")
    service = build_service([slow, spare], source_timeout=0.05)

    result = await service.lookup(request())

    assert (result.outcome, result.source) == (Outcome.FOUND, "spare")
    await service.close()


async def test_a_defect_in_an_adapter_becomes_unavailable() -> None:
    source = ScriptedSource([dossier()])
    source.fail = ZeroDivisionError("bug")
    service = build_service([source])

    result = await service.lookup(request())

    assert result.outcome is Outcome.UNAVAILABLE
    await service.close()


async def test_alternate_code_finds_the_dossier_under_its_own_code() -> None:
    alt = "000.00.22.H29-240101-54321"
    service = build_service([ScriptedSource([dossier(alt_codes=(alt,))])])

    result = await service.lookup(request(alt))

    assert result.view is not None and result.view.code == CODE
    await service.close()


# -- overdue ----------------------------------------------------------------------------------


async def test_overdue_is_computed_from_the_due_date() -> None:
    clock = ManualClock(datetime(2025, 3, 10, tzinfo=UTC))
    late = dossier(due=datetime(2025, 3, 5, tzinfo=UTC))
    done = dossier(
        "000.00.22.H29-240101-0002", Status.RETURNED, due=datetime(2025, 3, 5, tzinfo=UTC)
    )
    service = build_service([ScriptedSource([late, done])], clock=clock)

    open_result = await service.lookup(request())
    done_result = await service.lookup(request(done.code))

    assert open_result.view is not None and open_result.view.overdue
    assert done_result.view is not None and not done_result.view.overdue
    await service.close()


# -- keypad digits and caller ID --------------------------------------------------------------


async def test_digits_key_unique_ambiguous_and_none() -> None:
    one = dossier("000.A0.01.H26-210212-9090", phone="0911111111")
    two = dossier("000.B0.01.H26-210212-9090", phone="0922222222")
    three = dossier("000.00.22.H29-240101-0001", phone="0933333333")
    service = build_service([ScriptedSource([one, two, three])])

    unique = await service.by_digits("0000022292401010001", Channel.VOICE, None)
    ambiguous = await service.by_digits(digits_key(one.code), Channel.VOICE, None)
    none = await service.by_digits("1234567890", Channel.VOICE, None)
    junk = await service.by_digits("12*#", Channel.VOICE, None)

    assert unique.kind is DigitsKind.UNIQUE
    assert unique.result.view is not None and unique.result.view.code == three.code
    assert unique.result.view.disclosure is Disclosure.BASIC
    assert (ambiguous.kind, ambiguous.candidates) == (DigitsKind.AMBIGUOUS, 2)
    assert ambiguous.result.view is None
    assert ambiguous.error_id is ErrorId.DOSSIER_AMBIGUOUS
    assert none.kind is DigitsKind.NONE and none.result.outcome is Outcome.NOT_FOUND
    assert junk.kind is DigitsKind.NONE
    await service.close()


async def test_caller_number_settles_an_ambiguous_digits_key() -> None:
    one = dossier("000.A0.01.H26-210212-9090", phone="0911111111")
    two = dossier("000.B0.01.H26-210212-9090", phone="0922222222")
    service = build_service([ScriptedSource([one, two])])

    match = await service.by_digits(digits_key(two.code), Channel.VOICE, "+84922222222")

    assert match.kind is DigitsKind.UNIQUE
    assert match.result.view is not None and match.result.view.code == two.code
    assert match.result.view.disclosure is Disclosure.VERIFIED
    await service.close()


async def test_by_phone_offers_the_callers_open_dossiers_verified() -> None:
    mine = dossier()
    finished = dossier("000.00.22.H29-240101-0002", Status.RETURNED)
    other = dossier("000.00.22.H29-240101-0003", phone="0999999999")
    service = build_service([ScriptedSource([mine, finished, other])])

    views = await service.by_phone("84912345678", Channel.VOICE)

    assert [v.code for v in views] == [CODE]
    assert views[0].disclosure is Disclosure.VERIFIED
    assert views[0].initials == "N.V.H."
    assert await service.by_phone("", Channel.VOICE) == []
    await service.close()


async def test_by_phone_is_empty_when_no_source_answers() -> None:
    source = failing(ScriptedSource([dossier()]))
    service = build_service([source])

    assert await service.by_phone(PHONE, Channel.VOICE) == []
    await service.close()


# -- budgets and enumeration ------------------------------------------------------------------


async def test_sender_over_its_minute_budget_is_told_when_to_retry() -> None:
    clock = ManualClock()
    service = build_service(
        [ScriptedSource([dossier()])],
        clock=clock,
        limits=RateLimits(sender_per_minute=3, sender_per_day=100),
    )
    results = [await service.lookup(request(requester=PHONE)) for _ in range(4)]
    other_sender = await service.lookup(request(requester="0987000111"))
    clock.advance(61)
    later = await service.lookup(request(requester=PHONE))

    assert [r.outcome for r in results] == [Outcome.FOUND] * 3 + [Outcome.RATE_LIMITED]
    assert results[-1].error_id is ErrorId.RATE_LIMITED
    assert results[-1].retry_after is not None and 0 < results[-1].retry_after <= 60
    assert other_sender.outcome is Outcome.FOUND
    assert later.outcome is Outcome.FOUND
    await service.close()


async def test_sender_over_its_day_budget_waits_for_the_next_window() -> None:
    clock = ManualClock()
    service = build_service(
        [ScriptedSource([dossier()])],
        clock=clock,
        limits=RateLimits(sender_per_minute=0, sender_per_day=2),
    )
    for _ in range(2):
        assert (await service.lookup(request(requester=PHONE))).outcome is Outcome.FOUND
    clock.advance(3600)
    refused = await service.lookup(request(requester=PHONE))

    assert refused.outcome is Outcome.RATE_LIMITED
    assert refused.retry_after is not None and refused.retry_after > 3600
    await service.close()


async def test_sweeping_unknown_codes_slows_the_sender_and_raises_one_alert() -> None:
    clock = ManualClock()
    service = build_service(
        [ScriptedSource([dossier()])],
        clock=clock,
        limits=RateLimits(
            sender_per_minute=0,
            sender_per_day=0,
            not_found_threshold=3,
            suspect_per_minute=1,
        ),
    )
    sweeper = "0987000111"
    with structlog.testing.capture_logs() as logs:
        for seq in range(2, 5):
            result = await service.lookup(
                request(f"000.00.22.H29-240101-{seq:04d}", requester=sweeper)
            )
            assert result.outcome is Outcome.NOT_FOUND
        first = await service.lookup(request(requester=sweeper))
        second = await service.lookup(request(requester=sweeper))
        honest = await service.lookup(request(requester=PHONE))

    assert (first.outcome, first.suspect) == (Outcome.FOUND, True)
    assert second.outcome is Outcome.RATE_LIMITED
    assert honest.outcome is Outcome.FOUND and not honest.suspect
    alerts = [e for e in logs if e["event"] == "lookup.enumeration_suspected"]
    assert len(alerts) == 1
    assert sweeper not in str(alerts[0]["subject"])
    await service.close()


# -- the cache failing ------------------------------------------------------------------------


class BrokenCache:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0
        self.hang = False

    async def get(self, key: str) -> None:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()
        raise CacheError("connection refused")

    async def put(self, key: str, entry: object, keep_for: float) -> None:
        self.calls += 1
        raise CacheError("connection refused")

    async def ping(self) -> None:
        raise CacheError("connection refused")

    async def close(self) -> None:
        return None


async def test_a_broken_cache_falls_through_to_the_source_and_is_left_alone_a_while() -> None:
    clock = ManualClock()
    health = Health(clock)
    broken = BrokenCache()
    source = ScriptedSource([dossier()])
    service = build_service([source], clock=clock, health=health, cache=broken)

    first = await service.lookup(request())
    second = await service.lookup(request())

    assert (first.outcome, first.cache) == (Outcome.FOUND, "miss")
    assert second.outcome is Outcome.FOUND
    assert broken.calls == 1  # the failed get; then the cache is skipped for a while
    state = health.state("cache")
    assert state is not None and not state.ok
    assert health.readiness().status == "degraded"
    await service.close()


async def test_lookups_just_after_a_flight_share_it_even_without_a_cache() -> None:
    """Single-flight does not rest on the cache: a landed answer stays joinable briefly."""
    clock = ManualClock()
    source = ScriptedSource([dossier()])
    service = build_service([source], clock=clock, cache=BrokenCache())

    first = await service.lookup(request())
    joined = await service.lookup(request())
    clock.advance(1.5)  # past the linger: the next lookup asks again
    later = await service.lookup(request())

    assert (first.cache, joined.cache, later.cache) == ("miss", "hit", "miss")
    assert len(source.calls) == 2
    await service.close()


async def test_a_hanging_cache_costs_one_cache_timeout() -> None:
    broken = BrokenCache()
    broken.hang = True
    service = build_service(
        [ScriptedSource([dossier()])],
        cache=broken,
        cache_timeout=0.05,
    )

    result = await service.lookup(request(channel=Channel.VOICE))

    assert result.outcome is Outcome.FOUND
    await service.close()


# -- helpers ----------------------------------------------------------------------------------


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (polling a plain predicate)
            await asyncio.sleep(0.001)


async def until_refreshed(service: LookupService) -> None:
    await until(lambda: not service._refreshing)
