"""Load runs on the independent SMSC: push N MO and account for every reply.

The SMSC sends ``KEYWORD <code>`` from N distinct senders (codes taken round-robin), keeps at
most ``window`` deliver_sm unacknowledged, matches each complete MT to its MO by destination
and checks that the MO's code is in the text (decoded by the smpp package: GSM-7 with escapes
or UCS-2). Latency runs from the MO's first deliver_sm to the arrival of its complete MT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.support.smsc import Smsc

SETTLE_MS = 200  # after the last expected reply, how long late duplicates still count
REPORT_GRACE_S = 10.0


@dataclass(frozen=True)
class Latency:
    """Milliseconds from MO sent to matching MT received (None when nothing was answered)."""

    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    max: float | None
    mean: float | None


@dataclass(frozen=True)
class LoadReport:
    reason: str  # complete | deadline | stopped
    n: int
    window: int
    mo_sent: int  # deliver_sm written, resends included
    mo_acked: int  # deliver_sm_resp with status 0
    mo_rejected: int  # deliver_sm_resp with another status (each is retried, up to 5 tries)
    mo_resent: int
    replies: int  # MOs that got a matching MT
    mt_total: int  # complete MTs received (multipart MTs count once)
    duplicates: int  # MTs beyond the first for one MO
    unmatched: int  # MTs to a destination that sent no MO
    wrong_text: int  # first MT for an MO without that MO's code
    missing: int  # MOs without any reply
    part_duplicates: int
    elapsed_ms: float  # start to the last matching reply
    acked_ms: float  # start to the last MO acknowledged
    mo_rate: float | None  # acked MO per second over acked_ms
    reply_rate: float | None
    latency_ms: Latency
    reject_statuses: dict[str, int]
    wrong_samples: tuple[dict[str, str], ...]

    @property
    def clean(self) -> bool:
        """Every MO answered once, with its own code, and nothing unexpected."""
        return (
            self.reason == "complete"
            and self.missing == 0
            and self.duplicates == 0
            and self.unmatched == 0
            and self.wrong_text == 0
        )

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> LoadReport:
        fields = {k: v for k, v in event.items() if k in cls.__dataclass_fields__}
        fields["latency_ms"] = Latency(**event["latency_ms"])
        fields["wrong_samples"] = tuple(event["wrong_samples"])
        return cls(**fields)


async def run_load(
    smsc: Smsc,
    codes: Sequence[str],
    n: int,
    window: int,
    *,
    keyword: str = "TRA",
    destination: str = "8283",
    source_prefix: str = "849",
    deadline_s: float = 120.0,
    settle_ms: int = SETTLE_MS,
    expect_replies: bool = True,
    max_attempts: int | None = None,
    retry_ms: int | None = None,
    rate: float | None = None,
) -> LoadReport:
    """Run one load on a bound gateway and return the SMSC's report.

    Returns when every MO was answered (or, with ``expect_replies=False``, acknowledged),
    plus ``settle_ms``, or after ``deadline_s``. A rejected MO is sent again after ``retry_ms``
    (20), up to ``max_attempts`` sends in all (5; 0: until the deadline, as a real SMSC keeps
    a refused message for its validity period). With ``rate``, new MO go out at that many per
    second at most (resends are not held back), for a steady load instead of a burst.
    """
    retry = {"max_attempts": max_attempts, "retry_ms": retry_ms, "rate": rate}
    mark = smsc.mark()
    await smsc.command(
        "load",
        codes=list(codes),
        n=n,
        window=window,
        keyword=keyword,
        destination=destination,
        source_prefix=source_prefix,
        deadline_ms=int(deadline_s * 1000),
        settle_ms=settle_ms,
        expect_replies=expect_replies,
        **{key: value for key, value in retry.items() if value is not None},
    )
    event = await smsc.wait_for("load_report", timeout=deadline_s + REPORT_GRACE_S, after=mark)
    return LoadReport.from_event(event)
