"""A volunteer logs in on a cheap phone over a slow mobile network, in a real Chromium."""
from urllib.parse import urlsplit

import pytest

from gridapp.demo import DEMO_PASSWORD
from gridapp.extensions import db

from .conftest import open_phone, snap, throttle

pytestmark = [pytest.mark.browser, pytest.mark.demo]

VOLUNTEER_PHONE = "13800000003"
VOLUNTEER_NAME = "蒋生军"


@pytest.fixture
def demo(app):
    """The demo world is in the database (``@pytest.mark.demo``); hold no connection while the server works."""
    db.session.remove()


def log_in(page, live_server):
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=phone]", VOLUNTEER_PHONE)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():  # POST /login → 303 → / → /me, then the page's "load"
        page.get_by_role("button", name="登录").tap()


def assert_volunteer_home(page, live_server):
    assert urlsplit(page.url).path == "/me"
    assert page.locator("h1").inner_text() == f"您好，{VOLUNTEER_NAME}"
    assert "积分兑换日" in page.locator("main").inner_text()  # 下一个… or, on the day itself, 今天是…
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"page is {scroll_width}px wide at a 360px viewport"


def assert_only_local(requests, live_server):
    foreign = [url for url in requests if urlsplit(url).scheme != "data" and urlsplit(url).netloc != live_server.host]
    assert not foreign, f"requests left the live server: {foreign}"
    assert requests, "no requests recorded"


def test_volunteer_logs_in_on_slow_phone(demo, live_server, browser, shots):
    context, page, requests, errors = open_phone(browser, live_server)
    try:
        throttle(context, page)
        log_in(page, live_server)
        assert_volunteer_home(page, live_server)
        snap(page, shots / "volunteer-home-360.png")
    finally:
        context.close()
    assert_only_local(requests, live_server)
    assert not errors, f"browser console errors: {errors}"


def test_volunteer_logs_in_without_javascript(demo, live_server, browser, shots):
    context, page, requests, errors = open_phone(browser, live_server, java_script_enabled=False)
    try:
        throttle(context, page)
        log_in(page, live_server)
        assert_volunteer_home(page, live_server)
        snap(page, shots / "volunteer-home-360-nojs.png")
    finally:
        context.close()
    assert_only_local(requests, live_server)
    assert not errors, f"browser console errors: {errors}"
