"""Budgets of the SMPP channel, written down in one place, and the pure pacing rules.

``SmppConfig`` is what the client is built from (the composition root maps the validated
settings onto it). ``TokenBucket``, ``SubmitPacer`` and ``ReconnectBackoff`` are small
clock-free state machines: every method takes ``now``; randomness is injected.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from sms.pdu import BindMode, BindRequest

BindKind = Literal["transceiver", "transmitter_receiver"]
IdBase = Literal["text", "dec", "hex"]

_EPSILON = 1e-9
MIN_PDU_SIZE = 16  # a header
DEFAULT_MAX_PDU_SIZE = 65536


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """What one SMPP session enforces (see ``sms.session``)."""

    window: int = 10
    response_timeout: float = 30.0
    enquire_link_interval: float = 30.0
    dead_link_timeout: float = 10.0
    max_pdu_size: int = DEFAULT_MAX_PDU_SIZE


@dataclass(frozen=True, slots=True)
class SmppConfig:
    """Everything the SMPP client needs, with the defaults of a cautious operator profile.

    Timings are seconds, ``throughput`` is submit_sm per second (0 = no cap of our own).
    The first block mirrors the ``[smpp]`` settings; the second holds budgets that have
    safe defaults and rarely need touching.
    """

    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    bind: BindKind = "transceiver"
    address_range: str = ""
    short_code: str = ""
    source_ton: int = 3
    source_npi: int = 0
    window: int = 10
    throughput: float = 10.0
    response_timeout: float = 30.0
    enquire_link_interval: float = 30.0
    dead_link_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    registered_delivery: int = 1
    max_pdu_size: int = DEFAULT_MAX_PDU_SIZE
    enabled: bool = True

    connect_timeout: float = 10.0
    reconnect_jitter: float = 0.2  # +-20 % around the exponential delay
    stable_after: float = 30.0  # a bind that lasted this long resets the backoff
    throttle_pause: float = 1.0  # first pause after ESME_RTHROTTLED / ESME_RMSGQFUL
    throttle_pause_max: float = 30.0
    max_throttle_retries: int = 20  # per submit
    max_submit_attempts: int = 5  # per submit: resends after a lost link or a transient error
    receipt_hold: float = 10.0  # a receipt that beats its submit_sm_resp waits this long
    receipt_map_size: int = 10_000  # message ids remembered for receipt correlation
    submit_id_base: IdBase = "text"  # how submit_sm_resp message ids are written
    receipt_id_base: IdBase = "text"  # how receipts write the same ids

    def __post_init__(self) -> None:
        if self.bind not in ("transceiver", "transmitter_receiver"):
            raise ValueError(f"bind must be transceiver or transmitter_receiver, not {self.bind!r}")
        if not 1 <= self.window <= 10_000:
            raise ValueError("window must be 1..10000")
        if self.throughput < 0:
            raise ValueError("throughput must be >= 0")
        if not MIN_PDU_SIZE + 256 <= self.max_pdu_size <= 16 * 1024 * 1024:
            raise ValueError("max_pdu_size out of range")
        if not 0 < self.reconnect_min <= self.reconnect_max:
            raise ValueError("need 0 < reconnect_min <= reconnect_max")
        for name in ("response_timeout", "enquire_link_interval", "dead_link_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")

    @property
    def bind_modes(self) -> tuple[BindMode, ...]:
        if self.bind == "transceiver":
            return (BindMode.TRANSCEIVER,)
        return (BindMode.TRANSMITTER, BindMode.RECEIVER)

    def session_limits(self) -> SessionLimits:
        return SessionLimits(
            window=self.window,
            response_timeout=self.response_timeout,
            enquire_link_interval=self.enquire_link_interval,
            dead_link_timeout=self.dead_link_timeout,
            max_pdu_size=self.max_pdu_size,
        )

    def bind_request(self) -> BindRequest:
        return BindRequest(
            system_id=self.system_id,
            password=self.password,
            system_type=self.system_type,
            address_range=self.address_range,
        )


class TokenBucket:
    """At most ``rate`` events per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = now

    @property
    def rate(self) -> float:
        return self._rate

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now

    def delay(self, now: float) -> float:
        """Seconds until one token is available (0 when one is there now)."""
        self._refill(now)
        if self._tokens >= 1.0 - _EPSILON:  # refills accumulate rounding errors
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1.0

    def set_rate(self, rate: float, now: float) -> None:
        self._refill(now)
        self._rate = rate


class SubmitPacer:
    """The submit_sm rate: our own cap, slowed down when the SMSC says it is overloaded.

    A throttling answer (ESME_RTHROTTLED, ESME_RMSGQFUL) pauses every submit for a while
    (doubling while the SMSC keeps refusing) and halves the rate; each accepted submit
    gives back a twentieth of the configured rate, so the link creeps back to full speed
    (additive increase, multiplicative decrease).
    """

    def __init__(self, throughput: float, pause: float, pause_max: float, now: float) -> None:
        self._configured = throughput
        self._floor = throughput / 20
        self._bucket = (
            TokenBucket(throughput, max(1.0, throughput / 10), now) if throughput > 0 else None
        )
        self._pause_base = pause
        self._pause = pause
        self._pause_max = pause_max
        self._paused_until = now

    @property
    def rate(self) -> float:
        """Current submits-per-second cap (0 = no cap)."""
        return self._bucket.rate if self._bucket is not None else 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before the next submit may go."""
        wait = self._paused_until - now
        if self._bucket is not None:
            wait = max(wait, self._bucket.delay(now))
        return max(wait, 0.0)

    def sent(self, now: float) -> None:
        if self._bucket is not None:
            self._bucket.take(now)

    def throttled(self, now: float) -> None:
        # A window of submits sent together comes back throttled together: those answers
        # are one refusal, not one each, so only a refusal after the pause doubles it.
        if now >= self._paused_until:
            self._paused_until = now + self._pause
            self._pause = min(self._pause * 2, self._pause_max)
        if self._bucket is not None:
            self._bucket.set_rate(max(self._floor, self._bucket.rate / 2), now)

    def accepted(self, now: float) -> None:
        self._pause = self._pause_base
        if self._bucket is not None and self._bucket.rate < self._configured:
            step = self._configured / 20
            self._bucket.set_rate(min(self._configured, self._bucket.rate + step), now)


class ReconnectBackoff:
    """Exponential reconnect delays with jitter: min, 2*min, 4*min ... capped at max."""

    def __init__(
        self, minimum: float, maximum: float, rng: random.Random, jitter: float = 0.2
    ) -> None:
        self._minimum = minimum
        self._maximum = maximum
        self._rng = rng
        self._jitter = jitter
        self._failures = 0

    def next_delay(self) -> float:
        base = min(self._maximum, self._minimum * 2.0 ** min(self._failures, 30))
        self._failures += 1
        return base * self._rng.uniform(1 - self._jitter, 1 + self._jitter)

    def reset(self) -> None:
        self._failures = 0
