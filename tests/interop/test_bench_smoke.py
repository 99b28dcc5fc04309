"""``bench/sms_roundtrip.py --quick`` still runs: the benchmark cannot rot unnoticed.

Only that it works and accounts for every message is checked here; its figures are for the
README, not for assertions (a loaded machine would make any threshold flaky).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench import run_quick

pytestmark = pytest.mark.smsc

BENCH_TIMEOUT_S = 300.0


async def test_quick_sms_roundtrip_benchmark_runs_clean(tmp_path: Path) -> None:
    quick = await run_quick("sms_roundtrip.py", tmp_path, BENCH_TIMEOUT_S)
    text = quick.text
    assert quick.returncode == 0, text

    result = quick.result
    assert result["all_clean"] is True, text
    (run,) = result["runs"]
    assert run["n"] == 1000 and run["clean"] is True
    assert run["round_trips_per_s"] > 0 and run["gateway_cpu_s"] > 0
    assert 0 < run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert len(run["load_before"]) == 3
    assert "round trips/s" in text
