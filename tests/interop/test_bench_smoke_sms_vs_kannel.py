"""``bench/sms_vs_kannel.py --quick`` still runs: Kannel and the gateway, each answering every MO.

Only that both systems ran clean on the same SMSC is checked; the figures are for
bench/RESULTS.md, never for assertions (a loaded machine would make a threshold flaky).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench import run_quick

pytestmark = [pytest.mark.smsc, pytest.mark.postgres, pytest.mark.redis]

BENCH_TIMEOUT_S = 300.0


async def test_quick_comparison_with_kannel_runs_clean(tmp_path: Path) -> None:
    quick = await run_quick("sms_vs_kannel.py", tmp_path, BENCH_TIMEOUT_S)
    text = quick.text
    assert quick.returncode == 0, text

    result = quick.result
    assert result["all_clean"] is True, text
    assert {t["system"] for t in result["trials"]} == {"kannel", "gateway"}
    for trial in result["trials"]:
        assert trial["n"] == 1000 and trial["clean"], trial
        assert trial["round_trips_per_s"] > 0 and trial["cpu_s"] > 0
        assert 0 < trial["p50_ms"] <= trial["p99_ms"] <= trial["max_ms"]
    kannel = next(t for t in result["trials"] if t["system"] == "kannel")
    assert set(kannel["cpu_by_process"]) == {"bearerbox", "smsbox", "backend-0"}
    assert result["median_ratio"] > 0
    assert "gateway / kannel" in text
