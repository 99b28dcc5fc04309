"""The pause after throttling answers counts refusals, not answers (sms.limits.SubmitPacer)."""

from __future__ import annotations

import pytest

from sms.limits import SubmitPacer


def test_a_window_refused_at_once_is_one_pause() -> None:
    pacer = SubmitPacer(throughput=0.0, pause=1.0, pause_max=30.0, now=0.0)
    for i in range(100):  # the answers to a window of 100 submits, all throttled
        pacer.throttled(i * 0.001)
    assert pacer.delay(0.1) == pytest.approx(0.9)


def test_a_refusal_after_the_pause_doubles_it() -> None:
    pacer = SubmitPacer(throughput=0.0, pause=1.0, pause_max=30.0, now=0.0)
    pacer.throttled(0.0)
    pacer.throttled(0.5)
    pacer.throttled(1.0)  # a submit sent after the pause, refused again
    assert pacer.delay(1.0) == pytest.approx(2.0)
    pacer.throttled(2.9)
    assert pacer.delay(2.9) == pytest.approx(0.1)
