"""The duty check-in flow end to end in a real Chromium.

A volunteer scans the printed QR code on a cheap phone over a slow network, logs in and taps
签到; the grid worker confirms the attendance on the roster from a laptop (htmx swaps the row,
CSRF travels in ``hx-headers``); the volunteer then finds the points in 我的积分. The phone's scan,
login and check-in are what is checked (through the form, throttled); the laptop starts logged in
(``sign_in``), and the phone's look at its points afterwards runs at full speed.

Screenshots of every page go to ``$GRIDAPP_SCREENSHOTS`` when it is set (``snap``).
"""
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from gridapp.clock import utcnow
from gridapp.demo import DEMO_PASSWORD, soon_patrol_title
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.extensions import db

from .. import factories
from .conftest import horizontal_overflow, open_laptop, open_phone, sign_in, snap, throttle, unthrottle

pytestmark = pytest.mark.browser

TITLE = "南门夜间巡逻"
PLACE = "B区南门岗亭"
POINTS = 10
DEMO_VOLUNTEER = "13800000003"
DEMO_STAFF = "13800000002"


def open_now(staff, **fields):
    """A session whose check-in is open now (the window opens 30 minutes before the start)."""
    duty_type = DutyType.query.filter_by(name="安全巡逻").one_or_none()
    if duty_type is None:
        duty_type = duty.add_duty_type(staff, "安全巡逻", POINTS)
    now = utcnow()
    fields = dict(dict(title=TITLE, place=PLACE, starts_at=now + timedelta(minutes=10),
                       ends_at=now + timedelta(hours=2)), **fields)
    [session] = duty.schedule(staff, duty_type=duty_type, **fields)
    db.session.commit()
    return session


def path_of(page) -> str:
    return urlsplit(page.url).path


def log_in(page, phone, password, expected_path, login_path="/login"):
    """Fill in the login form already on ``page`` and follow the redirect to ``expected_path``."""
    assert path_of(page) == login_path
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    assert path_of(page) == expected_path


def assert_fits_phone(page):
    overflow = horizontal_overflow(page)
    assert overflow <= 0, f"{path_of(page)} is {overflow}px wider than the 360px screen"


def test_volunteer_checks_in_by_qr_and_staff_confirms(app, live_server, browser, shots):
    staff = factories.make_user(role="staff")
    volunteer = factories.make_user()
    session = open_now(staff)
    session_id, token, staff_phone, volunteer_phone = session.id, session.token, staff.phone, volunteer.phone
    volunteer_name = volunteer.name
    db.session.remove()  # hold no connection while the server works

    phone, phone_page, phone_requests, phone_errors = open_phone(browser)
    laptop, laptop_page, _, laptop_errors = open_laptop(browser)
    try:
        slow = throttle(phone, phone_page)

        # The volunteer scans the QR code: not logged in yet, so what is being checked into above the
        # login form, which returns here.
        phone_page.goto(f"{live_server.url}/c/{token}")
        assert path_of(phone_page) == f"/c/{token}"
        assert TITLE in phone_page.locator("h1").inner_text() and PLACE in phone_page.locator("main").inner_text()
        action = phone_page.locator("form[action^='/login']").get_attribute("action")
        assert parse_qs(urlsplit(action).query)["next"] == [f"/c/{token}"]
        assert_fits_phone(phone_page)
        log_in(phone_page, volunteer_phone, factories.PASSWORD, f"/c/{token}", login_path=f"/c/{token}")
        assert phone_page.locator("h1").inner_text() == TITLE
        assert PLACE in phone_page.locator("main").inner_text()
        check_in = phone_page.get_by_role("button", name="签到", exact=True)
        assert check_in.is_visible()
        assert_fits_phone(phone_page)
        snap(phone_page, shots / "1-scan-360.png")

        with phone_page.expect_navigation():
            check_in.tap()
        assert path_of(phone_page) == f"/duty/{session_id}/check-in/done"
        assert "签到成功" in phone_page.locator("h1").inner_text()
        assert f"{POINTS} 积分" in phone_page.locator("main").inner_text()
        assert_fits_phone(phone_page)
        snap(phone_page, shots / "2-done-360.png")

        # The grid worker confirms on the roster; htmx swaps the one row, the page stays.
        sign_in(laptop, live_server, staff_phone, factories.PASSWORD)
        laptop_page.goto(f"{live_server.url}/staff/duty/{session_id}")
        assert path_of(laptop_page) == f"/staff/duty/{session_id}"
        row = laptop_page.locator("li.attendance", has_text=volunteer_name)
        assert row.locator(".tag").inner_text() == "已签到"
        snap(laptop_page, shots / "3-roster-before-1280.png")
        laptop_page.wait_for_function("window.htmx !== undefined")
        laptop_page.evaluate("window.stillTheSamePage = true")
        csrf_header = laptop_page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
        with laptop_page.expect_response(re.compile(r"/confirm$")) as answer:
            row.get_by_role("button", name="确认出勤", exact=True).click()
        assert answer.value.status == 200
        headers = answer.value.request.headers
        assert headers.get("hx-request") == "true"
        assert headers.get("x-csrftoken") == csrf_header, "the CSRF token from hx-headers was not sent"
        row = laptop_page.locator("li.attendance", has_text=volunteer_name)
        row.locator(".tag", has_text="已确认").wait_for()
        reloaded = laptop_page.evaluate("window.stillTheSamePage") is not True
        assert not reloaded, "the roster was loaded again instead of htmx swapping the row"
        assert path_of(laptop_page) == f"/staff/duty/{session_id}"
        assert row.get_by_role("button", name="确认出勤", exact=True).count() == 0
        assert f"积分 {POINTS}" in row.inner_text()
        snap(laptop_page, shots / "4-roster-after-1280.png")

        # Back on the phone: the points are there.
        unthrottle(slow)
        phone_page.get_by_role("link", name="我的积分").first.tap()
        phone_page.wait_for_url(f"{live_server.url}/me/points")
        balance = phone_page.locator(".tile", has_text="可用积分").locator("strong")
        assert balance.inner_text() == str(POINTS)
        entry = phone_page.locator(".ledger li").first
        assert f"安全巡逻：{TITLE}" in entry.inner_text()
        assert f"+{POINTS}" in entry.locator(".delta").inner_text()
        assert_fits_phone(phone_page)
        snap(phone_page, shots / "5-points-360.png")
    finally:
        phone.close()
        laptop.close()
    foreign = [url for url in phone_requests
               if urlsplit(url).scheme != "data" and urlsplit(url).netloc != live_server.host]
    assert not foreign, f"requests left the live server: {foreign}"
    assert not phone_errors, f"console errors on the phone: {phone_errors}"
    assert not laptop_errors, f"console errors on the laptop: {laptop_errors}"


@pytest.mark.demo
def test_demo_pages_fit_the_phone_and_roster_shows_every_state(app, live_server, browser, shots):
    """The demo world's volunteer pages at 360 px, and a roster holding one row per state, with its poster
    (both devices start logged in: the login is not what this checks)."""
    from gridapp.auth.models import User
    from gridapp.duty.models import DutySession

    staff = User.query.filter_by(phone=DEMO_STAFF).one()
    now = utcnow()  # the suite's fixed clock: the moment the demo world was seeded at
    title = soon_patrol_title(now)
    tonight = DutySession.query.filter_by(title=title).one()
    # Make sure the demo's patrol is open now.
    if not tonight.window_open(now):
        tonight = open_now(staff, title=title, capacity=15)
    session = open_now(staff, title="北门夜间巡逻", place="B区北门岗亭", capacity=12)
    others = (User.query.filter(User.role == "volunteer", User.status == "active", User.phone != DEMO_VOLUNTEER)
              .order_by(User.id).limit(7).all())
    signed_up, checked_in, checked_out, confirmed, rejected, marked, cancelled = others
    duty.sign_up(signed_up, session, now)
    duty.check_in(checked_in, session, now)
    duty.check_in(checked_out, session, now)
    duty.check_out(checked_out, session, now)
    duty.confirm(staff, duty.check_in(confirmed, session, now), now)
    duty.reject(staff, duty.check_in(rejected, session, now), "未到岗，由他人代签", now)
    duty.mark_present(staff, session, marked, now)
    duty.sign_up(cancelled, session, now)
    duty.cancel_sign_up(cancelled, session)
    db.session.commit()
    session_id, token, tonight_token = session.id, session.token, tonight.token
    db.session.remove()

    phone, phone_page, _, phone_errors = open_phone(browser)
    laptop, laptop_page, _, laptop_errors = open_laptop(browser)
    try:
        sign_in(phone, live_server, DEMO_VOLUNTEER, DEMO_PASSWORD)
        phone_page.goto(f"{live_server.url}/me")
        assert path_of(phone_page) == "/me"
        assert phone_page.locator(".session-item", has_text=title).count() >= 1
        assert_fits_phone(phone_page)
        snap(phone_page, shots / "me-360.png")
        phone_page.goto(f"{live_server.url}/c/{tonight_token}")
        assert phone_page.get_by_role("button", name="签到", exact=True).is_visible()
        assert_fits_phone(phone_page)
        snap(phone_page, shots / "scan-360.png")
        phone_page.goto(f"{live_server.url}/me/points")
        assert phone_page.locator(".ledger li").count() > 1
        assert_fits_phone(phone_page)
        snap(phone_page, shots / "points-360.png")

        sign_in(laptop, live_server, DEMO_STAFF, DEMO_PASSWORD)
        laptop_page.goto(f"{live_server.url}/staff/duty/{session_id}")
        assert path_of(laptop_page) == f"/staff/duty/{session_id}"
        labels = laptop_page.locator("li.attendance .tag").all_inner_texts()
        assert sorted(labels) == sorted(["已报名", "已签到", "已签退", "已确认", "未通过", "已签到"])  # a cancelled sign-up leaves the roster
        assert laptop_page.locator("li.attendance", has_text="网格员代签").count() == 1
        assert laptop_page.get_by_role("button", name="确认出勤", exact=True).count() == 3  # two checked in, one out
        snap(laptop_page, shots / "roster-1280.png")

        laptop_page.get_by_role("link", name="打印签到二维码").click()
        laptop_page.wait_for_url(f"{live_server.url}/staff/duty/{session_id}/poster")
        assert laptop_page.locator(".qr svg").count() == 1
        assert laptop_page.locator(".poster").inner_text().strip().endswith(f"/c/{token}")
        snap(laptop_page, shots / "poster-1280.png")
        laptop_page.emulate_media(media="print")
        snap(laptop_page, shots / "poster-print-1280.png")
    finally:
        phone.close()
        laptop.close()
    assert not phone_errors, f"console errors on the phone: {phone_errors}"
    assert not laptop_errors, f"console errors on the laptop: {laptop_errors}"
