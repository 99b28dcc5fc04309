from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ivr.ami.backoff import reconnect_delay


def test_grows_then_stops_at_the_maximum() -> None:
    def middle() -> float:
        return 0.5

    delays = [reconnect_delay(n, initial=0.5, maximum=30, random=middle) for n in range(12)]
    assert delays[:4] == [0.375, 0.75, 1.5, 3.0]
    assert delays[-1] == 22.5  # 30 * 0.75
    assert delays == sorted(delays)


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    draw=st.floats(min_value=0, max_value=0.999999),
)
def test_never_immediate_and_never_past_the_maximum(attempt: int, draw: float) -> None:
    delay = reconnect_delay(attempt, initial=0.5, maximum=30, random=lambda: draw)
    assert 0.25 <= delay <= 30


def test_jitter_spreads_two_gateways_apart() -> None:
    low = reconnect_delay(3, initial=0.5, maximum=30, random=lambda: 0.0)
    high = reconnect_delay(3, initial=0.5, maximum=30, random=lambda: 0.99)
    assert high - low > 1.9
