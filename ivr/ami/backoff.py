"""How long to wait before reconnecting to the AMI (pure; the randomness is injected).

Exponential growth keeps a dead Asterisk from being hammered; the jitter keeps a standby
gateway and the active one from reconnecting in lockstep after Asterisk restarts. "Equal
jitter": half of the step is fixed, so a retry never comes immediately, and half is random.
"""

from __future__ import annotations

from collections.abc import Callable


def reconnect_delay(
    attempt: int, *, initial: float, maximum: float, random: Callable[[], float]
) -> float:
    """Seconds to wait before reconnect ``attempt`` (0 for the first); ``random()`` in [0, 1)."""
    step = min(maximum, initial * 2.0 ** min(attempt, 32))
    return step / 2 + random() * step / 2
