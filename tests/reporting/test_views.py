"""Staff figures through HTTP: the dashboard at /staff (figures, SVG charts with their tables), the
monthly report page for any past month, exports (CSV with BOM and neutralised formulas, typed XLSX),
and volunteers kept out."""
import csv
import io
import xml.etree.ElementTree as ET

import openpyxl
import pytest

from gridapp.clock import local_today, utcnow
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.reporting import exports
from gridapp.reporting.months import Month

from .. import factories

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day

SVG = "{http://www.w3.org/2000/svg}svg"


@pytest.mark.demo
def test_the_dashboard_shows_the_months_and_three_valid_svg_charts_with_tables(client):
    client.login("13800000002", "gridapp2026")
    html = client.get("/staff").get_data(as_text=True)
    assert "本月与上月" in html and "累计" in html and 'data-figure="participations"' in html
    svgs = [chunk.split("</svg>")[0] + "</svg>" for chunk in html.split("<svg")[1:]]
    charts = [ET.fromstring("<svg" + s) for s in svgs if 'class="chart"' in s]
    assert len(charts) == 3
    for chart in charts:
        assert chart.tag == SVG and chart.get("viewBox") == "0 0 640 260" and chart.get("role") == "img"
        assert chart.find("{http://www.w3.org/2000/svg}title").text
    assert html.count("<figcaption>") == 3 and "<script" not in html.split("</head>")[1]
    this = Month.of(utcnow())
    assert this.label() in html and this.previous().label() in html


@pytest.mark.demo
def test_a_past_months_report_can_be_reopened(client):
    client.login("13800000002", "gridapp2026")
    month = Month.of(utcnow()).previous().previous()
    page = client.get(f"/staff/monthly/{month.key}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"月度报表 · {month.label()}" in html
    assert "各志愿服务队" in html and "填报人" in html and "审核人" in html
    assert client.get("/staff/monthly?month=" + month.key).headers["Location"].endswith(f"/staff/monthly/{month.key}")
    assert client.get("/staff/monthly/2999-01").status_code == 404


def test_volunteers_cannot_see_dashboard_reports_or_exports(client, login_as):
    login_as("volunteer")
    for url in ("/staff", "/staff/monthly/2026-11", "/staff/monthly/2026-11.pdf", "/staff/exports",
                "/staff/exports/points.csv?start=2026-11-01&end=2026-11-30", "/staff/monthly/2026-11.xlsx"):
        assert client.get(url).status_code == 403, url


@pytest.fixture
def staff_client(client, login_as):
    staff = login_as("staff")
    return client, staff


def test_the_csv_export_starts_with_a_bom_round_trips_and_neutralises_formulas(staff_client):
    client, staff = staff_client
    evil = factories.make_user(name="=cmd|' /C calc'!A0")
    other = factories.make_user(name="@SUM(1+1)")
    points.award(evil, 10, reference="x:1", description="-2+3 巡逻", key="x1", by=staff)
    points.award(other, 5, reference="x:2", description="正常", key="x2", by=staff)
    db.session.commit()
    response = client.get("/staff/exports/points.csv?start=2026-12-01&end=2026-12-31")
    body = response.get_data()
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["流水号", "时间", "志愿者", "手机号", "类型", "积分", "说明", "关联"]
    names = {row[2]: row for row in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in names and "'@SUM(1+1)" in names
    assert names["'=cmd|' /C calc'!A0"][6] == "'-2+3 巡逻" and names["'=cmd|' /C calc'!A0"][5] == "10"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_xlsx_export_opens_with_typed_cells_and_a_frozen_header(staff_client):
    client, staff = staff_client
    volunteer = factories.make_user(name="=HYPERLINK(\"x\")")
    points.award(volunteer, 12, reference="x:1", description="巡逻", key="x1", by=staff)
    db.session.commit()
    response = client.get("/staff/exports/points.xlsx?start=2026-12-01&end=2026-12-31")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]][:3] == ["流水号", "时间", "志愿者"]
    row = [c for c in sheet[2]]
    assert isinstance(row[0].value, int) and row[1].is_date and row[5].value == 12
    assert row[2].value == "'=HYPERLINK(\"x\")" and row[2].data_type == "s"
    assert sheet.column_dimensions["G"].width >= 30


@pytest.mark.demo
@pytest.mark.parametrize("dataset", ["volunteers", "attendance", "redemptions", "donations", "stock"])
def test_every_export_opens_in_both_formats(client, dataset):
    client.login("13800000002", "gridapp2026")
    today = local_today()  # the demo world is the last half year up to the suite's date
    query = f"?start={today.replace(year=today.year - 1, day=1).isoformat()}&end={today.isoformat()}"
    csv_body = client.get(f"/staff/exports/{dataset}.csv{query}").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_body)))
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/staff/exports/{dataset}.xlsx{query}").get_data()))
    assert len(rows) > 2 and book.active.max_row == len(rows)


@pytest.mark.demo
def test_the_monthly_reports_tables_export_as_sheets(client):
    client.login("13800000002", "gridapp2026")
    month = Month.of(utcnow()).previous()
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/staff/monthly/{month.key}.xlsx").get_data()))
    assert book.sheetnames == ["主要指标", "捐赠价值", "各服务队", "各服务类型", "扫雪除冰", "兑换最多的物品", "各爱心企业捐赠"]
    assert book["各服务队"].max_row == 12  # header, 10 teams, 未加入服务队
    text = client.get(f"/staff/monthly/{month.key}.csv").get_data().decode("utf-8-sig")
    assert "各爱心企业捐赠" in text and "参与人次" in text


def test_a_backwards_date_range_is_explained(staff_client):
    client, _staff = staff_client
    response = client.get("/staff/exports/points.csv?start=2026-12-31&end=2026-12-01")
    assert response.status_code == 422 and "结束日期不能早于开始日期。" in response.get_data(as_text=True)


def test_large_exports_stream_in_chunks(app):
    staff = factories.make_user(role="staff")
    rows = ((i, f"名{i}") for i in range(exports.BATCH * 3 + 5))
    book = exports.Book("t", [exports.Sheet("s", [exports.Column("n", exports.INT), exports.Column("名")], rows)])
    chunks = list(exports.csv_chunks(book))
    assert len(chunks) >= 4 and max(len(c) for c in chunks) < 60_000
    assert staff.id


def test_an_english_page_names_the_month_in_english_a_chinese_page_in_chinese(client, login_as):
    """Month.label() is the paper's ("2026年10月"); a page in English says "October 2026"."""
    login_as("staff")
    month = Month.of(utcnow()).previous()
    client.set_cookie("lang", "en")
    page = client.get(f"/staff/monthly/{month.key}").get_data(as_text=True)
    english = f"{month.first_day:%B} {month.year}"
    assert english in page and month.label() not in page
    client.set_cookie("lang", "zh_CN")
    assert month.label() in client.get(f"/staff/monthly/{month.key}").get_data(as_text=True)
