"""The operator console in headless Chromium (Debian's ``chromium``, driven by Playwright):
sign in, an escalation appears live with its context, a note is saved, repeated wrong
passwords lock the name, a forged form is refused. Screenshots go to test-artifacts/console/.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.console import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    OPERATOR,
    PASSWORD,
    SUPERVISOR,
    ConsoleGateway,
    console_gateway,
)

WAIT_MS = 10_000


@pytest_asyncio.fixture
async def running() -> AsyncIterator[ConsoleGateway]:
    async with console_gateway() as gateway:
        yield gateway


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup --dev installs Debian's chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    opened.set_default_timeout(WAIT_MS)
    try:
        yield opened
    finally:
        await context.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def sign_in(page: Page, running: ConsoleGateway, name: str, password: str) -> None:
    await page.goto(running.url("/console/login"))
    await page.get_by_label("Tên đăng nhập").fill(name)
    await page.get_by_label("Mật khẩu").fill(password)
    await page.get_by_role("button", name="Đăng nhập").click()


async def test_an_escalation_appears_live_with_its_context(
    page: Page, running: ConsoleGateway
) -> None:
    await sign_in(page, running, OPERATOR, PASSWORD)
    await expect(page).to_have_url(running.url("/console/"))
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.locator("#waiting")).to_contain_text("Không có cuộc gọi nào đang chờ")
    await expect(page.locator("body")).to_have_attribute("data-live", "on")  # stream open

    running.escalate("call-live-1", waited=42)

    card = page.locator("#mine article.call")
    await expect(card).to_be_visible()
    await expect(card).to_have_attribute("role", "alert")  # announced to screen readers
    await expect(card).to_contain_text("0912***678")  # masked for an operator
    await expect(card).not_to_contain_text("0912345678")
    await expect(card).to_contain_text("Đang đổ chuông ở máy của bạn")
    await expect(card).to_contain_text("000.00.22.H29-240101-0001")
    await expect(card).to_contain_text("Đang xử lý")
    await expect(card).to_contain_text("Hồ sơ đang được giải quyết, hẹn trả ngày 05/03/2025.")
    await expect(card).to_contain_text("Người gọi bấm phím 0")
    wait = card.locator(".wait")
    shown = await wait.inner_text()
    minutes, seconds = shown.split(":")
    assert int(minutes) * 60 + int(seconds) >= 42  # counted from the caller's escalation
    await expect(wait).not_to_have_text(shown)  # and it keeps counting
    await expect(page.locator("#waiting-count")).to_have_text("1")
    await expect(page).to_have_title("Đổ chuông · Cuộc gọi · Tổng đài tra cứu hồ sơ")
    await shot(page, "01-escalation-live")


async def test_a_note_is_saved_on_the_call(page: Page, running: ConsoleGateway) -> None:
    running.escalate("call-note-1")
    await sign_in(page, running, OPERATOR, PASSWORD)
    await page.locator("#mine").get_by_role("link", name="Mở cuộc gọi: ghi chú, gửi SMS").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Cuộc gọi của 0912***678")
    await page.get_by_label("Ghi chú mới").fill("Người dân hỏi lịch trả kết quả; đã hẹn gọi lại.")
    await page.get_by_role("button", name="Lưu ghi chú").click()
    await expect(page.get_by_role("status").first).to_have_text("Đã lưu ghi chú.")
    notes = page.locator("ol.notes li")
    await expect(notes).to_have_count(1)
    await expect(notes).to_contain_text(f"{OPERATOR}: Người dân hỏi lịch trả kết quả")
    await shot(page, "02-note-saved")
    assert running.gateway.oversight is not None
    saved = await running.gateway.oversight.calls.notes("call-note-1")
    assert [(n.author, n.dossier) for n in saved] == [(OPERATOR, "000.00.22.H29-240101-0001")]


async def test_wrong_passwords_lock_the_name(page: Page, running: ConsoleGateway) -> None:
    for attempt in ("sai-1", "sai-2"):
        await sign_in(page, running, OPERATOR, attempt)
        await expect(page.get_by_role("alert")).to_have_text(
            "Tên đăng nhập hoặc mật khẩu không đúng."
        )
    await sign_in(page, running, OPERATOR, "sai-3")
    await expect(page.get_by_role("alert")).to_contain_text("Tài khoản tạm khóa")
    await sign_in(page, running, OPERATOR, PASSWORD)  # the right one, too late
    await expect(page.get_by_role("alert")).to_contain_text("Tài khoản tạm khóa")
    await expect(page).to_have_url(running.url("/console/login"))
    await shot(page, "03-lockout")


async def test_a_forged_form_is_refused(page: Page, running: ConsoleGateway) -> None:
    running.escalate("call-csrf-1")
    await sign_in(page, running, OPERATOR, PASSWORD)
    await page.goto(running.url("/console/calls/call-csrf-1"))
    form = page.locator("form.note")
    await form.locator("input[name=csrf]").evaluate("input => input.value = 'forged'")
    await page.get_by_label("Ghi chú mới").fill("không được lưu")
    await page.get_by_role("button", name="Lưu ghi chú").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Yêu cầu bị từ chối")
    await expect(page.get_by_role("alert")).to_contain_text("CSRF")
    await shot(page, "04-csrf-refused")
    response = await page.request.post(
        running.url("/console/calls/call-csrf-1/notes"), form={"text": "không có mã"}
    )
    assert response.status == 403
    assert running.gateway.oversight is not None
    assert await running.gateway.oversight.calls.notes("call-csrf-1") == []


async def test_the_supervisor_sees_the_queue_and_the_operators(
    page: Page, running: ConsoleGateway
) -> None:
    running.escalate("call-sup-1", waited=125, ring_at=None)
    await sign_in(page, running, SUPERVISOR, PASSWORD)
    await expect(page).to_have_url(running.url("/console/supervisor"))
    figures = page.locator("dl.figures")
    await expect(figures).to_contain_text("Cuộc gọi đang chờ1")
    await expect(figures).to_contain_text("Chờ lâu nhất02:0")
    operators = page.locator("table.operators")
    await expect(operators).to_contain_text(OPERATOR)
    await expect(operators).to_contain_text("Desk 1")
    await page.get_by_role("link", name="Cuộc gọi").click()
    await expect(page.locator("#waiting")).to_contain_text("0912345678")  # whole, for a supervisor
    await page.goto(running.url("/console/supervisor"))
    await shot(page, "05-supervisor")
