"""``bench/voice_vs_agi.py --quick`` still runs: a few callers answered by the gateway over
AsyncAGI, and by the per-call AGI script, on the benchmark's own Asterisk.

Only that every call was right both ways is checked; the figures are for bench/RESULTS.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench import run_quick

pytestmark = pytest.mark.asterisk

BENCH_TIMEOUT_S = 600.0  # the first run copies the Asterisk root and installs python3 in it


async def test_quick_voice_comparison_answers_every_call(tmp_path: Path) -> None:
    quick = await run_quick("voice_vs_agi.py", tmp_path, BENCH_TIMEOUT_S)
    text = quick.text
    assert quick.returncode == 0, text

    result = quick.result
    rows = {row["system"]: row for row in result["rows"]}
    assert set(rows) == {"gateway", "percall"}, text
    for row in rows.values():
        assert row["correct"] == row["calls"] == 5, row
        assert row["cpu_ms_per_call"] > 0 and row["p95_ms"] is not None
    assert result["percall"]["largest_all_correct"] == 5
