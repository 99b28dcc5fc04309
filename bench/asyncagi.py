"""The test Asterisk's start-up and AsyncAGI command round trips over our AMI session.

    .venv/bin/python bench/asyncagi.py [--commands 50] [--calls 20]

Reports: the time to build the cached Debian root (0 when it is already built), Asterisk's
boot time to an accepted AMI login, and the round trip of one AsyncAGI command (``GET
VARIABLE``) sent alone, then the per-command time of commands queued together, on ``calls``
simulated calls at once. A lone command waits for AsyncAGI's poll of its channel (about every
100 ms on a channel without audio); queued commands run back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.ami import AmiLinkSettings, AmiSession, AsyncAgiStart
from tests.support.asterisk import Asterisk, ensure_root, root_is_complete, root_path
from tests.support.hotline_caller import EventLog, call_hotline

COMMAND = "GET VARIABLE CHANNEL(language)"


def millis(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


async def measure(asterisk: Asterisk, commands: int, calls: int) -> None:
    session = AmiSession(
        AmiLinkSettings(asterisk.host, asterisk.port, asterisk.username, asterisk.secret)
    )
    events = EventLog(session)
    await session.connect()
    try:
        await session.set_global("STATUSGW_HEARTBEAT", str(int(time.time())))
        call = await call_hotline(session)
        await events.wait_for(AsyncAgiStart, lambda e: e.channel == call.channel)
        alone = []
        for _ in range(commands):
            started = time.perf_counter()
            await session.agi(call.channel, COMMAND, timeout=5)
            alone.append(time.perf_counter() - started)
        print(f"one command at a time ({commands}): {millis(alone)}")

        started = time.perf_counter()
        await asyncio.gather(*(session.agi(call.channel, COMMAND, 10) for _ in range(commands)))
        per = (time.perf_counter() - started) / commands
        print(f"{commands} commands queued together: {per * 1000:.2f} ms per command")

        many = [await call_hotline(session) for _ in range(calls)]
        for placed in many:
            await events.wait_for(AsyncAgiStart, lambda e, c=placed.channel: e.channel == c)
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            await asyncio.gather(*(session.agi(p.channel, COMMAND, 10) for p in many))
            rounds.append(time.perf_counter() - started)
        print(f"one command on each of {calls} calls at once: {millis(rounds)} per round")
    finally:
        await session.close()
        asterisk.hangup_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    built = root_is_complete(root_path())
    started = time.monotonic()
    root = ensure_root()
    print(f"root build: {0.0 if built else time.monotonic() - started:.1f} s")
    asterisk = Asterisk(root)
    asterisk.start()
    try:
        print(f"Asterisk boot to accepted AMI login: {asterisk.boot_seconds:.2f} s")
        asyncio.run(measure(asterisk, args.commands, args.calls))
    finally:
        asterisk.stop()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
