"""SMS round trips: the gateway against Kannel, on the same SMSC, the same load, in the same run.

    .venv/bin/python bench/sms_vs_kannel.py [-n 20000] [--window 100] [--rounds 3]
        [--store-url postgresql://postgres@127.0.0.1:5432/test] [--cache-url redis://...]
        [--kannel-store] [--backend-workers 1] [--profile DIR] [--json PATH] [--quick]

One node-smpp SMSC (``tests/support/smsc``) serves both systems in turn. Each trial starts
one system, binds it as a transceiver, runs a warm-up load, then pushes ``n`` MO
``TRA <code>`` from ``n`` distinct senders (codes round-robin from the bundled sample
dossiers) with at most ``window`` deliver_sm unacknowledged, and matches every complete
reply to its MO by the MO's sender, checking the code is in the text the smpp package
decoded. The trial is stopped before the other system starts, so they never share the SMSC
or the CPU. Rounds alternate the order (Kannel first, then the gateway first, ...), and the
ratio is taken within each round: this machine is shared, and its load moves between runs.

- **gateway**: ``statusgw run`` as a child process, the PostgreSQL store on (every MO
  committed before its deliver_sm_resp, every reply through the outbox), the Redis cache
  warmed by the warm-up load, the sender rate limits of the example configuration on (a
  Redis script call per lookup), one JSON log line per SMS at ``info``, UCS-2 replies.
- **kannel**: Kannel 1.4.5 bearerbox + smsbox (``bench/kannel.py``), an ``sms-service``
  whose ``get-url`` asks ``bench/kannel_backend.py`` (same parser, same reply text, data in
  memory, nothing stored), answered in UCS-2 via ``X-Kannel-Coding: 2``; logs at ``info``
  with access logs. With ``--kannel-store`` bearerbox also keeps its store file.

Neither system asks for delivery receipts. Reported per trial: round trips per second (replies
over the time from the first MO to the last reply), p50/p99 latency from an MO's first
deliver_sm to its complete reply, CPU seconds of the system's own processes (and, for the
gateway, of the whole PostgreSQL and Redis servers, which other work on the machine may
share). ``--quick`` runs one small round (the test suite runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import asyncpg  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from bench.kannel import Kannel, KannelConfig, installed  # noqa: E402
from bench.sms_roundtrip import (  # noqa: E402
    GatewayProcess,
    cpu_seconds,
    machine,
    sample_codes,
    start_profiler,
    stop_profiler,
)
from tests.support.smsc import Smsc  # noqa: E402
from tests.support.smsc_load import LoadReport, run_load  # noqa: E402

DEFAULT_STORE = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_CACHE = "redis://127.0.0.1:6379/0"
DEFAULT_JSON = REPO_ROOT / ".cache" / "bench" / "sms_vs_kannel.json"
POSTMASTER_PID = Path("/var/run/postgresql/15-main.pid")
SYSTEMS = ("kannel", "gateway")
RETRY_MS = 50  # the SMSC's wait before offering a refused MO again


@dataclass(frozen=True)
class Trial:
    system: str
    round: int
    n: int
    round_trips_per_s: float
    mo_acked_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    elapsed_s: float
    cpu_s: float  # the system's own processes
    cpu_by_process: dict[str, float]
    cpu_ms_per_1000: float
    servers_cpu_s: float  # PostgreSQL + Redis servers (whole servers), gateway only
    rss_mb: float  # the system's own processes at the end of the load
    load_before: float
    load_after: float
    clean: bool
    problems: str


# ---- measuring processes ---------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def server_pids() -> list[int]:
    """PostgreSQL's backends and Redis: where the gateway's store and cache work is done."""
    pids: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        postmaster = int(POSTMASTER_PID.read_text().split()[0])
        pids += [postmaster, *children(postmaster)]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if (proc / "comm").read_text().strip() == "redis-server":
                    pids.append(int(proc.name))
    return pids


def cpu_of(pids: list[int]) -> dict[int, float]:
    times: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            times[pid] = cpu_seconds(pid)
    return times


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def errors_in_log(path: Path) -> list[str]:
    """Lines of a JSON-lines log at level error or above, and anything that is not JSON."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level", "")
        except (ValueError, AttributeError):
            level = "unparsed"
        if level in ("error", "critical", "exception", "unparsed"):
            found.append(line)
    return found


# ---- the two systems -------------------------------------------------------------------------


def gateway_toml(
    smsc: Smsc, args: argparse.Namespace, schema: str, key_prefix: str, log: str
) -> str:
    return f"""\
[smpp]
enabled = true
host = "{smsc.host}"
port = {smsc.port}
system_id = "{smsc.system_id}"
password = "{smsc.password}"
short_code = "8283"
bind = "transceiver"
window = {args.window}
throughput = 0.0
registered_delivery = false
drain_timeout = 10.0

[sms]
encoding = "unicode"

[store]
url = "{args.store_url}"
schema = "{schema}"

[cache]
url = "{args.cache_url}"
key_prefix = "{key_prefix}"
seal_key = "bench-seal-key-0123456789"

[log]
level = "{log}"
format = "json"
"""


class System:
    """One system under test, started for one trial."""

    name: str
    processes: dict[str, int]  # name -> pid

    @property
    def pids(self) -> list[int]:
        return list(self.processes.values())

    async def stop(self) -> None: ...


class GatewayUnderTest(System):
    name = "gateway"

    def __init__(self, processes: list[GatewayProcess], schema: str, store_url: str) -> None:
        self.instances = processes
        self.processes = {
            f"statusgw-{i + 1}" if len(processes) > 1 else "statusgw": p.process.pid
            for i, p in enumerate(processes)
        }
        self.schema = schema
        self.store_url = store_url

    @classmethod
    async def start(
        cls, smsc: Smsc, workdir: Path, args: argparse.Namespace, key_prefix: str
    ) -> GatewayUnderTest:
        """``args.gateway_processes`` instances sharing the store and the cache, one bind each
        (the SMSC spreads the MO over them), as a deployment with several instances runs."""
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        text = gateway_toml(smsc, args, schema, key_prefix, args.log_level)
        started: list[GatewayProcess] = []
        try:
            for index in range(args.gateway_processes):
                config = workdir / f"statusgw-{schema}-{index + 1}.toml"
                config.write_text(text, "utf-8")
                started.append(await GatewayProcess.start(smsc, config))
        except BaseException:
            for process in started:
                await process.stop()
            raise
        return cls(started, schema, args.store_url)

    async def stop(self) -> None:
        statuses = [await process.stop() for process in self.instances]
        if self.store_url.startswith("postgres"):
            connection = await asyncpg.connect(self.store_url)
            try:
                await connection.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            finally:
                await connection.close()
        for process, status in zip(self.instances, statuses, strict=True):
            if status != 0:
                tail = process.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"statusgw run exited with {status}:\n{tail}")

    def errors_logged(self) -> list[str]:
        return [line for process in self.instances for line in errors_in_log(process.log)]


class KannelUnderTest(System):
    name = "kannel"

    def __init__(self, kannel: Kannel) -> None:
        self.kannel = kannel
        self.keep_files = False
        self.processes = kannel.pids()

    @classmethod
    async def start(cls, smsc: Smsc, workdir: Path, args: argparse.Namespace) -> KannelUnderTest:
        config = KannelConfig(
            smsc.host,
            smsc.port,
            smsc.system_id,
            smsc.password,
            window=args.window,
            store=args.kannel_store,
            backend_workers=args.backend_workers,
        )
        started = cls(await Kannel.start(workdir / f"kannel-{uuid.uuid4().hex[:6]}", config))
        started.keep_files = args.workdir is not None
        return started

    async def stop(self) -> None:
        await self.kannel.stop()
        if not self.keep_files:
            self.kannel.remove_files()


# ---- one trial -------------------------------------------------------------------------------


def sender_prefix(load: int) -> str:
    """A prefix per load, so no sender repeats within the rate limits' minute and day."""
    return f"84{load // 10 % 10}{load % 10}"


@dataclass
class Bench:
    """What every trial of one run shares: the SMSC, the load, the Redis key prefix."""

    smsc: Smsc
    workdir: Path
    args: argparse.Namespace
    codes: list[str]
    key_prefix: str
    loads: int = 0

    async def load(self, n: int) -> LoadReport:
        self.loads += 1
        return await run_load(
            self.smsc,
            self.codes,
            n,
            self.args.window,
            source_prefix=sender_prefix(self.loads),
            deadline_s=max(120.0, n / 50),
            # A refused MO (a full backlog answers ESME_RMSGQFUL) is offered again until the
            # deadline, as an SMSC keeps it for its validity period.
            max_attempts=0,
            retry_ms=RETRY_MS,
        )

    async def start(self, name: str) -> System:
        if name == "gateway":
            return await GatewayUnderTest.start(self.smsc, self.workdir, self.args, self.key_prefix)
        return await KannelUnderTest.start(self.smsc, self.workdir, self.args)

    async def trial(self, name: str, round_index: int) -> Trial:
        args = self.args
        system = await self.start(name)
        profiler = None
        problems = ""
        try:
            warm = await self.load(args.warmup)
            if not warm.clean:
                raise RuntimeError(f"{name}: the warm-up load was not clean: {warm}")
            if round_index < 0:  # the profiling trial, after the measured rounds
                args.profile.mkdir(parents=True, exist_ok=True)
                profiler = await start_profiler(system.pids[0], args.profile / "gateway.stacks")
            servers = server_pids() if name == "gateway" else []
            load_before = os.getloadavg()[0]
            own_before, servers_before = cpu_of(system.pids), cpu_of(servers)
            report = await self.load(args.n)
            own_after = cpu_of(system.pids)
            own = cpu_delta(own_before, own_after)
            by_process = {
                name: round(own_after.get(pid, 0.0) - own_before.get(pid, 0.0), 2)
                for name, pid in system.processes.items()
            }
            servers_cpu = cpu_delta(servers_before, cpu_of(servers))
            rss = sum(rss_mb(pid) for pid in system.pids)
            load_after = os.getloadavg()[0]
        finally:
            await stop_profiler(profiler)
            try:
                if isinstance(system, GatewayUnderTest):
                    errors = system.errors_logged()
                    problems = f"{len(errors)} error lines: {errors[:2]}" if errors else ""
            finally:
                await system.stop()
        if not report.clean:
            problems = f"{problems} load: {report}".strip()
        latency = report.latency_ms
        return Trial(
            system=name,
            round=round_index,
            n=report.n,
            round_trips_per_s=report.reply_rate or 0.0,
            mo_acked_per_s=report.mo_rate or 0.0,
            p50_ms=latency.p50 or 0.0,
            p99_ms=latency.p99 or 0.0,
            max_ms=latency.max or 0.0,
            elapsed_s=round(report.elapsed_ms / 1000, 2),
            cpu_s=round(own, 2),
            cpu_by_process=by_process,
            cpu_ms_per_1000=round(own * 1e6 / max(1, report.replies), 1),
            servers_cpu_s=round(servers_cpu, 2),
            rss_mb=round(rss, 1),
            load_before=round(load_before, 2),
            load_after=round(load_after, 2),
            clean=report.clean and not problems,
            problems=problems,
        )


# ---- the run ---------------------------------------------------------------------------------


async def forget_cache(cache_url: str, key_prefix: str) -> None:
    """Delete the keys this run left in Redis (cache entries, rate-limit counters)."""
    if not cache_url.startswith("redis"):
        return
    client = aioredis.from_url(cache_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{key_prefix}*", count=1000)]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    if "kannel" in args.systems and not installed():
        raise SystemExit("Kannel is not installed: apt-get install -y kannel")
    codes = sample_codes()
    key_prefix = f"statusgw:bench:{uuid.uuid4().hex[:8]}"
    started = datetime.now(UTC)
    load_start = os.getloadavg()
    trials: list[Trial] = []
    main = asyncio.current_task()
    assert main is not None
    # SIGTERM stops the run like Ctrl-C: the systems under test are stopped, schemas dropped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    smsc = await Smsc.start()
    try:
        await smsc.configure(quiet=True)
        with tempfile.TemporaryDirectory(prefix="statusgw-vs-kannel-") as tmp:
            workdir = args.workdir or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            run = Bench(smsc, workdir, args, codes, key_prefix)
            for round_index in range(args.rounds):
                order = list(args.systems)
                if round_index % 2:
                    order.reverse()
                for name in order:
                    result = await run.trial(name, round_index)
                    trials.append(result)
                    print(_line(result), flush=True)
                    await asyncio.sleep(args.pause)
            if args.profile:
                # Sampling slows the process it samples: a trial of its own, not counted.
                profiled = await run.trial("gateway", -1)
                print(_line(profiled) + f"  (profiled: {args.profile}/gateway.stacks)")
    finally:
        await smsc.stop()
        await forget_cache(args.cache_url, key_prefix)
    return summary(args, trials, started, load_start)


def summary(
    args: argparse.Namespace,
    trials: list[Trial],
    started: datetime,
    load_start: tuple[float, float, float],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "sms_vs_kannel",
        "date": started.isoformat(timespec="seconds"),
        "settings": {
            "n": args.n,
            "window": args.window,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "store": args.store_url.partition("://")[0],
            "cache": args.cache_url.partition("://")[0],
            "log_level": args.log_level,
            "kannel_store": args.kannel_store,
            "backend_workers": args.backend_workers,
            "gateway_processes": args.gateway_processes,
        },
        "machine": machine(),
        "load_average_at_start": [round(x, 2) for x in load_start],
        "trials": [asdict(t) for t in trials],
        "all_clean": all(t.clean for t in trials),
    }
    for name in args.systems:
        mine = [t for t in trials if t.system == name]
        result[name] = {
            "median_round_trips_per_s": statistics.median(t.round_trips_per_s for t in mine),
            "median_p50_ms": statistics.median(t.p50_ms for t in mine),
            "median_p99_ms": statistics.median(t.p99_ms for t in mine),
            "median_cpu_ms_per_1000": statistics.median(t.cpu_ms_per_1000 for t in mine),
            "median_rss_mb": statistics.median(t.rss_mb for t in mine),
        }
    if set(args.systems) == set(SYSTEMS):
        ratios = []
        for index in range(args.rounds):
            by = {t.system: t for t in trials if t.round == index}
            if by["kannel"].round_trips_per_s:
                ratios.append(by["gateway"].round_trips_per_s / by["kannel"].round_trips_per_s)
        result["ratios_per_round"] = [round(r, 2) for r in ratios]
        result["median_ratio"] = round(statistics.median(ratios), 2) if ratios else None
    return result


def _line(t: Trial) -> str:
    verdict = "" if t.clean else "  NOT CLEAN " + t.problems[:300]
    which = t.round + 1 if t.round >= 0 else "-"
    return (
        f"round {which} {t.system:<8} {t.n} MO: {t.round_trips_per_s:8.1f} round trips/s"
        f"  p50 {t.p50_ms:7.1f} ms  p99 {t.p99_ms:7.1f} ms  CPU {t.cpu_ms_per_1000:6.1f} ms/1000"
        f" (+ servers {t.servers_cpu_s:.1f} s)  RSS {t.rss_mb:.0f} MB"
        f"  load {t.load_before:.1f}->{t.load_after:.1f}{verdict}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="MO per measured load")
    parser.add_argument("--window", type=int, default=100, help="SMSC and ESME windows")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2000, help="MO of each warm-up load")
    parser.add_argument("--systems", default="kannel,gateway", help="kannel,gateway or one")
    parser.add_argument("--store-url", default=DEFAULT_STORE)
    parser.add_argument("--cache-url", default=DEFAULT_CACHE)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--kannel-store", action="store_true", help="bearerbox store file on")
    parser.add_argument("--backend-workers", type=int, default=1, help="Kannel backend processes")
    parser.add_argument(
        "--gateway-processes", type=int, default=1, help="gateway instances (one bind each)"
    )
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between trials")
    parser.add_argument(
        "--profile", type=Path, help="after the rounds, one more gateway trial under py-spy"
    )
    parser.add_argument("--workdir", type=Path, help="keep configurations and logs here")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where results go")
    parser.add_argument("--quick", action="store_true", help="one round of 1,000 MO")
    args = parser.parse_args(argv)
    args.systems = tuple(s for s in args.systems.split(",") if s)
    if not set(args.systems) <= set(SYSTEMS):
        parser.error(f"--systems takes {', '.join(SYSTEMS)}")
    if args.quick:
        args.n, args.rounds, args.warmup, args.pause = 1000, 1, 200, 0.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    result = asyncio.run(bench(args))
    result["wall_s"] = round(time.monotonic() - began, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    for name in args.systems:
        s = result[name]
        print(
            f"{name:<8} median {s['median_round_trips_per_s']:8.1f} round trips/s,"
            f" p50 {s['median_p50_ms']:.0f} ms, p99 {s['median_p99_ms']:.0f} ms,"
            f" CPU {s['median_cpu_ms_per_1000']:.0f} ms per 1000"
        )
    if result.get("median_ratio") is not None:
        print(
            f"gateway / kannel: median of per-round ratios {result['median_ratio']:.2f}"
            f" {result['ratios_per_round']}; {args.json}"
        )
    return 0 if result["all_clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
