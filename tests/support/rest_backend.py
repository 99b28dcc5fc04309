"""A local HTTP server standing in for a provincial or national dossier API.

It answers national-portal style JSON (``MaHoSo``, ``TrangThaiHoSo``, ``NgayHenTra`` as
``yyyyMMddHHmmss``, …) under ``{"data": …}``, records every request, and can be told to fail:
answer a status for the next N requests, or hold every answer for a while.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "Bearer province-token"


@dataclass
class Script:
    statuses: deque[int] = field(default_factory=deque)  # answered instead, one per request
    delay: float = 0.0  # seconds every answer is held


class RestBackend:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.script = Script()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, record: dict[str, Any]) -> None:
        self.records[record["MaHoSo"]] = record

    def fail_next(self, status: int, times: int = 1) -> None:
        self.script.statuses.extend([status] * times)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/hoso/{code}", self._by_code)
        app.router.add_get("/api/hoso", self._search)
        app.router.add_get("/api/broken/{code}", self._broken)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _gate(self, request: web.Request) -> web.Response | None:
        self.requests.append(request.path_qs)
        if self.script.delay:
            await asyncio.sleep(self.script.delay)
        if request.headers.get("Authorization") != TOKEN:
            return web.json_response({"error_code": 401, "message": "unauthorised"}, status=401)
        if self.script.statuses:
            status = self.script.statuses.popleft()
            return web.json_response({"error_code": status, "message": "scripted"}, status=status)
        return None

    async def _by_code(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        record = self.records.get(request.match_info["code"])
        if record is None:
            return web.json_response({"error_code": 404, "message": "not found"}, status=404)
        return web.json_response({"error_code": 0, "data": record})

    async def _broken(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        return web.Response(text="<html>maintenance</html>", content_type="text/html")

    async def _search(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        digits = request.query.get("digits")
        phone = request.query.get("phone")
        matches = [
            r
            for r in self.records.values()
            if (digits and "".join(c for c in r["MaHoSo"] if c.isdigit()) == digits)
            or (phone and r.get("SoDienThoai") == phone)
        ]
        return web.json_response({"error_code": 0, "data": matches})
