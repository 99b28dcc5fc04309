"""The console's web side (aiohttp), mounted at ``/console/`` on the gateway's HTTP server.

    GET  /console/login, POST /console/login, POST /console/logout
    GET  /console/                       escalated calls: mine (ringing, taken), waiting
    GET  /console/events?view=calls|supervisor   server-sent events: the live parts, re-rendered
    GET  /console/calls/{id}             one call: context, notes, SMS to the caller, lookup
    POST /console/calls/{id}/notes|sms|close
    GET|POST /console/lookup             any dossier (each lookup audited, under the operator)
    GET  /console/supervisor             queue, operators, today's figures (supervisors)
    GET  /console/reports?from=&to=&format=csv|json   (supervisors)

Every POST needs the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``) and,
when the browser sends one, an ``Origin`` of this host; cookies are SameSite=Strict. Live
parts are pushed as HTML fragments over SSE whenever the board changes, and every few seconds
(rings age out), so the page works with one small script and degrades to reloads without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from gateway.clock import Clock
from gateway.codes import MAX_CODE_TEXT, CodeGrammar, DossierCode
from gateway.console import pages
from gateway.console.auth import (
    MAX_NAME_CHARS,
    MAX_PASSWORD_CHARS,
    ConsoleUser,
    Lockout,
    Role,
    Session,
    SessionSigner,
    hash_password,
    parse_users,
    verify_password,
)
from gateway.console.board import Board, LiveCall
from gateway.lookup import Channel, LookupRequest, LookupService, Outcome
from gateway.operations import MAX_NOTE_CHARS, CallLog, CallNote, NoteRefused
from gateway.reports import (
    PeriodError,
    Report,
    ReportData,
    Tallies,
    build_report,
    parse_period,
    report_file,
    today,
)
from gateway.settings import ConsoleSettings
from gateway.store import StoreUnavailable
from ivr.escalation import EscalationBus, EscalationEvent
from ivr.ports import ResultTexter

SESSION_COOKIE = "statusgw_console"
LOGIN_COOKIE = "statusgw_login"
PREFIX = "/console"
CALLS_TICK = 5.0  # seconds between re-renders of a live page without news
SUPERVISOR_TICK = 15.0
FIGURES_TTL = 10.0  # seconds today's figures are reused between renders
MAX_FORM_BYTES = 8192
HASHING_AT_ONCE = 4  # scrypt is memory- and CPU-hungry: sign-ins hash a few at a time
STREAMS_PER_USER = 8  # live pages one person may keep open (tabs, screens)
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
VIETNAM_OFFSET_S = 7 * 3600

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self';"
        " img-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make forms send Origin: null
    "X-Frame-Options": "DENY",
}

_FLASH = {
    "note": "Đã lưu ghi chú.",
    "sms": "Đã gửi SMS trạng thái hồ sơ cho người gọi.",
}
_ERRORS = {
    "note_empty": f"Ghi chú trống hoặc dài quá {MAX_NOTE_CHARS} ký tự.",
    "note_refused": "Cuộc gọi này đã có quá nhiều ghi chú.",
    "store": "Chưa lưu được: hệ thống lưu trữ tạm thời không sẵn sàng. Vui lòng thử lại.",
    "code": "Mã hồ sơ không hợp lệ.",
    "not_found": "Không tìm thấy hồ sơ với mã này.",
    "unavailable": "Hệ thống tra cứu tạm thời không trả lời. Vui lòng thử lại sau.",
    "no_caller": "Không biết số của người gọi: không gửi SMS được.",
    "no_sms": "Kênh SMS chưa được bật: không gửi SMS được.",
}

log = structlog.get_logger("statusgw.console")


@dataclass(eq=False)
class _Stream:
    user: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Console:
    """The console's state (board, sessions, lockout, live streams) and its handlers."""

    def __init__(
        self,
        settings: ConsoleSettings,
        *,
        bus: EscalationBus,
        lookup: LookupService,
        calls: CallLog,
        reports: ReportData,
        clock: Clock,
        texter: ResultTexter | None = None,
        grammar: CodeGrammar | None = None,
        on_login: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._users = parse_users(settings.users, settings.members)
        self._bus = bus
        self._lookup = lookup
        self._calls = calls
        self._reports = reports
        self._clock = clock
        self._texter = texter
        self._grammar = grammar or CodeGrammar()
        self._on_login = on_login or (lambda _result: None)
        secret = settings.session_secret.encode() or secrets.token_bytes(32)
        self._signer = SessionSigner(secret, settings.session_minutes * 60)
        self._lockout = Lockout(settings.lockout_after, settings.lockout_minutes * 60.0)
        self._zone = ZoneInfo(settings.timezone)
        self._dummy_hash = hash_password(secrets.token_urlsafe(16))
        self._hashing = asyncio.Semaphore(HASHING_AT_ONCE)
        self._members = {u.member for u in self._users.values() if u.member}
        self.board = Board()
        self._streams: set[_Stream] = set()
        self._closing = False
        self._unsubscribe: Callable[[], None] | None = None
        self._figures: tuple[float, Report] | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Take the escalations already open, then follow the bus."""
        for escalation in self._bus.open_escalations():
            self.board.apply(escalation)
        self._unsubscribe = self._bus.subscribe(self._on_event)

    async def close(self) -> None:
        """End the live streams (so the server can stop at once) and leave the bus."""
        self._closing = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._wake_all()

    def online(self) -> int:
        """Signed-in people with a live page open."""
        return len({s.user for s in self._streams})

    def _on_event(self, event: EscalationEvent) -> None:
        changed = self.board.apply(event)
        changed = self.board.settle(self._members, self._clock.now()) or changed
        if changed:
            self._wake_all()

    def _wake_all(self) -> None:
        for stream in self._streams:
            stream.wake.set()

    # --- the application ------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_security_headers])
        r = app.router
        r.add_get("/", self.calls_page, allow_head=False)
        r.add_get("/login", self.login_form, allow_head=False)
        r.add_post("/login", self.login)
        r.add_post("/logout", self.logout)
        r.add_get("/events", self.events, allow_head=False)
        r.add_get("/calls/{call_id}", self.call_page, allow_head=False)
        r.add_post("/calls/{call_id}/notes", self.add_note)
        r.add_post("/calls/{call_id}/sms", self.send_sms)
        r.add_post("/calls/{call_id}/close", self.close_call)
        r.add_get("/lookup", self.lookup_page, allow_head=False)
        r.add_post("/lookup", self.lookup_dossier)
        r.add_get("/supervisor", self.supervisor_page, allow_head=False)
        r.add_get("/reports", self.report, allow_head=False)
        r.add_get("/static/{name}", self.static, allow_head=False)

        async def on_shutdown(_app: web.Application) -> None:
            await self.close()

        app.on_shutdown.append(on_shutdown)
        return app

    # --- sign-in --------------------------------------------------------------------------

    async def login_form(self, request: web.Request) -> web.Response:
        if self._viewer(request) is not None:
            raise web.HTTPSeeOther(f"{PREFIX}/")
        return self._login_response(request)

    def _login_response(
        self, request: web.Request, *, message: str = "", name: str = "", status: int = 200
    ) -> web.Response:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not 16 <= len(nonce) <= 64:
            nonce = secrets.token_urlsafe(24)
        html = pages.login_page(self._signer.login_token(nonce), message=message, name=name)
        response = _html(html, status)
        self._set_cookie(response, LOGIN_COOKIE, nonce, max_age=3600)
        return response

    async def login(self, request: web.Request) -> web.Response:
        form = await _form(request)
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not self._signer.login_ok(nonce, form.get("csrf")) or not _same_origin(request):
            self._on_login("csrf")
            return self._login_response(
                request,
                message="Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại.",
                status=403,
            )
        name = form.get("name", "").strip()[:MAX_NAME_CHARS]
        password = form.get("password", "")[:MAX_PASSWORD_CHARS]
        now = self._clock.monotonic()
        wait = self._lockout.locked_for(name, now)
        if wait > 0:
            self._on_login("locked")
            return self._login_response(request, message=_locked(wait), name=name, status=429)
        user = self._users.get(name)
        encoded = user.password_hash if user is not None else self._dummy_hash
        async with self._hashing:
            matches = await asyncio.to_thread(verify_password, password, encoded)
        if user is None or not matches:
            self._on_login("wrong")
            log.warning("console.login_failed", user=name or "-")
            if self._lockout.failed(name, now):
                wait = self._lockout.locked_for(name, now)
                return self._login_response(request, message=_locked(wait), name=name, status=429)
            return self._login_response(
                request, message="Tên đăng nhập hoặc mật khẩu không đúng.", name=name, status=401
            )
        self._lockout.succeeded(name)
        self._on_login("ok")
        log.info("console.login", user=user.name, role=user.role.value)
        _session, cookie = self._signer.issue(user.name, user.role, self._wall())
        target = "supervisor" if user.role is Role.SUPERVISOR else ""
        response = web.HTTPSeeOther(f"{PREFIX}/{target}")
        self._set_cookie(
            response, SESSION_COOKIE, cookie, max_age=self._settings.session_minutes * 60
        )
        response.del_cookie(LOGIN_COOKIE, path=PREFIX)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        viewer, _form_data = await self._post(request)
        self._signer.revoke(viewer.session, self._wall())
        response = web.HTTPSeeOther(f"{PREFIX}/login")
        response.del_cookie(SESSION_COOKIE, path=PREFIX)
        raise response

    # --- calls ----------------------------------------------------------------------------

    async def calls_page(self, request: web.Request) -> web.Response:
        viewer = self._require(request)
        now = self._clock.now()
        mine, waiting, count = self._calls_fragments(viewer, now)
        return _html(pages.calls_page(viewer, mine, waiting, count))

    def _calls_fragments(self, viewer: pages.Viewer, now: datetime) -> tuple[str, str, int]:
        member = viewer.user.member if viewer.user else None
        mine = pages.mine_fragment(self.board.for_member(member, now), viewer, now)
        waiting = self.board.waiting()
        return mine, pages.waiting_fragment(waiting, viewer, now), len(waiting)

    async def call_page(self, request: web.Request) -> web.Response:
        viewer = self._require(request)
        call = self.board.find(request.match_info["call_id"])
        if call is None:
            return _html(
                pages.message_page("Không có cuộc gọi", "Không tìm thấy cuộc gọi này.", viewer),
                404,
            )
        notes = await self._notes(call.call_id)
        member = viewer.user.member if viewer.user else None
        return _html(
            pages.call_page(
                call,
                viewer,
                self._clock.now(),
                notes,
                flash=_FLASH.get(request.query.get("ok", ""), ""),
                error=_ERRORS.get(request.query.get("error", ""), ""),
                mine=bool(member) and call.operator == member,
            )
        )

    async def _notes(self, call_id: str) -> list[CallNote]:
        try:
            return await self._calls.notes(call_id)
        except StoreUnavailable:
            return []

    async def add_note(self, request: web.Request) -> web.Response:
        viewer, form = await self._post(request)
        call = self._call_or_404(request)
        text = " ".join(form.get("text", "").split())
        if not text or len(text) > MAX_NOTE_CHARS:
            raise _back(call.call_id, error="note_empty")
        note = CallNote(
            self._clock.now(), call.call_id, viewer.session.user, text, call.escalation.dossier
        )
        try:
            await self._calls.add_note(note)
        except NoteRefused:
            raise _back(call.call_id, error="note_refused") from None
        except StoreUnavailable:
            raise _back(call.call_id, error="store") from None
        log.info("console.note", user=viewer.session.user, call_id=call.call_id)
        raise _back(call.call_id, ok="note")

    async def send_sms(self, request: web.Request) -> web.Response:
        viewer, form = await self._post(request)
        call = self._call_or_404(request)
        caller = call.escalation.caller
        if not caller:
            raise _back(call.call_id, error="no_caller")
        if self._texter is None:
            raise _back(call.call_id, error="no_sms")
        code = self._parse_code(form.get("code", ""))
        if code is None:
            raise _back(call.call_id, error="code")
        result = await self._lookup.lookup(
            LookupRequest(code, Channel.CONSOLE, factor=caller, actor=_actor(viewer))
        )
        if result.outcome is not Outcome.FOUND or result.view is None:
            error = "not_found" if result.outcome is Outcome.NOT_FOUND else "unavailable"
            raise _back(call.call_id, error=error)
        try:
            await self._texter.send_result(caller, result.view)
            await self._calls.add_note(
                CallNote(
                    self._clock.now(),
                    call.call_id,
                    viewer.session.user,
                    f"Đã gửi SMS trạng thái hồ sơ {result.view.code} cho người gọi.",
                    result.view.code,
                )
            )
        except (StoreUnavailable, NoteRefused):
            raise _back(call.call_id, error="store") from None
        log.info("console.sms", user=viewer.session.user, call_id=call.call_id, code=code.canonical)
        raise _back(call.call_id, ok="sms")

    async def close_call(self, request: web.Request) -> web.Response:
        viewer, _form_data = await self._post(request)
        member = viewer.user.member if viewer.user else None
        if self.board.close(request.match_info["call_id"], member, self._clock.now()):
            self._wake_all()
        raise web.HTTPSeeOther(f"{PREFIX}/")

    def _call_or_404(self, request: web.Request) -> LiveCall:
        call = self.board.find(request.match_info["call_id"])
        if call is None:
            raise web.HTTPSeeOther(f"{PREFIX}/")
        return call

    # --- lookup ---------------------------------------------------------------------------

    async def lookup_page(self, request: web.Request) -> web.Response:
        viewer = self._require(request)
        return _html(pages.lookup_page(viewer, call_id=request.query.get("call", "")[:64]))

    async def lookup_dossier(self, request: web.Request) -> web.Response:
        viewer, form = await self._post(request)
        text = form.get("code", "").strip()
        call_id = form.get("call", "")[:64]
        call = self.board.find(call_id) if call_id else None
        code = self._parse_code(text)
        if code is None:
            result = pages.notice(_ERRORS["code"], error=True)
            return _html(pages.lookup_page(viewer, code=text, result=result, call_id=call_id), 400)
        factor = call.escalation.caller if call is not None else None
        answer = await self._lookup.lookup(
            LookupRequest(code, Channel.CONSOLE, factor=factor, actor=_actor(viewer))
        )
        log.info(
            "console.lookup",
            user=viewer.session.user,
            code=code.canonical,
            outcome=answer.outcome.value,
        )
        if answer.outcome is Outcome.FOUND and answer.view is not None:
            result = pages.dossier_view(answer.view, self._zone)
        elif answer.outcome is Outcome.NOT_FOUND:
            result = pages.notice(_ERRORS["not_found"], error=True)
        else:
            result = pages.notice(_ERRORS["unavailable"], error=True)
        return _html(pages.lookup_page(viewer, code=code.canonical, result=result, call_id=call_id))

    def _parse_code(self, text: str) -> DossierCode | None:
        text = text.strip()
        if not text or len(text) > MAX_CODE_TEXT:
            return None
        local = datetime.fromtimestamp(self._wall() + VIETNAM_OFFSET_S).date()
        return self._grammar.parse(text, today=local)

    # --- supervisor and reports -----------------------------------------------------------

    async def supervisor_page(self, request: web.Request) -> web.Response:
        viewer = self._require(request, Role.SUPERVISOR)
        return _html(pages.supervisor_page(viewer, await self._supervisor_fragment()))

    async def _supervisor_fragment(self) -> str:
        now = self._clock.now()
        online = {s.user for s in self._streams}
        operators = [
            pages.OperatorRow(u, u.name in online, self.board.member_state(u.member, now))
            for u in sorted(self._users.values(), key=lambda u: u.name)
        ]
        waiting = self.board.waiting()
        return pages.supervisor_fragment(
            len(waiting), self.board.longest_wait(now), operators, await self._today()
        )

    async def _today(self) -> Report:
        mono = self._clock.monotonic()
        if self._figures is not None and mono - self._figures[0] < FIGURES_TTL:
            return self._figures[1]
        start, end = today(self._settings.timezone, self._clock.now())
        try:
            tallies = await self._reports.tallies(start, end)
        except StoreUnavailable:
            tallies = Tallies()
        report = build_report(tallies, start, end)
        self._figures = (mono, report)
        return report

    async def report(self, request: web.Request) -> web.Response:
        viewer = self._require(request, Role.SUPERVISOR)
        fmt = request.query.get("format", "json")
        try:
            start, end = parse_period(
                request.query.get("from", ""),
                request.query.get("to") or None,
                self._settings.timezone,
                self._clock.now(),
            )
        except PeriodError as exc:
            return _html(
                pages.message_page("Báo cáo", f"Khoảng thời gian không hợp lệ: {exc}", viewer), 400
            )
        report = build_report(await self._reports.tallies(start, end), start, end)
        log.info("console.report", user=viewer.session.user, start=start.isoformat())
        return render_report(report, fmt)

    # --- live -----------------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        viewer = self._viewer(request)
        if viewer is None:
            return web.Response(status=401, text="sign in first")
        view = request.query.get("view", "calls")
        if view == "supervisor" and not viewer.supervisor:
            return web.Response(status=403, text="supervisors only")
        user = viewer.session.user
        if sum(1 for s in self._streams if s.user == user) >= STREAMS_PER_USER:
            return web.Response(status=429, text="too many live pages open")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        stream = _Stream(viewer.session.user)
        self._streams.add(stream)
        tick = SUPERVISOR_TICK if view == "supervisor" else CALLS_TICK
        try:
            await response.write(b"retry: 3000\n\n")
            while not self._closing and viewer.session.expires > self._wall():
                stream.wake.clear()
                await response.write(await self._live_event(view, viewer))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(tick):
                        await stream.wake.wait()
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self._streams.discard(stream)
        return response

    async def _live_event(self, view: str, viewer: pages.Viewer) -> bytes:
        now = self._clock.now()
        parts: dict[str, Any] = {"now": now.isoformat()}
        if view == "supervisor":
            parts["html"] = {"supervisor": await self._supervisor_fragment()}
        else:
            mine, waiting, count = self._calls_fragments(viewer, now)
            parts["html"] = {"mine": mine, "waiting": waiting, "waiting-count": str(count)}
            member = viewer.user.member if viewer.user else None
            parts["ringing"] = any(
                c.rings_at(member or "", now) for c in self.board.for_member(member, now)
            )
        data = json.dumps(parts, ensure_ascii=False)
        return f"event: board\ndata: {data}\n\n".encode()

    # --- static ---------------------------------------------------------------------------

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = STATIC_DIR / name
        kind = STATIC_TYPES.get(path.suffix)
        if kind is None or "/" in name or name.startswith(".") or not path.is_file():
            return web.Response(status=404, text="not found")
        return web.Response(
            body=path.read_bytes(),
            content_type=kind,
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    # --- sessions -------------------------------------------------------------------------

    def _viewer(self, request: web.Request) -> pages.Viewer | None:
        session = self._signer.verify(request.cookies.get(SESSION_COOKIE), self._wall())
        if session is None:
            return None
        user = self._users.get(session.user)
        if user is None or user.role is not session.role:
            return None  # removed from the configuration, or given another role
        return self._viewer_of(session, user)

    def _viewer_of(self, session: Session, user: ConsoleUser) -> pages.Viewer:
        return pages.Viewer(
            session=session,
            csrf=self._signer.csrf_token(session),
            user=user,
            full_numbers=session.role.value in self._settings.full_number_roles,
            zone=self._zone,
        )

    def _require(self, request: web.Request, role: Role | None = None) -> pages.Viewer:
        viewer = self._viewer(request)
        if viewer is None:
            raise web.HTTPSeeOther(f"{PREFIX}/login")
        if role is not None and viewer.session.role is not role:
            raise _html_error(
                403,
                pages.message_page(
                    "Không có quyền", "Trang này chỉ dành cho giám sát viên.", viewer
                ),
            )
        return viewer

    async def _post(self, request: web.Request) -> tuple[pages.Viewer, dict[str, str]]:
        """The signed-in viewer and the form, once the CSRF token and origin are checked."""
        viewer = self._viewer(request)
        if viewer is None:
            raise web.HTTPSeeOther(f"{PREFIX}/login")
        form = await _form(request)
        presented = form.get("csrf") or request.headers.get("X-CSRF-Token")
        if not self._signer.csrf_ok(viewer.session, presented) or not _same_origin(request):
            log.warning("console.csrf_rejected", user=viewer.session.user, path=request.path)
            raise _html_error(
                403,
                pages.message_page(
                    "Yêu cầu bị từ chối",
                    "Mã chống giả mạo (CSRF) không hợp lệ. Hãy tải lại trang rồi thử lại.",
                    viewer,
                ),
            )
        return viewer, form

    def _set_cookie(
        self, response: web.StreamResponse, name: str, value: str, max_age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=PREFIX,
            httponly=True,
            samesite="Strict",
            secure=self._settings.secure_cookie,
        )

    def _wall(self) -> float:
        return self._clock.now().timestamp()


def render_report(report: Report, fmt: str) -> web.Response:
    """The report as a download (CSV or JSON), for the console and the API alike."""
    file = report_file(report, fmt)
    return web.Response(
        text=file.text,
        content_type=file.content_type,
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{file.filename}"',
            "Cache-Control": "no-store",
        },
    )


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            # Answered here, as the page it carries: the API's problem+json is not for people.
            response = web.Response(
                status=exc.status, text=exc.text, content_type=exc.content_type or "text/plain"
            )
        else:
            exc.headers.update(_SECURITY_HEADERS)
            exc.headers.setdefault("Cache-Control", "no-store")
            raise
    if not response.prepared:
        response.headers.update(_SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _html_error(status: int, text: str) -> web.HTTPException:
    error = web.HTTPException(text=text, content_type="text/html")
    error.set_status(status)
    return error


def _back(call_id: str, *, ok: str = "", error: str = "") -> web.HTTPSeeOther:
    query = f"?ok={ok}" if ok else f"?error={error}" if error else ""
    return web.HTTPSeeOther(f"{PREFIX}/calls/{call_id}{query}")


def _actor(viewer: pages.Viewer) -> str:
    return f"operator:{viewer.session.user}"


def _locked(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        "Tài khoản tạm khóa do đăng nhập sai nhiều lần."
        f" Vui lòng thử lại sau {minutes} phút hoặc liên hệ giám sát viên."
    )
