"""``bench/sms_roundtrip.py --quick`` still runs: the benchmark cannot rot unnoticed.

Only that it works and accounts for every message is checked here; its figures are for the
README, not for assertions (a loaded machine would make any threshold flaky).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.smsc

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH = REPO_ROOT / "bench" / "sms_roundtrip.py"
BENCH_TIMEOUT_S = 300.0


async def test_quick_sms_roundtrip_benchmark_runs_clean(tmp_path: Path) -> None:
    output = tmp_path / "sms_roundtrip.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BENCH),
        "--quick",
        "--json",
        str(output),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(process.communicate(), BENCH_TIMEOUT_S)
    text = printed.decode(errors="replace")
    assert process.returncode == 0, text

    result = json.loads(output.read_text())
    assert result["all_clean"] is True, text
    (run,) = result["runs"]
    assert run["n"] == 1000 and run["clean"] is True
    assert run["round_trips_per_s"] > 0 and run["gateway_cpu_s"] > 0
    assert 0 < run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert len(run["load_before"]) == 3
    assert "round trips/s" in text
