"""``bench/soak.py --quick`` still runs: a minute of SMS and calls on one gateway, judged as the
long soak is (every SMS answered, every call right, no error logged, memory steady)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.smsc, pytest.mark.asterisk, pytest.mark.postgres, pytest.mark.redis]

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH = REPO_ROOT / "bench" / "soak.py"
BENCH_TIMEOUT_S = 600.0


async def test_quick_soak_passes(tmp_path: Path) -> None:
    output = tmp_path / "soak.json"
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
    result = json.loads(output.read_text())
    assert result["passed"], text
    assert process.returncode == 0, text
    assert result["sms"]["answered"] == result["sms"]["sent"] == 3000
    assert result["calls"]["right"] > 0
    assert len(result["memory_mb"]["samples"]) >= 2
