"""Who sees what, grid by grid: role × route × grid.

Two grids of one community: A (迪祥佳苑B区, the deployment's grid, id 4) and B (a second grid made here).
Staff of A get 404 for every object of B, by URL and by id in forms; a volunteer of A finds nothing of B;
a QR code of B is refused with B's name; points cross grids only when the community allows it; a grid
with data in it cannot be deleted; receipts number per grid.
"""
import subprocess
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.routing.converters import AnyConverter

from gridapp.auth.models import STAFF_ROLES, User
from gridapp.campaigns.models import Campaign, CampaignZone
from gridapp.counter.models import CounterSession, Redemption
from gridapp.duty.models import Attendance, DutySession, DutyType
from gridapp.extensions import db
from gridapp.goods.models import Donation, Item, Sponsor, Stocktake
from gridapp.org import service as org
from gridapp.org.models import OrgUnit, StaffAssignment
from gridapp.org.scope import scoped_to
from gridapp.publicity.models import Posting
from gridapp.reports.models import Report

from .. import factories

GRID_A = 4


@pytest.fixture
def grid_b(app):
    grid = OrgUnit(parent_id=3, level_name="网格", name="测试乙网格", code="TSTB", is_grid=True, position=1,
                   organiser="测试乙网格党支部")
    db.session.add(grid)
    db.session.commit()
    return grid


def _staff(grid_id, role="staff"):
    user = factories.make_user(role=role)
    db.session.add(StaffAssignment(user_id=user.id, unit_id=grid_id))
    db.session.commit()
    return user


@pytest.fixture
def world_b(app, grid_b):
    """One record of every kind in grid B."""
    now = datetime(2026, 12, 16, 2, 0)
    with scoped_to(grid_b):
        staff = _staff(grid_b.id)
        volunteer = factories.make_user(name="乙网格志愿者")
        kind = db.session.scalars(sa.select(DutyType).limit(1)).first() or DutyType(name="巡逻", default_points=5)
        duty = DutySession(duty_type=kind, title="乙网格巡逻", place="乙网格", starts_at=now, ends_at=now + timedelta(hours=2),
                           checkin_opens_at=now - timedelta(hours=1), checkin_closes_at=now + timedelta(hours=2),
                           points=5)
        item = Item(name="乙网格洗衣液", unit="瓶", points_price=20)
        sponsor = factories.make_sponsor()
        db.session.add_all([duty, item])
        db.session.flush()
        attendance = Attendance(session_id=duty.id, volunteer_id=volunteer.id, status="checked_in", checked_in_at=now)
        donation = Donation(receipt_no="JZ-TSTB-2026-0001", receipt_year=2026, receipt_seq=1, sponsor_id=sponsor.id,
                            received_on=date(2026, 12, 1), created_by_id=staff.id)
        stocktake = Stocktake(created_by_id=staff.id)
        counter = CounterSession(day=date(2026, 11, 30), opened_by_id=staff.id)
        campaign = Campaign(title="乙网格扫雪", duty_type=kind, starts_at=now, ends_at=now + timedelta(hours=3),
                            meeting_point="乙网格", organiser="乙网格", points=10, issued_on=date(2026, 12, 16),
                            created_by_id=staff.id)
        posting = Posting(month=date(2026, 11, 1), opens_at=now, closes_at=now + timedelta(days=7),
                          published_by_id=staff.id)
        report = Report(kind="hazard", category="road", description="乙网格路面破损", place="乙网格",
                        reporter_id=volunteer.id)
        db.session.add_all([attendance, donation, stocktake, counter, campaign, posting, report])
        db.session.flush()
        zone = CampaignZone(campaign=campaign, name="一区", needed=3)
        redemption = Redemption(session_id=counter.id, volunteer_id=volunteer.id, receipt_no="DH-TSTB-2026-0001",
                                receipt_year=2026, receipt_seq=1, total_points=20, token="tstb-token",
                                served_by_id=staff.id)
        db.session.add_all([zone, redemption])
        db.session.commit()
        ids = {"volunteer": volunteer.id, "duty": duty.id, "attendance": attendance.id, "item": item.id,
               "donation": donation.id, "stocktake": stocktake.id, "counter": counter.id, "campaign": campaign.id,
               "zone": zone.id, "posting": posting.id, "report": report.id, "redemption": redemption.id,
               "token": duty.token, "household": volunteer.household_id}
    assert {row.grid_id for row in (duty, item, donation, stocktake, counter, campaign, posting, report,
                                    redemption)} == {grid_b.id}
    assert volunteer.grid_id == grid_b.id  # a volunteer's grid is their household's
    db.session.expunge_all()  # a request must look everything up afresh, as a real one does
    return ids


def _b_value(endpoint: str, arg: str, ids: dict):
    if arg == "session_id":
        return ids["counter"] if endpoint.startswith("counter") else ids["duty"]
    return {"user_id": ids["volunteer"], "volunteer_id": ids["volunteer"], "attendance_id": ids["attendance"],
            "item_id": ids["item"], "donation_id": ids["donation"], "stocktake_id": ids["stocktake"],
            "redemption_id": ids["redemption"], "campaign_id": ids["campaign"], "zone_id": ids["zone"],
            "posting_id": ids["posting"], "report_id": ids["report"]}.get(arg)


def routes_into_b(app, ids, role):
    """Every route ``role`` may use whose ids all name an object of grid B."""
    for rule in app.url_map.iter_rules():
        access = getattr(app.view_functions[rule.endpoint], "access", None)
        if not rule.arguments or not isinstance(access, tuple) or (role not in access and access != ("any-logged-in",)):
            continue
        values = {}
        for arg in rule.arguments:
            converter = rule._converters[arg]
            values[arg] = sorted(converter.items)[0] if isinstance(converter, AnyConverter) else _b_value(
                rule.endpoint, arg, ids)
        if any(value is None for value in values.values()) or all(
                isinstance(rule._converters[arg], AnyConverter) for arg in rule.arguments):
            continue
        url = rule.build(values)[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule.endpoint, method, url


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_of_grid_a_get_404_for_every_object_of_grid_b_by_url(app, client, world_b, role):
    staff = _staff(GRID_A, role)
    assert client.login(staff.phone).status_code == 303
    token = client.csrf_token("/account")
    probed = []
    for endpoint, method, url in routes_into_b(app, world_b, role):
        response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
        assert response.status_code == 404, f"{role} of A reached B at {method} {url}: {response.status_code}"
        probed.append(endpoint)
    assert {"volunteer_admin.detail", "duty.roster", "goods.item", "goods.donation", "stocktake.stocktake",
            "counter.summary", "counter.receipt", "counter.volunteer", "campaigns.detail", "publicity.staff_posting",
            "reports.detail", "goods.void_donation", "counter.confirm", "duty.confirm"} <= set(probed)
    # Nothing of B was touched by the walk.
    assert db.session.scalar(sa.select(Donation.voided_at).where(Donation.id == world_b["donation"])) is None
    assert db.session.scalar(sa.select(Attendance.status).where(Attendance.id == world_b["attendance"])) == "checked_in"


def test_a_volunteer_of_grid_a_finds_nothing_of_grid_b(app, client, world_b):
    volunteer = factories.make_user()
    assert volunteer.grid_id == GRID_A
    assert client.login(volunteer.phone).status_code == 303
    probed = 0
    for endpoint, method, url in routes_into_b(app, world_b, "volunteer"):
        if method == "GET":
            assert client.get(url).status_code == 404, f"volunteer of A reached B at {url}"
            probed += 1
    assert probed >= 4


def test_staff_of_grid_a_naming_grid_b_ids_in_forms_write_nothing(app, client, world_b):
    staff = _staff(GRID_A)
    session_a = DutySession(duty_type=db.session.scalars(sa.select(DutyType).limit(1)).first(), title="甲巡逻",
                            place="甲", starts_at=datetime(2026, 12, 16, 1), ends_at=datetime(2026, 12, 16, 4),
                            checkin_opens_at=datetime(2026, 12, 16, 0), checkin_closes_at=datetime(2026, 12, 16, 4),
                            points=5)
    db.session.add(session_a)
    db.session.commit()
    session_a_id, phone = session_a.id, staff.phone
    db.session.expunge_all()
    assert client.login(phone).status_code == 303
    # Mark grid B's volunteer present at A's session: not found, no attendance.
    response = client.submit(f"/staff/duty/{session_a_id}/mark-present", {"volunteer_id": world_b["volunteer"]},
                             page=f"/staff/duty/{session_a_id}")
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id)).where(Attendance.session_id == session_a_id)) == 0
    # A donation to A naming B's item: the item is no choice of A's form; no donation written.
    before = db.session.scalar(sa.select(sa.func.count(Donation.id)))
    sponsor = factories.make_sponsor()
    response = client.submit("/staff/donations/new", {
        "sponsor": sponsor.id, "received_on": "2026-12-10", "lines-0-item": world_b["item"], "lines-0-quantity": 3})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Donation.id))) == before


def test_a_volunteer_scanning_another_grids_qr_code_is_refused_naming_that_grid(app, client, world_b):
    volunteer = factories.make_user()
    assert client.login(volunteer.phone).status_code == 303
    response = client.get(f"/c/{world_b['token']}")
    assert response.status_code == 403
    assert "测试乙网格" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id)).where(
        Attendance.volunteer_id == volunteer.id)) == 0


def test_a_qr_code_of_another_grid_still_shows_what_it_is_to_someone_logged_out(app, client, world_b):
    response = client.get(f"/c/{world_b['token']}")
    assert response.status_code == 200 and "乙网格巡逻" in response.get_data(as_text=True)


def _counter_case(grid_b, points_anywhere):
    from gridapp.counter import service as counter
    from gridapp.points import service as points

    community = db.session.get(OrgUnit, 3)
    community.points_anywhere = points_anywhere
    staff = _staff(GRID_A)
    with scoped_to(grid_b):
        visitor = factories.make_user(name="乙网格来客")
    points.award(visitor, 100, reference="test:1", description="测试", key=f"grant:{visitor.id}", by=staff)
    item = factories.make_item("甲网格毛巾", points_price=10)
    factories.donate(staff, factories.make_sponsor(), (item, 5))
    session = CounterSession(day=date(2026, 12, 16), opened_by_id=staff.id)
    db.session.add(session)
    db.session.commit()
    return counter, staff, visitor, item, session


def test_the_counter_refuses_a_volunteer_of_another_grid_by_default(app, grid_b):
    counter, staff, visitor, item, session = _counter_case(grid_b, points_anywhere=False)
    with pytest.raises(counter.OtherGridsPoints) as refused:
        counter.redeem(staff, session, visitor, {item.id: 1}, token="t-refused", now=datetime(2026, 12, 16, 3))
    assert "测试乙网格" in refused.value.message
    db.session.rollback()
    with scoped_to(db.session.get(OrgUnit, GRID_A), people_ids=org.scope_for(staff).people_ids):
        assert counter.find_volunteers("乙网格来客") == []  # not even found at A's counter


def test_the_counter_serves_a_volunteer_of_another_grid_when_the_community_allows_it(app, grid_b):
    counter, staff, visitor, item, session = _counter_case(grid_b, points_anywhere=True)
    with scoped_to(db.session.get(OrgUnit, GRID_A), people_ids=org.scope_for(staff).people_ids):
        assert [v.id for v in counter.find_volunteers("乙网格来客")] == [visitor.id]
        redemption = counter.redeem(staff, session, visitor, {item.id: 1}, token="t-ok", now=datetime(2026, 12, 16, 3))
    db.session.commit()
    assert redemption.grid_id == GRID_A and redemption.receipt_no.startswith("DH-DXB-")


def test_a_grid_with_data_in_it_cannot_be_deleted_and_nothing_is_half_deleted(app, grid_b, world_b):
    from gridapp.community.models import Household
    from gridapp.errors import DomainError

    admin = factories.make_user(role="admin")
    db.session.add(StaffAssignment(user_id=admin.id, unit_id=3))  # the community's admin
    # No staff left on it: what stops the deletion is its data (households, sessions, items …).
    db.session.execute(sa.delete(StaffAssignment).where(StaffAssignment.unit_id == grid_b.id))
    households = db.session.scalar(sa.select(sa.func.count()).select_from(Household)
                                   .where(Household.grid_id == grid_b.id))
    assert households >= 1
    grid = db.session.get(OrgUnit, grid_b.id)
    with pytest.raises(org.UnitHasData) as refused:
        org.delete_unit(admin, grid)
    assert isinstance(refused.value, DomainError) and "测试乙网格" in refused.value.message
    assert db.session.get(OrgUnit, grid_b.id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)
                             .where(Household.grid_id == grid_b.id)) == households


def test_an_empty_grid_can_be_deleted(app):
    admin = factories.make_user(role="admin")
    grid = OrgUnit(parent_id=3, level_name="网格", name="空网格", code="EMPT", is_grid=True)
    db.session.add_all([grid, StaffAssignment(user_id=admin.id, unit_id=3)])
    db.session.commit()
    org.delete_unit(admin, grid)
    db.session.commit()
    assert db.session.scalars(sa.select(OrgUnit).where(OrgUnit.code == "EMPT")).first() is None


def test_receipts_number_per_grid_gap_free_in_each_series(app, grid_b):
    staff_a, item_a = _staff(GRID_A), factories.make_item("甲网格肥皂")
    first = factories.donate(staff_a, factories.make_sponsor(), (item_a, 2))
    second = factories.donate(staff_a, factories.make_sponsor(), (item_a, 2))
    with scoped_to(grid_b):
        staff_b, item_b = _staff(grid_b.id), factories.make_item("甲网格肥皂")  # same name, other grid: allowed
        in_b = factories.donate(staff_b, factories.make_sponsor(), (item_b, 2))
    assert first.receipt_no.startswith("JZ-DXB-2026-") and second.receipt_seq == first.receipt_seq + 1
    assert in_b.receipt_no == "JZ-TSTB-2026-0001" and in_b.grid_id == grid_b.id


def _intake_as(client, phone, sponsor_id, item_id, quantity):
    """Staff take in a donation through the intake form, in the grid their login works in."""
    assert client.login(phone).status_code == 303
    response = client.submit("/staff/donations/new", {
        "sponsor": sponsor_id, "received_on": "2026-12-10", "note": "",
        "lines-0-item": item_id, "lines-0-quantity": quantity})
    assert response.status_code == 303, response.get_data(as_text=True)
    client.logout()


@pytest.fixture
def gifts_to_two_grids(app, client, grid_b):
    """One sponsor gives to grid A and to grid B: each donation taken in by that grid's staff, in their own
    scope (staff of A log in to A, staff of B to B); a second sponsor gives to A only."""
    staff_a, item_a = _staff(GRID_A), factories.make_item("甲网格抽纸", unit="包")
    with scoped_to(grid_b):
        staff_b, item_b = _staff(grid_b.id), factories.make_item("乙网格食用油", unit="瓶")
    sponsor, other = factories.make_sponsor("两网格爱心超市"), factories.make_sponsor("甲网格便民店")
    a, b, sponsor, other, item_a, item_b = (staff_a.phone, staff_b.phone, sponsor.id, other.id, item_a.id,
                                            item_b.id)
    _intake_as(client, a, sponsor, item_a, 6)
    _intake_as(client, b, sponsor, item_b, 4)
    _intake_as(client, a, other, item_a, 9)
    rows = db.session.execute(sa.select(Donation.id, Donation.receipt_no, Donation.grid_id, Donation.sponsor_id)
                              .order_by(Donation.id)).all()
    (in_a, no_a, grid_of_a, _), (in_b, no_b, grid_of_b, _), (others, others_no, _, _) = rows[-3:]
    assert (grid_of_a, grid_of_b) == (GRID_A, grid_b.id)  # each went to the grid its staff work in
    assert no_a.startswith("JZ-DXB-2026-") and no_b == "JZ-TSTB-2026-0001"
    organiser_a = db.session.get(OrgUnit, GRID_A).organiser
    db.session.expunge_all()
    return {"sponsor": sponsor, "other": other, "a": (in_a, no_a), "b": (in_b, no_b),
            "others": (others, others_no), "organiser_a": organiser_a}


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=60,
                          check=True).stdout


def test_a_sponsor_who_gave_to_two_grids_sees_both_grids_donations_and_receipts(app, client, gifts_to_two_grids,
                                                                                tmp_path):
    gifts = gifts_to_two_grids
    user = factories.make_user(role="sponsor", sponsor=db.session.get(Sponsor, gifts["sponsor"]))
    assert client.login(user.phone).status_code == 303
    home = client.get("/sponsor").get_data(as_text=True)
    # Both grids' donations, each card naming its grid, and what became of both grids' goods; the thanks
    # names both grids.
    assert gifts["a"][1] in home and gifts["b"][1] in home and gifts["others"][1] not in home
    assert "<td>甲网格抽纸</td><td>6包</td>" in home and "<td>乙网格食用油</td><td>4瓶</td>" in home
    assert "感谢您为迪祥佳苑B区、测试乙网格志愿服务积分兑换捐赠爱心物品。" in home
    assert "<div class=\"muted\">测试乙网格 · " in home and "<div class=\"muted\">迪祥佳苑B区 · " in home
    for (donation_id, receipt_no), organiser in ((gifts["a"], gifts["organiser_a"]), (gifts["b"], "测试乙网格党支部")):
        page = client.get(f"/sponsor/donations/{donation_id}")
        assert page.status_code == 200 and receipt_no in page.get_data(as_text=True)
        link = f"/sponsor/donations/{donation_id}/receipt.pdf"
        assert f'href="{link}"' in page.get_data(as_text=True)  # the page links the receipt it serves
        receipt = client.get(link)
        assert receipt.status_code == 200 and receipt.headers["Content-Type"] == "application/pdf"
        text = _pdf_text(receipt.data, tmp_path)
        assert receipt_no in text and organiser in text  # each receipt signed by its own grid


def test_another_sponsor_gets_404_for_a_two_grid_sponsors_receipts_by_url(app, client, gifts_to_two_grids):
    gifts = gifts_to_two_grids
    user = factories.make_user(role="sponsor", sponsor=db.session.get(Sponsor, gifts["other"]))
    assert client.login(user.phone).status_code == 303
    home = client.get("/sponsor").get_data(as_text=True)
    assert gifts["others"][1] in home and gifts["a"][1] not in home and gifts["b"][1] not in home
    assert client.get(f"/sponsor/donations/{gifts['others'][0]}").status_code == 200
    for donation_id, _receipt_no in (gifts["a"], gifts["b"]):
        for url in (f"/sponsor/donations/{donation_id}", f"/sponsor/donations/{donation_id}/receipt.pdf"):
            response = client.get(url)
            assert response.status_code == 404, url
            assert not response.data.startswith(b"%PDF")


def test_staff_switch_only_to_grids_they_are_assigned_to(app, client, grid_b):
    staff = _staff(GRID_A)
    db.session.add(StaffAssignment(user_id=staff.id, unit_id=grid_b.id))
    db.session.commit()
    assert client.login(staff.phone).status_code == 303
    page = client.get("/staff").get_data(as_text=True)
    assert "测试乙网格" in page  # the switcher offers both grids
    assert client.submit("/grid/working", {"grid_id": grid_b.id}, page="/staff").status_code == 303
    with scoped_to(grid_b):
        item = factories.make_item("乙网格专用")
    item_id = item.id
    db.session.expunge_all()
    assert client.get(f"/staff/items/{item_id}").status_code == 200  # now working in B
    other = OrgUnit(parent_id=3, level_name="网格", name="丙网格", code="TSTC", is_grid=True)
    db.session.add(other)
    db.session.commit()
    client.submit("/grid/working", {"grid_id": other.id}, page="/staff")
    assert client.get(f"/staff/items/{item_id}").status_code == 200  # unchanged: C is not theirs


def test_an_admin_assigns_staff_to_a_grid_and_staff_may_not(app, client, grid_b):
    staff = factories.make_user(role="staff")
    admin = factories.make_user(role="admin")
    assert client.login(admin.phone).status_code == 303
    response = client.submit("/admin/assignments/add", {"user_id": staff.id, "unit_id": grid_b.id},
                             page="/admin/assignments")
    assert response.status_code == 303
    assert db.session.get(StaffAssignment, (staff.id, grid_b.id)) is not None
    response = client.submit("/admin/assignments/add", {"user_id": staff.id, "unit_id": 3}, page="/admin/assignments")
    assert response.status_code == 422 and "网格员只能分配到网格" in response.get_data(as_text=True)
    client.logout()
    assert client.login(staff.phone).status_code == 303
    assert client.get("/admin/assignments").status_code == 403


# The scope keeps one scoped copy per statement (per scope of several grids), and passes a single grid as a
# parameter of the execution: a statement built once must still see each request's own grid.
_ITEMS_NAMED = sa.select(Item.name).where(Item.name.like(sa.bindparam("pattern")))
_VOLUNTEERS_NAMED = sa.select(User.name).where(User.name == sa.bindparam("name"))


def _names(statement, **params):
    return db.session.scalars(statement, params).all()


def test_a_statement_built_once_sees_the_grid_of_each_scope_it_runs_in(app, grid_b, world_b):
    grid_a = db.session.get(OrgUnit, GRID_A)
    for grid, seen in [(grid_a, []), (grid_b, ["乙网格洗衣液"]), (grid_a, []), (grid_b, ["乙网格洗衣液"])]:
        with scoped_to(grid):
            assert _names(_ITEMS_NAMED, pattern="乙网格%") == seen, grid.name


def test_a_scope_of_two_grids_sees_both_and_the_one_grid_scope_after_it_sees_its_own(app, grid_b, world_b):
    grid_a = db.session.get(OrgUnit, GRID_A)
    with scoped_to(grid_a, people_ids=(GRID_A, grid_b.id)):  # a community whose points go anywhere
        assert _names(_VOLUNTEERS_NAMED, name="乙网格志愿者") == ["乙网格志愿者"]
        assert _names(_ITEMS_NAMED, pattern="乙网格%") == []  # people only: the records stay in their grid
    with scoped_to(grid_a):
        assert _names(_VOLUNTEERS_NAMED, name="乙网格志愿者") == []
    with scoped_to(grid_b):
        assert _names(_VOLUNTEERS_NAMED, name="乙网格志愿者") == ["乙网格志愿者"]


def test_the_counter_panels_month_rows_keep_to_the_scope_as_the_orm_does(app, grid_b):
    """The panel's month is a statement of plain rows (issue 14): the scope's criteria still reach its
    redemptions (ORM columns), so it sees what the ORM's entities see in every scope."""
    from gridapp.counter import service as counter
    from gridapp.org.scope import GridScope, current_scope, set_scope

    _module, staff, visitor, item, session = _counter_case(grid_b, points_anywhere=True)
    now = datetime(2026, 12, 16, 3)
    grid_a = db.session.get(OrgUnit, GRID_A)
    with scoped_to(grid_a, people_ids=org.scope_for(staff).people_ids):
        redemption = counter.redeem(staff, session, visitor, {item.id: 1}, token="t-month", now=now)
    db.session.commit()

    def seen():
        rows = counter.panel_month(visitor, now)
        orm = db.session.scalars(sa.select(Redemption.id).where(Redemption.volunteer_id == visitor.id)).all()
        assert [r.id for r in rows.redemptions] == orm
        return [r.id for r in rows.redemptions], rows.used_by_volunteer

    with scoped_to(grid_a):
        assert seen() == ([redemption.id], {item.id: 1})  # redeemed at A's counter: A's record
    with scoped_to(grid_b):
        assert seen() == ([], {})  # the visitor's home grid does not see A's redemptions
    previous = current_scope()
    set_scope(GridScope(ids=(GRID_A, grid_b.id), working=GRID_A))  # a scope of several grids
    try:
        assert seen() == ([redemption.id], {item.id: 1})
    finally:
        set_scope(previous)
    assert seen() == ([redemption.id], {item.id: 1})  # unscoped (CLI, tests): every grid


def test_the_volunteer_homes_session_and_campaign_rows_keep_to_the_scope(app, grid_b, world_b):
    """The home's duty and campaign cards are plain rows (issue 14); their ORM columns keep the scope's criteria:
    grid B's patrol and published campaign are listed in B's scope only."""
    from gridapp.campaigns import service as campaigns
    from gridapp.duty import service as duty

    db.session.execute(sa.update(Campaign).where(Campaign.id == world_b["campaign"])
                       .values(status="published", published_at=datetime(2026, 12, 15)))
    db.session.commit()
    volunteer = factories.make_user()
    now = datetime(2026, 12, 16, 1, 30)

    def listed():
        return ([s.title for s, _a in duty.sessions_for_volunteer(volunteer, now)],
                [c.title for c, _place, _zones in campaigns.campaigns_for_volunteer(volunteer, now)])

    with scoped_to(db.session.get(OrgUnit, GRID_A)):
        assert listed() == ([], [])
    with scoped_to(grid_b):
        assert listed() == (["乙网格巡逻"], ["乙网格扫雪"])


def test_a_grids_points_posting_lists_its_own_volunteers_only(app, grid_b):
    """A points entry carries no grid: publishing November in grid A once took grid B's volunteer onto A's
    list too (counted there, and objectionable there). Each grid's posting holds its own volunteers."""
    from gridapp.points import service as points
    from gridapp.publicity import service as publicity
    from gridapp.publicity.models import PostingLine
    from gridapp.reporting.months import Month

    earned_at, published_at = datetime(2026, 11, 10, 4, 0), datetime(2026, 12, 1, 4, 0)
    volunteers = {}
    for grid in (db.session.get(OrgUnit, GRID_A), grid_b):
        with scoped_to(grid):
            staff = _staff(grid.id)
            volunteers[grid.id] = factories.make_user(name=f"志愿者{grid.id}")
            points.award(volunteers[grid.id], 10, reference="t", description="测试", key=f"probe:{grid.id}",
                         at=earned_at)
            db.session.commit()
            posting = publicity.publish(staff, Month(2026, 11), published_at)
            db.session.commit()
            listed = db.session.scalars(sa.select(PostingLine.volunteer_id)
                                        .where(PostingLine.posting_id == posting.id)).all()
            assert listed == [volunteers[grid.id].id] and publicity.line_count(posting) == 1


def test_a_grids_honour_roll_ranks_its_own_volunteers_only(app, client, grid_b):
    """光荣榜 summed the whole ledger: under grid A's scope a top volunteer of grid B could not be loaded (a 500
    on /gongshi). Each grid's roll ranks its own volunteers."""
    from gridapp.points import service as points
    from gridapp.publicity import service as publicity
    from gridapp.reporting.months import Month

    earned_at = datetime(2026, 11, 10, 4, 0)
    grid_a = db.session.get(OrgUnit, GRID_A)
    names = {}
    for grid, earned in ((grid_a, 10), (grid_b, 50)):
        with scoped_to(grid):
            volunteer = factories.make_user(name=f"光荣{grid.id}")
            points.award(volunteer, earned, reference="t", description="测试", key=f"roll:{grid.id}", at=earned_at)
            db.session.commit()
            names[grid.id] = volunteer.name
    for grid in (grid_a, grid_b):
        with scoped_to(grid):
            assert [user.name for user, _total in publicity.honour_roll(Month(2026, 11))] == [names[grid.id]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("dataset", ["volunteers", "attendance", "stock"])
def test_a_streamed_export_of_grid_a_holds_nothing_of_grid_b(app, client, world_b, grid_b, dataset, fmt):
    """An export's body runs its queries as the server reads it, after the request's teardown cleared the
    scope: grid A's staff downloaded grid B's volunteers (names, phones), attendances and stock. Grid B's
    staff, the control, find B's rows in the same export."""
    import io
    import zipfile

    def export_as(staff) -> str:
        client.login(staff.phone)
        response = client.get(f"/staff/exports/{dataset}.{fmt}?start=2026-01-01&end=2026-12-31")
        data = response.get_data()  # read before the next request, as a server does
        client.logout()
        assert response.status_code == 200
        if fmt == "csv":
            return data.decode("utf-8-sig")
        book = zipfile.ZipFile(io.BytesIO(data))
        return "".join(book.read(name).decode() for name in book.namelist() if name.endswith(".xml"))

    assert "乙网格" not in export_as(_staff(GRID_A))
    assert "乙网格" in export_as(_staff(grid_b.id))


def test_staff_of_grid_a_cannot_answer_grid_b_objections_by_url(app, client, grid_b):
    """An objection carries no grid: found by its id alone, grid A's staff could reject grid B's (303)."""
    from gridapp.points import service as points
    from gridapp.publicity import service as publicity
    from gridapp.publicity.models import Objection
    from gridapp.reporting.months import Month

    with scoped_to(grid_b):
        staff_b = _staff(grid_b.id)
        volunteer = factories.make_user(name="乙异议人")
        points.award(volunteer, 10, reference="t", description="测试", key="obj:b", at=datetime(2026, 11, 10, 4))
        posting = publicity.publish(staff_b, Month(2026, 11), datetime(2026, 12, 15, 4))
        objection = publicity.raise_objection(volunteer, publicity.line_of(posting, volunteer), "少了",
                                              datetime(2026, 12, 15, 5))
        db.session.commit()
        objection_id = objection.id
    client.login(_staff(GRID_A).phone)
    for action in ("accept", "reject"):
        response = client.submit(f"/staff/objections/{objection_id}/{action}",
                                 {f"r{objection_id}-reason": "不予采纳"}, page="/account")
        assert response.status_code == 404, action
    assert db.session.get(Objection, objection_id).status == "open"


def test_the_dashboards_since_start_participations_are_this_grids(app, grid_b):
    """An attendance carries no grid: the 工作台's since-start participations counted every grid's."""
    from gridapp.duty import service as duty
    from gridapp.reporting import service as reporting

    start = datetime(2026, 12, 10, 2, 0)
    counted = {}
    for grid in (db.session.get(OrgUnit, GRID_A), grid_b):
        with scoped_to(grid):
            staff = _staff(grid.id)
            kind = db.session.scalars(sa.select(DutyType).limit(1)).first() or DutyType(name="巡逻", default_points=5)
            [session] = duty.schedule(staff, duty_type=kind, title="巡逻", place="门口", starts_at=start,
                                      ends_at=start + timedelta(hours=2))
            for _n in range(1 if grid.id == GRID_A else 3):
                duty.confirm(staff, duty.check_in(factories.make_user(), session, start), start + timedelta(hours=3))
            db.session.commit()
    for grid in (db.session.get(OrgUnit, GRID_A), grid_b):
        with scoped_to(grid):
            counted[grid.id] = reporting.totals().participations
    assert counted == {GRID_A: 1, grid_b.id: 3}


def test_where_points_are_spent_anywhere_a_grids_figures_and_exports_are_still_its_own(app, grid_b):
    """A community whose points are spent at any of its counters shows each counter its sibling grids'
    volunteers (people only). Grid A's figures and exports counted grid B's volunteers, registrations and
    ledger through that wider people scope; they are A's own."""
    from gridapp.points import service as points
    from gridapp.reporting import exports
    from gridapp.reporting import service as reporting
    from gridapp.reporting.months import Month

    db.session.get(OrgUnit, 3).points_anywhere = True
    people = org.scope_for(_staff(GRID_A)).people_ids
    assert grid_b.id in people
    month = Month(2026, 12)

    def figures():
        with scoped_to(db.session.get(OrgUnit, GRID_A), people_ids=people):
            return {"per_team": sum(issued for _team, _came, issued in reporting.per_team(month)),
                    "new": reporting.month_figures([month])[0].new_registrations,
                    "volunteers": reporting.totals().volunteers,
                    "pending": reporting.snapshot().pending_registrations,
                    "ledger": len(list(exports.ledger_book(date(2026, 12, 1), date(2026, 12, 31)).sheets[0].rows)),
                    "volunteer list": len(list(exports.volunteers_book().sheets[0].rows))}

    before = figures()
    with scoped_to(grid_b):
        volunteer = factories.make_user(name="乙网格志愿者")
        factories.make_user(name="乙网格待审", status="pending")
        points.award(volunteer, 30, reference="t", description="测试", key="anywhere:b", at=datetime(2026, 12, 10, 4))
        db.session.commit()
    assert figures() == before


def test_a_report_is_handed_only_to_staff_who_work_in_its_grid(app, grid_b):
    """The assignee list named every grid's staff: a report of grid A could go to grid B's staff, who can
    neither see nor do it. It names this grid's staff, the admins of the units above it, and staff assigned
    nowhere (a one-grid deployment)."""
    from gridapp.reports import service as reports

    staff_a, staff_b = _staff(GRID_A), _staff(grid_b.id)
    community_admin = factories.make_user(role="admin")
    db.session.add(StaffAssignment(user_id=community_admin.id, unit_id=3))
    unassigned = factories.make_user(role="staff")
    db.session.commit()
    for grid, theirs, not_theirs in ((db.session.get(OrgUnit, GRID_A), staff_a, staff_b),
                                     (grid_b, staff_b, staff_a)):
        with scoped_to(grid):
            names = {user.id for user in reports.staff_members()}
        assert {theirs.id, community_admin.id, unassigned.id} <= names and not_theirs.id not in names
