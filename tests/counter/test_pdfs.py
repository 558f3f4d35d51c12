"""Counter PDFs through HTTP: the 58 mm redemption receipt (staff, and the volunteer's own) with its
ETag, and the volunteer cards (eight to an A4 sheet). The PDFs are read back with poppler-utils:
``pdfinfo`` (page size and count), ``pdffonts`` (the CJK font is embedded, so Chinese is not boxes)
and ``pdftotext`` (what they say)."""
import re
import shutil
import subprocess
import tempfile

import pytest

from gridapp.clock import local_today, utcnow
from gridapp.counter import pdf_views
from gridapp.counter import service as counter
from gridapp.extensions import db
from gridapp.org.service import first_grid
from gridapp.points import service as points

from .. import factories

pytestmark = [pytest.mark.pdf,
              pytest.mark.skipif(not shutil.which("pdfinfo"), reason="poppler-utils is not installed")]

MM = 72 / 25.4  # PDF points per millimetre
A4 = (210 * MM, 297 * MM)


def poppler(tool: str, pdf: bytes, *args) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        return subprocess.run([tool, *args, f.name] + (["-"] if tool == "pdftotext" else []),
                              capture_output=True, text=True, check=True, timeout=60).stdout


def page_info(pdf: bytes) -> tuple[int, float, float]:
    """(pages, width, height in points) of the first page."""
    info = poppler("pdfinfo", pdf)
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    return int(re.search(r"Pages:\s+(\d+)", info).group(1)), float(width), float(height)


def text_of(pdf: bytes) -> str:
    return poppler("pdftotext", pdf)


def assert_embedded_cjk_font(pdf: bytes):
    fonts = poppler("pdffonts", pdf).splitlines()[2:]
    cjk = [line for line in fonts if "Noto" in line and "CJK" in line]
    assert cjk, f"no Noto CJK font in the PDF: {fonts}"
    assert all(line.split()[-5] == "yes" for line in cjk), f"a CJK font is not embedded: {cjk}"


@pytest.fixture
def staff(app):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")
    db.session.commit()
    return factories.make_user(role="staff", name="贾亮")


@pytest.fixture
def goods(staff):
    rice = factories.make_item("大米", unit="袋", points_price=30)
    oil = factories.make_item("食用油", unit="瓶", points_price=60)
    factories.donate(staff, factories.make_sponsor("物业公司"), (rice, 20), (oil, 20))
    return rice, oil


def volunteer_with_points(name, n=500):
    volunteer = factories.make_user(name=name)
    points.award(volunteer, n, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    db.session.commit()
    return volunteer


@pytest.fixture
def redemption(staff, goods):
    rice, oil = goods
    volunteer = volunteer_with_points("艾力努尔·拜克力")
    session = counter.open_session(staff, local_today())
    redemption = counter.redeem(staff, session, volunteer, {rice.id: 2, oil.id: 1}, token="pdf", now=utcnow())
    db.session.commit()
    return redemption


# --- the receipt -----------------------------------------------------------------------------

def test_receipt_pdf_and_page_are_signed_by_the_grid_as_the_tree_names_it(client, staff, redemption):
    client.login(staff.phone)
    url = f"/counter/redemptions/{redemption.id}/receipt.pdf"
    first = client.get(url)
    assert "屯坪社区 · 迪祥佳苑B区网格党支部" in text_of(first.data)
    grid = first_grid()
    grid.organiser, grid.parent.name = "红柳园A区网格党支部", "胜利社区"
    db.session.commit()
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200  # the old ETag no longer matches: the names are part of what it shows
    text = text_of(again.data)
    assert "胜利社区 · 红柳园A区网格党支部" in text and "屯坪" not in text
    page = client.get(f"/counter/redemptions/{redemption.id}").get_data(as_text=True)
    assert "胜利社区 · 红柳园A区网格党支部" in page


def test_receipt_pdf_is_a_58_mm_slip_in_chinese_with_everything_on_it(client, staff, redemption):
    client.login(staff.phone)
    response = client.get(f"/counter/redemptions/{redemption.id}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.data
    assert pdf.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == f'inline; filename="{redemption.receipt_no}.pdf"'
    assert response.headers["Cache-Control"] == "private, no-cache" and response.headers["ETag"]
    pages, width, height = page_info(pdf)
    assert pages == 1 and abs(width - 58 * MM) < 0.5, f"{pages} pages of {width / MM:.1f} mm"
    assert 60 * MM < height < 160 * MM, f"a two-line receipt {height / MM:.0f} mm long"
    assert_embedded_cjk_font(pdf)
    text = text_of(pdf)
    household = redemption.household
    for expected in ("积分兑换凭条", redemption.receipt_no, "艾力努尔·拜克力",
                     f"{household.building}栋{household.unit}单元{household.room}室",
                     "大米 × 2", "食用油 × 1", "60", "120 分", "经办：贾亮"):
        assert expected in text, f"{expected!r} is not on the receipt:\n{text}"
    assert "VOID" not in text and "作废" not in text


def test_receipt_etag_answers_304_and_a_void_changes_the_pdf(client, staff, redemption):
    client.login(staff.phone)
    url = f"/counter/redemptions/{redemption.id}/receipt.pdf"
    first = client.get(url)
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag

    counter.void(staff, redemption, "拿错了物品，重新兑换", utcnow())
    db.session.commit()
    voided = client.get(url, headers={"If-None-Match": etag})
    assert voided.status_code == 200 and voided.headers["ETag"] != etag
    text = text_of(voided.data)
    assert "已作废" in text and "VOID" in text and "作废原因：拿错了物品，重新兑换" in text
    assert redemption.receipt_no in text and "由 贾亮 作废" in text
    assert page_info(voided.data)[0] == 1


def test_a_long_receipt_still_fits_one_slip(client, staff):
    items = [factories.make_item(f"洗衣液{n}号（三公斤装，薰衣草香型，家庭装特惠）", points_price=10)
             for n in range(6)]
    factories.donate(staff, factories.make_sponsor(), *[(item, 5) for item in items])
    volunteer = volunteer_with_points("阿卜杜热合曼·买买提明江·艾力努尔·拜克力")
    session = counter.open_session(staff, local_today())
    redemption = counter.redeem(staff, session, volunteer, {item.id: 3 for item in items}, token="long", now=utcnow())
    counter.void(staff, redemption, "顾客拿错了物品，全部退回后重新兑换。" * 5, utcnow())
    db.session.commit()
    client.login(staff.phone)
    pdf = client.get(f"/counter/redemptions/{redemption.id}/receipt.pdf").data
    pages, width, height = page_info(pdf)
    assert pages == 1, f"the receipt ran over onto {pages} pages of {height / MM:.0f} mm"
    assert abs(width - 58 * MM) < 0.5
    assert "合计 18 件" in text_of(pdf)


def test_volunteer_gets_their_own_receipt_pdf_and_not_anothers(client, staff, goods, redemption):
    rice, _ = goods
    other = volunteer_with_points("蒋生军")
    theirs = counter.redeem(staff, redemption.session, other, {rice.id: 1}, token="other", now=utcnow())
    db.session.commit()
    client.login(redemption.volunteer.phone)
    mine = client.get(f"/me/redemptions/{redemption.id}/receipt.pdf")
    assert mine.status_code == 200 and mine.data.startswith(b"%PDF")
    assert redemption.receipt_no in text_of(mine.data)
    assert client.get(f"/me/redemptions/{theirs.id}/receipt.pdf").status_code == 404
    assert client.get("/me/redemptions/99999/receipt.pdf").status_code == 404
    assert client.get(f"/counter/redemptions/{redemption.id}/receipt.pdf").status_code == 403
    assert client.get("/counter/cards.pdf?team=all").status_code == 403
    page = client.get(f"/me/redemptions/{redemption.id}").get_data(as_text=True)
    assert f'href="/me/redemptions/{redemption.id}/receipt.pdf"' in page


def test_staff_cannot_use_the_volunteers_route(client, staff, redemption):
    client.login(staff.phone)
    assert client.get(f"/me/redemptions/{redemption.id}/receipt.pdf").status_code == 403
    page = client.get(f"/counter/redemptions/{redemption.id}").get_data(as_text=True)
    assert f'href="/counter/redemptions/{redemption.id}/receipt.pdf"' in page
    assert f'href="/counter/cards.pdf?ids={redemption.volunteer_id}"' in page


def test_receipt_height_follows_the_content():
    short = {"volunteer": "张三", "household": "1栋1单元101室", "voided": False, "void_reason": None,
             "lines": [{"item": "大米", "quantity": 1}]}
    longer = dict(short, lines=short["lines"] * 5)
    voided = dict(short, voided=True, void_reason="拿错了")
    assert pdf_views.receipt_height_mm(short) < pdf_views.receipt_height_mm(longer)
    assert pdf_views.receipt_height_mm(short) < pdf_views.receipt_height_mm(voided)
    assert pdf_views.text_rows("一二三四五六七八九十一二", 12) == 1
    assert pdf_views.text_rows("一二三四五六七八九十一二三", 12) == 2
    assert pdf_views.text_rows("abcdefghijklmnopqrstuvwx", 12) == 1  # Latin is half as wide


# --- volunteer cards -------------------------------------------------------------------------

def test_nine_cards_by_id_make_two_a4_sheets_with_names_households_and_codes(client, staff):
    volunteers = [factories.make_user(name=f"志愿者{n}号") for n in range(8)]
    volunteers.append(factories.make_user(name="艾力努尔·拜克力"))
    volunteers[-1].volunteer_code = None  # an account from before the cards: a code is made first (POST)
    db.session.commit()
    client.login(staff.phone)
    url = "/counter/cards.pdf?ids=" + ",".join(str(v.id) for v in volunteers)
    asked = client.get(url)
    assert asked.status_code == 409 and "艾力努尔·拜克力" in asked.get_data(as_text=True)
    db.session.expire_all()
    assert volunteers[-1].volunteer_code is None  # printing (GET) never writes
    made = client.submit("/counter/cards.pdf", {"ids": ",".join(str(v.id) for v in volunteers)}, page=url)
    assert made.status_code == 303 and made.location == url
    response = client.get(made.location)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert re.fullmatch(r'inline; filename="volunteer-cards-\d{8}\.pdf"', response.headers["Content-Disposition"])
    pages, width, height = page_info(response.data)
    assert pages == 2 and abs(width - A4[0]) < 1 and abs(height - A4[1]) < 1
    assert_embedded_cjk_font(response.data)
    db.session.expire_all()
    assert volunteers[-1].volunteer_code, "the card's code was not saved"
    text = text_of(response.data)
    for volunteer in volunteers:
        household = volunteer.household
        assert volunteer.name in text and volunteer.volunteer_code in text
        assert f"{household.building}栋{household.unit}单元{household.room}室" in text
    assert "第 1 页，共 2 页" in text and "沿虚线剪开" in text
    assert text.count("扫码兑换") == 9  # the caption under each card's QR code


@pytest.mark.skipif(not shutil.which("zbarimg") or not shutil.which("pdftoppm"), reason="needs zbar-tools, poppler")
def test_the_printed_qr_codes_scan_as_the_volunteer_codes(client, staff, tmp_path):
    volunteers = [factories.make_user() for _ in range(2)]
    client.login(staff.phone)
    pdf = client.get("/counter/cards.pdf?ids=" + ",".join(str(v.id) for v in volunteers)).data
    (tmp_path / "cards.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(tmp_path / "cards.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    [image] = tmp_path.glob("page*.png")
    scanned = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True, timeout=60)
    assert set(scanned.stdout.split()) == {v.volunteer_code for v in volunteers}


def test_cards_by_team_only_active_volunteers_and_optionally_only_those_never_logged_in(client, staff):
    team, other_team = factories.make_team("环保小卫士"), factories.make_team()
    never = factories.make_user(name="从未登录", team=team)
    logged_in = factories.make_user(name="登录过的", team=team, last_login_at=utcnow())
    factories.make_user(name="已停用的", team=team, status="disabled")
    factories.make_user(name="别队的", team=other_team)
    client.login(staff.phone)

    text = text_of(client.get(f"/counter/cards.pdf?team={team.id}").data)
    assert never.name in text and logged_in.name in text
    assert "已停用的" not in text and "别队的" not in text
    text = text_of(client.get(f"/counter/cards.pdf?team={team.id}&unused=1").data)
    assert never.name in text and logged_in.name not in text
    everyone = text_of(client.get("/counter/cards.pdf?team=all").data)
    assert "别队的" in everyone and never.name in everyone and "已停用的" not in everyone
    assert staff.name not in everyone  # volunteers only


def test_cards_by_phone_numbers_as_staff_type_them(client, staff):
    first, second = factories.make_user(name="甲"), factories.make_user(name="乙")
    client.login(staff.phone)
    response = client.get(f"/counter/cards.pdf?phones={second.phone}，{first.phone} {second.phone}")
    assert response.status_code == 200
    assert page_info(response.data)[0] == 1
    text = text_of(response.data)
    assert second.volunteer_code in text and first.volunteer_code in text


def test_unknown_or_inactive_volunteers_are_named_and_nothing_prints(client, staff):
    known = factories.make_user()
    disabled = factories.make_user(status="disabled")
    client.login(staff.phone)
    response = client.get(f"/counter/cards.pdf?ids={known.id},{disabled.id},99999,{staff.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert f"找不到这些志愿者：编号 {disabled.id}、99999、{staff.id}" in html and "没有打印任何卡" in html
    response = client.get("/counter/cards.pdf?phones=13999999999")
    assert response.status_code == 404 and "手机号 13999999999" in response.get_data(as_text=True)
    assert client.get("/counter/cards.pdf?team=99999").status_code == 404
    assert "找不到这个服务队" in client.get("/counter/cards.pdf?team=99999").get_data(as_text=True)


def test_a_team_without_volunteers_or_no_choice_at_all_is_a_clear_message(client, staff):
    client.login(staff.phone)
    empty = client.get(f"/counter/cards.pdf?team={factories.make_team().id}")
    assert empty.status_code == 404 and "没有符合条件的志愿者" in empty.get_data(as_text=True)
    for query in ("", "?ids=", "?ids=1;DROP", "?ids=3,x", "?phones=1380013", "?team="):
        response = client.get(f"/counter/cards.pdf{query}")
        assert response.status_code == 400, query
        assert "请选择要打印哪些志愿者的卡" in response.get_data(as_text=True)


def test_too_many_cards_are_refused_with_the_count(client, staff, monkeypatch):
    monkeypatch.setattr(pdf_views, "MAX_CARDS", 3)
    volunteers = [factories.make_user() for _ in range(4)]
    client.login(staff.phone)
    response = client.get("/counter/cards.pdf?team=all")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "一次最多打印 3 张卡，这次选中了 4 位志愿者" in html
    ids = ",".join(str(v.id) for v in volunteers)
    assert client.get(f"/counter/cards.pdf?ids={ids}").status_code == 422
    assert client.get(f"/counter/cards.pdf?ids={ids.rsplit(',', 1)[0]}").status_code == 200


def test_counter_page_offers_the_card_form_with_the_teams(client, staff):
    team = factories.make_team("环保小卫士")
    client.login(staff.phone)
    html = client.get("/counter").get_data(as_text=True)
    assert 'action="/counter/cards.pdf"' in html and "打印志愿者卡" in html
    assert f'<option value="{team.id}">环保小卫士</option>' in html and 'name="phones"' in html
    assert f"一次最多 {pdf_views.MAX_CARDS} 张" in html
