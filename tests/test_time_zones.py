"""The community's clock (GRIDAPP_TIMEZONE; Beijing time by default) decides every time people type
or read, every month boundary and the last day of the month; sessions may run past midnight.

Every scenario runs twice, in Asia/Shanghai (UTC+8, the default) and Asia/Urumqi (UTC+6), typed and
checked in local time: the stored instants (naive UTC) differ by the zone's offset, nothing else does.
"""
import re
from datetime import datetime, timedelta

import pytest

from gridapp import clock
from gridapp.counter import service as counter
from gridapp.counter.models import CounterSession
from gridapp.duty import service as duty
from gridapp.duty.models import DutySession, DutyType
from gridapp.extensions import db
from gridapp.points import service as points

from . import factories
from .conftest import ZONES


def at(local: str) -> datetime:
    """Move the clock to a time on the community's clock; returns it as naive UTC."""
    moment = clock.parse_local(local)
    clock.start_at(moment)
    return moment


def utc(local: str, zone: str) -> datetime:
    """What a local time in ``zone`` is in UTC, worked out independently of the app."""
    return datetime.fromisoformat(local) - timedelta(hours=ZONES[zone])


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


def schedule_by_form(client, day: str, start: str, end: str, title="南门夜间巡逻") -> DutySession:
    patrol = DutyType.query.filter_by(name="安全巡逻").first()
    if patrol is None:
        patrol = DutyType(name="安全巡逻", default_points=10)
        db.session.add(patrol)
        db.session.commit()
    response = client.submit("/staff/duty/new", {
        "duty_type": str(patrol.id), "title": title, "place": "B区南门岗亭", "day": day, "start": start, "end": end,
        "points": "", "capacity": "", "team": "0", "opens_before": "30", "repeat_weeks": "1"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return DutySession.query.filter_by(title=title).one()


# --- the zone --------------------------------------------------------------------------------

def test_the_default_zone_is_beijing_time(monkeypatch):
    assert clock.DEFAULT_TIMEZONE == "Asia/Shanghai"


def test_a_moment_already_on_the_community_clock_is_not_moved_again(community_zone):
    moment = clock.parse_local("2026-12-02T09:00")
    local = clock.to_local(moment)
    assert clock.to_local(local) == local and clock.to_local(local).hour == 9


def test_an_unknown_zone_is_refused_with_the_setting_named():
    with pytest.raises(ValueError, match="GRIDAPP_TIMEZONE.*Asia/Shanghai"):
        clock.set_timezone("Beijing")


def test_a_patrol_typed_as_1930_opens_check_in_at_1900_on_the_community_clock(client, staff, community_zone):
    client.login(staff.phone)
    session = schedule_by_form(client, "2026-12-20", "19:30", "21:00")
    assert session.starts_at == utc("2026-12-20T19:30", community_zone)
    assert session.checkin_opens_at == utc("2026-12-20T19:00", community_zone)
    volunteer = factories.make_user()
    with pytest.raises(duty.CheckInClosed) as closed:
        duty.check_in(volunteer, session, at("2026-12-20T18:59"))
    assert "12-20 19:00 至 12-20 21:00" in closed.value.message  # the message reads the community's clock
    assert duty.check_in(volunteer, session, at("2026-12-20T19:00")).status == "checked_in"
    db.session.commit()
    client.logout()
    client.login(volunteer.phone)
    page = client.get(f"/c/{session.token}").get_data(as_text=True)  # displayed times: Babel, same zone
    assert "19:30" in page and "21:00" in page and "19:00 – 21:00" in page


def test_this_months_points_start_at_midnight_on_the_first_on_the_community_clock(app, community_zone):
    volunteer = factories.make_user()
    points.award(volunteer, 7, reference="test", description="十二月", key="dec", at=at("2026-12-31T23:50"))
    points.award(volunteer, 5, reference="test", description="一月", key="jan", at=at("2027-01-01T00:10"))
    db.session.commit()
    assert clock.start_of_local_month(clock.utcnow()) == utc("2027-01-01T00:00", community_zone)
    assert points.earned_since(volunteer, clock.start_of_local_month(clock.utcnow())) == 5
    assert points.earned_since(volunteer, clock.start_of_local_month(utc("2026-12-31T23:59", community_zone))) == 12


def test_counter_limits_start_again_at_midnight_on_the_first(app, staff, community_zone):
    admin = factories.make_user(role="admin")
    volunteer = factories.make_user()
    kettle = factories.make_item("烧水壶", points_price=10, monthly_limit=1)
    factories.donate(staff, factories.make_sponsor(), (kettle, 5))
    points.award(volunteer, 100, reference="test", description="测试积分", key="seed")
    at("2026-12-31T23:40")
    session = counter.open_session(staff, clock.local_today())  # 31 December: the last day of the month
    counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="late", now=clock.utcnow())
    db.session.commit()
    [state] = counter.basket(volunteer, {}, at("2026-12-31T23:59")).states
    assert state.can_take_more == 0  # still December: the kettle of this month is taken
    [state] = counter.basket(volunteer, {}, at("2027-01-01T00:01")).states
    assert state.can_take_more == 1  # January on the community's clock: a new month
    assert counter.panel_month(volunteer, clock.utcnow()).redemptions == []
    assert admin  # (an admin exists, as in a real community)


def test_the_last_day_of_the_month_is_cut_on_the_community_clock(client, staff, community_zone):
    client.login(staff.phone)
    at("2026-12-30T23:55")
    assert clock.last_day_of_month(clock.local_today()) != clock.local_today()
    client.submit("/counter/open", page="/counter")
    assert CounterSession.query.count() == 0  # not yet the 31st in the community
    at("2026-12-31T00:05")
    page = client.get("/counter").get_data(as_text=True)
    assert "2026年12月31日" in page
    assert client.submit("/counter/open", page="/counter").status_code == 303
    assert [s.day.isoformat() for s in CounterSession.query.all()] == ["2026-12-31"]


# --- sessions across midnight ----------------------------------------------------------------

def test_a_night_patrol_ending_at_0200_is_scheduled_for_the_next_morning(client, staff, community_zone):
    client.login(staff.phone)
    form = client.get("/staff/duty/new").get_data(as_text=True)
    assert "次日 02:00" in form  # the form says what an earlier end means
    session = schedule_by_form(client, "2026-12-20", "22:00", "02:00")
    assert session.starts_at == utc("2026-12-20T22:00", community_zone)
    assert session.ends_at == utc("2026-12-21T02:00", community_zone)
    roster = client.get(f"/staff/duty/{session.id}").get_data(as_text=True)
    assert "次日 02:00" in roster
    assert re.search(r"21:30 – 次日 02:00", roster)  # the check-in window, across midnight


def test_a_session_across_the_year_end_counts_its_points_in_the_month_it_is_confirmed(
        client, staff, community_zone):
    """31 Dec 22:00 → 1 Jan 02:00: check-in across midnight, still among "today's" sessions after
    midnight, checked out automatically at 02:00, points counted in January (when confirmed)."""
    client.login(staff.phone)
    session = schedule_by_form(client, "2026-12-31", "22:00", "02:00", title="跨年夜间巡逻")
    assert session.ends_at - session.starts_at == timedelta(hours=4)
    volunteer, late = factories.make_user(name="蒋生军"), factories.make_user(name="马静")
    with pytest.raises(duty.CheckInClosed):
        duty.check_in(volunteer, session, at("2026-12-31T21:29"))
    duty.check_in(volunteer, session, at("2026-12-31T21:45"))
    db.session.commit()
    at("2027-01-01T00:30")
    assert [s.title for s, _a in duty.sessions_for_volunteer(volunteer, clock.utcnow())] == ["跨年夜间巡逻"]
    assert session in duty.staff_sessions(clock.utcnow()).items
    duty.check_in(late, session, at("2027-01-01T01:30"))  # after midnight, before the end: still open
    db.session.commit()
    client.logout()
    client.login(volunteer.phone)
    home = client.get("/me").get_data(as_text=True)
    assert "跨年夜间巡逻" in home
    with pytest.raises(duty.CheckInClosed):
        duty.check_in(factories.make_user(), session, at("2027-01-01T02:01"))

    at("2027-01-01T08:30")  # the grid worker confirms the next morning
    client.logout()
    client.login(staff.phone)
    confirm_all = client.submit(f"/staff/duty/{session.id}/confirm-all", {"confirmed": "1"},
                                page=f"/staff/duty/{session.id}")
    assert confirm_all.status_code == 303
    attendance = duty.attendance_of(volunteer, session)
    assert attendance.status == "confirmed" and attendance.auto_checked_out
    assert attendance.checked_out_at == utc("2027-01-01T02:00", community_zone)
    january = clock.start_of_local_month(clock.utcnow())
    december = clock.start_of_local_month(utc("2026-12-31T12:00", community_zone))
    assert points.earned_since(volunteer, january) == 10  # January's
    assert attendance.award_entry.created_at >= january
    assert "12月31日" in attendance.award_entry.description  # the history names the night it began
    client.logout()
    client.login(volunteer.phone)
    assert re.search(r"<strong>10</strong><span>本月获得", client.get("/me/points").get_data(as_text=True))
    assert december < january
