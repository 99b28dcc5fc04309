"""N simultaneous simulated callers on the real Asterisk, each served by one gateway process.

    .venv/bin/python bench/ivr_calls.py [--calls 100,200,400,800]
    .venv/bin/python bench/ivr_calls.py --port 5039 --root /path/to/root   # an Asterisk already up

For each N, N callers dial 1022 (at once, or spread over ``--ramp`` seconds) and stay on the
line together until every one has heard its status (``peak_calls`` counts them then). Each
keys in its own dossier's code (a distinct dossier per caller, so a mixed-up answer is
caught), confirms it with 1, and waits for the status. A call is correct when the read-back
has its digits, the status prompt is its dossier's status, the channel carries its dossier
and outcome ``read``, and it is still up when all are served. Reported: correct calls, and
the time from the caller's last key (the 1, taken when Asterisk has queued it on the channel)
to the status audio starting (Asterisk's ``AGIExecStart`` of the status prompt, taken when
the caller sees it). With no ramp every caller presses that key within the same moment: the
worst burst Asterisk can get. ``max_dead_air_ms`` is the longest silence the IVR left between
two of its commands on any call (the wait for keys inside a prompt is not silence of ours).
The gateway runs in a process of its own, as in production; the callers, the gateway and
Asterisk share this machine, so each row also gives the load average: a busy machine makes
every figure worse.

Without ``--port`` the test Asterisk is started from the cached root (AMI port 5038, the one
the test suite uses: do not run the suite at the same time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.file import FileSource
from gateway.dossier import Status
from gateway.logging import configure_logging
from ivr.ami import AmiLinkSettings
from ivr.call import CallPolicy
from prompts.catalog import build_catalogue
from tests.support.asterisk import SOUNDS, Asterisk, ensure_root, manager_secret
from tests.support.hotline import (
    Caller,
    Callers,
    hotline_gateway,
    install_prompt_sounds,
    link_settings,
    remove_prompt_sounds,
)
from tests.support.lookup_fakes import dossier

# Real-life digit timeouts; prompts as short tones so a round takes seconds, not minutes.
KEY_SESSIONS = 16  # AMI sessions (no events) the callers' keys are spread over
CALLERS_PER_KEY_SESSION = 25
# The menu waits long: callers hold there until every caller of the round has been served.
POLICY = CallPolicy(first_digit_timeout=8.0, inter_digit_timeout=3.0, menu_timeout=120.0)


def code_for(index: int) -> str:
    """A distinct national code per caller (agency 000.00.22.H29, day 2024-01-01..)."""
    day, seq = divmod(index, 9000)
    return f"000.00.22.H29-2401{day + 1:02d}-{seq + 1:04d}"


def digits_of(code: str) -> str:
    return "".join(c for c in code if c.isdigit())


@dataclass
class CallResult:
    correct: bool
    latency: float | None  # seconds from the last key to the status audio
    detail: str = ""
    dead_air: float = 0.0  # longest silence between two commands of the IVR on this call


@dataclass
class Round:
    """What every caller of one round shares: when to dial, and when all are on the line."""

    calls: int
    ramp: float  # seconds over which the callers dial (0: all at once, in lockstep)
    heard: int = 0
    everyone_heard: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # after the count
    peak: int = 0  # calls up at the same moment, counted when the last caller heard its status

    def one_more_heard(self) -> None:
        self.heard += 1
        if self.heard == self.calls:
            self.everyone_heard.set()


async def one_caller(callers: Callers, index: int, round_: Round) -> CallResult:
    code = code_for(index)
    digits = digits_of(code)
    caller: Caller | None = None
    await asyncio.sleep(round_.ramp * index / round_.calls)
    try:
        # A number of its own: the lookup layer rightly refuses one number asking for
        # hundreds of dossiers (and any code mistyped under load counts against it).
        caller = await callers.dial(f"09{index:08d}", timeout=120)
        await caller.answer(digits + "#", timeout=120)
        read_back = await caller.answer("1", timeout=120)
        pressed = caller.last_key_at
        heard_digits = "".join(
            p.removeprefix("digits/") for p in read_back.prompts if p.startswith("digits/")
        )
        status = await caller.prompt(timeout=120)
        assert pressed is not None
        latency = status.at - pressed
        problems = []
        if heard_digits != digits:
            problems.append(f"read back {heard_digits}")
        if status.prompts[:2] != ("ivr/status_is", "status/processing"):
            problems.append(f"status prompt {status.prompts[:2]}")
        if (dossier_var := await caller.variable("STATUSGW_DOSSIER")) != code:
            problems.append(f"STATUSGW_DOSSIER={dossier_var}")
        if (outcome := await caller.variable("STATUSGW_OUTCOME")) != "read":
            problems.append(f"STATUSGW_OUTCOME={outcome}")
        # Stay on the line (at the menu) until every caller has heard its status: then all
        # N calls are up at once, however the dialling was spread.
        round_.one_more_heard()
        await asyncio.wait_for(round_.release.wait(), timeout=300)
        if caller.ended:
            problems.append("the call ended before every caller was served")
        return CallResult(not problems, latency, "; ".join(problems), caller.longest_gap)
    except Exception as exc:
        round_.one_more_heard()  # a failed caller must not hold the others
        return CallResult(False, None, f"{type(exc).__name__}: {exc}"[:200])
    finally:
        if caller is not None:
            with contextlib.suppress(Exception):
                await caller.hang_up()
            caller.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def round_of(
    link: AmiLinkSettings, asterisk: Asterisk, calls: int, ramp: float
) -> dict[str, object]:
    key_sessions = max(1, min(KEY_SESSIONS, calls // CALLERS_PER_KEY_SESSION))
    round_ = Round(calls, ramp)
    async with Callers.connected(link, every_channel=False, key_sessions=key_sessions) as callers:
        started = time.monotonic()
        tasks = [asyncio.create_task(one_caller(callers, i, round_)) for i in range(calls)]
        await round_.everyone_heard.wait()
        loop = asyncio.get_running_loop()
        round_.peak = len(await loop.run_in_executor(None, hotline_channels, asterisk))
        round_.release.set()
        results = await asyncio.gather(*tasks)
        wall = time.monotonic() - started
    latencies = [r.latency for r in results if r.latency is not None]
    failures = [r.detail for r in results if not r.correct]
    row: dict[str, object] = {
        "calls": calls,
        "ramp_s": ramp,
        "peak_calls": round_.peak,
        "correct": calls - len(failures),
        "p50_ms": round(statistics.median(latencies) * 1000) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000) if latencies else None,
        "max_ms": round(max(latencies) * 1000) if latencies else None,
        "max_dead_air_ms": round(max(r.dead_air for r in results) * 1000),
        "wall_s": round(wall, 1),
        "load_1min": round(os.getloadavg()[0], 1),  # others' work on this machine skews it
    }
    if failures:
        row["first_failures"] = sorted(set(failures))[:3]
    return row


# --- the gateway process ------------------------------------------------------------------


async def serve(link: AmiLinkSettings, dossiers: int) -> None:
    """The gateway: the hotline over the given link until stdin closes."""
    configure_logging("warning", "json")
    records = [dossier(code_for(i), Status.PROCESSING, phone=None) for i in range(dossiers)]
    # The embedded file source: dossiers indexed by digits key and phone, as in production.
    source = FileSource(records)
    async with hotline_gateway(link, (), source=source, policy=POLICY, voice_deadline=3.0):
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def start_gateway(args: argparse.Namespace, dossiers: int) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        __file__,
        "--serve",
        "--port",
        str(args.port),
        "--secret",
        args.secret,
        "--dossiers",
        str(dossiers),
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise SystemExit(f"the gateway did not start: {line!r}")
    return process


def stop_gateway(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def hotline_channels(asterisk: Asterisk) -> list[str]:
    """The hotline halves of the simulated calls that are up now."""
    return [name for name in asterisk.channels() if name.endswith(";1")]


def wait_idle(asterisk: Asterisk) -> None:
    asterisk.hangup_all()
    deadline = time.monotonic() + 60
    while asterisk.channels() and time.monotonic() < deadline:
        time.sleep(0.2)


def run(args: argparse.Namespace) -> None:
    sizes = [int(n) for n in args.calls.split(",")]
    if args.root:
        asterisk = Asterisk(Path(args.root))
        asterisk.port = args.port
        started_here = False
    else:
        asterisk = Asterisk(ensure_root())
        asterisk.start()
        started_here = True
    args.secret = asterisk.secret
    sounds = install_prompt_sounds(asterisk.root / SOUNDS, build_catalogue())
    link = link_settings(asterisk.host, asterisk.port, asterisk.username, asterisk.secret)
    gateway = start_gateway(args, max(sizes))
    rows = []
    try:
        for calls in sizes:
            wait_idle(asterisk)
            row = asyncio.run(round_of(link, asterisk, calls, args.ramp))
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if row["correct"] != calls and not args.keep_going:
                break
    finally:
        stop_gateway(gateway)
        wait_idle(asterisk)
        remove_prompt_sounds(sounds)
        if started_here:
            asterisk.stop()
    good = [r for r in rows if r["correct"] == r["calls"]]
    if good:
        best = max(good, key=lambda r: int(str(r["calls"])))
        print(
            f"largest N with every call correct: {best['calls']} "
            f"(p95 last key -> status audio {best['p95_ms']} ms, p50 {best['p50_ms']} ms)"
        )
    else:
        print("no round had every call correct")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="50,100,200,400,600,800")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--root", default="", help="root of an Asterisk already running")
    parser.add_argument("--keep-going", action="store_true", help="run every size")
    parser.add_argument(
        "--ramp",
        type=float,
        default=0.0,
        help="seconds over which the callers dial (default 0: all at once, in lockstep);"
        " every call stays up until all have heard their status",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--secret", default="", help=argparse.SUPPRESS)
    parser.add_argument("--dossiers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        secret = args.secret or manager_secret()
        link = link_settings("127.0.0.1", args.port, "statusgw", secret)
        asyncio.run(serve(link, args.dossiers))
        return
    run(args)


if __name__ == "__main__":
    main()
