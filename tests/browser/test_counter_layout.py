"""The exchange counter's basket at 1280×800, 1366×768 and a 768×1024 tablet: chosen lines, total, balance
after and 确认兑换 stay in view, and no focused field is ever under a fixed or sticky element. The grid worker
starts logged in (``sign_in``: the login is not what these tests check); one browser window is resized to
each screen in turn (the basket's layout depends on the viewport alone)."""
import re

import pytest

from gridapp.clock import local_today
from gridapp.counter import service as counter
from gridapp.extensions import db
from gridapp.points import service as points

from .. import factories
from .conftest import open_context, sign_in, until_reported

pytestmark = [pytest.mark.browser, pytest.mark.own_database]

SCREENS = [(1280, 800), (1366, 768), (768, 1024)]

# For the focused element: every fixed or sticky element (not one of its own ancestors) that its box
# intersects, and whether the basket's totals column is in view.
COVERED = """() => {
  const focused = document.activeElement, box = focused.getBoundingClientRect();
  const covering = [];
  for (const el of document.querySelectorAll("body *")) {
    const position = getComputedStyle(el).position;
    if ((position !== "fixed" && position !== "sticky") || el.contains(focused)) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.left < box.right && box.left < r.right && r.top < box.bottom && box.top < r.bottom)
      covering.push(el.className || el.tagName);
  }
  const inView = (el) => { const r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth; };
  const totals = document.querySelector(".totals");
  return {id: focused.id || focused.tagName, covering, text: focused.textContent.trim(),
          totalsInView: [...totals.querySelectorAll(".chosen-lines, .sum, button.primary")].every(inView)};
}"""


@pytest.fixture
def basket_world(app):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试")
    staff = factories.make_user(role="staff", name="贾亮")
    sponsor = factories.make_sponsor("物业公司")
    items = [factories.make_item(name, points_price=10 + 5 * n, category="日用品")
             for n, name in enumerate(["烧水壶", "床单", "抽纸", "洗衣粉", "牙膏", "碗筷套装", "香皂", "毛巾",
                                       "大米", "食用油", "保温杯", "雨伞"])]
    factories.donate(staff, sponsor, *[(item, 20) for item in items])
    volunteer = factories.make_user(name="艾力努尔·拜克力")
    points.award(volunteer, 500, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    counter.open_session(staff, local_today())
    db.session.commit()
    world = {"staff": staff.phone, "volunteer": volunteer.id}
    db.session.remove()
    return world


def open_basket(context, page, live_server, world):
    """The volunteer's basket at the counter, the grid worker logged in, htmx loaded."""
    sign_in(context, live_server, world["staff"], factories.PASSWORD)
    page.goto(f"{live_server.url}/counter/v/{world['volunteer']}")
    assert page.url.endswith(f"/counter/v/{world['volunteer']}")
    page.wait_for_function("window.htmx !== undefined")


def test_tabbing_through_the_basket_never_hides_the_focus_and_keeps_the_totals_in_view(
        basket_world, live_server, browser):
    width, height = SCREENS[0]
    context, page, _, errors = open_context(browser, {"viewport": {"width": width, "height": height},
                                                      "locale": "zh-CN"})
    try:
        open_basket(context, page, live_server, basket_world)
        # choose two items so that there are chosen lines (htmx swaps the basket)
        for item_button in ("button[name=add]", "button[name=add]"):
            with page.expect_response(re.compile(r"/counter/v/\d+\?")):
                page.locator(item_button).nth(1).click()
            page.locator("#basket.htmx-settling").wait_for(state="detached")
        assert page.locator(".chosen-lines li").count() == 1
        for width, height in SCREENS:
            page.set_viewport_size({"width": width, "height": height})
            assert page.evaluate("[innerWidth, innerHeight]") == [width, height]
            page.locator("#basket input[name^=q]").first.focus()
            seen = []
            for _ in range(60):
                state = page.evaluate(COVERED)
                seen.append(state["id"])
                assert not state["covering"], f"{width}×{height}: {state['id']} is under {state['covering']}"
                if width >= 768:
                    assert state["totalsInView"], f"{width}×{height}: the totals left the screen at {state['id']}"
                if state["text"] == "确认兑换":
                    break
                page.keyboard.press("Tab")
            else:
                pytest.fail(f"{width}×{height}: Tab never reached 确认兑换: {seen}")
    finally:
        context.close()
    assert not errors


def test_an_inline_style_on_a_swapped_element_is_not_copied_into_a_csp_violation(
        basket_world, live_server, browser):
    """htmx settles attributes from the old element onto the new one; copying ``style`` (which the CSSOM,
    an extension or a screenshot tool may have set) is an inline style the CSP blocks."""
    context, page, _, errors = open_context(browser, {"viewport": {"width": 1280, "height": 800},
                                                      "locale": "zh-CN"})
    try:
        open_basket(context, page, live_server, basket_world)
        page.evaluate("document.getElementById('basket').style.outline = '0px solid transparent'")
        with page.expect_response(re.compile(r"/counter/v/\d+\?")):
            page.locator("button[name=add]").first.click()
        page.locator("#basket.htmx-settling").wait_for(state="detached")
        until_reported(page)
    finally:
        context.close()
    assert not errors, errors


def test_a_basket_change_that_fails_says_so_instead_of_doing_nothing(basket_world, live_server, browser):
    """htmx leaves the page as it was when a request fails; the page says so (a lost connection, a busy
    server), and the note goes away with the next request that works."""
    context, page, _, errors = open_context(browser, {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"})
    basket_request = re.compile(r"/counter/v/\d+\?")
    note = page.locator("#request-failed")
    try:
        open_basket(context, page, live_server, basket_world)
        assert note.is_hidden()
        for answer, told in ((lambda route: route.abort(), "网络断了"),
                             (lambda route: route.fulfill(status=503, body="busy"), "服务器正忙"),
                             (lambda route: route.fulfill(status=500, body="error"), "服务器出错")):
            page.route(basket_request, answer)
            page.locator("button[name=add]").nth(1).click()
            note.wait_for(state="visible")
            assert told in note.inner_text()
            assert page.locator(".chosen-lines li").count() == 0  # nothing was added
            page.unroute(basket_request)
        with page.expect_response(basket_request):
            page.locator("button[name=add]").nth(1).click()
        note.wait_for(state="hidden")
        page.locator("#basket.htmx-settling").wait_for(state="detached")
        assert page.locator(".chosen-lines li").count() == 1
    finally:
        context.close()
    # What this test made fail, Chromium and htmx report as console errors: those, and only those, are expected.
    caused = re.compile(r"^(htmx:afterRequest|htmx:sendError|Failed to load resource: (net::ERR_FAILED|the server "
                        r"responded with a status of 50[03])|Response Status Error Code 50[03])[ ,]")
    errors[:] = [error for error in errors if not caused.match(error)]
