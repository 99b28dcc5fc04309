"""``bench/single_flight.py --quick`` still runs: a burst of requests for one cold code reaches
the source once, through the lookup service and through the HTTP API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench import run_quick

pytestmark = [pytest.mark.redis]

BENCH_TIMEOUT_S = 300.0


async def test_quick_single_flight_benchmark_runs(tmp_path: Path) -> None:
    quick = await run_quick("single_flight.py", tmp_path, BENCH_TIMEOUT_S)
    text = quick.text
    assert quick.returncode == 0, text

    bursts = quick.result["bursts"]
    assert {b["path"] for b in bursts} == {
        "service, memory cache",
        "service, Redis cache",
        "HTTP API, Redis cache",
    }
    for burst in bursts:
        assert burst["found"] == burst["requests"] == 100, burst
        assert burst["source_requests"] == 1, burst
