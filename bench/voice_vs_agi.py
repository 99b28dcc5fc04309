"""Hotline calls on the real Asterisk: the gateway (AsyncAGI) against a per-call AGI script.

    .venv/bin/python bench/voice_vs_agi.py [--calls 100,300,500,800] [--systems gateway,percall]
        [--ramp 0] [--port 5040] [--json PATH] [--quick]

The same simulated callers (``bench/ivr_calls.py``'s ``one_caller``: each keys in its own
dossier's code, confirms it with 1, waits for the status, and stays on the line until every
caller of the round has been served) call the same Asterisk 22, which plays the same prompts
either way. What answers them differs:

- **gateway**: ``AGI(agi:async)`` hands every call to one gateway process over AMI
  (``bench/ivr_calls.py --serve``: the dispatcher, the lookup service, the file source);
- **percall**: ``AGI(/opt/statusgw-bench/percall_agi.py)``, the classic setup: Asterisk
  starts a Python process for each call, which looks the dossier up in a local SQLite file
  and issues the same AGI commands, and lives as long as the call.

For each N: calls correct (read-back, status, channel variables, still up when all were
served), p95 and p50 from the caller's last key to the status audio starting, calls per
second (N over the time from the first dial to the last caller hearing its status), and CPU
seconds per call of what answers the calls (the gateway process; or the scripts, counted by
Asterisk as its reaped children) and of Asterisk itself. A round stops the series for a
system at the first N with a failed call unless ``--keep-going``.

The Asterisk is a copy of the test root with ``python3`` added (``.cache/bench-asterisk-root``,
made once), with the project's configuration on AMI port ``--port``; it is started fresh for
each system. Callers, Asterisk and the gateway share this machine: the load average is in
every row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.ivr_calls import (  # noqa: E402
    Round,
    code_for,
    one_caller,
    percentile,
    start_gateway,
    stop_gateway,
    wait_idle,
)
from bench.sms_roundtrip import cpu_seconds, machine  # noqa: E402
from gateway.codes import digits_key  # noqa: E402
from gateway.dossier import Status  # noqa: E402
from gateway.logging import configure_logging  # noqa: E402
from gateway.privacy import Disclosure, DossierView  # noqa: E402
from ivr.ami import AmiLinkSettings  # noqa: E402
from ivr.script import CatalogueScript  # noqa: E402
from prompts.catalog import build_catalogue  # noqa: E402
from tests.support.asterisk import CONFIG_DIR, SOUNDS, Asterisk, ensure_root  # noqa: E402
from tests.support.hotline import (  # noqa: E402
    Caller,
    Callers,
    install_prompt_sounds,
    link_settings,
    remove_prompt_sounds,
)
from tests.support.lookup_fakes import dossier  # noqa: E402

BENCH_ROOT = REPO_ROOT / ".cache" / "bench-asterisk-root"
SCRIPT = Path(__file__).resolve().parent / "percall_agi.py"
INSIDE = "opt/statusgw-bench"  # where the script and its data go in the root
DEFAULT_JSON = REPO_ROOT / ".cache" / "bench" / "voice_vs_agi.json"
SYSTEMS = ("gateway", "percall")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KEY_SESSIONS = 16
CALLERS_PER_KEY_SESSION = 25

PERCALL_HOTLINE = """
[hotline]
; The classic hotline: one AGI process per call.
exten => 1022,1,NoOp(statusgw hotline, per-call AGI script)
 same => n,Answer()
 same => n,Set(CHANNEL(language)=vi)
 same => n,AGI(/opt/statusgw-bench/percall_agi.py)
 same => n,Hangup()
"""


# ---- the Asterisk root and configuration -----------------------------------------------------


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` (the harness mounts /proc in a root it runs)."""
    prefix = str(path.resolve())
    with open("/proc/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def ensure_bench_root() -> Path:
    """The test root plus python3 (for the per-call script), made once.

    The test root may be in use (its Asterisk running, /proc mounted in it) while this copies
    it: the copy stays on the root's own file system (``--one-file-system``), or it would try
    to copy /proc's endless files. A failed build leaves nothing behind; builders take turns.
    """
    marker = BENCH_ROOT / ".statusgw-bench-complete"
    if marker.is_file():
        return BENCH_ROOT
    base = ensure_root()
    BENCH_ROOT.parent.mkdir(parents=True, exist_ok=True)
    with (BENCH_ROOT.parent / ".bench-asterisk-root.build").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file():
            return BENCH_ROOT
        staging = BENCH_ROOT.with_name(BENCH_ROOT.name + ".partial")
        for old in (staging, BENCH_ROOT):
            if mounts_under(old):
                raise RuntimeError(f"{old} has file systems mounted in it: {mounts_under(old)}")
            shutil.rmtree(old, ignore_errors=True)
        try:
            subprocess.run(["cp", "-a", "--one-file-system", str(base), str(staging)], check=True)
            for mount_point in ("proc", "sys", "dev"):
                (staging / mount_point).mkdir(exist_ok=True)
            shutil.copy("/etc/resolv.conf", staging / "etc" / "resolv.conf")
            subprocess.run(
                [
                    "chroot", str(staging), "apt-get", "-o", "Acquire::Check-Valid-Until=false",
                    "-o", "Dpkg::Use-Pty=0", "install", "-y", "--no-install-recommends",
                    "python3",
                ],
                check=True,
                capture_output=True,
            )  # fmt: skip
            (staging / ".statusgw-bench-complete").write_text("python3\n")
            staging.rename(BENCH_ROOT)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return BENCH_ROOT


def write_config(workdir: Path, system: str, port: int) -> Path:
    """The project's Asterisk configuration on ``port``; for ``percall`` the hotline context
    runs the script instead of handing the call to the gateway (no heartbeat to check)."""
    config = workdir / f"asterisk-{system}"
    config.mkdir(parents=True, exist_ok=True)
    for conf in CONFIG_DIR.glob("*.conf"):
        shutil.copy(conf, config / conf.name)
    manager = config / "manager.conf"
    text = manager.read_text()
    if "port = 5038" not in text:
        raise RuntimeError("manager.conf no longer says 'port = 5038'")
    manager.write_text(text.replace("port = 5038", f"port = {port}", 1))
    if system == "percall":
        extensions = config / "extensions.conf"
        text = extensions.read_text()
        start, end = text.index("[hotline]"), text.index("; The operator queue.")
        extensions.write_text(text[:start] + PERCALL_HOTLINE.lstrip() + "\n" + text[end:])
    return config


def install_script(root: Path, dossiers: int) -> Path:
    """The script and its data in the root: one row per dossier, keyed by keypad digits,
    with the status prompts the gateway would say (same catalogue, same speller)."""
    target = root / INSIDE
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCRIPT, target / SCRIPT.name)
    (target / SCRIPT.name).chmod(0o755)
    data = target / "dossiers.sqlite"
    data.unlink(missing_ok=True)
    script = CatalogueScript(build_catalogue())
    now = datetime.now(UTC)
    with contextlib.closing(sqlite3.connect(data)) as database:
        database.execute(
            "CREATE TABLE dossier (digits TEXT PRIMARY KEY, code TEXT, status TEXT, speech TEXT)"
        )
        rows = []
        for index in range(dossiers):
            record = dossier(code_for(index), Status.PROCESSING, phone=None)
            view = DossierView(
                code=record.code,
                status=record.status,
                due_at=record.due_at,
                overdue=record.is_overdue(now),
                agency=record.agency,
                disclosure=Disclosure.BASIC,
            )
            speech = "&".join(script.status(view).ids)
            rows.append((digits_key(record.code), record.code, record.status.value, speech))
        database.executemany("INSERT INTO dossier VALUES (?, ?, ?, ?)", rows)
        database.commit()
    data.chmod(0o644)
    target.chmod(0o755)
    return target


# ---- callers of the per-call hotline -----------------------------------------------------


class PerCallCallers(Callers):
    """Callers of a hotline without AsyncAGI: the call is found by its originate response."""

    async def dial(self, caller_id: str | None = "0912345678", timeout: float = 15.0) -> Caller:
        caller = f'"percall" <{caller_id}>' if caller_id else '"percall" <>'
        async with asyncio.timeout(timeout):
            response = await self.session.originate(
                "Local/s@caller", context="hotline", exten="1022", caller_id=caller
            )
        channel = response.channel
        box = self._boxes[channel]  # events for it may already be waiting there
        return Caller(self, channel, response.uniqueid, box, next(self._next_key_session))


# ---- one round -------------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds so far: the answering side and Asterisk itself."""

    answering: float
    asterisk: float

    @classmethod
    def read(cls, asterisk_pid: int, gateway_pid: int | None) -> Cpu:
        fields = Path(f"/proc/{asterisk_pid}/stat").read_text().rpartition(")")[2].split()
        own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        children = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS  # reaped AGI scripts
        answering = cpu_seconds(gateway_pid) if gateway_pid is not None else children
        return cls(answering, own)


async def round_of(
    link: AmiLinkSettings, asterisk: Asterisk, system: str, calls: int, ramp: float
) -> dict[str, Any]:
    key_sessions = max(1, min(KEY_SESSIONS, calls // CALLERS_PER_KEY_SESSION))
    kind = PerCallCallers if system == "percall" else Callers
    round_ = Round(calls, ramp)
    async with kind.connected(
        link, every_channel=system == "percall", key_sessions=key_sessions
    ) as callers:
        started = time.monotonic()
        tasks = [asyncio.create_task(one_caller(callers, i, round_)) for i in range(calls)]
        await round_.everyone_heard.wait()
        served = time.monotonic() - started
        loop = asyncio.get_running_loop()
        channels = await loop.run_in_executor(None, asterisk.channels)
        round_.peak = sum(1 for name in channels if name.endswith(";1"))
        round_.release.set()
        results = await asyncio.gather(*tasks)
    latencies = [r.latency for r in results if r.latency is not None]
    failures = [r.detail for r in results if not r.correct]
    row: dict[str, Any] = {
        "calls": calls,
        "correct": calls - len(failures),
        "peak_calls": round_.peak,
        "p50_ms": round(statistics.median(latencies) * 1000) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000) if latencies else None,
        "max_ms": round(max(latencies) * 1000) if latencies else None,
        "served_s": round(served, 2),
        "calls_per_s": round((calls - len(failures)) / served, 1),
    }
    if failures:
        row["first_failures"] = sorted(set(failures))[:3]
    return row


def settle(asterisk: Asterisk) -> None:
    """Every call gone (and every script reaped) before the next round or the CPU reading."""
    wait_idle(asterisk)
    time.sleep(1.0)


# ---- one system ------------------------------------------------------------------------------


def run_system(system: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    root = ensure_bench_root()
    sizes = [int(n) for n in args.calls.split(",")]
    asterisk = Asterisk(root, write_config(workdir, system, args.port))
    asterisk.port = args.port
    script_dir = install_script(root, max(sizes)) if system == "percall" else None
    asterisk.start()
    sounds = install_prompt_sounds(root / SOUNDS, build_catalogue())
    link = link_settings(asterisk.host, asterisk.port, asterisk.username, asterisk.secret)
    gateway = None
    rows: list[dict[str, Any]] = []
    try:
        assert asterisk._process is not None
        asterisk_pid = asterisk._process.pid
        if system == "gateway":
            args.secret = asterisk.secret
            gateway = start_gateway(args, max(sizes))
        for calls in sizes:
            settle(asterisk)
            load = os.getloadavg()[0]
            before = Cpu.read(asterisk_pid, gateway.pid if gateway else None)
            row = asyncio.run(round_of(link, asterisk, system, calls, args.ramp))
            settle(asterisk)
            after = Cpu.read(asterisk_pid, gateway.pid if gateway else None)
            row |= {
                "system": system,
                "cpu_ms_per_call": round((after.answering - before.answering) * 1000 / calls, 1),
                "asterisk_cpu_ms_per_call": round(
                    (after.asterisk - before.asterisk) * 1000 / calls, 1
                ),
                "load_before": round(load, 1),
                "load_after": round(os.getloadavg()[0], 1),
            }
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if row["correct"] != calls and not args.keep_going:
                break
    finally:
        if gateway is not None:
            stop_gateway(gateway)
        with contextlib.suppress(Exception):
            settle(asterisk)
        remove_prompt_sounds(sounds)
        asterisk.stop()
        if script_dir is not None:
            shutil.rmtree(script_dir, ignore_errors=True)
    return rows


def summary(system: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in rows if r["correct"] == r["calls"]]
    best = max(good, key=lambda r: int(r["calls"])) if good else None
    return {
        "largest_all_correct": best["calls"] if best else 0,
        "p95_ms_at_largest": best["p95_ms"] if best else None,
        "calls_per_s_at_largest": best["calls_per_s"] if best else None,
        "cpu_ms_per_call_at_largest": best["cpu_ms_per_call"] if best else None,
        "median_cpu_ms_per_call": statistics.median(r["cpu_ms_per_call"] for r in rows),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="100,300,500,800")
    parser.add_argument("--systems", default="gateway,percall")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds to spread the dialling")
    parser.add_argument("--port", type=int, default=5040, help="AMI port of the bench Asterisk")
    parser.add_argument("--keep-going", action="store_true", help="run every N")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--quick", action="store_true", help="one round of 5 calls each")
    args = parser.parse_args(argv)
    args.systems = tuple(s for s in args.systems.split(",") if s)
    if not set(args.systems) <= set(SYSTEMS):
        parser.error(f"--systems takes {', '.join(SYSTEMS)}")
    if args.quick:
        args.calls = "5"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("warning", "json")
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "benchmark": "voice_vs_agi",
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"calls": args.calls, "ramp": args.ramp},
        "rows": [],
    }
    with tempfile.TemporaryDirectory(prefix="statusgw-voice-") as tmp:
        for system in args.systems:
            rows = run_system(system, args, Path(tmp))
            result["rows"] += rows
            result[system] = summary(system, rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    for system in args.systems:
        s = result[system]
        print(
            f"{system:<8} largest N all correct: {s['largest_all_correct']}"
            f" (p95 {s['p95_ms_at_largest']} ms, {s['calls_per_s_at_largest']} calls/s,"
            f" {s['cpu_ms_per_call_at_largest']} CPU ms per call)"
        )
    ok = all(r["correct"] == r["calls"] for r in result["rows"])
    return 0 if ok or not args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
