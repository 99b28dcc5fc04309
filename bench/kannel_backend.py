"""The HTTP backend of a classic Kannel short code: smsbox's ``get-url`` asks it what to answer.

    .venv/bin/python bench/kannel_backend.py --port 8099

What a province would put behind Kannel: one small web handler that reads the MO text, finds
the dossier in data it holds in memory (the same bundled sample the gateway serves), and
answers with the reply text in the body. ``X-Kannel-Coding: 2`` makes smsbox send it as
UCS-2 (with ``accept-x-kannel-headers`` in the ``sms-service``), so the citizen reads the
same accented text the gateway sends. The parsing and the reply templates are the gateway's
own, so both systems answer byte for byte the same; what the backend does not do is what the
gateway adds: no store, no cache, no rate limit, no audit, no log line per message.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.file import read_dossiers
from gateway.dossier import Dossier
from gateway.privacy import Disclosure, DossierView
from sms.commands import CommandGrammar, Lookup
from sms.replies import SmsReplies
from sms.responder import VIETNAM

KANNEL_HEADERS = {"X-Kannel-Coding": "2", "Content-Type": "text/plain; charset=utf-8"}


class ClassicBackend:
    """Text in, reply text out, from a dictionary of dossiers."""

    def __init__(self, dossiers: list[Dossier], short_code: str) -> None:
        self._dossiers = {d.code: d for d in dossiers}
        for d in dossiers:
            for alt in d.alt_codes:
                self._dossiers.setdefault(alt, d)
        self._grammar = CommandGrammar()
        self._replies = SmsReplies(short_code=short_code, hotline="1022", accented=True)

    def answer(self, text: str, now: datetime) -> str:
        command = self._grammar.parse(text, today=now.astimezone(VIETNAM).date())
        if not isinstance(command, Lookup):
            return self._replies.help()
        code = command.codes[0]
        dossier = self._dossiers.get(code.canonical)
        if dossier is None:
            return self._replies.not_found(code)
        view = DossierView(
            code=dossier.code,
            status=dossier.status,
            due_at=dossier.due_at,
            overdue=dossier.is_overdue(now),
            agency=dossier.agency,
            disclosure=Disclosure.BASIC,
        )
        return self._replies.found(view)

    async def handle(self, request: web.Request) -> web.Response:
        reply = self.answer(request.query.get("text", ""), datetime.now(UTC))
        return web.Response(body=reply.encode("utf-8"), headers=KANNEL_HEADERS)


def build_app(short_code: str = "8283") -> web.Application:
    backend = ClassicBackend(read_dossiers(), short_code)
    app = web.Application()
    app.router.add_get("/sms", backend.handle)
    return app


async def serve(port: int, short_code: str) -> None:
    runner = web.AppRunner(build_app(short_code), access_log=None)
    await runner.setup()
    # SO_REUSEPORT: several backend processes may share the port, as a prefork server would.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    site = web.SockSite(runner, sock)
    await site.start()
    print(f"listening {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--short-code", default="8283")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.short_code))


if __name__ == "__main__":
    main()
