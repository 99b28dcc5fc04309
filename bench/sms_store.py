"""MO -> MT round trips per second with the PostgreSQL store, beside ``memory://``, one run.

    .venv/bin/python bench/sms_store.py [-n 10000] [--window 100] [--rounds 2]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--json PATH] [--quick]

The same load as ``bench/sms_roundtrip.py`` (node-smpp SMSC, ``statusgw run`` child process,
``TRA <code>`` from N distinct senders, every reply matched to its MO), against two gateways
started one after the other: ``[store] url = "memory://"`` and the PostgreSQL store (a fresh
schema, dropped afterwards; ``synchronous_commit = on``, so each MO batch is on disk before
its deliver_sm_resp). The stores alternate round by round (memory, PostgreSQL, memory, ...)
so a change in the machine's load hits both alike. Each round starts a new gateway and runs
one warm-up load before the measured one. Reported per store: the median round trips per
second, latency percentiles, and the gateway's CPU milliseconds per 1,000 round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import asyncpg  # noqa: E402

from bench.sms_roundtrip import (  # noqa: E402
    GatewayProcess,
    Run,
    gateway_config,
    machine,
    measure,
    sample_codes,
    senders,
)
from tests.support.smsc import Smsc  # noqa: E402
from tests.support.smsc_load import run_load  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_JSON = REPO_ROOT / ".cache" / "bench" / "sms_store.json"


async def one_round(
    smsc: Smsc, workdir: Path, store_url: str, *, schema: str, args: argparse.Namespace, load: int
) -> Run:
    config = gateway_config(smsc, args.window, "warning", store_url)
    config = config.replace(f'url = "{store_url}"', f'url = "{store_url}"\nschema = "{schema}"')
    path = workdir / f"{schema}-{load}.toml"
    path.write_text(config, "utf-8")
    codes = sample_codes()
    gateway = await GatewayProcess.start(smsc, path)
    try:
        warm = await run_load(smsc, codes, args.warmup, args.window, source_prefix=senders(load))
        if not warm.clean:
            raise SystemExit(f"warm-up load was not clean: {warm}")
        return await measure(smsc, gateway, codes, args.n, args.window, load=load + 1)
    finally:
        if await gateway.stop() != 0:
            print(gateway.log.read_text(errors="replace")[-4000:], file=sys.stderr)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    stores = {"memory": "memory://", "postgresql": args.pg}
    runs: dict[str, list[Run]] = {name: [] for name in stores}
    smsc = await Smsc.start()
    try:
        with tempfile.TemporaryDirectory(prefix="statusgw-bench-store-") as workdir:
            load = 0
            for round_number in range(args.rounds):
                for name, url in stores.items():
                    run = await one_round(
                        smsc, Path(workdir), url, schema=schema, args=args, load=load
                    )
                    load += 2
                    runs[name].append(run)
                    print(
                        f"round {round_number + 1} {name:10s} {run.round_trips_per_s:8.0f}/s"
                        f"  p50 {run.p50_ms:7.1f} ms  p95 {run.p95_ms:7.1f} ms"
                        f"  cpu {run.cpu_ms_per_1000:6.0f} ms/1000  clean={run.clean}"
                        f"  load {run.load_before[0]:.1f}",
                        flush=True,
                    )
    finally:
        await smsc.stop()
        connection = await asyncpg.connect(args.pg)
        try:
            await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await connection.close()
    return {
        "benchmark": "sms_store",
        "settings": {"n": args.n, "window": args.window, "rounds": args.rounds},
        "machine": machine(),
        "stores": {
            name: {
                "median_round_trips_per_s": round(
                    statistics.median(r.round_trips_per_s for r in store_runs), 1
                ),
                "median_p50_ms": statistics.median(r.p50_ms for r in store_runs),
                "median_p95_ms": statistics.median(r.p95_ms for r in store_runs),
                "median_cpu_ms_per_1000": statistics.median(r.cpu_ms_per_1000 for r in store_runs),
                "all_clean": all(r.clean for r in store_runs),
                "runs": [asdict(r) for r in store_runs],
            }
            for name, store_runs in runs.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10000, help="MO per measured load")
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2, help="measured loads per store")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL for the store")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--quick", action="store_true", help="a few seconds: proves it runs")
    args = parser.parse_args()
    if args.quick:
        args.n, args.rounds, args.warmup = 300, 1, 100
    result = asyncio.run(bench(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    for name, figures in result["stores"].items():
        print(
            f"{name:10s} median {figures['median_round_trips_per_s']:8.0f} round trips/s"
            f"  p50 {figures['median_p50_ms']} ms  p95 {figures['median_p95_ms']} ms"
            f"  cpu {figures['median_cpu_ms_per_1000']} ms/1000  clean={figures['all_clean']}"
        )
    return 0 if all(f["all_clean"] for f in result["stores"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
