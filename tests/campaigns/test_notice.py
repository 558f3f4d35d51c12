"""The printed papers: the A4 notice (CJK font embedded, one page, title, QR to the sign-up page,
issuer bottom right) and each zone's sign-in sheet; caching by content."""
import io
import re
import shutil
import subprocess

import pytest
import segno

from gridapp.campaigns import notice
from gridapp.campaigns import service as campaigns
from gridapp.extensions import db
from gridapp.org.service import first_grid
from gridapp.pdf import serif_heading_css
from gridapp.qr import qr_png

from .. import factories
from .conftest import EVENING_BEFORE, ZONES, details, make_campaign, page_count, pdf_info, poppler

pytestmark = pytest.mark.pdf  # WeasyPrint output: checked in the SQLite pass only

BASE = "https://grid.example.cn"
LONG_NAME = "阿不都热合曼·托合提"


@pytest.fixture
def request_context(app):
    with app.test_request_context("/", base_url=BASE):
        yield


def notice_pdf(campaign) -> bytes:
    return notice.render_notice(notice.notice_context(campaign))


def test_the_notice_embeds_a_cjk_font(campaign, request_context, tmp_path):
    fonts = poppler("pdffonts", notice_pdf(campaign), tmp_path=tmp_path).splitlines()[2:]
    assert fonts, "no fonts in the notice"
    for line in fonts:
        name, emb = line.split()[0], line.split()[-5]
        assert re.search(r"Noto-?(Sans|Serif)-?CJK", name), line
        assert emb == "yes", f"font not embedded: {line}"


def test_six_zones_fit_one_a4_page(campaign, request_context, tmp_path):
    info = pdf_info(notice_pdf(campaign), tmp_path)
    assert info["Pages"].strip() == "1"
    assert "(A4)" in info["Page size"]


def test_the_notice_says_what_where_when_and_who(campaign, request_context, tmp_path):
    pdf = notice_pdf(campaign)
    flat = re.sub(r"\s+", "", poppler("pdftotext", pdf, tmp_path=tmp_path))
    assert "关于开展扫雪除冰志愿服务活动的通知" in flat
    assert "2026年12月26日（星期六）" in flat and "10:00—12:00" in flat
    assert "集合地点迪祥佳苑B区南门广场" in flat
    for name in ("南门片区", "北门片区", "中心广场", "9—11号楼及背街小巷", "艾力努尔·拜克力", "携带工具", "安全提示"):
        assert name in flat, name
    assert "每人可得15积分" in flat
    assert "草稿" not in flat
    # the issuer and the date at the bottom right, as Chinese notices end
    lines = [line for line in poppler("pdftotext", pdf, "-layout", tmp_path=tmp_path).splitlines() if line.strip()]
    assert lines[-2].strip() == "屯坪社区党总支" and lines[-1].strip() == "2026年12月25日"
    assert len(lines[-1]) - len(lines[-1].lstrip()) > 40, "the date is not on the right"


def test_each_zone_says_its_area_then_who_clears_it_with_phone_and_number_needed(campaign, request_context, tmp_path):
    """A zone is a paragraph: its number, name and range on one line, then its team, leader (phone) and
    how many people; a missing phone leaves no gap."""
    text = poppler("pdftotext", notice_pdf(campaign), "-layout", tmp_path=tmp_path)
    lines = [re.sub(r"\s+", "", line) for line in text.splitlines() if line.strip()]
    for number, (name, description, team, leader, phone, needed) in enumerate(ZONES, 1):
        area = f"{number}．{name}：{description}"
        assert area in lines, area
        assert lines[lines.index(area) + 1] == f"责任队伍：{team}负责人：{leader}{phone}需{needed}人"


def test_a_zone_with_only_a_name_prints_no_empty_labels(staff, request_context, tmp_path):
    campaign = make_campaign(staff, zones=0)
    campaigns.add_zone(staff, campaign, campaigns.ZoneDetails(name="西门片区", needed=3))
    db.session.commit()
    flat = re.sub(r"\s+", "", poppler("pdftotext", notice_pdf(campaign), tmp_path=tmp_path))
    assert "1．西门片区需3人" in flat
    assert "责任队伍" not in flat and "负责人：" not in flat


def test_notices_with_different_titles_in_one_process_each_print_their_own_heading(staff, request_context, tmp_path):
    """Each title's serif cut is its own font family: under one shared name, the second title was drawn
    with the first cut's glyphs and printed other characters (as a worker prints notice after notice)."""
    titles = ["北门积雪清扫", "中心广场除冰", "北门积雪清扫"]
    for title in titles:
        printed = re.sub(r"\s+", "", poppler("pdftotext", notice_pdf(make_campaign(staff, title=title)), tmp_path=tmp_path))
        assert f"关于开展{title}志愿服务活动的通知" in printed, printed[:60]


def test_titles_that_differ_only_in_their_date_share_one_heading_face_and_print_their_own(staff, request_context,
                                                                                          tmp_path):
    """A campaign copied with a new date needs no new heading face (registering one costs a worker ~20 ms),
    and each notice still prints its own date."""
    titles = ["12月2日扫雪除冰", "1月26日扫雪除冰", "12月30日扫雪除冰"]
    faces = {serif_heading_css("屯坪社区党总支" + campaigns.notice_heading(title), ".masthead, h1")
             for title in titles}
    assert len(faces) == 1
    assert len(faces | {serif_heading_css("屯坪社区党总支关于开展北门积雪清扫志愿服务活动的通知", ".masthead, h1")}) == 2
    for title in titles:
        printed = re.sub(r"\s+", "", poppler("pdftotext", notice_pdf(make_campaign(staff, title=title)), tmp_path=tmp_path))
        assert f"关于开展{title}志愿服务活动的通知" in printed, printed[:60]


def embedded_images(pdf: bytes, tmp_path) -> list:
    """The PDF's images (pdfimages), as Pillow images, and whether each is drawn smoothed (interpolated)."""
    from PIL import Image

    listing = poppler("pdfimages", pdf, "-list", tmp_path=tmp_path).splitlines()[2:]
    path = tmp_path / "images.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdfimages", "-png", str(path), str(tmp_path / "image")], check=True, timeout=60)
    files = sorted(tmp_path.glob("image-*.png"))
    assert len(files) == len(listing)
    return [(Image.open(path).convert("L"), line.split()[9]) for path, line in zip(files, listing)]


def test_the_qr_code_is_the_sign_up_page_drawn_unsmoothed(campaign, request_context, tmp_path):
    """The notice's one image is the QR code of its sign-up URL, pixel for pixel (4 a module), and the PDF
    tells viewers and printers not to smooth it (sharp modules when it is printed 38 mm wide)."""
    from PIL import Image

    url = f"{BASE}/campaigns/{campaign.id}"
    assert notice.notice_context(campaign)["signup_url"] == url
    [(image, interpolated)] = embedded_images(notice_pdf(campaign), tmp_path)
    expected = Image.open(io.BytesIO(qr_png(url))).convert("L")
    assert image.size == expected.size == ((segno.make(url, error="m", micro=False).symbol_size(scale=4)))
    assert image.tobytes() == expected.tobytes()
    assert image.tobytes() != Image.open(io.BytesIO(qr_png(f"{BASE}/campaigns/{campaign.id + 1}"))).tobytes()
    assert interpolated == "no"


@pytest.mark.skipif(not shutil.which("zbarimg") or not shutil.which("pdftoppm"), reason="needs zbar-tools, poppler")
def test_the_printed_qr_code_scans_as_the_sign_up_url(campaign, request_context, tmp_path):
    """Printed in black and white at 150 dpi, a phone-style scanner reads the sign-up URL."""
    path = tmp_path / "notice.pdf"
    path.write_bytes(notice_pdf(campaign))
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", str(path), str(tmp_path / "page")], check=True, timeout=60)
    scanned = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")], capture_output=True,
                             text=True, timeout=60)
    assert scanned.stdout.split() == [f"{BASE}/campaigns/{campaign.id}"]


def test_a_draft_notice_is_marked(staff, request_context, tmp_path):
    draft = make_campaign(staff, zones=2)
    text = poppler("pdftotext", notice_pdf(draft), tmp_path=tmp_path)
    assert "草稿（未发布）· 请勿张贴" in text


def words_outside_the_page(pdf: bytes, tmp_path) -> list[str]:
    """Words whose box leaves the printable area (10 mm from each edge: the smallest margin used)."""
    html = poppler("pdftotext", pdf, "-bbox", tmp_path=tmp_path)
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S)
    margin = 10 / 25.4 * 72 - 1
    outside = []
    for width, height, body in pages:
        for x1, y1, x2, y2, word in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', body):
            if float(x1) < margin or float(x2) > float(width) - margin or float(y2) > float(height) - 5:
                outside.append(word)
    return outside


def test_long_texts_and_uyghur_names_stay_inside_the_page(staff, request_context, tmp_path):
    campaign = campaigns.create_campaign(staff, details(
        staff, title="关于开展“双报到双服务”在职党员进社区扫雪除冰志愿服务专项行动的紧急通知（第二次）",
        body=("各位党员、志愿者、居民朋友：\n" + "近期受持续大范围降雪影响，小区人行道、单元门口、停车场及部分背街小巷出现大面积积雪结冰现象，"
              "给居民特别是老年人和上学的孩子出行带来很大不便。" * 6)[:500],
        tools=("铁锹、扫帚、推雪板、冰铲、防滑手套、簸箕、编织袋，" * 5)[:100],
        safety="\n".join(["穿防滑鞋、戴手套和帽子，注意脚下结冰路面，避免滑倒摔伤。"] * 8)[:240],
        contact_name="艾力努尔·拜克力", organiser="屯坪社区党总支　迪祥佳苑B区网格党支部"), EVENING_BEFORE)
    for n in range(6):
        campaigns.add_zone(staff, campaign, campaigns.ZoneDetails(
            name=f"第{n + 1}区：9至11号楼及背街小巷"[:30], needed=8,
            description=("9至11号楼楼前道路及小区东侧背街小巷，重点清扫坡道、台阶和盲道" * 2)[:60],
            team=("屯坪社区党总支在职党员（双报到）" * 2)[:30], leader_name=f"{LONG_NAME}·买买提江",
            leader_phone="13909940013"))
    db.session.commit()
    pdf = notice_pdf(campaign)
    assert words_outside_the_page(pdf, tmp_path) == []
    assert page_count(pdf, tmp_path) <= 2  # every field at its longest: at most a second page
    text = poppler("pdftotext", pdf, tmp_path=tmp_path)
    for part in ("阿不都热合曼·", "托合提·", "买买提江"):  # a name breaks only after a "·", never inside a part
        assert text.count(part) == 6, part
    assert "屯坪社区党总支迪祥佳苑B区网格党支部" in re.sub(r"\s+", "", text)


@pytest.mark.parametrize("extra_lines", range(0, 14, 2))
def test_the_issuer_and_date_are_never_cut_off(staff, request_context, tmp_path, extra_lines):
    """Whatever the length of the body, the notice ends with the issuer and the date on paper:
    at the bottom right of its last page, inside the page."""
    campaign = make_campaign(staff, body=campaigns.snow_template(first_grid())["body"] + "\n请大家相互转告。" * extra_lines)
    pdf = notice_pdf(campaign)
    assert words_outside_the_page(pdf, tmp_path) == []
    lines = [line for line in poppler("pdftotext", pdf, "-layout", tmp_path=tmp_path).splitlines() if line.strip()]
    assert [line.strip() for line in lines[-2:]] == ["屯坪社区党总支", "2026年12月25日"]
    assert page_count(pdf, tmp_path) == 1


def test_six_zones_with_long_descriptions_still_fit_one_page(staff, request_context, tmp_path):
    campaign = make_campaign(staff, zones=0)
    for n in range(6):
        campaigns.add_zone(staff, campaign, campaigns.ZoneDetails(
            name=f"第{n + 1}区", needed=8, description=("楼前道路、单元门口台阶、坡道和盲道上的积雪与薄冰" * 3)[:60],
            team="屯坪社区党总支在职党员（双报到）", leader_name=LONG_NAME, leader_phone="13909940013"))
    db.session.commit()
    pdf = notice_pdf(campaign)
    assert page_count(pdf, tmp_path) == 1
    assert words_outside_the_page(pdf, tmp_path) == []


# --- the sign-in sheet -------------------------------------------------------------------------

def test_the_sign_in_sheet_lists_names_phone_tails_and_blank_rows(campaign, request_context, tmp_path):
    zone = campaign.zones[1]
    people = [factories.make_user(name="艾力努尔·拜克力", phone="13912345678"), factories.make_user(name="王建国")]
    for person in people:
        campaigns.sign_up(person, zone, EVENING_BEFORE)
    db.session.commit()
    context = notice.sheet_context(zone)
    assert [(p["no"], p["name"], p["phone_tail"]) for p in context["people"]] == [
        (1, "艾力努尔·拜克力", "5678"), (2, "王建国", people[1].phone[-4:])]
    assert context["blank_rows"] == list(range(3, notice.SHEET_MIN_ROWS + 1))
    pdf = notice.render_sheet(context)
    assert page_count(pdf, tmp_path) == 1
    text = poppler("pdftotext", pdf, "-layout", tmp_path=tmp_path)
    for expected in ("扫雪除冰志愿服务签到表", "北门片区", "艾力努尔·拜克力", "5678", "本人签名", "手机尾号",
                     "已报名 2 人", "区域负责人签字"):
        assert expected in text, expected
    assert "13912345678" not in text  # only the last four digits


def test_a_full_sheet_still_has_blank_rows_for_walk_ins(staff, request_context):
    campaign = make_campaign(staff, zones=1, publish_at=EVENING_BEFORE)
    zone = campaign.zones[0]
    campaigns.update_zone(staff, zone, campaigns.ZoneDetails(name=zone.name, needed=20))
    for _ in range(20):
        campaigns.sign_up(factories.make_user(), zone, EVENING_BEFORE)
    db.session.commit()
    context = notice.sheet_context(zone)
    assert len(context["people"]) == 20 and context["blank_rows"] == list(range(21, 21 + notice.SHEET_BLANK_ROWS))


# --- caching by content ------------------------------------------------------------------------

def test_same_text_same_pdf_without_rendering_again(campaign, request_context, monkeypatch):
    rendered = []
    real = notice.RENDERERS[notice.NOTICE_TEMPLATE]
    monkeypatch.setitem(notice.RENDERERS, notice.NOTICE_TEMPLATE, lambda ctx: rendered.append(1) or real(ctx))
    first = notice.cached_pdf(notice.NOTICE_TEMPLATE, notice.notice_context(campaign))
    again = notice.cached_pdf(notice.NOTICE_TEMPLATE, notice.notice_context(campaign))
    assert first is again and len(rendered) == 1


def test_the_fingerprint_changes_with_the_text_but_not_with_sign_ups(campaign, request_context):
    def etag():
        return notice.fingerprint(notice.NOTICE_TEMPLATE, notice.notice_context(campaign))

    before = etag()
    campaigns.sign_up(factories.make_user(), campaign.zones[0], EVENING_BEFORE)
    db.session.commit()
    assert etag() == before  # the notice shows the text, not the sign-ups
    campaign.tools = "铁锹、扫帚"
    assert etag() != before
    campaign.tools = campaigns.SNOW_TEXTS["tools"]
    assert etag() == before
    campaign.zones[2].leader_name = "艾力努尔·拜克力"
    assert etag() != before
