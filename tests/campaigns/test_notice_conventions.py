"""The A4 notice reads like a real 社区通知: a red masthead (红头) with the issuing organisation, the title in a
serif face, a clear space for the seal over the organiser and date, and a QR caption that says what to do
instead of the server address. Still one A4 page, embedded fonts, at most 100 KB."""
import re
import subprocess


from .conftest import pdf_info, poppler
from .test_notice import BASE, notice_pdf, request_context  # noqa: F401  (fixture)

MM = 72 / 25.4


def words(pdf: bytes, tmp_path) -> list[tuple[float, float, float, float, str]]:
    html = poppler("pdftotext", pdf, "-bbox", tmp_path=tmp_path)
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


def red_rows(pdf: bytes, tmp_path) -> list[int]:
    """The pixel rows (at 30 dpi) of the first page that have red ink."""
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")], check=True,
                   timeout=60)
    data = next(tmp_path.glob("p*.ppm")).read_bytes()
    fields = data.split(maxsplit=4)
    width, height, pixels = int(fields[1]), int(fields[2]), fields[4]
    rows = []
    for y in range(height):
        row = pixels[y * width * 3:(y + 1) * width * 3]
        if any(row[x] > 150 and row[x + 1] < 90 and row[x + 2] < 90 for x in range(0, len(row), 3)):
            rows.append(y)
    return rows, height


def test_a_red_masthead_with_the_organisation_above_the_title(campaign, request_context, tmp_path):
    pdf = notice_pdf(campaign)
    text = [w for w in words(pdf, tmp_path)]
    organiser = next(w for w in text if w[4] == "屯坪社区党总支")
    title = next(w for w in text if w[4].startswith("关于开展"))
    assert organiser[1] < title[1], "the organisation heads the notice, above the title"
    rows, height = red_rows(pdf, tmp_path)
    assert rows and max(rows) < height * 0.2, "the masthead (and only the masthead) is red, at the top"


def test_the_title_is_set_in_a_serif_face_and_every_font_is_embedded(campaign, request_context, tmp_path):
    fonts = poppler("pdffonts", notice_pdf(campaign), tmp_path=tmp_path).splitlines()[2:]
    assert any("Serif" in line for line in fonts), fonts
    assert all(line.split()[-5] == "yes" for line in fonts), fonts


def test_a_clear_space_for_the_seal_over_the_organiser_and_date(campaign, request_context, tmp_path):
    text = words(notice_pdf(campaign), tmp_path)
    organiser = [w for w in text if w[4] == "屯坪社区党总支"][-1]  # the issuer, bottom right
    centre = (organiser[0] + organiser[2]) / 2
    seal = (centre - 21 * MM, organiser[1] - 18 * MM, centre + 21 * MM, organiser[3])  # a 42 mm seal
    inside = [w[4] for w in text if w[0] < seal[2] and w[2] > seal[0] and w[1] < seal[3] and w[3] > seal[1]]
    assert inside == ["屯坪社区党总支"], f"text where the seal goes: {inside}"


def test_the_qr_caption_says_what_to_do_not_the_server_address(campaign, request_context, tmp_path):
    flat = re.sub(r"\s+", "", poppler("pdftotext", notice_pdf(campaign), tmp_path=tmp_path))
    assert "扫码报名" in flat
    assert BASE.split("//")[1] not in flat and "http" not in flat


def test_still_one_a4_page_and_at_most_100_kb(campaign, request_context, tmp_path):
    pdf = notice_pdf(campaign)
    info = pdf_info(pdf, tmp_path)
    assert info["Pages"].strip() == "1" and "(A4)" in info["Page size"]
    assert len(pdf) <= 100 * 1024, f"the notice is {len(pdf) / 1024:.0f} KB"
