"""A tiny AMI server on loopback, for the faults a real Asterisk cannot be made to show.

It speaks just enough AMI for the link layer: the banner, ``Login`` (checks the secret),
``Ping`` (answers unless told to play dead), and a plain ``Success`` for anything else except
the actions named in ``silent_actions``. Every action received is recorded. Tests push raw
bytes to the client in chosen pieces (a character split across TCP segments), stop answering
Pings while keeping the socket open (a half-open link), or cut every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds (``TimeoutError`` after ``timeout`` seconds)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (the conditions belong to other parties)
            await asyncio.sleep(0.01)


def message(*pairs: tuple[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


@dataclass
class FakeAmi:
    secret: str = "secret"
    answer_pings: bool = True
    silent_actions: set[str] = field(default_factory=set)
    # Action name (lower case) -> bytes to send *before* its answer (events that overtake it).
    ahead_of_answer: dict[str, Callable[[dict[str, str]], bytes]] = field(default_factory=dict)
    actions: list[dict[str, str]] = field(default_factory=list)
    logins: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def cut(self) -> None:
        """Drop every client connection at once (RST, as a failed network would)."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def push(self, data: bytes, pieces: list[int] | None = None) -> None:
        """Write ``data`` to every client, split at the byte offsets in ``pieces``.

        Each piece is flushed and followed by a short pause so that it reaches the client
        as its own read (the pause only separates segments; nothing is asserted on it).
        """
        cuts = [0, *(pieces or []), len(data)]
        for start, end in itertools.pairwise(cuts):
            for writer in self._writers:
                writer.write(data[start:end])
                await writer.drain()
            await asyncio.sleep(0.02)

    def actions_named(self, name: str) -> list[dict[str, str]]:
        return [a for a in self.actions if a.get("Action", "").lower() == name.lower()]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writers.append(writer)
        writer.write(BANNER)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                headers = dict(
                    line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line
                )
                self.actions.append(headers)
                ahead = self.ahead_of_answer.get(headers.get("Action", "").lower())
                reply = (ahead(headers) if ahead else b"") + self._answer(headers)
                if reply:
                    writer.write(reply)
        if writer in self._writers:
            self._writers.remove(writer)
        writer.close()

    def _answer(self, headers: dict[str, str]) -> bytes:
        name = headers.get("Action", "").lower()
        action_id = ("ActionID", headers.get("ActionID", ""))
        if name == "login":
            if headers.get("Secret") != self.secret:
                return message(
                    ("Response", "Error"), action_id, ("Message", "Authentication failed")
                )
            self.logins += 1
            return message(
                ("Response", "Success"), action_id, ("Message", "Authentication accepted")
            )
        if name == "ping":
            if not self.answer_pings:
                return b""
            return message(("Response", "Success"), action_id, ("Ping", "Pong"))
        if name in self.silent_actions:
            return b""
        return message(("Response", "Success"), action_id, ("Message", "OK"))
