"""``bench/voice_vs_agi.py --quick`` still runs: a few callers answered by the gateway over
AsyncAGI, and by the per-call AGI script, on the benchmark's own Asterisk.

Only that every call was right both ways is checked; the figures are for bench/RESULTS.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.asterisk

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH = REPO_ROOT / "bench" / "voice_vs_agi.py"
BENCH_TIMEOUT_S = 600.0  # the first run copies the Asterisk root and installs python3 in it


async def test_quick_voice_comparison_answers_every_call(tmp_path: Path) -> None:
    output = tmp_path / "voice_vs_agi.json"
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
    rows = {row["system"]: row for row in result["rows"]}
    assert set(rows) == {"gateway", "percall"}, text
    for row in rows.values():
        assert row["correct"] == row["calls"] == 5, row
        assert row["cpu_ms_per_call"] > 0 and row["p95_ms"] is not None
    assert result["percall"]["largest_all_correct"] == 5
