"""``statusgw run --config`` as a child process, for tests that kill it.

A crash test needs a gateway that can die for real (``kill -9``: no drain, no unbind, no
flush), so it runs in its own process with a TOML file written for the test. Its output goes
to a log file next to the configuration, shown when a test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support.smsc import Smsc

BIND_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
REPO_ROOT = Path(__file__).resolve().parents[2]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def write_config(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def gateway_sections(
    smsc: Smsc, store_url: str, schema: str, overrides: Mapping[str, Mapping[str, Any]] = {}
) -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {
        "smpp": {
            "enabled": True,
            "host": smsc.host,
            "port": smsc.port,
            "system_id": smsc.system_id,
            "password": smsc.password,
            "short_code": "8283",
            "window": 100,
            "throughput": 0.0,
            "response_timeout": 5.0,
            "enquire_link_timeout": 2.0,
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
            "drain_timeout": 5.0,
        },
        "limits": {"sender_per_minute": 0, "sender_per_day": 0, "not_found_threshold": 0},
        # Long enough to be renewed on a busy machine; a dead instance's work waits this long.
        "store": {"url": store_url, "schema": schema, "lease_seconds": 20.0},
        "notify": {"poll_interval": 0.0},
        "log": {"level": "warning", "format": "json"},
    }
    for section, values in overrides.items():
        sections.setdefault(section, {}).update(values)
    return sections


class GatewayProcess:
    def __init__(self, name: str, config: Path, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.config = config
        self.process = process
        self.log = config.with_suffix(".log")

    @classmethod
    async def start(
        cls, smsc: Smsc, workdir: Path, name: str, sections: Mapping[str, Mapping[str, Any]]
    ) -> GatewayProcess:
        """Start a gateway and return once the SMSC has seen it bind."""
        config = write_config(workdir / f"{name}.toml", sections)
        mark = smsc.mark()
        with config.with_suffix(".log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway.cli",
                "run",
                "--config",
                str(config),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                cwd=REPO_ROOT,
                env={k: v for k, v in os.environ.items() if not k.startswith("STATUSGW_")},
            )
        gateway = cls(name, config, process)
        try:
            await smsc.wait_for(
                lambda e: e.get("event") == "bind" and e.get("status") == 0,
                timeout=BIND_TIMEOUT_S,
                after=mark,
            )
        except BaseException:
            await gateway.kill()
            raise
        return gateway

    async def kill(self) -> None:
        """``kill -9``: the process gets no chance to finish anything."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            await self.kill()
            return -9

    def output(self, tail: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-tail:]
        return ""
