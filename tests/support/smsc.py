"""Drive the independent SMSC (``tests/support/smsc/smsc.js``, on the npm ``smpp`` package).

The SMSC runs as a node child process. Commands go to its stdin as JSON lines and every
line it prints is an event (a JSON object with an ``event`` key), kept in ``Smsc.events``
in arrival order. Each command is answered by one ``ok`` or ``error`` event carrying the
command's ``req`` number; what happens on the SMPP side afterwards arrives as more events,
which tests await with ``wait_for``.

The node dependencies are installed once with ``npm ci`` into ``tests/support/smsc/node_modules``
(npm's download cache under ``.cache/npm``) and re-installed only when the lock file or the
node version changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SMSC_DIR = Path(__file__).resolve().parent / "smsc"
REPO_ROOT = SMSC_DIR.parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
INSTALL_STAMP = SMSC_DIR / "node_modules" / ".statusgw-install"

DEFAULT_SYSTEM_ID = "statusgw"
DEFAULT_PASSWORD = "secret"
COMMAND_TIMEOUT_S = 10.0
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
NPM_TIMEOUT_S = 300.0
LINE_LIMIT = 1 << 20

# SMPP command_status values the tests use by name.
ESME_ROK = 0x00
ESME_RINVBNDSTS = 0x04
ESME_RSYSERR = 0x08
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58

Event = dict[str, Any]
EventPredicate = Callable[[Event], bool]


class SmscError(Exception):
    """The SMSC could not be installed or started, refused a command, or exited."""


class SmscTimeoutError(TimeoutError):
    """An awaited event did not arrive in time."""


def node_binary() -> str:
    found = shutil.which("node")
    if found is None:
        raise SmscError("node is not installed (apt-get install nodejs npm)")
    return found


def _install_fingerprint(node: str) -> str:
    version = subprocess.run(
        [node, "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    lock = (SMSC_DIR / "package-lock.json").read_bytes()
    return hashlib.sha256(lock + version.encode()).hexdigest()


def ensure_installed() -> None:
    """Run ``npm ci`` in the SMSC folder unless the same lock file is already installed."""
    node = node_binary()
    npm = shutil.which("npm")
    fingerprint = _install_fingerprint(node)
    if INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text() == fingerprint:
        return
    if npm is None:
        raise SmscError("npm is not installed (apt-get install npm)")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / "smsc-npm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers install once
        if INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text() == fingerprint:
            return
        env = dict(os.environ, npm_config_cache=str(CACHE_DIR / "npm"))
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
            cwd=SMSC_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise SmscError(f"npm ci failed in {SMSC_DIR}:\n{done.stdout}\n{done.stderr}")
        INSTALL_STAMP.write_text(fingerprint)


def _matches(event: Event, name: str | None, fields: dict[str, object]) -> bool:
    if name is not None and event.get("event") != name:
        return False
    return all(event.get(key) == value for key, value in fields.items())


class Smsc:
    """One running SMSC process. Create with ``await Smsc.start()``, end with ``stop()``."""

    def __init__(self, process: asyncio.subprocess.Process, system_id: str, password: str) -> None:
        self.process = process
        self.system_id = system_id
        self.password = password
        self.host = "127.0.0.1"
        self.port = 0
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._replies: dict[int, asyncio.Future[Event]] = {}
        self._req = itertools.count(1)
        self._stderr = bytearray()
        self._exited = False
        self._tasks = [
            asyncio.create_task(self._read_events()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(
        cls,
        *,
        system_id: str = DEFAULT_SYSTEM_ID,
        password: str = DEFAULT_PASSWORD,
        port: int = 0,
        message_id_format: str = "hex",
        node_flags: Sequence[str] = (),
    ) -> Smsc:
        """Start node and wait for its port. ``node_flags`` go to node (e.g. ``--cpu-prof``)."""
        await asyncio.to_thread(ensure_installed)
        process = await asyncio.create_subprocess_exec(
            node_binary(),
            *node_flags,
            str(SMSC_DIR / "smsc.js"),
            "--port",
            str(port),
            "--system-id",
            system_id,
            "--password",
            password,
            "--message-id-format",
            message_id_format,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        smsc = cls(process, system_id, password)
        try:
            listening = await smsc.wait_for("listening", timeout=START_TIMEOUT_S)
        except BaseException:
            await smsc.stop()
            raise
        smsc.port = int(listening["port"])
        return smsc

    # ---- event stream ------------------------------------------------------------------------

    async def _read_events(self) -> None:
        assert self.process.stdout is not None
        try:
            async for line in self.process.stdout:
                event: Event = json.loads(line)
                self.events.append(event)
                reply = self._replies.pop(event.get("req", -1), None)
                if reply is not None and event.get("event") in ("ok", "error"):
                    reply.set_result(event)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            self._exited = True
            for reply in self._replies.values():
                if not reply.done():
                    reply.set_exception(SmscError(f"SMSC exited: {self.stderr_tail()}"))
            async with self._changed:
                self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(4096):
            self._stderr += chunk
            del self._stderr[: max(0, len(self._stderr) - 8192)]

    def stderr_tail(self) -> str:
        return self._stderr.decode(errors="replace")

    def mark(self) -> int:
        """The position to pass as ``after=`` to see only events from now on."""
        return len(self.events)

    def find(self, name: str | None = None, *, after: int = 0, **fields: object) -> list[Event]:
        """Events so far named ``name`` whose fields equal ``fields``."""
        return [e for e in self.events[after:] if _matches(e, name, fields)]

    async def wait_for(
        self,
        event: str | EventPredicate,
        timeout: float = 10.0,
        *,
        after: int = 0,
        **fields: object,
    ) -> Event:
        """The first event at or after position ``after`` that matches, waiting if needed.

        ``event`` is an event name (with ``fields`` to compare) or a predicate on the event.
        """

        def match(e: Event) -> bool:
            if callable(event):
                return event(e) and _matches(e, None, fields)
            return _matches(e, event, fields)

        scanned = after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._changed:
            while True:
                for found in self.events[scanned:]:
                    if match(found):
                        return found
                scanned = max(scanned, len(self.events))
                remaining = deadline - loop.time()
                if self._exited or remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
        recent = "\n".join(json.dumps(e, ensure_ascii=False) for e in self.events[-15:])
        state = "exited" if self._exited else f"no match in {timeout:.1f}s"
        raise SmscTimeoutError(
            f"SMSC event {event!r} {fields} not seen ({state}); last events:\n{recent}"
        )

    # ---- commands ----------------------------------------------------------------------------

    async def command(self, cmd: str, **fields: object) -> Event:
        """Send one command and return its ``ok`` event; raise ``SmscError`` on ``error``."""
        if self._exited or self.process.stdin is None:
            raise SmscError(f"SMSC is not running: {self.stderr_tail()}")
        req = next(self._req)
        reply: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._replies[req] = reply
        line = json.dumps({"cmd": cmd, "req": req, **fields}, ensure_ascii=False) + "\n"
        self.process.stdin.write(line.encode())
        await self.process.stdin.drain()
        try:
            answer = await asyncio.wait_for(reply, COMMAND_TIMEOUT_S)
        finally:
            self._replies.pop(req, None)
        if answer["event"] == "error":
            raise SmscError(f"SMSC refused {cmd}: {answer.get('error')}")
        return answer

    async def send_mo(
        self,
        text: str | None = None,
        *,
        source: str = "84912345678",
        destination: str = "8283",
        encoding: str = "gsm",
        hex: str | None = None,
        data_coding: int | None = None,
        split: str = "none",
        part_bytes: int | None = None,
        order: list[int] | None = None,
        ref: int | None = None,
        session: int | None = None,
        mo_id: str | None = None,
    ) -> str:
        """Push an MO as deliver_sm and return its id (``mo_acked``/``mo_lost`` carry it).

        ``encoding``: gsm | ucs2 | latin1 (data_coding 0/8/3), or raw bytes in ``hex``.
        ``split``: none | udh8 | udh16 | sar | payload. ``order`` lists 1-based part numbers
        in sending order; repeat one to duplicate it.
        """
        fields: dict[str, object] = {
            "source": source,
            "destination": destination,
            "encoding": encoding,
            "split": split,
        }
        optional = {
            "text": text,
            "hex": hex,
            "data_coding": data_coding,
            "part_bytes": part_bytes,
            "order": order,
            "ref": ref,
            "session": session,
            "id": mo_id,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        answer = await self.command("mo", **fields)
        return str(answer["id"])

    async def receipt(
        self, message_id: str, *, stat: str = "DELIVRD", err: str = "000", **fields: object
    ) -> Event:
        """Send a delivery receipt for an accepted submit_sm's ``message_id``."""
        return await self.command("receipt", message_id=message_id, stat=stat, err=err, **fields)

    async def configure(self, **config: object) -> Event:
        """Set run-time options: message_id_format (hex|dec), receipt_id_format
        (same|hex|dec), auto_receipts (off|requested|always), receipt_before_resp,
        answer_enquire_link, quiet, mo_before_bind_resp (an MO command object)."""
        return await self.command("config", **config)

    async def fail_submits(self, status: int, count: int = 1) -> Event:
        """Answer the next ``count`` submit_sm with ``status`` (e.g. ESME_RTHROTTLED)."""
        return await self.command("submit_fault", status=status, count=count)

    async def ignore_submits(self, count: int = 1) -> Event:
        """Send no submit_sm_resp at all for the next ``count`` submit_sm."""
        return await self.command("submit_fault", silent=True, count=count)

    async def enquire_link(self, session: int | None = None) -> Event:
        return await self.command("enquire_link", **_session(session))

    async def unbind(self, session: int | None = None) -> Event:
        return await self.command("unbind", **_session(session))

    async def destroy_sessions(self, session: int | None = None) -> Event:
        """Drop the TCP connections abruptly (no unbind)."""
        return await self.command("destroy", **_session(session))

    async def pause(self, session: int | None = None) -> Event:
        """Stop reading from the sessions (the peer sees a silent SMSC)."""
        return await self.command("pause", **_session(session))

    async def resume(self, session: int | None = None) -> Event:
        return await self.command("resume", **_session(session))

    async def stop_listening(self) -> Event:
        return await self.command("stop_listening")

    async def listen(self) -> Event:
        """Listen again on the same port; returns once the ``listening`` event arrived."""
        mark = self.mark()
        answer = await self.command("listen", port=self.port)
        await self.wait_for("listening", after=mark)
        return answer

    async def sessions(self) -> list[Event]:
        answer = await self.command("sessions")
        return list(answer["sessions"])

    async def stop(self) -> None:
        """Close stdin (the SMSC exits on EOF); kill it if it does not exit in time."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _session(session: int | None) -> dict[str, object]:
    return {} if session is None else {"session": session}
