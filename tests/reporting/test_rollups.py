"""Roll-ups (汇总) of a community, a farm and the division: each row's figures equal the monthly report's figures
of its grids (``reporting.service`` run in each grid's scope), the total is their sum, the page sends the same
number of statements however many grids there are, a division viewer sees figures and never a name, an admin
of another community finds nothing, and the exports carry the table.

The tree here: 第十二师 (1) → 三坪农场 (2) → 屯坪社区 (3) → 迪祥佳苑B区 (4) and 测试甲网格; 三坪农场 → 测试社区 → 测试丙网格.
"""
import csv
import io
import re
from datetime import date, time, timedelta

import openpyxl
import pytest

from gridapp import clock
from gridapp.campaigns.models import Campaign
from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.extensions import db
from gridapp.org.models import OrgUnit, StaffAssignment
from gridapp.org.scope import scoped_to
from gridapp.points import service as points
from gridapp.reporting import rollups
from gridapp.reporting import service as reporting
from gridapp.reporting.months import Month

from .. import factories

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day

DEC = Month(2026, 12)
DIVISION, FARM, COMMUNITY, GRID_B = 1, 2, 3, 4


def assign(user, unit_id):
    db.session.add(StaffAssignment(user_id=user.id, unit_id=unit_id))
    db.session.commit()
    return user


def fill_grid(grid, size: int, names: list):
    """``size`` volunteers of ``grid`` who patrol in December (one of them twice), a November patrol, a
    bonus and its reversal, a donation (and a voided one), a counter day with a redemption (and a voided
    one), a published campaign and a draft. Volunteers' names go into ``names``."""
    with scoped_to(grid):
        staff = assign(factories.make_user(role="staff"), grid.id)
        admin = factories.make_user(role="admin")
        patrol = DutyType(name=f"巡逻{grid.code}", default_points=10)
        db.session.add(patrol)
        db.session.flush()
        volunteers = [factories.make_user(name=f"{grid.code}志愿者{i}甲") for i in range(size)]
        names.extend(v.name for v in volunteers)

        def session_at(starts):
            return duty.schedule(staff, duty_type=patrol, title="夜间巡逻", place="南门", starts_at=starts,
                                 ends_at=starts + timedelta(hours=1), points=10 + size, capacity=None, team=None,
                                 opens_before=timedelta(minutes=30), repeat_weeks=1)[0]

        dec = session_at(clock.from_local(date(2026, 12, 3), time(19, 0)))
        dec2 = session_at(clock.from_local(date(2026, 12, 10), time(19, 0)))
        nov = session_at(clock.from_local(date(2026, 11, 20), time(19, 0)))
        for s, people in ((dec, volunteers), (dec2, volunteers[:1]), (nov, volunteers[-1:])):
            for v in people:
                duty.confirm(staff, duty.check_in(v, s, s.starts_at), s.starts_at + timedelta(minutes=5))
        db.session.commit()
        bonus = points.award(volunteers[0], 7, reference=f"bonus:{grid.code}", description="奖励",
                             key=f"bonus:{grid.code}", by=staff, at=utcnow())
        points.reverse(bonus, reason="重复", by=staff)
        sponsor = factories.make_sponsor()
        tissue = factories.make_item(name=f"抽纸{grid.code}", unit="包", points_price=5)
        factories.donate(staff, sponsor, (tissue, 10 * size, 800), received_on=date(2026, 12, 1))
        wrong = factories.donate(staff, sponsor, (tissue, 99, 100), received_on=date(2026, 12, 2))
        factories.donate(staff, sponsor, (tissue, 5, 100), received_on=date(2026, 11, 2))
        from gridapp.goods import donations
        donations.void(staff, wrong, "录错了")
        db.session.commit()
        counter.add_redemption_day(admin, local_today(), "测试")
        table = counter.open_session(staff, local_today())
        counter.redeem(staff, table, volunteers[0], {tissue.id: 2}, token=f"{grid.code}-1", now=utcnow())
        voided = counter.redeem(staff, table, volunteers[-1], {tissue.id: 1}, token=f"{grid.code}-2", now=utcnow())
        counter.void(staff, voided, "拿错了", utcnow())
        for status in ("published", "draft"):
            db.session.add(Campaign(title=f"{grid.code}扫雪", duty_type=patrol, starts_at=dec.starts_at,
                                    ends_at=dec.starts_at + timedelta(hours=3), meeting_point="南门", organiser="支部",
                                    points=10, issued_on=date(2026, 12, 1), created_by_id=staff.id, status=status,
                                    published_at=utcnow() if status == "published" else None))
        db.session.commit()


def new_grid(parent_id, code, position=5):
    grid = OrgUnit(parent_id=parent_id, level_name="网格", name=f"测试{code}网格", code=code, is_grid=True,
                   position=position)
    db.session.add(grid)
    db.session.commit()
    return grid


@pytest.fixture
def tree(app):
    """Three grids in two communities, each with its own month; the volunteers' names."""
    names: list = []
    grid_b = db.session.get(OrgUnit, GRID_B)
    grid_a = new_grid(COMMUNITY, "TSTA")
    other = OrgUnit(parent_id=FARM, level_name="社区", name="测试社区", code="TSSQ", position=3)
    db.session.add(other)
    db.session.commit()
    grid_c = new_grid(other.id, "TSTC")
    for grid, size in ((grid_b, 3), (grid_a, 2), (grid_c, 4)):
        fill_grid(grid, size, names)
    return dict(grids=(grid_b, grid_a, grid_c), other=other, names=names)


def report_figures(grid, month) -> dict:
    """The grid's figures as its own monthly report computes them (in the grid's scope)."""
    with scoped_to(grid):
        f = reporting.month_figures([month])[0]
        sponsors = reporting.per_sponsor(month)
        campaigns = reporting.campaign_turnout(month)
    return dict(participations=f.participations, active_volunteers=f.active_volunteers,
                points_issued=f.points_issued, points_spent=f.points_spent, redemptions=f.redemptions,
                donations=sum(n for _name, n, _units, _value in sponsors), donated_items=f.donated_items,
                donated_value_fen=f.donated_value_fen, campaigns=len(campaigns))


def summed(dicts) -> dict:
    out = dict.fromkeys(rollups.FIGURE_LABELS, 0)
    for d in dicts:
        for key in out:
            out[key] += d[key]
    return out


def test_a_community_rollup_has_each_grids_monthly_report_figures_and_their_total(tree):
    grid_b, grid_a, _grid_c = tree["grids"]
    admin = assign(factories.make_user(role="admin"), COMMUNITY)
    r = rollups.rollup(admin, COMMUNITY, DEC)
    assert [row.unit.code for row in r.rows] == ["DXB", "TSTA"] and r.rows_are_grids
    expected = {grid.code: report_figures(grid, DEC) for grid in (grid_b, grid_a)}
    for row in r.rows:
        assert row.figures.as_dict() == expected[row.unit.code], row.unit.code
    assert r.total.as_dict() == summed(expected.values())
    # Hand-checked for B区 (3 volunteers, points 13 each): 3 + 1 confirmed in December, 3 active, 52 points
    # issued (the bonus reversed nets out), 10 spent, one redemption kept, one donation of 30 kept, one campaign.
    b = r.rows[0].figures
    assert (b.participations, b.active_volunteers, b.points_issued, b.points_spent) == (4, 3, 52, 10)
    assert (b.redemptions, b.donations, b.donated_items, b.donated_value_fen, b.campaigns) == (1, 1, 30, 24000, 1)


def test_a_division_rollup_has_one_row_per_community_summed_over_its_grids(tree):
    grid_b, grid_a, grid_c = tree["grids"]
    viewer = assign(factories.make_user(role="viewer"), DIVISION)
    for unit_id in (DIVISION, FARM):
        r = rollups.rollup(viewer, unit_id, DEC)
        assert [row.unit.name for row in r.rows] == ["屯坪社区", "测试社区"] and not r.rows_are_grids
        tunping, other = r.rows
        assert tunping.figures.as_dict() == summed([report_figures(grid_b, DEC), report_figures(grid_a, DEC)])
        assert other.figures.as_dict() == report_figures(grid_c, DEC)
        assert r.total.as_dict() == summed(report_figures(g, DEC) for g in (grid_b, grid_a, grid_c))
    november = rollups.rollup(viewer, DIVISION, Month(2026, 11))
    assert november.total.participations == 3 and november.total.donated_items == 15


def test_the_page_sends_the_same_number_of_statements_however_many_grids(tree, client, count_queries):
    viewer = assign(factories.make_user(role="viewer"), DIVISION)
    client.login(viewer.phone)

    def statements(url):
        client.get(url)  # warm: the first request of a login may do one-time work
        with count_queries() as queries:
            page = client.get(url)
        assert page.status_code == 200
        return len(queries)

    before = {url: statements(url) for url in ("/rollups/1", "/rollups/3")}
    for n in range(6):  # six more grids, two of them with data, in both communities
        grid = new_grid(COMMUNITY if n % 2 else tree["other"].id, f"TX{n}")
        if n < 2:
            fill_grid(grid, 1, [])
    after = {url: statements(url) for url in before}
    assert after == before
    html = client.get("/rollups/3").get_data(as_text=True)
    assert html.count("data-unit=") == 2 + 1 + 3  # 迪祥佳苑B区, 测试甲, three new grids of 屯坪社区, the total


def test_a_division_viewer_sees_figures_and_never_a_name(tree, client):
    viewer = assign(factories.make_user(role="viewer"), DIVISION)
    client.login(viewer.phone)
    assert client.get("/").headers["Location"].endswith("/rollups")
    assert client.get("/rollups").headers["Location"].endswith("/rollups/1")
    grid_a = tree["grids"][1]
    pages = {}
    for url in ("/rollups/1", "/rollups/2", "/rollups/3", f"/rollups/grids/{grid_a.id}", "/rollups/1/2026-12.csv",
                "/rollups/3/2026-12.csv"):
        page = client.get(url)
        pages[url] = body = page.get_data(as_text=True)  # read before the next request (exports stream)
        assert page.status_code == 200, url
        assert not [name for name in tree["names"] if name in body], url
        assert "志愿者0甲" not in body and "巡逻" not in body, url
    assert "屯坪社区" in pages["/rollups/1"]
    # Operational pages stay shut (the role × route walk of test_permissions covers every route).
    for url in ("/staff", "/staff/volunteers", "/counter", "/staff/monthly/2026-12", "/me", "/campaigns/1",
                "/staff/exports/volunteers.csv"):
        assert client.get(url).status_code in (403, 404), url


def test_a_division_viewers_pages_are_headed_by_the_division_not_by_a_grid(tree, client):
    viewer = assign(factories.make_user(role="viewer"), DIVISION)
    client.login(viewer.phone)
    division = db.session.get(OrgUnit, DIVISION)
    header = re.search(r'class="brand"[^>]*>([^<]*)<', client.get("/rollups/1").get_data(as_text=True)).group(1)
    assert header.strip() == division.name
    assert all(grid.name not in header for grid in tree["grids"])


def test_a_community_admin_sees_their_community_and_nothing_of_another(tree, client):
    grid_b, grid_a, grid_c = tree["grids"]
    theirs = assign(factories.make_user(role="admin"), tree["other"].id)
    client.login(theirs.phone)
    assert client.get("/rollups").headers["Location"].endswith(f"/rollups/{tree['other'].id}")
    assert client.get(f"/rollups/{tree['other'].id}").status_code == 200
    assert client.get(f"/rollups/grids/{grid_c.id}").status_code == 200
    for url in (f"/rollups/{COMMUNITY}", f"/rollups/grids/{grid_b.id}", f"/rollups/grids/{grid_a.id}",
                f"/rollups/{COMMUNITY}/2026-12.csv", f"/rollups/{FARM}", f"/rollups/{DIVISION}",
                f"/rollups/grids/{COMMUNITY}", f"/rollups/{grid_c.id}"):
        assert client.get(url).status_code == 404, url


def test_staff_and_unassigned_admins_get_no_rollup(tree, client):
    staff = assign(factories.make_user(role="staff"), GRID_B)
    client.login(staff.phone)
    assert client.get("/rollups/3").status_code == 403
    client.logout()
    admin = factories.make_user(role="admin")
    client.login(admin.phone)
    page = client.get("/rollups")
    assert page.status_code == 200 and "还没有分配" in page.get_data(as_text=True)
    assert client.get("/rollups/3").status_code == 404


def test_the_month_picker_and_drill_down(tree, client):
    grid_a = tree["grids"][1]
    admin = assign(factories.make_user(role="admin"), COMMUNITY)
    client.login(admin.phone)
    html = client.get("/rollups/3?month=2026-11").get_data(as_text=True)
    assert "2026年11月" in html and 'value="2026-11"' in html
    assert f'href="/rollups/grids/{grid_a.id}?month=2026-11"' in html
    assert client.get("/rollups/3?month=2999-01").status_code == 404
    assert client.get("/rollups/3?month=nonsense").status_code == 404
    grid_page = client.get(f"/rollups/grids/{grid_a.id}?month=2026-12").get_data(as_text=True)
    # An admin who may work in the grid can switch there and open its monthly report.
    assert 'action="/grid/working"' in grid_page and 'value="/staff/monthly/2026-12"' in grid_page
    answer = client.submit("/grid/working", {"grid_id": grid_a.id, "next": "/staff/monthly/2026-12"},
                           page=f"/rollups/grids/{grid_a.id}?month=2026-12")
    assert answer.headers["Location"].endswith("/staff/monthly/2026-12")
    report = client.get("/staff/monthly/2026-12").get_data(as_text=True)
    issued = report_figures(grid_a, DEC)["points_issued"]  # the report is the grid's own
    row = report.split('data-figure="points_issued"')[1].split("</tr>")[0]
    assert f'<td class="num">{issued:,}</td>' in row


def test_the_exports_carry_the_rows_and_the_total(tree, client):
    grid_b, grid_a, _grid_c = tree["grids"]
    admin = assign(factories.make_user(role="admin"), COMMUNITY)
    client.login(admin.phone)
    response = client.get("/rollups/3/2026-12.csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="rollup-TPSQ-2026-12.csv"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["网格", "参与人次", "活跃志愿者"] and rows[0][-1] == "扫雪活动"
    b, a = report_figures(grid_b, DEC), report_figures(grid_a, DEC)
    keys = list(rollups.FIGURE_LABELS)

    def cells(d):
        return [f"{d[k] / 100:.2f}" if k == "donated_value_fen" else str(d[k]) for k in keys]

    assert rows[1:] == [["迪祥佳苑B区", *cells(b)], ["测试TSTA网格", *cells(a)], ["合计", *cells(summed([a, b]))]]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/rollups/3/2026-12.xlsx").get_data()))
    sheet = book.active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "网格" and values[-1][0] == "合计"
    assert values[1][1:] == [b[k] / 100 if k == "donated_value_fen" else b[k] for k in keys]
    assert sheet.freeze_panes == "A2"
    assert client.get("/rollups/3/2026-12.pdf").status_code == 404


def test_an_admin_assigns_a_division_viewer_above_the_grids_only(app, client):
    from gridapp.errors import DomainError
    from gridapp.org import service as org

    admin, viewer = factories.make_user(role="admin"), factories.make_user(role="viewer", name="师统计员")
    org.assign(admin, viewer, db.session.get(OrgUnit, FARM))
    with pytest.raises(DomainError, match="只能分配到社区、农场或师"):
        org.assign(admin, viewer, db.session.get(OrgUnit, GRID_B))
    db.session.commit()
    assert rollups.home_unit(viewer).name == "三坪农场"
    client.login(admin.phone)
    html = client.get("/admin/assignments").get_data(as_text=True)
    row = html.split("师统计员")[1].split("</tr>")[0]
    assert "三坪农场" in row and "迪祥佳苑B区</option>" not in row and "师 · 第十二师</option>" in row
