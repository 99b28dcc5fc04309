"""Soak: SMS at a steady rate with hotline calls beside it, for a long time, on one gateway.

    .venv/bin/python bench/soak.py [--minutes 30] [--sms-rate 600] [--callers 10]
        [--warmup-minutes 3] [--json PATH] [--quick]

One ``statusgw run`` process with everything on (SMPP to the node-smpp SMSC, the hotline
over AMI to the benchmark's Asterisk, the PostgreSQL store, the Redis cache, info logs)
serves, for ``--minutes``:

- MO ``TRA <code>`` at ``--sms-rate`` per second from distinct senders (the SMSC paces them
  and checks every reply); by default half the gateway's median round trips per second in
  the last ``bench/sms_vs_kannel.py`` run, the issue's "half the measured maximum";
- ``--callers`` simulated callers calling the hotline again and again: each keys in a sample
  dossier's code, confirms it and waits for the status, from a number of its own.

The gateway's resident memory is sampled every 10 s. Reported: memory after the warm-up and
at the end (the verdict: the end within 10% of the warm-up value), every SMS accounted for,
calls right and wrong, and the log lines at error level or worse (the verdict: none).
``--quick`` is a one-minute run at a low rate that proves the soak still works.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import asyncpg  # noqa: E402

from bench.sms_roundtrip import GatewayProcess, machine, sample_codes  # noqa: E402
from bench.sms_vs_kannel import DEFAULT_JSON as SMS_JSON  # noqa: E402
from bench.sms_vs_kannel import errors_in_log, forget_cache, rss_mb  # noqa: E402
from bench.voice_vs_agi import ensure_bench_root, write_config  # noqa: E402
from gateway.logging import configure_logging  # noqa: E402
from prompts.catalog import build_catalogue  # noqa: E402
from tests.support.asterisk import SOUNDS, Asterisk  # noqa: E402
from tests.support.hotline import (  # noqa: E402
    SOUND_PREFIX,
    Callers,
    install_prompt_sounds,
    link_settings,
    remove_prompt_sounds,
)
from tests.support.smsc import Smsc  # noqa: E402
from tests.support.smsc_load import LoadReport, run_load  # noqa: E402

DEFAULT_JSON = REPO_ROOT / ".cache" / "bench" / "soak.json"
STORE_URL = "postgresql://postgres@127.0.0.1:5432/test"
CACHE_URL = "redis://127.0.0.1:6379/0"
SAMPLE = REPO_ROOT / "adapters" / "sample" / "dossiers.csv"
NATIONAL_CODE = re.compile(r"^\d{3}\.[0-9A-Z]{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}$")
RSS_EVERY_S = 10.0
MEMORY_TOLERANCE = 0.10
AMI_PORT = 5041  # its own Asterisk, beside the test suite's and the voice benchmark's


def default_rate() -> float:
    """Half the gateway's median round trips per second in the last comparison run."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        last = json.loads(SMS_JSON.read_text())
        return round(float(last["gateway"]["median_round_trips_per_s"]) / 2)
    return 500.0


def call_codes() -> list[str]:
    """Sample dossiers a caller can key in and hear a status for (open, national codes)."""
    with SAMPLE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["code"] for r in rows if NATIONAL_CODE.match(r["code"]) and r["status"] == "4"]


def gateway_toml(smsc: Smsc, asterisk: Asterisk, schema: str, prefix: str) -> str:
    return f"""\
[smpp]
enabled = true
host = "{smsc.host}"
port = {smsc.port}
system_id = "{smsc.system_id}"
password = "{smsc.password}"
short_code = "8283"
window = 100
throughput = 0.0
registered_delivery = false

[sms]
encoding = "unicode"

[ami]
enabled = true
host = "{asterisk.host}"
port = {asterisk.port}
username = "{asterisk.username}"
secret = "{asterisk.secret}"

[prompts]
sound_prefix = "{SOUND_PREFIX}"

[store]
url = "{STORE_URL}"
schema = "{schema}"

[cache]
url = "{CACHE_URL}"
key_prefix = "{prefix}"
seal_key = "bench-seal-key-0123456789"

[log]
level = "info"
format = "json"
"""


class CallLoad:
    """``callers`` simulated callers, each calling again as soon as its call ends."""

    def __init__(self, link: Any, callers: int, codes: list[str]) -> None:
        self.link = link
        self.callers = callers
        self.codes = codes
        self.correct = 0
        self.wrong: list[str] = []
        self.latencies: list[float] = []
        self._stop = asyncio.Event()
        self._numbers = iter(range(10**8))

    async def run(self) -> None:
        async with Callers.connected(self.link, key_sessions=2) as callers:
            await self._until_heartbeat(callers)
            await asyncio.gather(*(self._keep_calling(callers, i) for i in range(self.callers)))

    async def _until_heartbeat(self, callers: Callers) -> None:
        """The dialplan sends calls to the operators until the gateway's first heartbeat."""
        async with asyncio.timeout(60):
            beat = ""
            while not beat:
                beat = await callers.session.get_var("STATUSGW_HEARTBEAT")
                await asyncio.sleep(0 if beat else 0.2)

    def stop(self) -> None:
        self._stop.set()

    async def _keep_calling(self, callers: Callers, index: int) -> None:
        n = index
        while not self._stop.is_set():
            await self._one_call(callers, self.codes[n % len(self.codes)])
            n += self.callers

    async def _one_call(self, callers: Callers, code: str) -> None:
        digits = "".join(c for c in code if c.isdigit())
        caller = None
        try:
            caller = await callers.dial(f"09{next(self._numbers) % 10**8:08d}", timeout=60)
            await caller.answer(digits + "#", timeout=60)
            await caller.answer("1", timeout=60)
            pressed = caller.last_key_at
            status = await caller.prompt(timeout=60)
            if status.prompts[:1] != ("ivr/status_is",):
                self.wrong.append(f"{code}: heard {status.prompts[:2]}")
                return
            if pressed is not None:
                self.latencies.append(status.at - pressed)
            self.correct += 1
        except Exception as exc:
            if not self._stop.is_set():
                self.wrong.append(f"{code}: {type(exc).__name__}: {exc}"[:200])
        finally:
            if caller is not None:
                with contextlib.suppress(Exception):
                    await caller.hang_up()
                caller.close()


async def sample_memory(
    pid: int, samples: list[tuple[float, float]], began: float, progress: Path
) -> None:
    """Every 10 s: the gateway's RSS, also appended to ``progress`` (kept if the run dies)."""
    while True:
        with contextlib.suppress(OSError):
            sample = (round(time.monotonic() - began, 1), round(rss_mb(pid), 1))
            samples.append(sample)
            with progress.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"s": sample[0], "rss_mb": sample[1]}) + "\n")
        await asyncio.sleep(RSS_EVERY_S)


def memory_at(samples: list[tuple[float, float]], seconds: float) -> float:
    """The first sample at or after ``seconds`` into the run (the last one if none)."""
    for at, mb in samples:
        if at >= seconds:
            return mb
    return samples[-1][1]


async def soak(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    duration = args.minutes * 60
    schema = f"bench_soak_{uuid.uuid4().hex[:8]}"
    prefix = f"statusgw:bench:{uuid.uuid4().hex[:8]}"
    root = await asyncio.to_thread(ensure_bench_root)
    asterisk = Asterisk(root, write_config(workdir, "gateway", AMI_PORT))
    asterisk.port = AMI_PORT
    await asyncio.to_thread(asterisk.start)
    sounds = install_prompt_sounds(root / SOUNDS, build_catalogue())
    smsc = await Smsc.start()
    gateway: GatewayProcess | None = None
    samples: list[tuple[float, float]] = []
    try:
        await smsc.configure(quiet=True)
        config = workdir / "statusgw.toml"
        config.write_text(gateway_toml(smsc, asterisk, schema, prefix), "utf-8")
        gateway = await GatewayProcess.start(smsc, config)
        link = link_settings(asterisk.host, asterisk.port, asterisk.username, asterisk.secret)
        calls = CallLoad(link, args.callers, call_codes())
        began = time.monotonic()
        progress = args.json.with_suffix(".progress.jsonl")
        progress.unlink(missing_ok=True)
        sampler = asyncio.create_task(sample_memory(gateway.process.pid, samples, began, progress))
        calling = asyncio.create_task(calls.run())
        n = int(args.sms_rate * duration)
        report = await run_load(
            smsc,
            sample_codes(),
            n,
            100,
            source_prefix="84",
            rate=args.sms_rate,
            deadline_s=duration + 300,
            max_attempts=0,
            retry_ms=50,
        )
        calls.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(calling, 120)
        elapsed = time.monotonic() - began
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        samples.append((elapsed, rss_mb(gateway.process.pid)))
    finally:
        status = await gateway.stop() if gateway is not None else None
        await smsc.stop()
        remove_prompt_sounds(sounds)
        await asyncio.to_thread(asterisk.stop)
        await drop_schema(schema)
        await forget_cache(CACHE_URL, prefix)
    errors = errors_in_log(gateway.log)
    shutil.copy(gateway.log, args.json.with_suffix(".log"))
    return summarise(
        args, report, calls, samples=samples, errors=errors, status=status, elapsed=elapsed
    )


def summarise(
    args: argparse.Namespace,
    report: LoadReport,
    calls: CallLoad,
    *,
    samples: list[tuple[float, float]],
    errors: list[str],
    status: int | None,
    elapsed: float,
) -> dict[str, Any]:
    warm = memory_at(samples, args.warmup_minutes * 60)
    end = samples[-1][1]
    growth = (end - warm) / warm
    latency = report.latency_ms
    verdict = {
        "memory_within_10_percent": abs(growth) <= MEMORY_TOLERANCE,
        "no_error_in_logs": not errors,
        "every_sms_answered": report.clean,
        "every_call_right": not calls.wrong,
        "clean_exit": status == 0,
    }
    return {
        "benchmark": "soak",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            "minutes": args.minutes,
            "sms_rate": args.sms_rate,
            "callers": args.callers,
            "warmup_minutes": args.warmup_minutes,
        },
        "elapsed_s": round(elapsed, 1),
        "sms": {
            "sent": report.n,
            "answered": report.replies,
            "missing": report.missing,
            "duplicates": report.duplicates,
            "rejected_then_resent": report.mo_resent,
            "round_trips_per_s": report.reply_rate,
            "p50_ms": latency.p50,
            "p99_ms": latency.p99,
        },
        "calls": {
            "right": calls.correct,
            "wrong": len(calls.wrong),
            "first_wrong": calls.wrong[:3],
            "p95_ms": round(1000 * sorted(calls.latencies)[int(0.95 * len(calls.latencies))])
            if calls.latencies
            else None,
            "p50_ms": round(1000 * statistics.median(calls.latencies)) if calls.latencies else None,
        },
        "memory_mb": {
            "after_warmup": round(warm, 1),
            "end": round(end, 1),
            "max": round(max(mb for _, mb in samples), 1),
            "growth_percent": round(100 * growth, 1),
            "samples": [(round(at), round(mb, 1)) for at, mb in samples],
        },
        "error_lines": len(errors),
        "first_errors": errors[:3],
        "verdict": verdict,
        "passed": all(verdict.values()),
    }


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(STORE_URL)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await connection.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sms-rate", type=float, default=0.0, help="MO per second (0: half max)")
    parser.add_argument("--callers", type=int, default=10, help="calls in progress at once")
    parser.add_argument("--warmup-minutes", type=float, default=3.0)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--quick", action="store_true", help="1 minute, 50 MO/s, 3 callers")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.sms_rate, args.callers, args.warmup_minutes = 1.0, 50.0, 3, 0.25
    if not args.sms_rate:
        args.sms_rate = default_rate()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("warning", "json")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="statusgw-soak-") as tmp:
        result = asyncio.run(soak(args, Path(tmp)))
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    memory, sms, calls = result["memory_mb"], result["sms"], result["calls"]
    print(
        f"{args.minutes:g} min, {args.sms_rate:g} MO/s + {args.callers} callers:"
        f" SMS {sms['answered']}/{sms['sent']} answered (p99 {sms['p99_ms']} ms),"
        f" calls {calls['right']} right / {calls['wrong']} wrong (p95 {calls['p95_ms']} ms),"
        f" memory {memory['after_warmup']} -> {memory['end']} MB"
        f" ({memory['growth_percent']:+}%), {result['error_lines']} error lines:"
        f" {'PASSED' if result['passed'] else 'FAILED'} {result['verdict']}; {args.json}"
    )
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
