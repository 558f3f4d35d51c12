"""The exchange counter driven with the keyboard alone, in a real Chromium at 1280×800.

A grid worker at the table (a laptop, maybe a USB scanner that types like a keyboard) finds the
volunteer by the last 4 digits of the phone, adds two different items with Tab / Enter / typed
numbers, tabs to 确认兑换, presses Enter, and gets the receipt, which prints as the 58 mm slip and
nothing else. Then the volunteer, on a cheap phone, finds the receipt in the redemption history. Both
devices start logged in (``sign_in``: the login is not what this checks) and run at full speed (the
slow network is what other tests check: the first visit, the QR scan, the upload).

Screenshots go to ``$GRIDAPP_SCREENSHOTS/<test name>/`` when it is set (``snap``).
"""
import re
import subprocess
from urllib.parse import urlsplit

import pytest

from gridapp.clock import local_today
from gridapp.counter import service as counter
from gridapp.extensions import db
from gridapp.points import service as points

from .. import factories
from .conftest import horizontal_overflow, open_laptop, open_phone, sign_in, snap

pytestmark = pytest.mark.browser

PX_PER_MM = 96 / 25.4


def path_of(page) -> str:
    return urlsplit(page.url).path


def start_at(context, page, live_server, phone, path):
    """``page`` at ``path``, logged in as ``phone`` by cookie."""
    sign_in(context, live_server, phone, factories.PASSWORD)
    page.goto(f"{live_server.url}{path}")
    assert path_of(page) == path


def focused(page) -> dict:
    """What has the keyboard focus: its id, tag, name and text."""
    return page.evaluate("""() => { const e = document.activeElement;
        return {id: e.id, tag: e.tagName.toLowerCase(), name: e.name || "", text: (e.innerText || "").trim()}; }""")


def press_and_swap(page, key):
    """Press ``key`` where the focus is and wait until htmx has swapped in the basket it asked for."""
    page.evaluate("document.getElementById('basket').dataset.before = 'yes'")  # the new basket lacks it
    with page.expect_response(re.compile(r"/counter/v/\d+\?")) as answer:
        page.keyboard.press(key)
    assert answer.value.status == 200
    assert answer.value.request.headers.get("hx-request") == "true", "the basket was not updated by htmx"
    page.locator("#basket:not([data-before])").wait_for()
    page.locator("#basket.htmx-settling").wait_for(state="detached")


def print_to_pdf(page, path) -> tuple[str, int, float]:
    """Print ``page`` as Chromium would (print media, the CSS page size): (text, pages, page width in mm)."""
    page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    width_pt = float(re.search(r"Page size:\s+([\d.]+) x", info).group(1))
    return text, int(re.search(r"Pages:\s+(\d+)", info).group(1)), width_pt / 72 * 25.4


def tab_until(page, predicate, limit=40, key="Tab") -> dict:
    """Press Tab until ``predicate(focused element)``; fail after ``limit`` presses."""
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        if predicate(now):
            return now
    pytest.fail(f"{key} never reached the control (last focus: {focused(page)})")


def test_a_whole_redemption_with_the_keyboard_then_the_volunteer_sees_it(app, live_server, browser, shots,
                                                                         tmp_path):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试")  # today is a redemption day, whatever the date
    db.session.commit()
    staff = factories.make_user(role="staff", name="贾亮")
    sponsor = factories.make_sponsor("物业公司")
    # The grid shows items by category, price, name: rice first, then soap, then oil.
    rice = factories.make_item("大米", unit="袋", points_price=30, category="粮油")
    soap = factories.make_item("香皂", unit="个", points_price=40, category="粮油")
    oil = factories.make_item("食用油", unit="瓶", points_price=60, category="粮油")
    factories.donate(staff, sponsor, (rice, 10), (soap, 10), (oil, 10))
    volunteer = factories.make_user(name="艾力努尔·拜克力")
    points.award(volunteer, 300, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    counter.open_session(staff, local_today())
    db.session.commit()
    staff_phone, volunteer_phone, volunteer_id = staff.phone, volunteer.phone, volunteer.id
    rice_id, soap_id = rice.id, soap.id
    db.session.remove()  # hold no connection while the server works

    laptop, page, _, laptop_errors = open_laptop(browser)
    phone, phone_page, phone_requests, phone_errors = open_phone(browser)
    try:
        start_at(laptop, page, live_server, staff_phone, "/counter")
        page.wait_for_function("window.htmx !== undefined")

        # The search box has the focus: type the last 4 digits and Enter.
        assert focused(page)["id"] == "q", f"the search box is not focused on load: {focused(page)}"
        page.keyboard.type(volunteer_phone[-4:])
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert path_of(page) == f"/counter/v/{volunteer_id}"
        assert page.locator("h1").inner_text() == "艾力努尔·拜克力"
        page.wait_for_function("window.htmx !== undefined")
        snap(page, shots / "1-volunteer-1280.png")

        # The focus starts on the first item's quantity; Tab to its + and press Enter.
        assert focused(page)["id"] == f"q{rice_id}", f"not on the first item: {focused(page)}"
        page.keyboard.press("Tab")
        assert focused(page)["id"] == f"add{rice_id}", focused(page)
        press_and_swap(page, "Enter")
        assert page.input_value(f"#q{rice_id}") == "1"
        assert focused(page)["id"] == f"add{rice_id}", f"focus lost after the swap: {focused(page)}"

        # Space on the same + adds another; Shift+Tab back to the quantity and type 1 over it.
        press_and_swap(page, "Space")
        assert page.input_value(f"#q{rice_id}") == "2"
        page.keyboard.press("Shift+Tab")
        assert focused(page)["id"] == f"q{rice_id}"
        page.keyboard.press("Control+A")
        page.keyboard.type("1")
        press_and_swap(page, "Enter")
        assert page.input_value(f"#q{rice_id}") == "1"
        assert focused(page)["id"] == f"q{rice_id}", f"focus lost after Enter in the quantity: {focused(page)}"

        # Tab on to the next item's quantity (its − is disabled, so skipped), type 2, Enter.
        tab_until(page, lambda f: f["id"] == f"q{soap_id}", limit=3)
        page.keyboard.type("2")  # keyboard focus selected the 0: typing replaces it
        press_and_swap(page, "Enter")
        assert page.input_value(f"#q{soap_id}") == "2"
        assert page.input_value(f"#q{rice_id}") == "1"
        # Enter again, nothing changed: the basket stays (the form's default button is no item's −).
        assert focused(page)["id"] == f"q{soap_id}", f"focus lost after Enter in the quantity: {focused(page)}"
        press_and_swap(page, "Enter")
        assert page.input_value(f"#q{soap_id}") == "2"
        assert page.input_value(f"#q{rice_id}") == "1", "Enter in a quantity pressed another item's − button"
        totals = page.locator(".totals").inner_text()
        assert "110" in totals and "190" in totals, totals  # 30 + 2 × 40; 300 − 110 left
        snap(page, shots / "2-basket-1280.png")

        # Tab to 确认兑换 and press Enter: the receipt.
        tab_until(page, lambda f: f["tag"] == "button" and f["text"] == "确认兑换")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        match = re.fullmatch(r"/counter/redemptions/(\d+)", path_of(page))
        assert match, page.url
        redemption_id = int(match.group(1))
        receipt = page.locator(".receipt")
        text = receipt.inner_text()
        receipt_no = re.search(r"DH-[A-Z]+-\d{4}-\d{4}", text).group(0)
        assert "大米×1" in text and "香皂×2" in text and "艾力努尔·拜克力" in text and "110" in text
        assert "经办：贾亮" in text
        snap(page, shots / "3-receipt-1280.png")

        # The print view: the 58 mm slip and nothing else.
        page.emulate_media(media="print")
        for chrome in (".bar", ".nav", ".foot", ".no-print"):
            assert not page.locator(chrome).first.is_visible(), f"{chrome} shows in print"
        assert receipt.is_visible()
        width_mm = receipt.bounding_box()["width"] / PX_PER_MM
        assert 50 <= width_mm <= 58, f"the printed receipt is {width_mm:.1f} mm wide"
        printed_text, pages, _ = print_to_pdf(page, tmp_path / "print.pdf")
        assert receipt_no in printed_text and "大米×1" in printed_text
        assert "兑换台" not in printed_text and "下一位" not in printed_text, "navigation in the print"
        assert pages == 1
        snap(page, shots / "4-receipt-print-1280.png")
        page.emulate_media(media="screen")

        # The volunteer's phone: log in, 志愿者卡 → 我的兑换记录 → the receipt.
        sign_in(phone, live_server, volunteer_phone, factories.PASSWORD)
        phone_page.goto(f"{live_server.url}/me")
        assert path_of(phone_page) == "/me"
        phone_page.get_by_role("link", name="志愿者卡").first.tap()
        phone_page.wait_for_url(f"{live_server.url}/me/card")
        phone_page.get_by_role("link", name="我的兑换记录").tap()
        phone_page.wait_for_url(f"{live_server.url}/me/redemptions")
        entry = phone_page.locator(".session-item", has_text=receipt_no)
        assert "大米×1" in entry.inner_text() and "香皂×2" in entry.inner_text()
        assert horizontal_overflow(phone_page) <= 0
        snap(phone_page, shots / "5-history-360.png")
        entry.tap()
        phone_page.wait_for_url(f"{live_server.url}/me/redemptions/{redemption_id}")
        mine = phone_page.locator(".receipt").inner_text()
        assert receipt_no in mine and "香皂×2" in mine and "110" in mine
        assert horizontal_overflow(phone_page) <= 0
        pdf_link = phone_page.get_by_role("link", name="下载 PDF 凭条")
        assert pdf_link.get_attribute("href") == f"/me/redemptions/{redemption_id}/receipt.pdf"
        pdf = phone.request.get(f"{live_server.url}/me/redemptions/{redemption_id}/receipt.pdf")
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
        snap(phone_page, shots / "6-receipt-360.png")
    finally:
        laptop.close()
        phone.close()
    foreign = [url for url in phone_requests
               if urlsplit(url).scheme != "data" and urlsplit(url).netloc != live_server.host]
    assert not foreign, f"requests left the live server: {foreign}"
    assert not laptop_errors, f"console errors or CSP violations on the laptop: {laptop_errors}"
    assert not phone_errors, f"console errors or CSP violations on the phone: {phone_errors}"


def test_the_printed_receipt_page_is_58_mm_wide(app, live_server, browser, tmp_path):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试")
    staff = factories.make_user(role="staff")
    rice = factories.make_item("大米", unit="袋", points_price=30)
    factories.donate(staff, factories.make_sponsor(), (rice, 5))
    volunteer = factories.make_user()
    points.award(volunteer, 100, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    session = counter.open_session(staff, local_today())
    redemption = counter.redeem(staff, session, volunteer, {rice.id: 1}, token="print", now=session.opened_at)
    db.session.commit()
    url, staff_phone = f"/counter/redemptions/{redemption.id}", staff.phone
    db.session.remove()

    laptop, page, _, errors = open_laptop(browser)
    try:
        start_at(laptop, page, live_server, staff_phone, url)
        page.emulate_media(media="print")
        _, pages, width_mm = print_to_pdf(page, tmp_path / "print.pdf")
    finally:
        laptop.close()
    assert not errors
    assert pages == 1 and abs(width_mm - 58) < 1, f"Chromium prints the receipt on a page {width_mm:.0f} mm wide"
