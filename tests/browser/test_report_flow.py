"""Reporting a hazard from a cheap phone in a real Chromium, with JavaScript on and off.

A volunteer on a 360×640 phone opens the form from the home page, picks a photo with the file
chooser, and sends it over a slow network; the report page shows the photo (without its GPS), the
volunteer's list shows the status. Once staff have solved it, anyone sees it on the echo wall, without
names. The phone starts logged in (``sign_in``: the login is not what this checks); the network is
throttled for the upload and the report page it answers with (photo and all); the steps around it run
at full speed.
"""
import io
from urllib.parse import urlsplit

import pytest
from PIL import Image

from gridapp.extensions import db
from gridapp.reports import photos
from gridapp.reports.models import Report

from .. import factories
from ..reports.conftest import advance, jpeg
from .conftest import horizontal_overflow, open_phone, sign_in, snap, throttle, unthrottle

pytestmark = [pytest.mark.browser, pytest.mark.own_database]

DESCRIPTION = "1栋门口路面塌陷一个大坑，晚上看不见"


def fits(page):
    assert horizontal_overflow(page) <= 0, f"{urlsplit(page.url).path} is wider than the 360px screen"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_volunteer_reports_a_hazard_with_a_photo_from_a_slow_phone(app, live_server, browser, tmp_path, shots,
                                                                     javascript):
    volunteer = factories.make_user(name="蒋生军")
    staff = factories.make_user(role="staff")
    phone_number, name, staff_id = volunteer.phone, volunteer.name, staff.id
    picture = tmp_path / "IMG_20261216_101500.jpg"
    picture.write_bytes(jpeg(1600, 1200))
    db.session.commit()
    db.session.remove()

    context, page, requests, errors = open_phone(browser, java_script_enabled=javascript)
    try:
        sign_in(context, live_server, phone_number, factories.PASSWORD)
        page.goto(f"{live_server.url}/me")
        assert urlsplit(page.url).path == "/me"
        with page.expect_navigation():
            page.get_by_role("link", name="上报隐患 · 微心愿").tap()
        assert urlsplit(page.url).path == "/reports/new"
        fits(page)

        page.select_option("select[name=category]", "road")
        page.fill("textarea[name=description]", DESCRIPTION)
        page.select_option("select[name=building]", "1")
        page.fill("input[name=place]", "门口")
        with page.expect_file_chooser() as chooser:
            page.locator("#photo-album").click()
        assert chooser.value.is_multiple()
        chooser.value.set_files(str(picture))
        snap(page, shots / "form-360.png")
        slow = throttle(context, page)
        with page.expect_navigation():
            page.get_by_role("button", name="提交").tap()
        path = urlsplit(page.url).path
        assert path.startswith("/reports/") and path != "/reports/new", page.locator("main").inner_text()
        main = page.locator("main").inner_text()
        assert DESCRIPTION in main and "新上报" in main and "已提交" in main
        thumb = page.locator("ul.photos img").first
        thumb.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        fits(page)
        snap(page, shots / "report-360.png")
        unthrottle(slow)
        with page.expect_navigation():
            page.get_by_role("link", name="返回我的上报").tap()
        assert "道路破损" in page.locator("main").inner_text() and "新上报" in page.locator("main").inner_text()
        assert all(urlsplit(url).netloc == live_server.host for url in requests if urlsplit(url).scheme != "data")

        report = Report.query.one()
        assert report.reporter.name == name and len(report.photos) == 1
        stored = photos.store().read(report.photos[0].key + ".jpg")
        image = Image.open(io.BytesIO(stored))
        assert image.size == (1280, 960) and not image.getexif().get_ifd(0x8825)

        advance(report, db.session.get(type(report.reporter), staff_id), "solved")
        db.session.remove()
        context.clear_cookies()  # anyone, not logged in, on the same phone
        assert context.cookies() == []
        page.goto(f"{live_server.url}/huiyin")
        main = page.locator("main").inner_text()
        assert DESCRIPTION in main and "物业与自来水公司联合抢修" in main and name not in main
        assert page.locator("ul.photos img[loading=lazy]").count() == 2
        fits(page)
        snap(page, shots / "wall-360.png")
    finally:
        context.close()
    assert not errors, errors
