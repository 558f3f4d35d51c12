"""积分超市 and 积分公示 on a cheap phone (360×640), in a real Chromium: a volunteer opens
the shelf, then the posting, and raises an objection on their own line; a grid worker, also on a
phone, accepts it with a correction; the volunteer sees the outcome. Nothing scrolls sideways and
no console error or CSP violation happens. Both phones start logged in (``sign_in``: the login is not what
this checks) and run at full speed (the slow network is what other tests check: the first visit, the
QR scan, the upload)."""
import pytest

from gridapp import clock
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.publicity import service as publicity
from gridapp.reporting.months import Month

from .. import factories
from .conftest import open_phone, sign_in, snap
from .test_checkin_flow import assert_fits_phone, path_of

pytestmark = [pytest.mark.browser, pytest.mark.own_database]


def test_volunteer_objects_on_the_phone_and_staff_resolve_it(app, live_server, browser, shots):
    staff = factories.make_user(role="staff", name="贾亮")
    volunteer = factories.make_user(name="艾力努尔·拜克力", household=factories.make_household("7", "3", "502"))
    factories.make_user(name="张建军")
    sponsor = factories.make_sponsor()
    kettle = factories.make_item(name="烧水壶", points_price=120)
    tissue = factories.make_item(name="抽纸", unit="包", points_price=5, low_stock_threshold=5)
    factories.donate(staff, sponsor, (kettle, 10), (tissue, 3))
    entry = points.award(volunteer, 10, reference="t:1", description="安全巡逻：夜间巡逻（11月20日）",
                         key="t1", by=staff, at=clock.parse_local("2026-11-20T21:00"))
    posting = publicity.publish(staff, Month(2026, 11), clock.utcnow(), 5)
    db.session.commit()
    posting_id, entry_id, v_phone, s_phone = posting.id, entry.id, volunteer.phone, staff.phone
    db.session.remove()

    phone, page, _requests, errors = open_phone(browser)
    desk, desk_page, _requests, staff_errors = open_phone(browser)
    try:
        sign_in(phone, live_server, v_phone, factories.PASSWORD)
        page.goto(f"{live_server.url}/me/goods")
        assert path_of(page) == "/me/goods"
        assert "还差 110 分" in page.locator("li.shelf-item", has_text="烧水壶").inner_text()
        assert "紧张" in page.locator("li.shelf-item", has_text="抽纸").inner_text()
        assert "下一个兑换日" in page.locator("#counter-day").inner_text()
        assert_fits_phone(page)
        snap(page, shots / "1-shelf-360.png")

        page.get_by_role("link", name="积分公示").first.tap()
        page.wait_for_url(f"{live_server.url}/gongshi")
        page.locator("a.session-item").first.tap()
        page.wait_for_url(f"{live_server.url}/gongshi/{posting_id}")
        assert "公示中" in page.locator(".posting-state").inner_text()
        assert "艾**尔·拜*力" in page.locator("#lines").inner_text()
        assert "7栋3单元" in page.locator("#lines").inner_text()
        assert_fits_phone(page)
        page.get_by_text("对我的积分有异议").tap()
        page.fill("textarea[name=reason]", "11月20日巡逻了两个小时，应记15分。")
        with page.expect_navigation():
            page.get_by_role("button", name="提交异议").tap()
        assert "异议已提交" in page.locator(".flash").inner_text()
        assert "待处理" in page.locator("#mine").inner_text()
        snap(page, shots / "2-objection-360.png")

        volunteer_page, page = page, desk_page
        sign_in(desk, live_server, s_phone, factories.PASSWORD)
        page.goto(f"{live_server.url}/staff/publicity/{posting_id}")
        assert path_of(page) == f"/staff/publicity/{posting_id}"
        card = page.locator("section.objection")
        assert "应记15分" in card.inner_text()
        card.locator("select").select_option(str(entry_id))
        card.locator("input[name$=correct_points]").fill("15")
        card.locator("input[name$=note]").fill("核对签到表，更正为15分。")
        assert_fits_phone(page)
        with page.expect_navigation():
            card.get_by_role("button", name="采纳并更正").tap()
        assert "已更正" in page.locator(".flash").inner_text()
        assert "冲正 -10 分，新记 +15 分。" in page.locator("section.objection").inner_text()
        snap(page, shots / "3-resolved-360.png")

        page = volunteer_page  # back on the volunteer's phone
        page.goto(f"{live_server.url}/gongshi/{posting_id}")
        mine = page.locator("#mine").inner_text()
        assert "已更正" in mine and "积分已更正为 15 分" in mine
        assert "已更正 1 条" in page.locator("#outcomes").inner_text()
    finally:
        phone.close()
        desk.close()
    assert errors + staff_errors == []
