"""The report rules: the status flow one step at a time, the timeline, points paid once, the echo wall's
figures, and files that follow the transaction (no row without its photos, no photo without its row)."""
from datetime import timedelta

import pytest

from gridapp.auth.models import User
from gridapp.clock import local_today, utcnow
from gridapp.duty import service as duty
from gridapp.errors import DomainError, PermissionDenied
from gridapp.extensions import db
from gridapp.invariants import run_all
from gridapp.points import service as points
from gridapp.points.models import PointsEntry
from gridapp.reports import photos
from gridapp.reports import service as reports
from gridapp.reports.models import Report, ReportPhoto

from .. import factories
from ..concurrency import assert_invariants_hold, run_at_once
from .conftest import HTML, advance, jpeg, make_report

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day


def test_a_report_starts_new_with_its_photos_stored_and_one_timeline_event(volunteer):
    report = make_report(volunteer, photos=[jpeg(), jpeg(gps=False)])
    assert report.status == "new" and report.kind == "hazard" and len(report.photos) == 2
    assert [(e.from_status, e.to_status, e.actor_id) for e in report.events] == [(None, "new", volunteer.id)]
    names = photos.store().names()
    assert names == {name for p in report.photos for name in photos.file_names(p.key)}
    assert_invariants_hold(ignore=("schema_is_migrated",))


@pytest.mark.parametrize("fields, message", [
    (dict(description="   "), "请写一下"),
    (dict(description="漏" * 501), "不能超过500个字"),
    (dict(place="", building=None), "请选择楼栋"),
    (dict(place="南" * 81), "不能超过80个字"),
    (dict(category="bomb"), "请选择类别"),
])
def test_bad_text_is_refused_and_nothing_is_written(volunteer, fields, message):
    with pytest.raises(DomainError) as refused:
        make_report(volunteer, photos=[jpeg()], **fields)
    db.session.rollback()
    assert message in refused.value.message
    assert Report.query.count() == 0 and photos.store().names() == set()


def test_one_bad_photo_among_good_ones_writes_no_row_and_no_file(volunteer):
    with pytest.raises(photos.BadPhoto) as refused:
        make_report(volunteer, photos=[jpeg(), HTML])
    db.session.rollback()
    assert "第 2 张" in refused.value.message
    assert Report.query.count() == ReportPhoto.query.count() == 0 and photos.store().names() == set()


def test_files_written_in_a_transaction_that_rolls_back_are_removed(volunteer):
    reports.submit(volunteer, category="road", description="路面破损", place="北门", photos=[jpeg()], now=utcnow())
    assert len(photos.store().names()) == 2  # written, not yet committed
    db.session.rollback()
    assert photos.store().names() == set() and Report.query.count() == 0


def test_a_failing_disk_leaves_neither_row_nor_file(volunteer, monkeypatch):
    written = []

    def write(self, name, data):
        if written:
            raise OSError(28, "No space left on device")
        written.append(name)
        original(self, name, data)

    original = photos.LocalPhotoStore.write
    monkeypatch.setattr(photos.LocalPhotoStore, "write", write)
    with pytest.raises(reports.PhotoNotSaved):
        make_report(volunteer, photos=[jpeg()])
    db.session.rollback()
    assert written and photos.store().names() == set() and Report.query.count() == 0


def test_the_status_moves_one_step_at_a_time_and_each_step_is_on_the_timeline(volunteer, staff, partner):
    report = make_report(volunteer)
    now = utcnow()
    with pytest.raises(reports.WrongStep) as skipped:
        reports.solve(staff, report, resolution="修好了", now=now)
    assert "现在是“新上报”，不能直接标记为已解决" in skipped.value.message
    with pytest.raises(reports.WrongStep):
        reports.start(staff, report, "", now)
    reports.accept(staff, report, partner=partner, due_on=local_today() + timedelta(days=1), note="通知供水公司",
                   today=local_today(), now=now)
    reports.start(staff, report, "已到场", now)
    reports.solve(staff, report, resolution="更换爆裂管段", photos=[jpeg()], now=now)
    db.session.commit()
    with pytest.raises(reports.WrongStep):
        reports.decline(staff, report, "晚了", now)
    assert [(e.from_status, e.to_status, e.note) for e in report.events] == [
        (None, "new", ""), ("new", "accepted", "通知供水公司"), ("accepted", "in_progress", "已到场"),
        ("in_progress", "solved", "")]
    assert all(e.actor_id == staff.id for e in report.events[1:])
    assert report.on_wall and len(report.photos_of("after")) == 1 and report.partner.name == "三坪供水有限公司"


def test_accepting_needs_someone_responsible_and_a_due_date_not_in_the_past(volunteer, staff):
    report = make_report(volunteer)
    with pytest.raises(DomainError, match="请指定负责"):
        reports.accept(staff, report, due_on=local_today(), today=local_today(), now=utcnow())
    with pytest.raises(DomainError, match="不能早于今天"):
        reports.accept(staff, report, assignee=staff, due_on=local_today() - timedelta(days=1), today=local_today(),
                       now=utcnow())
    with pytest.raises(DomainError, match="只能指派给在岗的网格员"):
        reports.accept(staff, report, assignee=volunteer, due_on=local_today(), today=local_today(), now=utcnow())


def test_volunteers_cannot_triage(volunteer):
    report = make_report(volunteer)
    with pytest.raises(PermissionDenied):
        reports.accept(volunteer, report, assignee=volunteer, due_on=local_today(), today=local_today(), now=utcnow())


def test_a_confirmed_hazard_pays_its_category_points_once(volunteer, staff):
    report = make_report(volunteer, category="road")
    reports.set_hazard_points(staff, "road", 8, utcnow())
    advance(report, staff, "accepted")
    reports.accept(staff, report, assignee=staff, due_on=local_today(), today=local_today(), now=utcnow())  # again
    db.session.commit()
    assert points.balance(db.session.get(User, volunteer.id)) == 8
    [entry] = PointsEntry.query.all()
    assert entry.reference == f"report:{report.id}" and entry.description.startswith("隐患上报：道路破损")
    assert report.points_entry_id == entry.id
    assert_invariants_hold(ignore=("schema_is_migrated",))


def test_the_report_in_hand_shows_each_step_without_reading_its_row_back(volunteer, staff, count_queries):
    report = make_report(volunteer, category="ice")
    with count_queries() as queries:
        reports.accept(staff, report, assignee=staff, due_on=local_today(), today=local_today(), now=utcnow())
    # One read of the report (under the write lock, before deciding), none after its UPDATEs.
    assert sum("FROM reports" in s for s in queries.selects) == 1, queries.report()
    assert report.status == "accepted" and report.assignee is staff and report.points_entry.delta == 5
    reports.start(staff, report, "已到现场", utcnow())
    reports.solve(staff, report, resolution="已撒融雪剂", now=utcnow())
    assert (report.status, report.resolution, report.closed_at is not None) == ("solved", "已撒融雪剂", True)
    db.session.expire_all()
    assert (report.status, report.assignee_id, report.points_entry.delta) == ("solved", staff.id, 5)


def test_the_default_is_five_points_and_wishes_earn_nothing(volunteer, staff):
    hazard = advance(make_report(volunteer, category="ice"), staff, "accepted")
    wish = advance(make_report(volunteer, category="shopping", description="独居老人需要代买米面"), staff, "accepted")
    assert hazard.points_entry.delta == 5 and wish.points_entry is None
    assert points.balance(db.session.get(User, volunteer.id)) == 5


def test_a_declined_report_earns_nothing_and_declining_after_paying_reverses(volunteer, staff):
    declined = advance(make_report(volunteer), staff, "declined")
    assert declined.points_entry is None and declined.decline_reason == "重复上报"
    paid = advance(make_report(volunteer, category="light"), staff, "accepted")
    reports.decline(staff, paid, "核实后不属实", utcnow())
    db.session.commit()
    assert points.balance(db.session.get(User, volunteer.id)) == 0
    assert PointsEntry.query.filter_by(kind="reversal").count() == 1
    assert_invariants_hold(ignore=("schema_is_migrated",))


@pytest.mark.own_database
def test_two_staff_confirming_at_once_pay_once(app, volunteer, staff):
    other = factories.make_user(role="admin")
    report_id = make_report(volunteer).id
    actors = [staff.id, other.id]

    def confirm(n):
        actor = db.session.get(User, actors[n % 2])
        return reports.accept(actor, db.session.get(Report, report_id), assignee=actor, due_on=local_today(),
                              today=local_today(), now=utcnow()).status

    results = run_at_once(app, 2, confirm)
    assert results == ["accepted", "accepted"], results
    db.session.expire_all()
    assert PointsEntry.query.count() == 1 and points.balance(db.session.get(User, volunteer.id)) == 5
    assert [e.to_status for e in db.session.get(Report, report_id).events] == ["new", "accepted"]
    assert_invariants_hold(ignore=("schema_is_migrated",))


def test_a_report_from_a_patrol_is_linked_to_the_check_in(volunteer, staff):
    duty_type = duty.add_duty_type(staff, "安全巡逻", 10)
    now = utcnow()
    [session] = duty.schedule(staff, duty_type=duty_type, title="南门夜间巡逻", place="B区南门岗亭",
                              starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=2))
    attendance = duty.check_in(volunteer, session, now)
    db.session.commit()
    assert reports.current_patrol(volunteer, now).id == attendance.id
    report = make_report(volunteer, attendance=attendance)
    assert report.attendance.session.title == "南门夜间巡逻"
    later = now + timedelta(hours=4)
    assert reports.current_patrol(volunteer, later) is None
    with pytest.raises(DomainError, match="已经结束"):
        reports.submit(volunteer, category="road", description="x", place="y", attendance=attendance, now=later)


def test_a_wish_shows_on_the_wall_only_with_consent(volunteer, staff):
    private = advance(make_report(volunteer, category="repair", description="家里水龙头坏了"), staff, "solved")
    assert not private.on_wall
    with pytest.raises(DomainError, match="没有同意公开"):
        reports.set_on_wall(staff, private, True)
    shared = advance(make_report(volunteer, category="repair", description="楼道灯坏了", wall_consent=True),
                     staff, "solved")
    hazard = advance(make_report(volunteer), staff, "solved")
    assert shared.on_wall and hazard.on_wall
    reports.set_on_wall(staff, hazard, False)
    db.session.commit()
    assert [r.id for r in reports.wall().items] == [shared.id]


def test_wall_months_count_reports_solutions_and_average_days(volunteer, staff, fixed_clock):
    start = utcnow()
    first = make_report(volunteer)
    fixed_clock.start_at(start + timedelta(days=2))
    advance(first, staff, "solved")
    make_report(volunteer)  # reported, not solved
    [this_month, *older] = reports.wall_months(utcnow())
    assert (this_month.reported, this_month.solved) == (2, 1)
    assert this_month.average_days == pytest.approx(2.0, abs=0.01)
    assert len(older) == 5 and all(m.reported == m.solved == 0 for m in older)


def test_verify_names_a_missing_and_an_orphaned_photo_file(volunteer):
    report = make_report(volunteer, photos=[jpeg()])
    store = photos.store()
    key = report.photos[0].key
    store.delete(key + ".t.jpg")
    store.write("Z" * 24 + ".jpg", b"left behind")
    problems = run_all()["report_photo_files_match_rows"]
    assert problems == [f"report_photos id {report.photos[0].id}: file {key}.t.jpg is missing",
                        "uploads/reports/" + "Z" * 24 + ".jpg: no report_photos row (orphaned file)"]
