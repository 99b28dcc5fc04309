"""MO -> MT round trips per second through the real ``statusgw run`` process.

    .venv/bin/python bench/sms_roundtrip.py [-n 20000] [--window 100] [--runs 3]
        [--log-level warning|info] [--store-url memory://] [--json PATH]
        [--profile flame.svg] [--quick]

The node-smpp SMSC (``tests/support/smsc``) pushes ``TRA <code>`` from N distinct senders,
codes taken round-robin from the bundled sample dossiers, keeping at most ``window``
deliver_sm unacknowledged, and matches every complete reply to its MO. The gateway is a
child process started as operators start it (``statusgw run --config``, a TOML file written
for the run), bound as a transceiver with a submit window of ``window`` and no rate cap of
its own; it looks every code up (file source, in-memory cache) and answers in unaccented
GSM-7. One warm-up load runs first, then ``runs`` measured loads on the same process.

Each run reports round trips per second (replies over the time from the first MO to the
last reply), latency percentiles from an MO's first deliver_sm to its complete reply, and
the gateway process's CPU seconds (user + system) per thousand round trips: on a shared
machine the wall-clock rate follows the machine's load, the CPU cost much less so. The load
average is read before and after each run. ``--profile`` samples the gateway with py-spy
during the first measured run. ``--quick`` is a few seconds' run that proves the benchmark
still works (the test suite runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.support.smsc import Smsc  # noqa: E402
from tests.support.smsc_load import LoadReport, run_load  # noqa: E402

SAMPLE = REPO_ROOT / "adapters" / "sample" / "dossiers.csv"
NATIONAL_CODE = re.compile(r"^\d{3}\.[0-9A-Z]{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}$")
DEFAULT_JSON = REPO_ROOT / ".cache" / "bench" / "sms_roundtrip.json"
REFERENCE_RATE = 8300.0  # asyncio ESME on smpplib's codec, no lookup, same SMSC (DESIGN.md)
BIND_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    n: int
    window: int
    round_trips_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    elapsed_s: float
    gateway_cpu_s: float
    cpu_ms_per_1000: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    mo_rejected: int
    missing: int
    duplicates: int
    unmatched: int
    wrong_text: int
    clean: bool


def sample_codes() -> list[str]:
    with SAMPLE.open(encoding="utf-8") as handle:
        return [row["code"] for row in csv.DictReader(handle) if NATIONAL_CODE.match(row["code"])]


def gateway_config(smsc: Smsc, window: int, log_level: str, store_url: str) -> str:
    return f"""\
[smpp]
enabled = true
host = "{smsc.host}"
port = {smsc.port}
system_id = "{smsc.system_id}"
password = "{smsc.password}"
short_code = "8283"
bind = "transceiver"
window = {window}
throughput = 0.0
drain_timeout = 10.0

[sms]
encoding = "fold"

[store]
url = "{store_url}"

[limits]
sender_per_minute = 0
sender_per_day = 0
not_found_threshold = 0

[log]
level = "{log_level}"
format = "json"
"""


def statusgw_command() -> list[str]:
    script = Path(sys.executable).with_name("statusgw")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gateway.cli"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "node": node.stdout.strip(),
        "platform": platform.platform(),
    }


class GatewayProcess:
    """``statusgw run --config`` as a child; its output goes to a log file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    async def start(cls, smsc: Smsc, config: Path) -> GatewayProcess:
        log = config.with_suffix(".log")
        mark = smsc.mark()
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *statusgw_command(),
                "run",
                "--config",
                str(config),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=REPO_ROOT,
                env={k: v for k, v in os.environ.items() if not k.startswith("STATUSGW_")},
            )
        gateway = cls(process, log)
        try:
            await smsc.wait_for("bind", BIND_TIMEOUT_S, after=mark, status=0)
        except BaseException:
            await gateway.stop()
            raise
        return gateway

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


def senders(load: int) -> str:
    """A sender prefix of its own for each load: the same sender, short code and text within
    minutes is an SMSC redelivery to the gateway, acknowledged and not answered again."""
    return f"84{load % 10}"


async def measure(
    smsc: Smsc, gateway: GatewayProcess, codes: list[str], n: int, window: int, *, load: int
) -> Run:
    pid = gateway.process.pid
    load_before = os.getloadavg()
    cpu_before = cpu_seconds(pid)
    report = await run_load(
        smsc, codes, n, window, deadline_s=max(60.0, n / 100), source_prefix=senders(load)
    )
    cpu = cpu_seconds(pid) - cpu_before
    return _run(report, cpu, load_before, os.getloadavg())


def _run(
    report: LoadReport,
    cpu: float,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> Run:
    latency = report.latency_ms
    return Run(
        n=report.n,
        window=report.window,
        round_trips_per_s=report.reply_rate or 0.0,
        p50_ms=latency.p50 or 0.0,
        p95_ms=latency.p95 or 0.0,
        p99_ms=latency.p99 or 0.0,
        max_ms=latency.max or 0.0,
        elapsed_s=report.elapsed_ms / 1000,
        gateway_cpu_s=round(cpu, 2),
        cpu_ms_per_1000=round(cpu * 1000 / max(1, report.replies) * 1000, 1),
        load_before=_rounded(load_before),
        load_after=_rounded(load_after),
        mo_rejected=report.mo_rejected,
        missing=report.missing,
        duplicates=report.duplicates,
        unmatched=report.unmatched,
        wrong_text=report.wrong_text,
        clean=report.clean,
    )


def _rounded(load: tuple[float, float, float]) -> tuple[float, float, float]:
    return (round(load[0], 2), round(load[1], 2), round(load[2], 2))


def py_spy_path() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def start_profiler(pid: int, output: Path) -> asyncio.subprocess.Process | None:
    py_spy = py_spy_path()
    if py_spy is None:
        print("py-spy is not installed (pip install py-spy); not profiling", file=sys.stderr)
        return None
    raw = output.suffix != ".svg"
    return await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--output",
        str(output),
        *(["--format", "raw"] if raw else []),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop_profiler(profiler: asyncio.subprocess.Process | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    await profiler.wait()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    codes = sample_codes()
    smsc = await Smsc.start()
    runs: list[Run] = []
    try:
        with tempfile.TemporaryDirectory(prefix="statusgw-bench-") as workdir:
            config = Path(workdir) / "statusgw.toml"
            config.write_text(
                gateway_config(smsc, args.window, args.log_level, args.store_url), "utf-8"
            )
            gateway = await GatewayProcess.start(smsc, config)
            try:
                warm = await run_load(
                    smsc, codes, args.warmup, args.window, source_prefix=senders(0)
                )
                if not warm.clean:
                    raise SystemExit(f"warm-up load was not clean: {warm}")
                for index in range(args.runs):
                    profiler = None
                    if args.profile and index == 0:
                        profiler = await start_profiler(gateway.process.pid, args.profile)
                    try:
                        run = await measure(
                            smsc, gateway, codes, args.n, args.window, load=index + 1
                        )
                    finally:
                        await stop_profiler(profiler)
                    runs.append(run)
                    print(_line(index + 1, run), flush=True)
            finally:
                status = await gateway.stop()
                if status != 0:
                    print(gateway.log.read_text(errors="replace")[-4000:], file=sys.stderr)
                    raise SystemExit(f"statusgw run exited with {status}")
    finally:
        await smsc.stop()
    return summary(args, runs)


def summary(args: argparse.Namespace, runs: list[Run]) -> dict[str, Any]:
    rates = [r.round_trips_per_s for r in runs]
    median_rate = statistics.median(rates)
    return {
        "benchmark": "sms_roundtrip",
        "settings": {
            "n": args.n,
            "window": args.window,
            "runs": args.runs,
            "warmup": args.warmup,
            "log_level": args.log_level,
            "store_url": args.store_url.partition("://")[0],
        },
        "machine": machine(),
        "runs": [asdict(r) for r in runs],
        "median_round_trips_per_s": round(median_rate, 1),
        "best_round_trips_per_s": round(max(rates), 1),
        "median_p50_ms": statistics.median(r.p50_ms for r in runs),
        "median_p95_ms": statistics.median(r.p95_ms for r in runs),
        "median_p99_ms": statistics.median(r.p99_ms for r in runs),
        "median_cpu_ms_per_1000": statistics.median(r.cpu_ms_per_1000 for r in runs),
        "ratio_to_reference": round(median_rate / REFERENCE_RATE, 3),
        "all_clean": all(r.clean for r in runs),
    }


def _line(index: int, run: Run) -> str:
    load = "/".join(f"{x:.2f}" for x in run.load_before)
    return (
        f"run {index}: {run.n} MO, window {run.window}: {run.round_trips_per_s:8.1f} round trips/s"
        f"  p50 {run.p50_ms:7.1f} ms  p95 {run.p95_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms"
        f"  gateway CPU {run.cpu_ms_per_1000:6.1f} ms/1000  load {load}"
        + ("" if run.clean else f"  NOT CLEAN: {_accounting(run)}")
    )


def _accounting(run: Run) -> str:
    return (
        f"{run.missing} missing, {run.duplicates} duplicates, {run.unmatched} unmatched,"
        f" {run.wrong_text} wrong, {run.mo_rejected} MO refused"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="MO per measured run")
    parser.add_argument("--window", type=int, default=100, help="SMSC and gateway window")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2000, help="MO of the warm-up load")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning"])
    parser.add_argument("--store-url", default="memory://")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where results go")
    parser.add_argument(
        "--profile", type=Path, help="py-spy output of the first run (.svg, else raw stacks)"
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds: 1 run of 1,000")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.runs, args.warmup = 1000, 1, 200
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(bench(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(
        f"median {result['median_round_trips_per_s']:.0f} round trips/s"
        f" ({result['ratio_to_reference']:.2f} x the {REFERENCE_RATE:.0f}/s codec-only reference),"
        f" p50/p95/p99 {result['median_p50_ms']:.1f}/{result['median_p95_ms']:.1f}"
        f"/{result['median_p99_ms']:.1f} ms, gateway CPU"
        f" {result['median_cpu_ms_per_1000']:.0f} ms per 1000 round trips"
        f" ({result['machine']['cpus']} CPUs, {result['machine']['cpu_model']}); {args.json}"
    )
    return 0 if result["all_clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
