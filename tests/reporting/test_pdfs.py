"""The monthly report and the 积分公示 as A4 PDFs: the CJK font embedded (pdffonts), A4 pages
(pdfinfo), the right words in reading order (pdftotext), a 304 for a repeat request; and the
masked names, never the full ones, on the noticeboard."""
import shutil

import pytest

from gridapp.clock import utcnow
from gridapp.publicity.models import Posting
from gridapp.reporting.months import Month

from ..counter.test_pdfs import A4, assert_embedded_cjk_font, page_info, text_of

pytestmark = [pytest.mark.skipif(not shutil.which("pdfinfo"), reason="poppler-utils is not installed"),
              pytest.mark.demo]


def squashed(text: str) -> str:
    return "".join(text.split())


def test_the_monthly_report_pdf_is_a4_with_the_cjk_font_and_reads_right(client):
    client.login("13800000002", "gridapp2026")
    month = Month.of(utcnow()).previous()
    response = client.get(f"/staff/monthly/{month.key}.pdf")
    pdf = response.get_data()
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages, width, height = page_info(pdf)
    assert 1 <= pages <= 4 and (round(width), round(height)) == tuple(round(x) for x in A4)
    assert_embedded_cjk_font(pdf)
    text = squashed(text_of(pdf))
    for words in ("志愿服务积分月度报表", month.label(), "一、主要指标", "志愿服务参与人次", "二、各志愿服务队",
                  "环保小卫士", "五、兑换最多的物品", "六、各爱心企业捐赠", "填报人", "审核人", "（盖章）"):
        assert words in text, words
    assert text.index("一、主要指标") < text.index("二、各志愿服务队") < text.index("填报人")
    again = client.get(f"/staff/monthly/{month.key}.pdf", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_posting_pdf_masks_names_and_carries_a_qr_code(client, app):
    client.login("13800000003", "gridapp2026")
    posting = Posting.query.one()
    response = client.get(f"/gongshi/{posting.id}.pdf")
    pdf = response.get_data()
    assert response.status_code == 200
    pages, width, height = page_info(pdf)
    assert (round(width), round(height)) == tuple(round(x) for x in A4)
    assert_embedded_cjk_font(pdf)
    text = squashed(text_of(pdf))
    assert "志愿服务积分公示" in text and "光荣榜" in text and "扫码查看、提出异议" in text
    from gridapp.publicity import service as publicity
    line, user, household = publicity.lines(posting, 1, 1)[0]
    assert publicity.mask_name(user.name) in text
    assert user.name not in text or len(user.name) == 1
    assert "栋" in text and "单元" in text and "室" not in text.split("积分明细")[1]
