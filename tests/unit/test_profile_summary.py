"""bench/profile_summary.py charges each py-spy sample to the innermost part it knows."""

from __future__ import annotations

from pathlib import Path

from bench.profile_summary import OTHER, part_of, samples

STACKS = (
    "<module> (statusgw:6);SmsPipeline._process (sms/pipeline.py:300);"
    "LookupService.lookup (gateway/lookup.py:225);RedisCounters.add (adapters/redis_store.py:1) 7\n"
    "<module> (statusgw:6);_Link._process (sms/transport.py:317);decode (sms/codec.py:332) 3\n"
    "<module> (statusgw:6);BaseEventLoop._run_once (asyncio/base_events.py:1907) 2\n"
)


def test_samples_are_charged_to_the_innermost_known_part(tmp_path: Path) -> None:
    path = tmp_path / "gateway.stacks"
    path.write_text(STACKS)

    parts = [(part_of(frames), count) for frames, count in samples(path)]

    assert parts == [
        ("Redis (cache, rate-limit counters)", 7),
        ("SMPP codec (sms/codec, smpplib)", 3),
        (OTHER, 2),
    ]
