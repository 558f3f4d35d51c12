"""Duty rules: scheduling, sign-up, check-in window and capacity, roster, confirming and correcting points."""
from datetime import date, time, timedelta

import pytest

from gridapp.auth.models import User
from gridapp.clock import from_local
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutySession, DutyType
from gridapp.errors import PermissionDenied
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.points.models import PointsEntry

from .. import factories
from ..concurrency import assert_invariants_hold, run_at_once

START = from_local(date(2026, 12, 26), time(8, 0))  # the snow-clearing day of the report, on the community clock


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


@pytest.fixture
def patrol_type(app):
    duty_type = DutyType(name="安全巡逻", default_points=10)
    db.session.add(duty_type)
    db.session.commit()
    return duty_type


def make_session(staff, duty_type, capacity=None, team=None, points=None, starts_at=START):
    [session] = duty.schedule(staff, duty_type=duty_type, title="南门夜间巡逻", place="B区南门岗亭",
                              starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), capacity=capacity,
                              team=team, points=points)
    db.session.commit()
    return session


def test_schedule_defaults_points_and_window(staff, patrol_type):
    session = make_session(staff, patrol_type)
    assert session.points == 10
    assert session.checkin_opens_at == START - timedelta(minutes=30)
    assert session.checkin_closes_at == START + timedelta(hours=2)
    assert len(session.token) >= 12


def test_repeat_weekly_makes_a_series(staff, patrol_type):
    sessions = duty.schedule(staff, duty_type=patrol_type, title="周六巡逻", place="南门", starts_at=START,
                             ends_at=START + timedelta(hours=1), points=12, repeat_weeks=4)
    db.session.commit()
    assert [s.starts_at for s in sessions] == [START + timedelta(weeks=n) for n in range(4)]
    assert len({s.series for s in sessions}) == 1 and len({s.token for s in sessions}) == 4
    assert {s.points for s in sessions} == {12}


@pytest.mark.parametrize("hours, weeks, message", [(-1, 1, "结束时间必须晚于开始时间"), (1, 0, "每周重复"),
                                                   (1, 27, "每周重复"), (25, 1, "不能超过24小时")])
def test_schedule_refuses_bad_times(staff, patrol_type, hours, weeks, message):
    with pytest.raises(duty.BadSchedule) as caught:
        duty.schedule(staff, duty_type=patrol_type, title="x", place="y", starts_at=START,
                      ends_at=START + timedelta(hours=hours), repeat_weeks=weeks)
    assert message in caught.value.message
    assert DutySession.query.count() == 0


def test_volunteers_cannot_schedule(app, patrol_type):
    with pytest.raises(PermissionDenied):
        duty.schedule(factories.make_user(), duty_type=patrol_type, title="x", place="y", starts_at=START,
                      ends_at=START + timedelta(hours=1))


def test_check_in_only_inside_the_window(staff, patrol_type):
    session = make_session(staff, patrol_type)
    volunteer = factories.make_user()
    with pytest.raises(duty.CheckInClosed) as early:
        duty.check_in(volunteer, session, START - timedelta(minutes=31))
    assert "12-26 07:30 至 12-26 10:00" in early.value.message  # shown on the community clock
    with pytest.raises(duty.CheckInClosed):
        duty.check_in(volunteer, session, START + timedelta(hours=2, seconds=1))
    attendance = duty.check_in(volunteer, session, START - timedelta(minutes=30))
    db.session.commit()
    assert attendance.status == "checked_in" and session.taken == 1


def test_checking_in_twice_says_when_and_changes_nothing(staff, patrol_type):
    session = make_session(staff, patrol_type)
    volunteer = factories.make_user()
    duty.check_in(volunteer, session, START)
    db.session.commit()
    with pytest.raises(duty.AlreadyCheckedIn) as caught:
        duty.check_in(volunteer, session, START + timedelta(minutes=5))
    assert "12-26 08:00" in caught.value.message
    db.session.rollback()
    assert session.taken == 1 and Attendance.query.count() == 1


def test_sign_up_then_check_in_holds_one_place(staff, patrol_type):
    session = make_session(staff, patrol_type, capacity=2)
    volunteer = factories.make_user()
    duty.sign_up(volunteer, session, START - timedelta(days=1))
    duty.sign_up(volunteer, session, START - timedelta(days=1))  # again: no-op
    duty.check_in(volunteer, session, START)
    db.session.commit()
    assert session.taken == 1
    assert_invariants_hold()


def test_cancelled_sign_up_frees_the_place(staff, patrol_type):
    session = make_session(staff, patrol_type, capacity=1)
    first, second = factories.make_user(), factories.make_user()
    duty.sign_up(first, session, START - timedelta(days=1))
    db.session.commit()
    with pytest.raises(duty.SessionFull):
        duty.sign_up(second, session, START - timedelta(days=1))
    db.session.rollback()
    duty.cancel_sign_up(first, session)
    duty.sign_up(second, session, START - timedelta(days=1))
    db.session.commit()
    assert session.taken == 1
    assert_invariants_hold()


def test_team_sessions_are_for_team_members(staff, patrol_type):
    team = factories.make_team("平安巡逻队")
    session = make_session(staff, patrol_type, team=team)
    with pytest.raises(duty.NotYourTeam) as caught:
        duty.check_in(factories.make_user(), session, START)
    assert "平安巡逻队" in caught.value.message
    assert duty.check_in(factories.make_user(team=team), session, START).status == "checked_in"


def test_confirm_awards_the_points_once(staff, patrol_type):
    session = make_session(staff, patrol_type, points=15)
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, session, START)
    duty.confirm(staff, attendance, START + timedelta(hours=1))
    duty.confirm(staff, attendance, START + timedelta(hours=1))  # again: no-op
    db.session.commit()
    assert attendance.status == "confirmed"
    assert points.balance(volunteer) == 15
    entry = PointsEntry.query.one()
    assert (entry.description, entry.created_by_id) == ("安全巡逻：南门夜间巡逻（12月26日）", staff.id)
    assert_invariants_hold()


def test_forgotten_check_out_is_made_at_the_end(staff, patrol_type):
    session = make_session(staff, patrol_type)
    attendance = duty.check_in(factories.make_user(), session, START)
    duty.confirm(staff, attendance, START + timedelta(hours=3))
    db.session.commit()
    assert attendance.checked_out_at == session.ends_at and attendance.auto_checked_out


def test_confirm_refuses_someone_only_signed_up(staff, patrol_type):
    session = make_session(staff, patrol_type)
    attendance = duty.sign_up(factories.make_user(), session, START - timedelta(days=1))
    with pytest.raises(duty.NotPresent):
        duty.confirm(staff, attendance, START)


def test_mark_present_for_a_volunteer_without_a_phone_even_when_full(staff, patrol_type):
    session = make_session(staff, patrol_type, capacity=1)
    duty.check_in(factories.make_user(), session, START)
    elderly = factories.make_user(name="祁生勇")
    attendance = duty.mark_present(staff, session, elderly, START + timedelta(minutes=10))
    db.session.commit()
    assert attendance.status == "checked_in" and attendance.marked_by_id == staff.id
    assert session.taken == 2
    assert_invariants_hold()


def test_volunteers_cannot_mark_others_present(staff, patrol_type):
    session = make_session(staff, patrol_type)
    with pytest.raises(PermissionDenied):
        duty.mark_present(factories.make_user(), session, factories.make_user(), START)


def test_reject_after_confirm_reverses_the_award(staff, patrol_type):
    session = make_session(staff, patrol_type)
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, session, START)
    duty.confirm(staff, attendance, START)
    duty.reject(staff, attendance, "冒名签到", START)
    db.session.commit()
    assert attendance.status == "rejected" and attendance.rejection_reason == "冒名签到"
    assert points.balance(volunteer) == 0
    assert sorted(e.kind for e in PointsEntry.query) == ["award", "reversal"]
    assert_invariants_hold()


def test_correcting_points_is_a_reversal_plus_a_new_award(staff, patrol_type):
    session = make_session(staff, patrol_type)
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, session, START)
    duty.confirm(staff, attendance, START)
    duty.correct_points(staff, attendance, 20, "扫雪加倍", START)
    db.session.commit()
    assert points.balance(volunteer) == 20
    assert [(e.kind, e.delta) for e in PointsEntry.query.order_by(PointsEntry.id)] == [
        ("award", 10), ("reversal", -10), ("award", 20)]
    assert attendance.award_entry.delta == 20
    assert_invariants_hold()


def test_the_attendance_in_hand_follows_each_change_without_reading_its_row_back(staff, patrol_type,
                                                                                   count_queries):
    session = make_session(staff, patrol_type)
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, session, START)
    with count_queries() as queries:
        duty.check_out(volunteer, session, START + timedelta(hours=1))
    assert attendance.status == "checked_out" and attendance.checked_out_at == START + timedelta(hours=1)
    assert [s.split()[0] for s in queries.statements] == ["SELECT", "UPDATE"], queries.report()
    duty.confirm(staff, attendance, START + timedelta(hours=3))
    assert attendance.award_entry.delta == 10 and attendance.reviewed_by is staff
    duty.correct_points(staff, attendance, 20, "扫雪加倍", START + timedelta(hours=4))
    # The link whose key moved is read again: the new award, not the one loaded above.
    assert attendance.award_entry.delta == 20 and attendance.status == "confirmed"
    db.session.expire_all()
    assert (attendance.status, attendance.award_entry.delta) == ("confirmed", 20)


def test_an_attendance_someone_else_moved_is_read_again(staff, patrol_type):
    session = make_session(staff, patrol_type)
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, session, START)
    db.session.execute(db.update(Attendance).where(Attendance.id == attendance.id).values(status="checked_out"))
    duty.check_out(volunteer, session, START + timedelta(hours=1))  # nothing left to change: no-op
    assert attendance.status == "checked_out" and attendance.checked_out_at is None


def test_confirm_all_present(staff, patrol_type):
    session = make_session(staff, patrol_type)
    volunteers = [factories.make_user() for _ in range(3)]
    for volunteer in volunteers:
        duty.check_in(volunteer, session, START)
    duty.sign_up(factories.make_user(), session, START - timedelta(hours=1))
    assert duty.confirm_all_present(staff, session, START + timedelta(hours=2)) == 3
    db.session.commit()
    assert [points.balance(v) for v in volunteers] == [10, 10, 10]
    assert_invariants_hold()


@pytest.mark.own_database
def test_fifty_simultaneous_confirms_write_one_entry(app, staff, patrol_type):
    session = make_session(staff, patrol_type)
    volunteer = factories.make_user()
    attendance_id = duty.check_in(volunteer, session, START).id
    staff_id = staff.id
    db.session.commit()

    def confirm(_):
        actor = db.session.get(User, staff_id)
        return duty.confirm(actor, db.session.get(Attendance, attendance_id), START + timedelta(hours=1)).status

    results = run_at_once(app, 50, confirm)
    assert results == ["confirmed"] * 50, [r for r in results if r != "confirmed"][:3]
    db.session.expire_all()
    assert PointsEntry.query.count() == 1
    assert points.balance(volunteer) == 10
    assert_invariants_hold()


@pytest.mark.own_database
def test_fifty_simultaneous_check_ins_fill_ten_places(app, staff, patrol_type):
    session = make_session(staff, patrol_type, capacity=10)
    volunteer_ids = [factories.make_user().id for _ in range(50)]
    session_id = session.id

    def check_in(n):
        return duty.check_in(db.session.get(User, volunteer_ids[n]), db.session.get(DutySession, session_id),
                             START).status

    results = run_at_once(app, 50, check_in)
    assert results.count("checked_in") == 10
    assert all(isinstance(r, duty.SessionFull) for r in results if r != "checked_in"), results
    db.session.expire_all()
    assert Attendance.query.count() == 10 and db.session.get(DutySession, session_id).taken == 10
    assert_invariants_hold()


@pytest.mark.own_database
def test_simultaneous_check_ins_by_one_volunteer_count_once(app, staff, patrol_type):
    session = make_session(staff, patrol_type, capacity=5)
    volunteer_id, session_id = factories.make_user().id, session.id

    def check_in(_):
        return duty.check_in(db.session.get(User, volunteer_id), db.session.get(DutySession, session_id),
                             START).status

    results = run_at_once(app, 20, check_in)
    assert results.count("checked_in") == 1
    assert all(isinstance(r, duty.AlreadyCheckedIn) for r in results if r != "checked_in"), results
    db.session.expire_all()
    assert db.session.get(DutySession, session_id).taken == 1
    assert_invariants_hold()
