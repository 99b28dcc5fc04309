"""A private redis-server for fault tests: started on a free port, killed and restarted at will.

The shared Redis on 6379 must stay up for everyone else, so tests that stop Redis mid-run
stop this one instead.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from pathlib import Path

from redis.asyncio import Redis

SHARED_REDIS_URL = "redis://127.0.0.1:6379/15"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._workdir = workdir
        self._process: asyncio.subprocess.Process | None = None

    @classmethod
    async def start(cls) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        server = cls(free_port(), Path(tempfile.mkdtemp(prefix="statusgw-redis-")))
        await server.restart()
        return server

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def restart(self) -> None:
        """Start (again) on the same port and wait until it answers PING."""
        binary = shutil.which("redis-server") or "redis-server"
        self._process = await asyncio.create_subprocess_exec(
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._workdir),
            "--daemonize", "no",
            "--loglevel", "warning",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await self._until_answering()

    async def kill(self) -> None:
        """Stop at once, as a crash would (no shutdown handshake)."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._process = None

    async def stop(self) -> None:
        await self.kill()
        shutil.rmtree(self._workdir, ignore_errors=True)

    async def _until_answering(self, timeout: float = 10.0) -> None:
        client = Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.2)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    try:
                        if await client.ping():
                            return
                    except OSError:
                        pass
                    except Exception as exc:  # redis's ConnectionError while it boots
                        if "Connection" not in type(exc).__name__:
                            raise
                    await asyncio.sleep(0.02)
        finally:
            await client.aclose()
