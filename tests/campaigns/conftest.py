"""Campaign fixtures: a grid worker, the 26 December snow campaign with its six zones, and PDF tools."""
import shutil
import subprocess
from datetime import date, datetime, time, timedelta

import pytest

from gridapp.campaigns import service as campaigns
from gridapp.clock import from_local, to_local, utcnow
from gridapp.extensions import db
from gridapp.org.service import first_grid

from .. import factories

DAY = date(2026, 12, 26)  # the snow-clearing day of the report
START = from_local(DAY, time(10, 0))
EVENING_BEFORE = from_local(DAY - timedelta(days=1), time(20, 0))  # when the campaign is called
# (name, description, team, leader, leader phone, needed): 按区域分工 as in the report's district
ZONES = [
    ("南门片区", "南门至奋进路人行道", "网格党支部", "贾亮", "13800000002", 8),
    ("北门片区", "北门至团结路人行道及地面停车场", "三坪农场医院在职党员", "艾力努尔·拜克力", "13909941234", 8),
    ("中心广场", "中心广场、健身区及周边道路", "环保小卫士", "阿不都热合曼·托合提", "13909940011", 6),
    ("1—4号楼", "1至4号楼楼前道路、单元门口台阶", "扫雪除冰突击队", "古丽米拉·艾山", "", 6),
    ("5—8号楼", "5至8号楼楼前道路、单元门口台阶", "业委会、物业服务中心", "王建国", "13909940012", 6),
    ("9—11号楼及背街小巷", "9至11号楼楼前道路及小区东侧背街小巷", "在职党员（双报到）", "哈力木拉提·努尔兰", "13909940013", 8),
]


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


def details(staff, starts_at=START, hours=2, **changes) -> campaigns.Details:
    template = campaigns.snow_template(first_grid())
    fields = dict(title=template["title"], duty_type=campaigns.snow_duty_type(staff), starts_at=starts_at,
                  ends_at=starts_at + timedelta(hours=hours), meeting_point=template["meeting_point"],
                  organiser=template["organiser"], contact_name="贾亮", contact_phone="13800000002",
                  body=template["body"], tools=template["tools"], safety=template["safety"], points=15)
    fields.update(changes)
    return campaigns.Details(**fields)


def zone_details(index: int, **changes) -> campaigns.ZoneDetails:
    name, description, team, leader, phone, needed = ZONES[index]
    fields = dict(name=name, description=description, team=team, leader_name=leader, leader_phone=phone,
                  needed=needed)
    fields.update(changes)
    return campaigns.ZoneDetails(**fields)


def make_campaign(staff, zones=6, publish_at=None, now=EVENING_BEFORE, **changes):
    """A snow campaign with the first ``zones`` zones; published at ``publish_at`` if given. Committed."""
    campaign = campaigns.create_campaign(staff, details(staff, **changes), now)
    for index in range(zones):
        campaigns.add_zone(staff, campaign, zone_details(index))
    if publish_at is not None:
        campaigns.publish(staff, campaign, publish_at)
    db.session.commit()
    return campaign


def tomorrow_start() -> datetime:
    """10:00 tomorrow in the community, for pages that use the real clock."""
    return from_local(to_local(utcnow()).date() + timedelta(days=1), time(10, 0))


@pytest.fixture
def campaign(staff):
    """The 26 December campaign, six zones, published the evening before."""
    return make_campaign(staff, publish_at=EVENING_BEFORE)


@pytest.fixture
def live_campaign(staff):
    """Tomorrow's campaign, six zones, published now (for pages, which use the real clock)."""
    return make_campaign(staff, starts_at=tomorrow_start(), now=utcnow(), publish_at=utcnow())


# --- PDF tools (poppler-utils) ---------------------------------------------------------------

def poppler(tool: str, pdf: bytes, *args: str, tmp_path) -> str:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install poppler-utils)")
    path = tmp_path / f"doc-{len(list(tmp_path.iterdir()))}.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                          capture_output=True, text=True, timeout=60, check=True).stdout


def pdf_info(pdf: bytes, tmp_path) -> dict:
    out = poppler("pdfinfo", pdf, tmp_path=tmp_path)
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def page_count(pdf: bytes, tmp_path) -> int:
    return int(pdf_info(pdf, tmp_path)["Pages"])
