"""Single-flight: 1,000 concurrent requests for one code no cache holds yet.

    .venv/bin/python bench/single_flight.py [--requests 1000] [--rounds 3] [--source-delay 0.05]
        [--redis redis://127.0.0.1:6379/15] [--json PATH] [--quick]

The source is the REST adapter against a local stand-in for a provincial API
(``tests/support/rest_backend.py``) that holds every answer ``--source-delay`` seconds, as a
remote system does. Each round asks for a code nobody asked for before, ``--requests`` times
at once, from as many senders (so every request is also counted against its sender's
budget), and reports how many requests reached the source (single-flight: one), how long
the whole burst took, and the p50/p99 latency of one request. Three paths: the lookup service
with the in-memory cache, the lookup service with Redis, and the HTTP API of ``statusgw run``
(Redis cache, a child process) called over 1,000 connections at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
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

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from bench.sms_roundtrip import machine, statusgw_command  # noqa: E402
from gateway.clock import SystemClock  # noqa: E402
from gateway.codes import parse_dossier_code  # noqa: E402
from gateway.health import Health  # noqa: E402
from gateway.logging import configure_logging  # noqa: E402
from gateway.lookup import Channel, LookupRequest, Outcome  # noqa: E402
from gateway.lookup_factory import build_lookup  # noqa: E402
from gateway.settings import build_settings  # noqa: E402
from tests.support.gateway_process import toml_value  # noqa: E402
from tests.support.rest_backend import TOKEN, RestBackend  # noqa: E402

DEFAULT_JSON = REPO_ROOT / ".cache" / "bench" / "single_flight.json"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Burst:
    path: str
    round: int
    requests: int
    found: int
    source_requests: int
    wall_ms: float
    p50_ms: float
    p99_ms: float


def code_for(round_index: int, path_index: int) -> str:
    return f"000.00.22.H29-2503{path_index + 1:02d}-{round_index + 1:04d}"


def record(code: str) -> dict[str, str]:
    return {
        "MaHoSo": code,
        "TrangThaiHoSo": "4",
        "NgayTiepNhan": "20250220083000",
        "NgayHenTra": "20250305090000",
        "DonViXuLy": "UBND phường Bến Nghé",
        "TenTTHC": "Đăng ký khai sinh",
        "SoDienThoai": "0912345678",
    }


def sections(backend: RestBackend, cache_url: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {
        "source": {
            "kind": "rest",
            "url": backend.base + "/api/hoso/{code}",
            "headers": {"Authorization": TOKEN},
            "record_path": "data",
            "timeout": 10.0,
        },
        "cache": {"url": cache_url, "key_prefix": prefix, "seal_key": "bench-seal-key-0123456789"},
        # Budgets counted but never reached: their cost is part of the figure.
        "limits": {"sender_per_minute": 100_000, "sender_per_day": 1_000_000},
        "lookup": {"http_deadline": 10.0, "sms_deadline": 10.0},
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def timed(call: Any) -> tuple[bool, float]:
    started = time.perf_counter()
    found = await call
    return found, (time.perf_counter() - started) * 1000


async def burst(path: str, round_index: int, calls: list[Any], backend: RestBackend) -> Burst:
    before = len(backend.requests)
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(timed(c) for c in calls))
    wall = (time.perf_counter() - started) * 1000
    latencies = [ms for _, ms in outcomes]
    return Burst(
        path=path,
        round=round_index,
        requests=len(calls),
        found=sum(1 for ok, _ in outcomes if ok),
        source_requests=len(backend.requests) - before,
        wall_ms=round(wall, 1),
        p50_ms=round(statistics.median(latencies), 1),
        p99_ms=round(percentile(latencies, 0.99), 1),
    )


async def service_bursts(
    backend: RestBackend, cache_url: str, label: str, path_index: int, args: argparse.Namespace
) -> list[Burst]:
    prefix = f"statusgw-bench:{uuid.uuid4().hex[:8]}"
    settings = build_settings(sections(backend, cache_url, prefix))
    lookup = build_lookup(settings, Health(SystemClock()), SystemClock())

    async def one(code: str, n: int) -> bool:
        parsed = parse_dossier_code(code)
        assert parsed is not None
        request = LookupRequest(parsed, Channel.SMS, f"09{n:08d}")
        return (await lookup.lookup(request)).outcome is Outcome.FOUND

    try:
        results = []
        for r in range(args.rounds):
            code = code_for(r, path_index)
            calls = [one(code, n) for n in range(args.requests)]
            results.append(await burst(f"service, {label}", r, calls, backend))
        return results
    finally:
        await lookup.close()
        await forget(cache_url, prefix)


async def http_bursts(
    backend: RestBackend, cache_url: str, path_index: int, args: argparse.Namespace
) -> list[Burst]:
    prefix = f"statusgw-bench:{uuid.uuid4().hex[:8]}"
    port = free_port()
    config = sections(backend, cache_url, prefix) | {
        "http": {"enabled": True, "listen": f"127.0.0.1:{port}", "anonymous": True},
        "log": {"level": "warning", "format": "json"},
    }
    config["limits"]["client_per_minute"] = 10_000_000
    with tempfile.TemporaryDirectory(prefix="statusgw-single-flight-") as tmp:
        path = Path(tmp) / "statusgw.toml"
        path.write_text(to_toml(config), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STATUSGW_")}
        process = await asyncio.create_subprocess_exec(
            *statusgw_command(), "run", "--config", str(path), cwd=REPO_ROOT, env=env
        )
        connector = aiohttp.TCPConnector(limit=0)  # every request on a connection of its own
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                base = f"http://127.0.0.1:{port}"
                await until_up(session, base)

                async def one(code: str) -> bool:
                    async with session.get(f"{base}/v1/dossiers/{code}") as response:
                        await response.read()
                        return response.status == 200

                results = []
                for r in range(args.rounds):
                    code = code_for(r, path_index)
                    calls = [one(code) for _ in range(args.requests)]
                    results.append(await burst("HTTP API, Redis cache", r, calls, backend))
                return results
        finally:
            process.terminate()
            await process.wait()
            await forget(cache_url, prefix)


async def until_up(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            async with session.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the gateway's HTTP API did not come up")
        await asyncio.sleep(0.1)


def to_toml(config: dict[str, dict[str, Any]]) -> str:
    """Sections of scalars, lists and (inline) tables."""
    lines = []
    for section, values in config.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, dict):
                inner = ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def forget(cache_url: str, prefix: str) -> None:
    if not cache_url.startswith("redis"):
        return
    client = aioredis.from_url(cache_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()


async def bench(args: argparse.Namespace) -> list[Burst]:
    backend = RestBackend()
    backend.script.delay = args.source_delay
    for r in range(args.rounds):
        for p in range(3):
            code = code_for(r, p)
            backend.add(record(code))
    await backend.start()
    try:
        results = await service_bursts(backend, "memory://", "memory cache", 0, args)
        results += await service_bursts(backend, args.redis, "Redis cache", 1, args)
        results += await http_bursts(backend, args.redis, 2, args)
    finally:
        await backend.stop()
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source-delay", type=float, default=0.05)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--quick", action="store_true", help="one round of 100 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.rounds = 100, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("warning", "json")
    load = os.getloadavg()
    bursts = asyncio.run(bench(args))
    result = {
        "benchmark": "single_flight",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {"requests": args.requests, "source_delay_s": args.source_delay},
        "bursts": [asdict(b) for b in bursts],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print("| path | round | found | source requests | burst ms | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for b in bursts:
        print(
            f"| {b.path} | {b.round + 1} | {b.found}/{b.requests} | {b.source_requests}"
            f" | {b.wall_ms:.0f} | {b.p50_ms:.1f} | {b.p99_ms:.1f} |"
        )
    ok = all(b.found == b.requests and b.source_requests == 1 for b in bursts)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
