"""Donation receipts: the PDF (A5, Chinese with an embedded CJK font, QR code, VOID), who may
download it, its cache validation, and the public verification page behind the QR code.

The PDFs are checked with poppler-utils (pdffonts, pdfinfo, pdftotext): text extraction alone
would not notice Chinese printed as boxes, so the embedded fonts are checked too.
"""
import re
import shutil
import subprocess
import zlib
from datetime import date

import pytest
from jinja2 import ChoiceLoader, DictLoader
from weasyprint.urls import FatalURLFetchingError

from gridapp import pdf
from gridapp.extensions import db
from gridapp.goods import donations, receipts

from .. import factories

pytestmark = pytest.mark.pdf  # WeasyPrint output: checked in the SQLite pass only

A5_POINTS = (148 / 25.4 * 72, 210 / 25.4 * 72)  # 419.53 x 595.28
PHONE = re.compile(r"1[3-9]\d{9}")
LONG_SPONSOR = ("新疆维吾尔自治区乌鲁木齐市米东区三坪农场迪祥佳苑B区爱心企业联合会"
                "（ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789）")


def poppler(tool: str, pdf_bytes: bytes, tmp_path, *args: str) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf_bytes)
    extra = ["-"] if tool == "pdftotext" else []
    result = subprocess.run([tool, *args, str(path), *extra], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def embedded_fonts(pdf_bytes: bytes, tmp_path) -> list[tuple[str, str]]:
    """(font name, emb) for each font pdffonts lists."""
    rows = poppler("pdffonts", pdf_bytes, tmp_path).splitlines()[2:]
    return [(row.split()[0], row.split()[-5]) for row in rows]


def page_sizes(pdf_bytes: bytes, tmp_path) -> list[tuple[float, float]]:
    info = poppler("pdfinfo", pdf_bytes, tmp_path, "-f", "1", "-l", "99")
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


def page_drawing_operators(pdf_bytes: bytes) -> int:
    """How many line-to operators the page content streams hold (vector drawing, such as a QR code)."""
    count = 0
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf_bytes, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        if b" BT" in content or b"\nBT" in content or content.startswith(b"q"):
            count += len(re.findall(rb"(?m)^[-\d. ]+ l$|\d l\b", content))
    return count


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮", phone="13912345678")


@pytest.fixture
def sponsor(app):
    sponsor = factories.make_sponsor("新疆丝路天山国际食品城", kind="enterprise")
    sponsor.contact_person, sponsor.phone = "李海燕", "13800001111"
    db.session.commit()
    return sponsor


@pytest.fixture
def six_lines(staff, sponsor):
    rows = [("食用油", "瓶", 20, 4500), ("抽纸", "包", 60, 300), ("洗衣粉", "袋", 30, 1200),
            ("牙膏", "支", 40, 800), ("毛巾", "条", 25, 1000), ("碗筷套装", "套", 10, None)]
    lines = [(factories.make_item(name, unit=unit), qty, fen) for name, unit, qty, fen in rows]
    return factories.donate(staff, sponsor, *lines, received_on=date(2026, 11, 1))


def render(donation) -> bytes:
    return receipts.receipt_pdf(donation, donation.created_by.name)


# --- the PDF ------------------------------------------------------------------------------

def test_receipt_is_an_a5_pdf_with_an_embedded_noto_cjk_font(app, six_lines, tmp_path):
    with app.test_request_context(base_url="https://grid.example.cn"):
        pdf_bytes = render(six_lines)
    assert pdf_bytes.startswith(b"%PDF-")
    fonts = embedded_fonts(pdf_bytes, tmp_path)
    assert fonts and all(emb == "yes" for _, emb in fonts), fonts
    assert any("Noto-Sans-CJK-SC" in name for name, _ in fonts), fonts
    assert page_sizes(pdf_bytes, tmp_path) == [pytest.approx(A5_POINTS, abs=0.5)]


def test_receipt_text_has_number_sponsor_lines_totals_and_staff(app, six_lines, tmp_path):
    with app.test_request_context(base_url="https://grid.example.cn"):
        text = poppler("pdftotext", render(six_lines), tmp_path, "-layout")
    assert "捐赠接收凭证" in text.replace(" ", "")
    assert "JZ-DXB-2026-0001" in text and "新疆丝路天山国际食品城" in text
    assert "2026年11月1日" in text
    for name in ("食用油", "抽纸", "洗衣粉", "牙膏", "毛巾", "碗筷套装"):
        assert name in text
    assert "45.00" in text and "900.00" in text  # unit value and line value, in yuan
    assert "185" in text and "2,010.00" in text  # totals: quantity, estimated value (one line unvalued)
    assert "未估价" in text
    assert "屯坪社区" in text and "迪祥佳苑B区网格党支部" in text and "贾亮" in text
    assert "13912345678" not in text and "13800001111" not in text  # no phone numbers on the receipt
    assert "已作废" not in text


def test_receipt_carries_the_verification_url_as_a_vector_qr_code(app, six_lines, tmp_path, monkeypatch):
    encoded = []
    real_qr_svg = receipts.qr_svg
    monkeypatch.setattr(receipts, "qr_svg", lambda data: encoded.append(data) or real_qr_svg(data))
    with app.test_request_context(base_url="https://grid.example.cn"):
        url = receipts.verify_url(six_lines)
        with_qr = render(six_lines)
        monkeypatch.setattr(receipts, "qr_svg", lambda data: "")
        without_qr = receipts.render_receipt(receipts.receipt_context(six_lines, "贾亮"))
    assert url.startswith("https://grid.example.cn/v/")
    assert encoded == [url]  # the QR code encodes the absolute verification URL
    assert url in poppler("pdftotext", with_qr, tmp_path, "-raw").replace("\n", "")  # printed under it too
    # The SVG reached the page as vector paths: hundreds of line segments more than without it.
    assert page_drawing_operators(with_qr) - page_drawing_operators(without_qr) > 200


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (apt-get install zbar-tools) not installed")
def test_printed_qr_code_scans_to_the_verification_url(app, six_lines, tmp_path):
    with app.test_request_context(base_url="https://grid.example.cn"):
        url, pdf_bytes = receipts.verify_url(six_lines), render(six_lines)
    (tmp_path / "receipt.pdf").write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(tmp_path / "receipt.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    scanned = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page.png")], capture_output=True,
                             text=True, timeout=60).stdout.split()
    assert scanned == [url]


def test_a_voided_receipt_says_void_with_the_reason(app, staff, sponsor, tmp_path):
    soap = factories.make_item("香皂")
    donation = factories.donate(staff, sponsor, (soap, 5, 400))
    donations.void(staff, donation, "数量登记错误")
    db.session.commit()
    with app.test_request_context(base_url="https://grid.example.cn"):
        text = poppler("pdftotext", render(donation), tmp_path).replace(" ", "")
    assert "已作废" in text and "VOID" in text and "数量登记错误" in text


def test_thirty_lines_and_a_long_sponsor_name_flow_onto_a_second_page_inside_the_margins(app, staff, tmp_path):
    sponsor = factories.make_sponsor(LONG_SPONSOR, kind="institution")
    # Every fifth item has a name of the longest kind (40 characters, a long Latin run in it).
    long_tail = "加长名称用于测试换行ABCDEFGHIJKLMNOPQRSTUV"
    lines = [(factories.make_item(f"第{n:02d}号爱心物资" + (long_tail if n % 5 == 0 else "")), n, 100 * n)
             for n in range(1, donations.MAX_LINES + 1)]
    donation = factories.donate(staff, sponsor, *lines)
    with app.test_request_context(base_url="https://grid.example.cn"):
        pdf_bytes = render(donation)
    sizes = page_sizes(pdf_bytes, tmp_path)
    assert len(sizes) >= 2 and all(size == pytest.approx(A5_POINTS, abs=0.5) for size in sizes)
    text = poppler("pdftotext", pdf_bytes, tmp_path).replace("\n", "")
    assert all(f"第{n:02d}号" in text for n in range(1, 31))
    assert "465" in text and "9,455.00" in text  # 1+…+30 units; Σ n·n yuan
    assert f"第 {len(sizes)} 页，共 {len(sizes)} 页" in poppler("pdftotext", pdf_bytes, tmp_path, "-layout")
    # Every word lies inside the page, with the side margins (11 mm ≈ 31 pt) kept.
    boxes = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"',
                       poppler("pdftotext", pdf_bytes, tmp_path, "-bbox"))
    assert len(boxes) > 100
    width, height = A5_POINTS
    for x_min, y_min, x_max, y_max in ((float(v) for v in box) for box in boxes):
        assert 28 <= x_min and x_max <= width - 28 and 0 <= y_min and y_max <= height, (x_min, x_max)


def test_characters_outside_gb2312_still_print_from_the_full_system_font(app, staff, tmp_path):
    sponsor = factories.make_sponsor("朱镕喆堃爱心商行")  # 镕 喆 堃 are not in GB2312
    donation = factories.donate(staff, sponsor, (factories.make_item("毛巾"), 3))
    with app.test_request_context(base_url="https://grid.example.cn"):
        pdf_bytes = render(donation)
    assert "朱镕喆堃爱心商行" in poppler("pdftotext", pdf_bytes, tmp_path)
    fonts = embedded_fonts(pdf_bytes, tmp_path)
    names = {name.split("+")[-1] for name, _ in fonts}
    assert all(emb == "yes" for _, emb in fonts)
    if pdf.compact_cjk_font():
        assert names == {"Noto-Sans-CJK-SC-GB2312", "Noto-Sans-CJK-SC"}, names


def test_without_the_compact_font_the_system_font_is_embedded(app, six_lines, tmp_path, monkeypatch):
    from weasyprint.text.fonts import FontConfiguration

    monkeypatch.setattr(pdf, "compact_cjk_font", lambda: None)
    monkeypatch.setattr(pdf, "font_config", lambda config=FontConfiguration(): config)  # one without it
    app.extensions.pop("gridapp.pdf", None)  # the base stylesheet is parsed again, without the @font-face
    with app.test_request_context(base_url="https://grid.example.cn"):
        pdf_bytes = receipts.render_receipt(receipts.receipt_context(six_lines, "贾亮"))
    assert [name.split("+")[-1] for name, _ in embedded_fonts(pdf_bytes, tmp_path)] == ["Noto-Sans-CJK-SC"]
    app.extensions.pop("gridapp.pdf", None)


def test_the_compact_font_covers_gb2312_and_is_made_once(app):
    font = pdf.compact_cjk_font()
    if font is None:
        pytest.skip("no libharfbuzz-subset or no Noto Sans CJK SC: PDFs use the system font directly")
    assert pdf.compact_cjk_font() is font and pdf.font_config() is pdf.font_config()
    assert font[:4] == b"OTTO" and len(font) < 2_500_000
    assert {ord(c) for c in "捐赠接收凭证（）：，·—¥"} <= set(pdf.gb2312_characters())


# --- only the app's own static files ------------------------------------------------------

@pytest.fixture
def test_templates(app):
    original = app.jinja_loader
    app.jinja_env.loader = ChoiceLoader([DictLoader({
        "pdf/test_static.html": "<img src=\"{{ url_for('static', filename='img/icon.svg') }}\"><p>图标</p>",
        "pdf/test_external.html": '<img src="{{ src }}"><p>外部</p>',
    }), original])
    yield
    app.jinja_env.loader = original


def test_templates_may_load_static_files(app, test_templates, tmp_path):
    with app.test_request_context():
        pdf_bytes = pdf.render_pdf("pdf/test_static.html")
    assert "图标" in poppler("pdftotext", pdf_bytes, tmp_path)


@pytest.mark.parametrize("src", [
    "http://127.0.0.1:9/x.png",
    "https://example.com/logo.png",
    "file:///etc/passwd",
    "/static/../gridapp/config.py",
    "/static/%2e%2e/gridapp/config.py",
    "/static/..%2Fgridapp%2Fconfig.py",
    "/static/img/no-such-file.svg",
    "/etc/hostname",
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E",
])
def test_anything_but_a_static_file_stops_the_render(app, test_templates, src):
    with app.test_request_context(), pytest.raises(FatalURLFetchingError):
        pdf.render_pdf("pdf/test_external.html", src=src)


# --- the verification token ---------------------------------------------------------------

def test_token_names_the_donation_and_any_changed_character_is_refused(app, six_lines):
    token = receipts.make_token(six_lines)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", token)
    assert receipts.verify_token(token) == six_lines
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for position, char in enumerate(token):
        for other in (alphabet[(alphabet.index(char) + 1) % len(alphabet)], alphabet[alphabet.index(char) - 5]):
            tampered = token[:position] + other + token[position + 1:]
            assert receipts.verify_token(tampered) is None, tampered
    assert receipts.verify_token(token[:-1]) is None and receipts.verify_token(token + "A") is None
    assert receipts.verify_token("") is None and receipts.verify_token("x" * 500) is None


def test_token_signed_with_another_key_or_for_another_salt_is_refused(app, six_lines):
    from itsdangerous import URLSafeSerializer

    assert receipts.verify_token(URLSafeSerializer("another-key", salt=receipts.TOKEN_SALT).dumps(six_lines.id)) is None
    assert receipts.verify_token(URLSafeSerializer(app.config["SECRET_KEY"], salt="other").dumps(six_lines.id)) is None
    assert receipts.verify_token(URLSafeSerializer(app.config["SECRET_KEY"], salt=receipts.TOKEN_SALT)
                                 .dumps(str(six_lines.id))) is None


# --- downloading the PDF ------------------------------------------------------------------

def count_renders(monkeypatch) -> list:
    calls = []
    real = receipts.render_pdf
    monkeypatch.setattr(receipts, "render_pdf", lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_staff_download_inline_with_etag_and_a_repeat_is_not_rendered_again(client, staff, six_lines, monkeypatch):
    renders = count_renders(monkeypatch)
    client.login(staff.phone)
    url = f"/staff/donations/{six_lines.id}/receipt.pdf"
    first = client.get(url)
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    assert first.headers["Content-Type"] == "application/pdf"
    assert first.headers["Content-Disposition"] == 'inline; filename="JZ-DXB-2026-0001.pdf"'
    assert "private" in first.headers["Cache-Control"] and "no-store" not in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    assert etag and len(renders) == 1

    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    plain = client.get(url)  # no validator (a second tab): the same bytes, from the cache
    assert plain.status_code == 200 and plain.data == first.data
    assert len(renders) == 1


def test_voiding_changes_the_receipt_and_its_etag(client, staff, six_lines, monkeypatch):
    renders = count_renders(monkeypatch)
    client.login(staff.phone)
    url = f"/staff/donations/{six_lines.id}/receipt.pdf"
    etag = client.get(url).headers["ETag"]
    donations.void(staff, six_lines, "重复登记")
    db.session.commit()
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert len(renders) == 2


def test_admin_may_download_any_receipt(client, six_lines):
    client.login(factories.make_user(role="admin").phone)
    assert client.get(f"/staff/donations/{six_lines.id}/receipt.pdf").status_code == 200


def test_sponsor_downloads_its_own_receipt_only(client, staff, sponsor, six_lines):
    other = factories.make_sponsor("屯坪便民超市")
    others_donation = factories.donate(staff, other, (factories.make_item("香皂"), 5))
    client.login(factories.make_user(role="sponsor", sponsor=sponsor).phone)

    own = client.get(f"/sponsor/donations/{six_lines.id}/receipt.pdf")
    assert own.status_code == 200 and own.headers["Content-Type"] == "application/pdf"
    foreign = client.get(f"/sponsor/donations/{others_donation.id}/receipt.pdf")
    assert foreign.status_code == 404 and not foreign.data.startswith(b"%PDF")
    assert "application/pdf" not in foreign.headers["Content-Type"]
    assert client.get("/sponsor/donations/999999/receipt.pdf").status_code == 404
    # Not through the staff address either.
    assert client.get(f"/staff/donations/{others_donation.id}/receipt.pdf").status_code == 403


def test_volunteer_is_refused_and_anonymous_is_sent_to_login(client, six_lines):
    for url in (f"/staff/donations/{six_lines.id}/receipt.pdf", f"/sponsor/donations/{six_lines.id}/receipt.pdf"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location
    client.login(factories.make_user(role="volunteer").phone)
    for url in (f"/staff/donations/{six_lines.id}/receipt.pdf", f"/sponsor/donations/{six_lines.id}/receipt.pdf"):
        response = client.get(url)
        assert response.status_code == 403 and not response.data.startswith(b"%PDF")


# --- the verification page ----------------------------------------------------------------

def test_verification_page_confirms_a_genuine_receipt_without_personal_data(client, six_lines):
    response = client.get(f"/v/{receipts.make_token(six_lines)}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "JZ-DXB-2026-0001" in page and "新疆丝路天山国际食品城" in page
    assert "有效" in page and "已作废" not in page
    assert "185" in page and "¥2,010.00" in page
    assert "屯坪社区" in page
    assert not PHONE.findall(page)  # no staff phone, no sponsor phone
    assert "贾亮" not in page and "李海燕" not in page  # nor who handled it or the sponsor's contact
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_verification_page_of_a_voided_receipt_says_void_but_not_why(client, staff, six_lines):
    donations.void(staff, six_lines, "联系人13812345678登记错误")
    db.session.commit()
    page = client.get(f"/v/{receipts.make_token(six_lines)}").get_data(as_text=True)
    assert "已作废" in page and "真实有效" not in page
    assert "登记错误" not in page and not PHONE.findall(page)


def test_verification_page_refuses_a_tampered_token_in_chinese(client, six_lines):
    token = receipts.make_token(six_lines)
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    response = client.get(f"/v/{tampered}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "无法核验" in page and "JZ-DXB-2026-0001" not in page


def test_verification_page_of_a_deleted_or_unknown_donation_is_404(client, app):
    from itsdangerous import URLSafeSerializer

    token = URLSafeSerializer(app.config["SECRET_KEY"], salt=receipts.TOKEN_SALT).dumps(424242)
    assert client.get(f"/v/{token}").status_code == 404
