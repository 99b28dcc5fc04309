"""Where the gateway's time goes, from py-spy's raw stacks (``sms_vs_kannel.py --profile``).

    .venv/bin/python bench/profile_summary.py DIR/gateway.stacks [--top 20]

Each sample is charged to the innermost frame that belongs to a known part (the codec, the
store, logging, ...), so the shares add up to 100% of the samples py-spy took while the
process was busy. Then the heaviest functions of the project, with their callees.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# (part, markers in a frame "function (file:line)"), most specific first.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging (structlog, JSON)", ("structlog", "gateway/logging", "json/encoder")),
    ("SMPP codec (sms/codec, smpplib)", ("smpplib", "sms/codec.py", "six.py")),
    ("PostgreSQL store (asyncpg, pg_*)", ("asyncpg", "pg_store", "pg_batch", "pg_notify")),
    ("memory store", ("gateway/store.py",)),
    ("Redis (cache, rate-limit counters)", ("redis/", "redis_store", "hiredis")),
    ("socket writes (send syscalls)", ("_SelectorSocketTransport.write", "sock_send")),
    ("socket reads", ("_read_ready",)),
    (
        "SMS text: grammar, replies, encoding",
        ("sms/text.py", "sms/replies.py", "sms/commands.py", "gateway/codes.py"),
    ),
    (
        "lookup: cache ages, privacy, limits, audit",
        ("gateway/lookup", "gateway/privacy", "gateway/cache", "gateway/ratelimit", "oversight"),
    ),
    ("SMPP session and transport", ("sms/session.py", "sms/transport.py")),
    ("SMS pipeline and responder", ("sms/pipeline.py", "sms/responder.py")),
    ("waiting in select", ("EpollSelector.select",)),
)
OTHER = "asyncio: event loop, tasks, timers"
PROJECT = ("sms/", "gateway/", "adapters/", "ivr/", "prompts/")


def samples(path: Path) -> list[tuple[list[str], int]]:
    found = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            found.append((stack.split(";"), int(count)))
    return found


def part_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in PARTS:
            if any(marker in frame for marker in markers):
                return name
    return OTHER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    stacks = samples(args.stacks)
    total = sum(count for _, count in stacks)
    parts: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for frames, count in stacks:
        parts[part_of(frames)] += count
        seen = set()
        for frame in frames:
            name, _, where = frame.partition(" (")
            if where.startswith(PROJECT) and name not in seen:
                seen.add(name)
                functions[name] += count
    print(f"{total} samples\n\n| part | share |\n|---|---:|")
    for name, count in parts.most_common():
        print(f"| {name} | {100 * count / total:.1f}% |")
    print("\n| project function (with callees) | share |\n|---|---:|")
    for name, count in functions.most_common(args.top + 3)[3:]:  # skip main, _run, <module>
        print(f"| {name} | {100 * count / total:.1f}% |")


if __name__ == "__main__":
    main()
