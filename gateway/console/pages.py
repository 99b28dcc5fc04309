"""The console's HTML, rendered on the server (Vietnamese, accessible). Pure functions.

Every value from outside (callers, codes, what the IVR said, notes, names) goes through
:func:`esc`; nothing here reads a request or the clock. Pages work without the script; the
script only keeps the live parts current (see static/console.js).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from gateway.console.auth import ConsoleUser, Role, Session
from gateway.console.board import CallState, LiveCall, MemberState
from gateway.operations import MAX_NOTE_CHARS, CallNote
from gateway.phone import mask_msisdn
from gateway.privacy import Disclosure, DossierView
from gateway.reports import Report
from ivr.commands import EscalationReason

TITLE = "Tổng đài tra cứu hồ sơ"

REASONS = {
    EscalationReason.REQUESTED: "Người gọi bấm phím 0",
    EscalationReason.NO_INPUT: "Người gọi không bấm phím",
    EscalationReason.INVALID_INPUT: "Nhập sai nhiều lần",
    EscalationReason.LOOKUP_FAILED: "Không tra cứu được",
    EscalationReason.CALL_TOO_LONG: "Cuộc gọi quá dài",
    EscalationReason.ERROR: "Lỗi hệ thống",
}

CHANNELS = {"sms": "SMS", "voice": "Tổng đài", "http": "API", "console": "Điện thoại viên"}
OUTCOMES = {
    "found": "Tìm thấy",
    "not_found": "Không tìm thấy",
    "unavailable": "Tạm thời không tra được",
    "rate_limited": "Vượt giới hạn",
    "read": "Đã nghe trạng thái",
    "escalated": "Chuyển điện thoại viên",
    "abandoned": "Gác máy",
    "error": "Lỗi",
}


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, and what they may see."""

    session: Session
    csrf: str
    user: ConsoleUser | None
    full_numbers: bool
    zone: ZoneInfo

    @property
    def supervisor(self) -> bool:
        return self.session.role is Role.SUPERVISOR


def page(title: str, body: str, viewer: Viewer | None, *, live: str = "") -> str:
    live_attr = f' data-events="{esc(live)}"' if live else ""
    return (
        '<!doctype html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} · {TITLE}</title>\n"
        '<link rel="stylesheet" href="/console/static/console.css">\n'
        '<script src="/console/static/console.js" defer></script>\n'
        f"</head>\n<body{live_attr}>\n"
        '<a class="skip" href="#main">Bỏ qua, đến nội dung chính</a>\n'
        f"{_header(viewer)}"
        f'<main id="main" tabindex="-1">\n{body}\n</main>\n</body>\n</html>\n'
    )


def _header(viewer: Viewer | None) -> str:
    if viewer is None:
        return f'<header><p class="brand">{TITLE}</p></header>\n'
    links = [("/console/", "Cuộc gọi"), ("/console/lookup", "Tra cứu hồ sơ")]
    if viewer.supervisor:
        links.append(("/console/supervisor", "Giám sát"))
    nav = "".join(f'<li><a href="{href}">{esc(text)}</a></li>' for href, text in links)
    return (
        f'<header><p class="brand">{TITLE}</p>'
        f'<nav aria-label="Điều hướng chính"><ul>{nav}</ul></nav>'
        f'<p class="who">{esc(viewer.session.user)} · {esc(viewer.session.role.label)}</p>'
        f'<form method="post" action="/console/logout">{csrf_field(viewer.csrf)}'
        '<button type="submit">Đăng xuất</button></form></header>\n'
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def notice(text: str, *, error: bool = False) -> str:
    role = "alert" if error else "status"
    kind = "error" if error else "ok"
    return f'<p class="notice {kind}" role="{role}">{esc(text)}</p>'


# --- sign-in ----------------------------------------------------------------------------------


def login_page(token: str, *, message: str = "", name: str = "") -> str:
    error = notice(message, error=True) if message else ""
    body = (
        "<h1>Đăng nhập</h1>\n"
        f"{error}\n"
        '<form method="post" action="/console/login" class="login">\n'
        f'<input type="hidden" name="csrf" value="{esc(token)}">\n'
        '<p><label for="name">Tên đăng nhập</label>\n'
        f'<input id="name" name="name" autocomplete="username" required value="{esc(name)}"'
        ' maxlength="64" autofocus></p>\n'
        '<p><label for="password">Mật khẩu</label>\n'
        '<input id="password" name="password" type="password" autocomplete="current-password"'
        ' required maxlength="256"></p>\n'
        '<p><button type="submit">Đăng nhập</button></p>\n</form>'
    )
    return page("Đăng nhập", body, None)


def message_page(title: str, text: str, viewer: Viewer | None = None) -> str:
    return page(title, f"<h1>{esc(title)}</h1>\n{notice(text, error=True)}", viewer)


# --- calls ------------------------------------------------------------------------------------


def calls_page(viewer: Viewer, mine: str, waiting: str, count: int) -> str:
    body = (
        "<h1>Cuộc gọi chuyển điện thoại viên</h1>\n"
        '<p id="live-status" class="live-status" role="status">'
        "Trang tự cập nhật khi có cuộc gọi mới.</p>\n"
        '<section aria-labelledby="mine-title"><h2 id="mine-title">Cuộc gọi của tôi</h2>\n'
        f'<div id="mine" aria-live="assertive">{mine}</div></section>\n'
        '<section aria-labelledby="waiting-title"><h2 id="waiting-title">Đang chờ '
        f'(<span id="waiting-count">{count}</span>)</h2>\n'
        f'<div id="waiting" aria-live="polite">{waiting}</div></section>'
    )
    return page("Cuộc gọi", body, viewer, live="/console/events?view=calls")


def mine_fragment(calls: Sequence[LiveCall], viewer: Viewer, now: datetime) -> str:
    if viewer.user is None or not viewer.user.member:
        return '<p class="empty">Tài khoản này chưa gắn với máy điện thoại nào trong hàng chờ.</p>'
    if not calls:
        return '<p class="empty">Chưa có cuộc gọi nào đổ chuông ở máy của bạn.</p>'
    return "\n".join(call_card(c, viewer, now, heading="h3") for c in calls)


def call_card(call: LiveCall, viewer: Viewer, now: datetime, *, heading: str = "h2") -> str:
    e = call.escalation
    cid = esc(call.call_id)
    member = viewer.user.member if viewer.user is not None else None
    ringing_here = (
        call.state is CallState.RINGING and bool(member) and call.rings_at(member or "", now)
    )
    state = "Đang đổ chuông ở máy của bạn" if ringing_here else call.state.label
    alert = ' role="alert"' if ringing_here else ""
    return (
        f'<article class="call {call.state.value}" id="call-{cid}"'
        f' aria-labelledby="call-{cid}-title" data-call="{cid}"{alert}>\n'
        f'<{heading} id="call-{cid}-title">{esc(caller_text(e.caller, viewer))}'
        f" — {esc(state)}</{heading}>\n"
        f"{context_list(call, viewer, now)}"
        f'<p><a href="/console/calls/{cid}">Mở cuộc gọi: ghi chú, gửi SMS</a></p>\n</article>'
    )


def context_list(call: LiveCall, viewer: Viewer, now: datetime) -> str:
    e = call.escalation
    rows = [
        ("Người gọi", esc(caller_text(e.caller, viewer))),
        ("Mã hồ sơ", esc(e.dossier) if e.dossier else "Chưa xác định"),
        ("Trạng thái", esc(e.status.label) if e.status else "—"),
        ("Tổng đài tự động đã nói", esc(e.said) if e.said else "—"),
        ("Số người gọi đã bấm", esc(e.entered) if e.entered else "—"),
        ("Lý do chuyển", esc(REASONS.get(e.reason, e.reason.value))),
        ("Đã chờ", wait_span(call, now)),
        ("Các bước trong tổng đài tự động", esc(" › ".join(e.path)) if e.path else "—"),
    ]
    if call.operator:
        rows.append(("Máy nghe", esc(call.operator)))
    items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return f'<dl class="context">{items}</dl>\n'


def wait_span(call: LiveCall, now: datetime) -> str:
    seconds = call.waited(now)
    live = call.waiting
    since = f' data-since="{esc(call.escalation.at.isoformat())}"' if live else ""
    return f'<span class="wait"{since}>{duration(seconds)}</span>'


def waiting_fragment(calls: Sequence[LiveCall], viewer: Viewer, now: datetime) -> str:
    if not calls:
        return '<p class="empty">Không có cuộc gọi nào đang chờ.</p>'
    head = (
        "<tr><th scope='col'>Người gọi</th><th scope='col'>Đã chờ</th>"
        "<th scope='col'>Mã hồ sơ</th><th scope='col'>Trạng thái hồ sơ</th>"
        "<th scope='col'>Tổng đài tự động đã nói</th><th scope='col'>Lý do</th>"
        "<th scope='col'>Tình trạng</th></tr>"
    )
    rows = []
    for call in calls:
        e = call.escalation
        ringing = ", ".join(m for m, _ in call.ringing if call.rings_at(m, now))
        state = f"{call.state.label}: {ringing}" if ringing else CallState.WAITING.label
        rows.append(
            "<tr>"
            f'<td><a href="/console/calls/{esc(call.call_id)}">'
            f"{esc(caller_text(e.caller, viewer))}</a></td>"
            f"<td>{wait_span(call, now)}</td>"
            f"<td>{esc(e.dossier) if e.dossier else '—'}</td>"
            f"<td>{esc(e.status.label) if e.status else '—'}</td>"
            f"<td>{esc(e.said) if e.said else '—'}</td>"
            f"<td>{esc(REASONS.get(e.reason, e.reason.value))}</td>"
            f"<td>{esc(state)}</td></tr>"
        )
    return (
        '<table class="waiting"><caption>Cuộc gọi đang chờ, chờ lâu nhất trước</caption>'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def call_page(
    call: LiveCall,
    viewer: Viewer,
    now: datetime,
    notes: Sequence[CallNote],
    *,
    flash: str = "",
    error: str = "",
    mine: bool = False,
) -> str:
    e = call.escalation
    cid = esc(call.call_id)
    can_text = bool(e.caller)
    close = (
        f'<form method="post" action="/console/calls/{cid}/close">{csrf_field(viewer.csrf)}'
        '<button type="submit">Kết thúc cuộc gọi trên màn hình</button></form>'
        if mine and call.state is CallState.CONNECTED
        else ""
    )
    sms_form = (
        f'<form method="post" action="/console/calls/{cid}/sms" class="sms">'
        f"{csrf_field(viewer.csrf)}"
        '<p><label for="sms-code">Mã hồ sơ</label>\n'
        f'<input id="sms-code" name="code" required maxlength="64" value="{esc(e.dossier)}">'
        "</p><p><button type='submit'>Gửi SMS trạng thái hồ sơ cho người gọi</button></p></form>"
        if can_text
        else '<p class="empty">Không biết số của người gọi: không gửi SMS được.</p>'
    )
    body = (
        f"<h1>Cuộc gọi của {esc(caller_text(e.caller, viewer))}</h1>\n"
        f"{notice(flash) if flash else ''}{notice(error, error=True) if error else ''}\n"
        f'<p class="state">Tình trạng: <strong>{esc(call.state.label)}</strong></p>\n'
        f"{context_list(call, viewer, now)}{close}\n"
        '<section aria-labelledby="notes-title"><h2 id="notes-title">Ghi chú</h2>\n'
        f"{notes_list(notes, viewer)}"
        f'<form method="post" action="/console/calls/{cid}/notes" class="note">'
        f"{csrf_field(viewer.csrf)}"
        '<p><label for="note-text">Ghi chú mới</label>\n'
        f'<textarea id="note-text" name="text" rows="3" maxlength="{MAX_NOTE_CHARS}" required>'
        "</textarea></p><p><button type='submit'>Lưu ghi chú</button></p></form></section>\n"
        '<section aria-labelledby="sms-title"><h2 id="sms-title">Gửi SMS cho người gọi</h2>\n'
        f"{sms_form}</section>\n"
        '<section aria-labelledby="lookup-title"><h2 id="lookup-title">Tra cứu hồ sơ khác</h2>\n'
        f"{lookup_form(viewer, call_id=call.call_id)}</section>"
    )
    return page("Cuộc gọi", body, viewer)


def notes_list(notes: Sequence[CallNote], viewer: Viewer) -> str:
    if not notes:
        return '<p class="empty">Chưa có ghi chú.</p>\n'
    items = "".join(
        f'<li><time datetime="{esc(n.at.isoformat())}">{esc(clock_time(n.at, viewer.zone))}</time>'
        f" — <span class='author'>{esc(n.author)}</span>:"
        f" <span class='text'>{esc(n.text)}</span></li>"
        for n in notes
    )
    return f'<ol class="notes">{items}</ol>\n'


# --- lookup -----------------------------------------------------------------------------------


def lookup_form(viewer: Viewer, *, code: str = "", call_id: str = "") -> str:
    call = f'<input type="hidden" name="call" value="{esc(call_id)}">' if call_id else ""
    return (
        f'<form method="post" action="/console/lookup" class="lookup">{csrf_field(viewer.csrf)}'
        f"{call}"
        '<p><label for="lookup-code">Mã hồ sơ (số biên nhận)</label>\n'
        f'<input id="lookup-code" name="code" required maxlength="64" value="{esc(code)}"></p>'
        "<p><button type='submit'>Tra cứu</button></p></form>\n"
    )


def lookup_page(viewer: Viewer, *, code: str = "", result: str = "", call_id: str = "") -> str:
    body = (
        "<h1>Tra cứu hồ sơ</h1>\n"
        '<p class="hint">Mỗi lần tra cứu được ghi lại (người tra, mã hồ sơ, thời điểm).</p>\n'
        f"{lookup_form(viewer, code=code, call_id=call_id)}"
        f'<div id="lookup-result">{result}</div>'
    )
    return page("Tra cứu hồ sơ", body, viewer)


def dossier_view(view: DossierView, zone: ZoneInfo) -> str:
    rows = [
        ("Mã hồ sơ", esc(view.code)),
        ("Trạng thái", esc(view.status.label)),
        ("Hẹn trả", esc(day(view.due_at, zone)) if view.due_at else "—"),
        ("Trễ hạn", "Có" if view.overdue else "Không"),
        ("Nơi nhận kết quả", esc(view.agency) or "—"),
    ]
    if view.disclosure is Disclosure.VERIFIED:
        rows += [("Thủ tục", esc(view.procedure) or "—"), ("Người nộp", esc(view.initials) or "—")]
    else:
        rows.append(("Thông tin thêm", "Chỉ hiện khi số người gọi trùng số đăng ký hồ sơ"))
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="dossier">{items}</dl>'


# --- supervisor -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperatorRow:
    user: ConsoleUser
    online: bool
    state: MemberState


def supervisor_page(viewer: Viewer, fragment: str) -> str:
    body = (
        "<h1>Giám sát tổng đài</h1>\n"
        '<p id="live-status" class="live-status" role="status">Trang tự cập nhật.</p>\n'
        f'<div id="supervisor">{fragment}</div>\n'
        '<section aria-labelledby="report-title"><h2 id="report-title">Báo cáo</h2>\n'
        '<form method="get" action="/console/reports" class="report">'
        '<p><label for="report-from">Từ ngày</label> '
        '<input id="report-from" name="from" type="date" required></p>'
        '<p><label for="report-to">Đến ngày</label> '
        '<input id="report-to" name="to" type="date" required></p>'
        '<p><label for="report-format">Định dạng</label> <select id="report-format" name="format">'
        '<option value="csv">CSV (bảng tính)</option>'
        '<option value="json">JSON</option></select></p>'
        "<p><button type='submit'>Tải báo cáo</button></p></form></section>"
    )
    return page("Giám sát", body, viewer, live="/console/events?view=supervisor")


def supervisor_fragment(
    waiting: int,
    longest: float,
    operators: Iterable[OperatorRow],
    today: Report,
) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{esc(o.user.name)}</th><td>{esc(o.user.role.label)}</td>"
        f"<td>{esc(o.user.member or '—')}</td>"
        f"<td>{'Đang mở bảng điều khiển' if o.online else 'Không trực tuyến'}</td>"
        f"<td>{esc(o.state.label) if o.user.member else '—'}</td></tr>"
        for o in operators
    )
    q, c, lk = today.queue, today.calls, today.lookups
    figures = [
        ("Cuộc gọi đang chờ", str(waiting)),
        ("Chờ lâu nhất", duration(longest)),
        ("Lượt tra cứu hôm nay", str(lk.total)),
        ("Tỉ lệ không tìm thấy", percent(lk.not_found_rate)),
        ("Cuộc gọi tổng đài hôm nay", str(c.total)),
        ("Tự động trả lời xong (không cần điện thoại viên)", percent(c.containment_rate)),
        ("Chuyển điện thoại viên", str(c.escalated)),
        ("Điện thoại viên đã nghe", str(q.answered)),
        ("Người gọi gác máy khi chờ", f"{q.abandoned} ({percent(q.abandonment_rate)})"),
        (
            "Thời gian chờ trung bình",
            duration(q.mean_wait_seconds) if q.mean_wait_seconds is not None else "—",
        ),
    ]
    by_channel = ", ".join(f"{CHANNELS.get(k, k)}: {v}" for k, v in lk.by_channel.items()) or "—"
    figures.append(("Tra cứu theo kênh", by_channel))
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in figures)
    return (
        '<section aria-labelledby="figures-title"><h2 id="figures-title">Hôm nay</h2>'
        f'<dl class="figures">{items}</dl></section>\n'
        '<section aria-labelledby="operators-title"><h2 id="operators-title">Điện thoại viên</h2>'
        '<table class="operators"><thead><tr><th scope="col">Tên</th><th scope="col">Vai trò</th>'
        '<th scope="col">Máy</th><th scope="col">Bảng điều khiển</th>'
        f'<th scope="col">Điện thoại</th></tr></thead><tbody>{rows}</tbody></table></section>'
    )


# --- small formats ----------------------------------------------------------------------------


def caller_text(caller: str | None, viewer: Viewer) -> str:
    if not caller:
        return "Số ẩn"
    return caller if viewer.full_numbers else mask_msisdn(caller)


def duration(seconds: float) -> str:
    whole = max(0, int(seconds))
    minutes, secs = divmod(whole, 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%".replace(".", ",")


def clock_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M %d/%m/%Y")


def day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d/%m/%Y")
