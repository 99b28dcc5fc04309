"""Cached dossier lookups per second and their p99 latency, through the lookup service and
through the HTTP API, with the in-memory cache and with the real Redis.

    .venv/bin/python bench/lookup.py [--seconds 5] [--concurrency 50] [--redis redis://127.0.0.1:6379/15]

Every code of the bundled sample is looked up once to warm the cache, then ``concurrency``
workers look up codes round-robin for ``seconds``. "with sender" counts each lookup against
the sender's budget too (one Redis script call per lookup with Redis), as an SMS does. The
HTTP server runs in a child process so that client and server do not share one event loop.
The machine's load is printed before and after, since other work on it slows every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from adapters.file import read_dossiers
from gateway.clock import SystemClock
from gateway.codes import parse_dossier_code
from gateway.health import Health
from gateway.http import build_http_app
from gateway.logging import configure_logging
from gateway.lookup import Channel, LookupRequest, Outcome
from gateway.lookup_factory import build_lookup
from gateway.settings import Settings, build_settings


@dataclass(frozen=True)
class Figure:
    name: str
    count: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        return (
            f"| {self.name:<34} | {self.rate:>9,.0f} | {statistics.median(self.latencies_ms):>7.2f}"
            f" | {self.p(0.99):>7.2f} |"
        )


def settings_for(cache_url: str, prefix: str) -> Settings:
    return build_settings(
        {
            "cache": {
                "url": cache_url,
                "seal_key": "bench-seal-key-0123456789",
                "key_prefix": prefix,
            },
            # Budgets that are counted but never reached: their cost is part of the figure.
            "limits": {
                "sender_per_minute": 100_000,
                "sender_per_day": 1_000_000,
                "client_per_minute": 10_000_000,
            },
            "http": {"anonymous": True},
        }
    )


async def drive(
    name: str, one: Callable[[int], Awaitable[None]], seconds: float, concurrency: int
) -> Figure:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        n = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await one(n)
            latencies.append((time.perf_counter() - started) * 1000)
            n += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return Figure(name, len(latencies), time.perf_counter() - started, latencies)


async def bench_service(
    cache_url: str, label: str, seconds: float, concurrency: int, sender: bool
) -> Figure:
    prefix = f"statusgw-bench:{uuid.uuid4().hex[:8]}"
    lookup = build_lookup(settings_for(cache_url, prefix), Health(SystemClock()), SystemClock())
    codes = [c for c in (parse_dossier_code(d.code) for d in read_dossiers(None)) if c]
    for c in codes:
        await lookup.lookup(LookupRequest(c, Channel.SMS))

    misses: list[int] = []

    async def one(n: int) -> None:
        requester = f"09{n % 5000:08d}" if sender else None
        result = await lookup.lookup(LookupRequest(codes[n % len(codes)], Channel.SMS, requester))
        if result.outcome is not Outcome.FOUND:
            raise RuntimeError(f"not found: {result}")
        if result.cache != "hit":
            # A cache slower than its timeout on a busy machine: answered from the source.
            misses.append(1)

    try:
        what = "service, " + label + (", with sender" if sender else "")
        figure = await drive(what, one, seconds, concurrency)
        if misses:
            print(f"  ({len(misses)} of {figure.count} answered past the cache)", flush=True)
        return figure
    finally:
        await lookup.close()


async def bench_http(cache_url: str, label: str, seconds: float, concurrency: int) -> Figure:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", str(port), "--cache", cache_url
    )
    base = f"http://127.0.0.1:{port}"
    codes = [d.code for d in read_dossiers(None)]
    connector = aiohttp.TCPConnector(limit=concurrency)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            await _until_up(session, base)
            for c in codes:
                async with session.get(f"{base}/v1/dossiers/{c}") as response:
                    await response.read()

            async def one(n: int) -> None:
                async with session.get(f"{base}/v1/dossiers/{codes[n % len(codes)]}") as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"HTTP {r.status}")

            return await drive(f"HTTP API, {label}", one, seconds, concurrency)
    finally:
        server.terminate()
        await server.wait()


async def serve(port: int, cache_url: str) -> None:
    clock = SystemClock()
    health = Health(clock)
    settings = settings_for(cache_url, f"statusgw-bench:{uuid.uuid4().hex[:8]}")
    lookup = build_lookup(settings, health, clock)
    runner = web.AppRunner(build_http_app(lookup, health, settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await lookup.close()


async def _until_up(session: aiohttp.ClientSession, base: str) -> None:
    async with asyncio.timeout(15):
        while True:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _machine() -> str:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {load}"


async def main(args: argparse.Namespace) -> None:
    print(f"machine before: {_machine()}")
    print(f"{args.seconds:g} s per row, {args.concurrency} concurrent lookups, sample codes\n")
    print("| path                               |  lookups/s | p50 ms  | p99 ms  |")
    print("|------------------------------------|-----------:|--------:|--------:|")
    runs: list[Callable[[], Awaitable[Figure]]] = [
        lambda: bench_service("memory://", "memory cache", args.seconds, args.concurrency, False),
        lambda: bench_service(args.redis, "Redis cache", args.seconds, args.concurrency, False),
        lambda: bench_service(args.redis, "Redis cache", args.seconds, args.concurrency, True),
        lambda: bench_http("memory://", "memory cache", args.seconds, args.concurrency),
        lambda: bench_http(args.redis, "Redis cache", args.seconds, args.concurrency),
    ]
    for run in runs:
        print((await run()).line(), flush=True)
    print(f"\nmachine after: {_machine()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", default="memory://", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    configure_logging("warning", "json")
    if arguments.serve:
        asyncio.run(serve(arguments.serve, arguments.cache))
    else:
        asyncio.run(main(arguments))
