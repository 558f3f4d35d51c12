"""Snow-clearing campaign end to end in a real Chromium.

A volunteer scans the notice's QR code on a cheap phone (360×640, slow network), logs in, signs
up for a zone and finds it on the home page; the grid worker prints the notice from a laptop and
sees "正在生成…" while the PDF is being made. The phone's first visit, the scan, and the login it leads to
go over the slow network and through the form (what a QR code on a noticeboard leads to); the sign-up
after it runs at full speed. The laptop starts logged in (``sign_in``).
"""
import re
from urllib.parse import urlsplit

import pytest

from gridapp.campaigns import notice
from gridapp.clock import utcnow
from gridapp.extensions import db

from .. import factories
from ..campaigns.conftest import make_campaign, tomorrow_start
from .conftest import open_laptop, open_phone, sign_in, snap, throttle, unthrottle
from .test_checkin_flow import assert_fits_phone, log_in, path_of

pytestmark = pytest.mark.browser


def test_volunteer_signs_up_for_a_zone_from_the_notice_qr_link(app, live_server, browser, shots):
    staff = factories.make_user(role="staff", name="贾亮")
    volunteer = factories.make_user(name="艾力努尔·拜克力")
    campaign = make_campaign(staff, starts_at=tomorrow_start(), now=utcnow(), publish_at=utcnow())
    with app.test_request_context("/", base_url=live_server.url):
        qr_link = notice.notice_context(campaign)["signup_url"]  # what the printed QR code holds
    campaign_id, zone_session = campaign.id, campaign.zones[1].session_id
    phone_number, staff_phone, title = volunteer.phone, staff.phone, campaign.title
    db.session.remove()
    assert qr_link == f"{live_server.url}/campaigns/{campaign_id}"

    phone, page, requests, errors = open_phone(browser)
    try:
        slow = throttle(phone, page)
        page.goto(qr_link)
        log_in(page, phone_number, factories.PASSWORD, f"/campaigns/{campaign_id}")
        unthrottle(slow)
        assert page.locator("h1").inner_text() == title
        zone = page.locator("li.zone-card", has_text="北门片区")
        assert "已报 0 / 8 人" in zone.inner_text()
        assert_fits_phone(page)
        snap(page, shots / "1-campaign-360.png")

        with page.expect_navigation():
            zone.get_by_role("button", name="报名：北门片区").tap()
        assert path_of(page) == f"/campaigns/{campaign_id}"
        assert "报名成功：北门片区" in page.locator(".flash").inner_text()
        mine = page.locator("section.mine")
        assert "北门片区" in mine.inner_text() and "已报名" in mine.inner_text()
        assert "已报 1 / 8 人" in page.locator("li.zone-card", has_text="北门片区").inner_text()
        assert page.get_by_role("button", name=re.compile("^报名：")).count() == 0  # one zone per campaign
        assert_fits_phone(page)
        snap(page, shots / "2-signed-up-360.png")

        page.get_by_role("link", name="首页").first.tap()
        page.wait_for_url(f"{live_server.url}/me")
        card = page.locator("section.card", has_text=title)
        assert "我的区域：北门片区" in card.inner_text() and "集合：迪祥佳苑B区南门广场" in card.inner_text()
        assert page.locator(f'a[href="/duty/{zone_session}"]').count() == 1  # where to check in on the day
        assert_fits_phone(page)
        snap(page, shots / "3-home-360.png")
    finally:
        phone.close()
    foreign = [url for url in requests if urlsplit(url).scheme != "data" and urlsplit(url).netloc != live_server.host]
    assert not foreign, f"requests left the live server: {foreign}"
    assert not errors, f"console errors on the phone: {errors}"

    laptop, page, _, laptop_errors = open_laptop(browser)
    try:
        sign_in(laptop, live_server, staff_phone, factories.PASSWORD)
        page.goto(f"{live_server.url}/staff/campaigns/{campaign_id}")
        assert path_of(page) == f"/staff/campaigns/{campaign_id}"
        page.wait_for_function("window.htmx !== undefined")
        progress = page.locator("#notice-link .pdf-progress")
        # The request for the PDF is held until the progress note shows (as a slow render would hold it),
        # then sent on: what the note said while it waited is recorded.
        shown_while_waiting = []

        def hold_until_progress_shows(route):
            progress.wait_for(state="visible")
            shown_while_waiting.append(progress.inner_text())
            route.continue_()

        page.route(re.compile(r"/notice/ready$"), hold_until_progress_shows)
        assert not progress.is_visible()
        page.get_by_role("link", name="打印通知（A4 PDF）").click()
        ready = page.get_by_role("link", name=re.compile(r"✓ 打开通知（PDF，\d+ KB）"))
        ready.wait_for()
        assert shown_while_waiting == ["正在生成…"]
        assert ready.get_attribute("href") == f"/campaigns/{campaign_id}/notice.pdf"
        assert path_of(page) == f"/staff/campaigns/{campaign_id}"
        snap(page, shots / "4-notice-ready-1280.png")
    finally:
        laptop.close()
    assert not laptop_errors, f"console errors on the laptop: {laptop_errors}"
