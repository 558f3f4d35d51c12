"""The volunteer's pages on a cheap phone (360×640, zh-CN): the home fits two screens and puts what matters
now first, every link and button is big enough to tap, and a logged-out QR scan over a slow network says
what is being checked into and returns there after the login. Also the staff menu on a phone, and
donation intake on the laptop. Layout does not depend on the network: only the scan is throttled, and
only it logs in through the form (the others start with the session cookie, ``sign_in``)."""
from urllib.parse import urlsplit

import pytest

from gridapp.demo import DEMO_PASSWORD
from gridapp.duty.models import DutySession
from gridapp.extensions import db

from .conftest import open_laptop, open_phone, sign_in, snap, throttle

pytestmark = [pytest.mark.browser, pytest.mark.demo, pytest.mark.own_database]

VOLUNTEER_PHONE = "13800000003"
STAFF_PHONE = "13800000002"
MIN_TAP = 44

# Every visible interactive element smaller than MIN_TAP × MIN_TAP CSS px (visually hidden ones aside).
TOO_SMALL = """(min) => {
  const small = [];
  for (const el of document.querySelectorAll("a[href], button, summary, select, textarea, input:not([type=hidden])")) {
    const r = el.getBoundingClientRect();
    if (!el.getClientRects().length || r.width <= 1 || r.height <= 1) continue;  // not shown / sr-only
    if (r.width < min - 0.5 || r.height < min - 0.5)
      small.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || "").trim().slice(0, 20)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
  }
  return small;
}"""


@pytest.fixture
def demo(app):
    """The demo world; the token of a session for the scan page. Hold no connection while the server works."""
    session = DutySession.query.filter_by(grid_id=4).order_by(DutySession.id.desc()).first()  # the volunteer's grid
    world = {"token": session.token, "title": session.title, "place": session.place}
    db.session.remove()
    return world


def log_in(context, page, live_server, phone, path):
    """Start ``page`` at ``path``, logged in as ``phone`` (by cookie: the login is not what these tests check)."""
    sign_in(context, live_server, phone, DEMO_PASSWORD)
    page.goto(f"{live_server.url}{path}")
    assert urlsplit(page.url).path == path


def assert_big_enough(page):
    small = page.evaluate(TOO_SMALL, MIN_TAP)
    assert not small, f"{urlsplit(page.url).path}: too small to tap at 360×640: {small}"


def test_every_link_and_button_on_volunteer_pages_is_44_px(demo, live_server, browser):
    context, page, _, errors = open_phone(browser)
    try:
        for path in ("/login", "/register", "/register/done", f"/c/{demo['token']}"):
            page.goto(f"{live_server.url}{path}")
            assert_big_enough(page)
        sign_in(context, live_server, VOLUNTEER_PHONE, DEMO_PASSWORD)
        links = {  # and the pages the home and the history link to: a duty, a campaign, a receipt
            "/me": "main a[href^='/duty/'], main a[href^='/campaigns/'], main a[href^='/me/redemptions/']",
            "/me/redemptions": "main a[href^='/me/redemptions/']",
        }
        targets = []
        for path in ("/me", "/me/points", "/me/card", "/me/redemptions", "/account", "/account/password"):
            page.goto(f"{live_server.url}{path}")
            assert urlsplit(page.url).path == path
            assert_big_enough(page)
            if path in links:
                hrefs = page.eval_on_selector_all(links[path], "links => links.map(a => a.getAttribute('href'))")
                targets += hrefs if path == "/me" else hrefs[:1]
        assert targets, "the home and the history link to nothing"
        for path in dict.fromkeys(targets):
            page.goto(f"{live_server.url}{path}")
            assert_big_enough(page)
    finally:
        context.close()
    assert not errors


def test_demo_volunteer_home_fits_two_screens_with_the_counter_first(demo, live_server, browser, shots):
    context, page, _, errors = open_phone(browser)
    try:
        log_in(context, page, live_server, VOLUNTEER_PHONE, "/me")
        height = page.evaluate("document.documentElement.scrollHeight")
        snap(page, shots / "home-360.png")
        assert height <= 2 * 640, f"the home page is {height}px tall: more than two 360×640 screens"
        first_card = page.locator("main section").first.inner_text()
        assert "积分兑换日" in first_card and "南门广场" in first_card
        text = page.locator("main").inner_text()
        assert text.count("北门片区") <= 1
    finally:
        context.close()
    assert not errors


def test_logged_out_scan_shows_the_session_and_returns_after_login(demo, live_server, browser):
    context, page, _, errors = open_phone(browser)
    try:
        throttle(context, page)
        page.goto(f"{live_server.url}/c/{demo['token']}")
        main = page.locator("main").inner_text()
        assert demo["title"] in main and demo["place"] in main and "请先登录" not in main
        page.fill("input[name=phone]", VOLUNTEER_PHONE)
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        assert urlsplit(page.url).path == f"/c/{demo['token']}"
        assert page.locator("h1").inner_text() == demo["title"]
    finally:
        context.close()
    assert not errors


@pytest.mark.parametrize("javascript", [True, False])
def test_staff_menu_is_one_row_on_a_phone_and_opens_without_javascript(demo, live_server, browser, javascript):
    context, page, _, errors = open_phone(browser, java_script_enabled=javascript)
    try:
        log_in(context, page, live_server, STAFF_PHONE, "/staff")
        nav = page.locator("nav.nav").bounding_box()
        assert nav["height"] <= 56, f"the staff menu takes {nav['height']}px on a phone"
        roster = page.locator("nav.nav").get_by_role("link", name="志愿者名册")
        assert not roster.is_visible()
        page.locator(".nav-more summary").tap()
        assert roster.is_visible()
        with page.expect_navigation():
            roster.tap()
        assert urlsplit(page.url).path == "/staff/volunteers"
    finally:
        context.close()
    assert not errors


def test_staff_menu_shows_everything_on_a_laptop(demo, live_server, browser):
    context, page, _, errors = open_laptop(browser)
    try:
        log_in(context, page, live_server, STAFF_PHONE, "/staff")
        assert page.locator("nav.nav").get_by_role("link", name="志愿者名册").is_visible()
        assert not page.locator(".nav-more").is_visible()
    finally:
        context.close()
    assert not errors


@pytest.mark.parametrize("javascript", [True, False])
def test_donation_lines_fit_and_more_rows_keep_what_was_typed(demo, live_server, browser, javascript):
    context, page, _, errors = open_laptop(browser, java_script_enabled=javascript)
    try:
        log_in(context, page, live_server, STAFF_PHONE, "/staff/donations/new")
        top = page.locator("h1").bounding_box()["y"]
        bottom = page.get_by_role("button", name="保存并开具凭证").bounding_box()
        assert bottom["y"] + bottom["height"] - top <= 1.5 * 800, "five lines take more than 1.5 screens"
        page.select_option("select[name=sponsor]", index=2)
        sponsor = page.input_value("select[name=sponsor]")
        page.select_option("select[name='lines-0-item']", index=1)
        page.fill("input[name='lines-0-quantity']", "7")
        page.fill("input[name='lines-1-new_name']", "保温杯")
        page.fill("input[name='lines-1-new_price']", "30")
        page.fill("input[name='lines-1-quantity']", "12")
        with page.expect_navigation():
            page.get_by_role("button", name="需要更多行").click()
        assert page.locator("input[name='lines-9-quantity']").count() == 1
        assert page.input_value("select[name=sponsor]") == sponsor
        assert page.input_value("input[name='lines-0-quantity']") == "7"
        assert page.input_value("input[name='lines-1-new_name']") == "保温杯"
        assert page.input_value("input[name='lines-1-quantity']") == "12"
    finally:
        context.close()
    assert not errors
