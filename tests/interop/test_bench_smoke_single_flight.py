"""``bench/single_flight.py --quick`` still runs: a burst of requests for one cold code reaches
the source once, through the lookup service and through the HTTP API."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.redis]

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH = REPO_ROOT / "bench" / "single_flight.py"
BENCH_TIMEOUT_S = 300.0


async def test_quick_single_flight_benchmark_runs(tmp_path: Path) -> None:
    output = tmp_path / "single_flight.json"
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

    bursts = json.loads(output.read_text())["bursts"]
    assert {b["path"] for b in bursts} == {
        "service, memory cache",
        "service, Redis cache",
        "HTTP API, Redis cache",
    }
    for burst in bursts:
        assert burst["found"] == burst["requests"] == 100, burst
        assert burst["source_requests"] == 1, burst
