"""The lookup layer's pure parts: disclosure, sealing, breaker, cache ages and codec, health,
counters, and the validated settings that configure them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import MemoryCache, MemoryCounters
from gateway.breaker import BreakerState, CircuitBreaker
from gateway.cache import Age, CacheError, CachePolicy, decode_entry, encode_entry
from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.health import Health
from gateway.privacy import Disclosure, Sealer, disclose, initials, is_valid_factor
from gateway.ratelimit import Counter
from gateway.settings import ConfigError, build_settings
from tests.support.lookup_fakes import SEAL_KEY, dossier

NOW = datetime(2025, 3, 1, tzinfo=UTC)


# -- disclosure -------------------------------------------------------------------------------


def test_basic_level_carries_only_what_the_code_alone_may_reveal() -> None:
    sealed = Sealer(SEAL_KEY).seal(dossier())
    view = disclose(sealed, now=NOW, verified=False)

    assert view.disclosure is Disclosure.BASIC
    assert (view.procedure, view.initials) == (None, None)
    assert view.status is Status.PROCESSING
    assert view.agency and view.due_at


def test_verified_level_adds_procedure_and_initials_never_the_name() -> None:
    sealed = Sealer(SEAL_KEY).seal(dossier())
    view = disclose(sealed, now=NOW, verified=True)

    assert view.disclosure is Disclosure.VERIFIED
    assert view.procedure == "Đăng ký khai sinh"
    assert view.initials == "N.V.H."
    assert "Nguyễn" not in repr(view) and "912345678" not in repr(view)


def test_sealed_dossier_holds_no_phone_number_or_name() -> None:
    sealed = Sealer(SEAL_KEY).seal(dossier())
    text = repr(sealed)

    assert "912345678" not in text and "5678" not in text.replace(sealed.code, "")
    assert "Nguyễn" not in text


@pytest.mark.parametrize(
    ("requester", "factor", "verified"),
    [
        ("+84912345678", None, True),
        ("84912345678", None, True),
        ("0912345678", None, True),
        ("0912345679", None, False),
        (None, "5678", True),
        (None, "5679", False),
        (None, "0912 345 678", True),
        (None, "678", False),
        (None, "", False),
        ("0987000111", "5678", True),
    ],
)
def test_second_factor(requester: str | None, factor: str | None, verified: bool) -> None:
    sealer = Sealer(SEAL_KEY)
    assert sealer.verifies(sealer.seal(dossier()), requester, factor) is verified


def test_a_dossier_without_a_phone_cannot_be_verified() -> None:
    sealer = Sealer(SEAL_KEY)
    sealed = sealer.seal(dossier(phone=None))
    assert not sealer.verifies(sealed, "0912345678", "5678")


def test_last_digits_are_bound_to_their_dossier() -> None:
    """A tail digest copied from one dossier's entry does not verify another."""
    sealer = Sealer(SEAL_KEY)
    one = sealer.seal(dossier("000.00.22.H29-240101-0001"))
    two = sealer.seal(dossier("000.00.22.H29-240101-0002"))
    assert one.tail_digest != two.tail_digest


def test_another_key_makes_other_digests() -> None:
    assert Sealer(SEAL_KEY).seal(dossier()) != Sealer(b"x" * 32).seal(dossier())
    with pytest.raises(ValueError, match="16 bytes"):
        Sealer(b"short")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Nguyễn Văn Hùng", "N.V.H."),
        ("  Đặng   thị  mai ", "Đ.T.M."),
        ("", None),
        (None, None),
        ("1234", None),
    ],
)
def test_initials(name: str | None, expected: str | None) -> None:
    assert initials(name) == expected


@pytest.mark.parametrize(
    ("factor", "valid"),
    [
        ("5678", True),
        ("0912345678", True),
        ("+84 912 345 678", True),
        ("12", False),
        ("abcd", False),
        ("12345", False),
        ("1" * 20, False),
    ],
)
def test_factor_shapes(factor: str, valid: bool) -> None:
    assert is_valid_factor(factor) is valid


# -- breaker ----------------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_after=10)
    for _ in range(2):
        breaker.record_failure(0)
    breaker.record_success()
    for _ in range(2):
        breaker.record_failure(0)
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(0)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(5)
    assert breaker.retry_in(5) == 5


def test_half_open_lets_one_trial_through() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after=10)
    breaker.record_failure(0)

    assert breaker.allow(10)
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(10)  # the trial is running
    breaker.record_failure(11)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(20)
    assert breaker.allow(21)
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow(21) and breaker.allow(21)


# -- cache ages and codec ---------------------------------------------------------------------


def test_cache_ages() -> None:
    policy = CachePolicy(ttl_open=60, ttl_final=600, revalidate_window=30, max_stale=300)
    sealed = Sealer(SEAL_KEY).seal(dossier())
    entry = policy.entry((sealed,), "file", 1000)

    assert policy.age(entry, 1059) is Age.FRESH
    assert policy.age(entry, 1061) is Age.REVALIDATE
    assert policy.age(entry, 1100) is Age.STALE
    assert policy.age(entry, 1361) is Age.EXPIRED
    negative = policy.entry((), None, 1000)
    assert policy.age(negative, 1011) is Age.EXPIRED


@given(
    status=st.sampled_from(list(Status)),
    agency=st.text(max_size=40),
    phone=st.one_of(st.none(), st.from_regex(r"0[0-9]{9}", fullmatch=True)),
    applicant=st.one_of(st.none(), st.text(max_size=30)),
)
def test_entry_codec_round_trips(
    status: Status, agency: str, phone: str | None, applicant: str | None
) -> None:
    sealer = Sealer(SEAL_KEY)
    d = dossier(status=status, phone=phone, applicant=applicant)
    sealed = sealer.seal(d.__class__(**{**_fields(d), "agency": agency}))
    entry = CachePolicy().entry((sealed,), "src", 1000.5)
    assert decode_entry(encode_entry(entry)) == entry


@pytest.mark.parametrize("raw", [b"", b"{}", b"not json", b'{"v": 99}', b'{"v": 1, "d": 3}'])
def test_damaged_or_foreign_entries_are_cache_errors(raw: bytes) -> None:
    with pytest.raises(CacheError):
        decode_entry(raw)


async def test_memory_cache_expires_and_stays_bounded() -> None:
    clock = ManualClock()
    cache = MemoryCache(clock, max_entries=2)
    entry = CachePolicy().entry((), None, 0)
    await cache.put("a", entry, 10)
    await cache.put("b", entry, 10)
    await cache.put("c", entry, 10)

    assert len(cache) == 2
    assert await cache.get("a") is None
    clock.advance(11)
    assert await cache.get("b") is None


# -- counters ---------------------------------------------------------------------------------


async def test_memory_counters_use_fixed_windows() -> None:
    clock = ManualClock()
    counters = MemoryCounters(clock)
    (first,) = await counters.add([Counter("k", 60)])
    clock.advance(30)
    (second,) = await counters.add([Counter("k", 60)])
    (peek,) = await counters.add([Counter("k", 60, amount=0)])
    clock.advance(31)
    (fresh,) = await counters.add([Counter("k", 60)])

    assert (first.value, second.value, peek.value, fresh.value) == (1, 2, 2, 1)
    assert second.resets_in == 30


# -- health -----------------------------------------------------------------------------------


def test_readiness_needs_required_components_and_notes_optional_ones() -> None:
    clock = ManualClock()
    health = Health(clock)
    health.register("smpp", required=True)
    health.register("cache", required=False)
    assert health.readiness().status == "unavailable"

    health.report("smpp", True, "bound")
    health.report("cache", True, "redis")
    assert health.readiness().status == "ok"

    clock.advance(5)
    health.report("cache", False, "connection refused")
    state = health.state("cache")
    assert health.readiness().status == "degraded"
    assert state is not None and state.since == clock.now()
    health.report("cache", False, "still refused")
    assert health.state("cache") == state.__class__(
        "cache", False, "still refused", state.since, False
    )


# -- settings ---------------------------------------------------------------------------------


def test_lookup_settings_defaults() -> None:
    settings = build_settings({})
    assert settings.lookup.voice_deadline < settings.lookup.sms_deadline
    assert settings.fallback_source.kind == "none"
    assert settings.cache.key_prefix == "statusgw:v1"
    assert settings.limits.not_found_threshold > 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"lookup": {"voice_deadline": 0}}, "lookup.voice_deadline must be at least"),
        ({"lookup": {"breaker_failures": 0}}, "lookup.breaker_failures must be between"),
        ({"cache": {"ttl_open": 0}}, "cache.ttl_open must be at least 1"),
        ({"cache": {"seal_key": "short"}}, "cache.seal_key must have at least 16"),
        ({"cache": {"key_prefix": "a b"}}, "cache.key_prefix"),
        ({"limits": {"sender_per_minute": -1}}, "limits.sender_per_minute"),
        ({"http": {"api_keys": ["short"]}}, r"http.api_keys\[0\] must have at least 16"),
        ({"http": {"api_keys": ["sha256:xyz"]}}, "64 lower-case hex"),
        ({"source": {"kind": "rest", "url": "http://x/"}}, r"source.url must contain \{code\}"),
        (
            {"fallback_source": {"kind": "postgres"}},
            "fallback_source.dsn is required when fallback_source.kind",
        ),
        ({"source": {"kind": "none"}}, "source.kind must be one of"),
        ({"source": {"retries": 11}}, "source.retries must be between"),
    ],
)
def test_lookup_settings_are_validated(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_settings(raw)


def test_environment_shapes_for_lookup_keys() -> None:
    from gateway.settings import load_settings

    settings = load_settings(
        None,
        {
            "STATUSGW_HTTP__API_KEYS": "kiosk=0123456789abcdef,other=fedcba9876543210",
            "STATUSGW_LOOKUP__VOICE_DEADLINE": "1.2",
            "STATUSGW_FALLBACK_SOURCE__KIND": "rest",
            "STATUSGW_FALLBACK_SOURCE__URL": "http://127.0.0.1:9/hoso/{code}",
            "STATUSGW_FALLBACK_SOURCE__HEADERS": "Authorization=Bearer abc",
        },
    )
    assert settings.http.api_keys == ("kiosk=0123456789abcdef", "other=fedcba9876543210")
    assert settings.lookup.voice_deadline == 1.2
    assert settings.fallback_source.headers == {"Authorization": "Bearer abc"}


def _fields(d: object) -> dict[str, object]:
    import dataclasses

    return {f.name: getattr(d, f.name) for f in dataclasses.fields(d)}  # type: ignore[arg-type]
