"""The SMPP channel's pacing rules, on a clock that moves only when told."""

from __future__ import annotations

import random

import pytest

from sms.limits import ReconnectBackoff, SmppConfig, SubmitPacer, TokenBucket
from sms.pdu import BindMode


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0, now=0.0)
    for _ in range(2):
        assert bucket.delay(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.delay(0.0) == pytest.approx(0.1)
    assert bucket.delay(0.1) == pytest.approx(0.0)
    bucket.take(0.1)
    assert bucket.delay(0.1) == pytest.approx(0.1)


def test_token_bucket_does_not_save_up_beyond_its_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.delay(100.0) == 0.0
    bucket.take(100.0)
    bucket.take(100.0)
    assert bucket.delay(100.0) > 0


def test_pacer_keeps_the_configured_rate() -> None:
    pacer = SubmitPacer(throughput=20.0, pause=1.0, pause_max=8.0, now=0.0)
    sent = 0
    now = 0.0
    while now < 10.0:
        wait = pacer.delay(now)
        if wait:
            now += wait
            continue
        pacer.sent(now)
        sent += 1
    assert 200 <= sent <= 202  # 20/s for 10 s, plus the initial burst of 2


def test_throttling_pauses_doubles_and_halves_the_rate() -> None:
    pacer = SubmitPacer(throughput=20.0, pause=1.0, pause_max=3.0, now=0.0)
    pacer.throttled(0.0)
    assert pacer.delay(0.0) == pytest.approx(1.0)
    assert pacer.rate == 10.0
    pacer.throttled(1.0)
    assert pacer.delay(1.0) == pytest.approx(2.0)
    pacer.throttled(3.0)
    assert pacer.delay(3.0) == pytest.approx(3.0)  # capped
    assert pacer.rate == 2.5


def test_accepted_submits_bring_the_rate_back() -> None:
    pacer = SubmitPacer(throughput=20.0, pause=1.0, pause_max=8.0, now=0.0)
    pacer.throttled(0.0)
    pacer.throttled(0.0)
    assert pacer.rate == 5.0
    for _ in range(15):
        pacer.accepted(10.0)
    assert pacer.rate == 20.0
    pacer.accepted(10.0)
    assert pacer.rate == 20.0
    pacer.throttled(10.0)
    assert pacer.delay(10.0) == pytest.approx(1.0)  # the pause started again from the base


def test_unlimited_pacer_only_pauses() -> None:
    pacer = SubmitPacer(throughput=0.0, pause=1.0, pause_max=8.0, now=0.0)
    assert pacer.delay(0.0) == 0.0
    pacer.sent(0.0)
    assert pacer.delay(0.0) == 0.0
    pacer.throttled(0.0)
    assert pacer.delay(0.5) == pytest.approx(0.5)
    assert pacer.rate == 0.0


def test_backoff_grows_exponentially_with_jitter_and_caps() -> None:
    backoff = ReconnectBackoff(1.0, 60.0, random.Random(7), jitter=0.2)
    delays = [backoff.next_delay() for _ in range(10)]
    for delay, base in zip(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60], strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert len(set(delays)) == len(delays)  # jittered, not lock-step
    backoff.reset()
    assert 0.8 <= backoff.next_delay() <= 1.2


def test_backoff_is_reproducible_with_the_same_rng() -> None:
    first = ReconnectBackoff(1.0, 60.0, random.Random(3))
    second = ReconnectBackoff(1.0, 60.0, random.Random(3))
    assert [first.next_delay() for _ in range(5)] == [second.next_delay() for _ in range(5)]


def test_config_bind_modes_and_limits() -> None:
    assert SmppConfig().bind_modes == (BindMode.TRANSCEIVER,)
    pair = SmppConfig(bind="transmitter_receiver", window=7, max_pdu_size=4096)
    assert pair.bind_modes == (BindMode.TRANSMITTER, BindMode.RECEIVER)
    assert pair.session_limits().window == 7
    assert pair.session_limits().max_pdu_size == 4096


@pytest.mark.parametrize(
    "bad",
    [
        {"bind": "receiver"},
        {"window": 0},
        {"throughput": -1},
        {"max_pdu_size": 100},
        {"reconnect_min": 5, "reconnect_max": 1},
        {"response_timeout": 0},
    ],
)
def test_config_refuses_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SmppConfig(**bad)  # type: ignore[arg-type]
