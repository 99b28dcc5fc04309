"""Run a benchmark's quick mode as a person would, for the tests that keep benchmarks alive."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class QuickRun:
    returncode: int | None
    text: str  # what it printed (stdout and stderr)
    result: dict[str, Any]  # its --json output ({} if it wrote none)


async def run_quick(script: str, tmp_path: Path, timeout: float = 300.0) -> QuickRun:
    """``python bench/<script> --quick --json <file>`` from the repository root."""
    output = tmp_path / f"{Path(script).stem}.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO_ROOT / "bench" / script),
        "--quick",
        "--json",
        str(output),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(process.communicate(), timeout)
    result = json.loads(output.read_text()) if output.exists() else {}
    return QuickRun(process.returncode, printed.decode(errors="replace"), result)
