"""Item: the receipt (screen, 58 mm print and PDF) shows 剩余积分 and a 领取人签字 line, and the paper is
as long as the receipt (no 200 mm of blank roll)."""
import subprocess
import tempfile

from gridapp.counter import pdf_views
from gridapp.counter import service as counter
from gridapp.extensions import db

from .test_pdfs import MM, goods, page_info, redemption, staff, text_of  # noqa: F401  (fixtures)


def blank_below_content_mm(pdf: bytes) -> float:
    """How much paper is left blank under the last printed row of the first page."""
    with tempfile.TemporaryDirectory() as folder:
        with open(f"{folder}/r.pdf", "wb") as f:
            f.write(pdf)
        subprocess.run(["pdftoppm", "-r", "72", "-gray", "-f", "1", "-l", "1", f"{folder}/r.pdf", f"{folder}/p"],
                       check=True, timeout=60)
        image = open(next(__import__("pathlib").Path(folder).glob("p*.pgm")), "rb").read()
    # P5 header: magic, width, height, maxval, each separated by whitespace
    header, offset, fields = image, 0, []
    while len(fields) < 4:
        while header[offset:offset + 1].isspace():
            offset += 1
        end = offset
        while not header[end:end + 1].isspace():
            end += 1
        fields.append(header[offset:end])
        offset = end
    width, height = int(fields[1]), int(fields[2])
    pixels = image[offset + 1:]
    last_ink = max(y for y in range(height) if min(pixels[y * width:(y + 1) * width]) < 128)
    return (height - 1 - last_ink) * 25.4 / 72


def test_receipt_pdf_shows_balance_after_and_a_signature_line(client, staff, redemption):
    client.login(staff.phone)
    pdf = client.get(f"/counter/redemptions/{redemption.id}/receipt.pdf").data
    text = text_of(pdf)
    assert "剩余积分" in text and "380 分" in text, text  # 500 earned, 120 spent
    assert "领取人签字" in text
    assert page_info(pdf)[0] == 1
    blank = blank_below_content_mm(pdf)
    assert blank < 12, "the slip runs on past its content"


def test_receipt_page_shows_balance_after_and_signature_and_prints_to_its_length(client, staff, redemption):
    client.login(staff.phone)
    page = client.get(f"/counter/redemptions/{redemption.id}").get_data(as_text=True)
    assert "剩余积分" in page and ">380<" in page and "领取人签字" in page
    height = pdf_views.print_height_mm(redemption)
    assert f"receipt-h{height}" in page and 80 <= height <= 140
    css = client.get("/static/css/receipt-print.css").get_data(as_text=True)
    assert f"@page receipt-{height}{{size:58mm {height}mm" in css
    assert "200mm" not in client.get("/static/css/app.css").get_data(as_text=True)


def test_balance_after_is_the_balance_at_that_redemption_even_after_later_ones(client, staff, redemption, goods):
    rice, _oil = goods
    later = counter.redeem(staff, redemption.session, redemption.volunteer, {rice.id: 1}, token="later",
                           now=redemption.created_at)
    db.session.commit()
    assert counter.balance_after(redemption) == 380
    assert counter.balance_after(later) == 350


def test_volunteer_sees_balance_after_on_their_receipt(client, staff, redemption):
    from .. import factories  # noqa: F401
    volunteer = redemption.volunteer
    client.login(volunteer.phone)
    page = client.get(f"/me/redemptions/{redemption.id}").get_data(as_text=True)
    assert "剩余积分" in page and ">380<" in page
