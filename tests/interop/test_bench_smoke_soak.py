"""``bench/soak.py --quick`` still runs: a minute of SMS and calls on one gateway, judged as the
long soak is (every SMS answered, every call right, no error logged, memory steady)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench import run_quick

pytestmark = [pytest.mark.smsc, pytest.mark.asterisk, pytest.mark.postgres, pytest.mark.redis]

BENCH_TIMEOUT_S = 600.0


async def test_quick_soak_passes(tmp_path: Path) -> None:
    quick = await run_quick("soak.py", tmp_path, BENCH_TIMEOUT_S)
    text = quick.text
    result = quick.result
    assert result["passed"], text
    assert quick.returncode == 0, text
    assert result["sms"]["answered"] == result["sms"]["sent"] == 3000
    assert result["calls"]["right"] > 0
    assert len(result["memory_mb"]["samples"]) >= 2
