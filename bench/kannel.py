"""Kannel 1.4.5 (Debian ``kannel``) as a classic short code: bearerbox + smsbox + HTTP backend.

    kannel = await Kannel.start(workdir, smsc_host, smsc_port, system_id, password)
    ...
    await kannel.stop()

The configuration is the usual one for a short code that answers queries: bearerbox holds one
SMPP transceiver bind to the SMSC (a window of ``max-pending-submits`` MT, like the gateway's
``[smpp] window``), smsbox hands every MO to an ``sms-service`` whose ``get-url`` asks the
backend (``bench/kannel_backend.py``) and sends its answer back to the MO's sender, from the
short code, in UCS-2 (``X-Kannel-Coding: 2``), split into at most three concatenated parts.
Logs at ``info`` with an access log, as operators run it. bearerbox keeps no store file unless
``store=True`` (Kannel's default: an MO is acknowledged once it is in memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
ADMIN_PASSWORD = "bench"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
BACKEND = Path(__file__).resolve().parent / "kannel_backend.py"


def installed() -> bool:
    return Path(BEARERBOX).is_file() and Path(SMSBOX).is_file()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class KannelConfig:
    smsc_host: str
    smsc_port: int
    system_id: str
    password: str
    short_code: str = "8283"
    window: int = 100  # max-pending-submits
    log_level: int = 1  # 0 debug, 1 info, 2 warning
    store: bool = False  # bearerbox store-file: MO and MT kept on disk until handled
    backend_workers: int = 1
    admin_port: int = field(default_factory=free_port)
    smsbox_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)
    backend_port: int = field(default_factory=free_port)

    def render(self, workdir: Path) -> str:
        store = (
            f'store-type = file\nstore-location = "{workdir}/kannel.store"\n' if self.store else ""
        )
        get_url = f"http://127.0.0.1:{self.backend_port}/sms?from=%p&to=%P&text=%a"
        return f"""\
group = core
admin-port = {self.admin_port}
admin-password = {ADMIN_PASSWORD}
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.smsbox_port}
box-allow-ip = "127.0.0.1"
log-file = "{workdir}/bearerbox.log"
log-level = {self.log_level}
access-log = "{workdir}/bearerbox-access.log"
dlr-storage = internal
{store}
group = smsc
smsc = smpp
smsc-id = sim
host = {self.smsc_host}
port = {self.smsc_port}
transceiver-mode = true
smsc-username = "{self.system_id}"
smsc-password = "{self.password}"
system-type = ""
source-addr-ton = 0
source-addr-npi = 0
dest-addr-ton = 1
dest-addr-npi = 1
max-pending-submits = {self.window}
enquire-link-interval = 30
reconnect-delay = 1
msg-id-type = 0x01

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {self.sendsms_port}
log-file = "{workdir}/smsbox.log"
log-level = {self.log_level}
access-log = "{workdir}/smsbox-access.log"

group = sms-service
keyword = default
get-url = "{get_url}"
accept-x-kannel-headers = true
max-messages = 3
concatenation = true
catch-all = true
omit-empty = true
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class Kannel:
    """bearerbox, smsbox and the backend processes, bound to the SMSC once :meth:`start` returns."""

    def __init__(self, config: KannelConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    @classmethod
    async def start(cls, workdir: Path, config: KannelConfig) -> Kannel:
        conf = workdir / "kannel.conf"
        await asyncio.to_thread(_write, conf, config.render(workdir))
        kannel = cls(config, workdir)
        try:
            for i in range(config.backend_workers):
                await kannel._spawn(
                    f"backend-{i}",
                    sys.executable,
                    str(BACKEND),
                    "--port",
                    str(config.backend_port),
                    "--short-code",
                    config.short_code,
                )
            await kannel.wait_port(config.backend_port, "backend-0")
            await kannel._spawn("bearerbox", BEARERBOX, "-v", "4", str(conf))
            await kannel.wait_port(config.smsbox_port, "bearerbox")
            await kannel._spawn("smsbox", SMSBOX, "-v", "4", str(conf))
            await kannel.wait_online()
        except BaseException:
            await kannel.stop()
            raise
        return kannel

    async def _spawn(self, name: str, *argv: str) -> None:
        with (self.workdir / f"{name}.out").open("ab") as out:
            self.processes[name] = await asyncio.create_subprocess_exec(
                *argv, stdout=out, stderr=asyncio.subprocess.STDOUT, start_new_session=True
            )

    async def status(self) -> str:
        url = f"http://127.0.0.1:{self.config.admin_port}/status.txt?password={ADMIN_PASSWORD}"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return await response.text()

    async def wait_port(self, port: int, name: str) -> None:
        """Until ``name`` accepts connections on ``port``."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if time.monotonic() > deadline or self.processes[name].returncode is not None:
                    raise RuntimeError(f"{name} did not start: {self.output(name)}") from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return

    async def wait_online(self) -> None:
        """Until the SMSC link is online and smsbox is connected to bearerbox."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.returncode is not None:
                    raise RuntimeError(f"{name} exited: {self.output(name)}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                last = await self.status()
                if "online" in last.split("SMSC connections:")[-1] and "smsbox:" in last:
                    return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"Kannel did not come online:\n{last}\n{self.output('bearerbox')}")

    def output(self, name: str, tail: int = 3000) -> str:
        text = ""
        for path in (self.workdir / f"{name}.out", self.workdir / f"{name}.log"):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")[-tail:]
        return text

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items()}

    async def stop(self) -> None:
        """smsbox first, then bearerbox (SIGTERM: an orderly shutdown), then the backend."""
        order = ["smsbox", "bearerbox"] + [n for n in self.processes if n.startswith("backend")]
        for name in order:
            process = self.processes.get(name)
            if process is None or process.returncode is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await process.wait()

    def remove_files(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
