"""Closed months' points are summed once per process (reporting.service.points_figures): the cached
figures equal a fresh computation and the independent sums of the raw rows; the open month is
summed on every view; a correction made today of an old attendance counts in today's month and
leaves the closed month as it was."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp import clock
from gridapp.clock import utcnow
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutySession
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.reporting import service as reporting
from gridapp.reporting.months import Month, last_months

from .. import factories
from .test_figures import boundary_world, independent  # noqa: F401  (a fixture, and the raw-row sums)

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day

NOV, DEC = Month(2026, 11), Month(2026, 12)  # the suite's clock is 16 December 2026


def cached() -> dict[Month, tuple[int, int]]:
    return {Month.of(start): sums for (start, _end, _grids), sums in reporting.closed_months_cache().items()}


def issued_spent(figures) -> tuple[int, int]:
    return figures.points_issued, figures.points_spent


def test_the_dashboard_caches_exactly_the_closed_months_and_their_sums_equal_a_fresh_computation(boundary_world):
    now = utcnow()
    board = reporting.dashboard(now)
    months = last_months(now, reporting.TREND_MONTHS)
    assert set(cached()) == set(months[:-1]) and DEC not in cached()
    fresh = reporting._points_sums(months)
    raw = independent(months)
    for figures in board.trend:
        assert issued_spent(figures) == fresh[figures.month]
        assert issued_spent(figures) == (raw[figures.month]["points_issued"], raw[figures.month]["points_spent"])
    assert issued_spent(board.last_month) == (17, 0)  # hand-checked in test_figures: 10 + the 23:59:59 bonus


def test_a_second_view_sums_only_the_open_month(boundary_world, monkeypatch):
    now = utcnow()
    reporting.dashboard(now)
    asked = []
    real = reporting._points_sums
    monkeypatch.setattr(reporting, "_points_sums", lambda months: asked.append(list(months)) or real(months))
    again = reporting.dashboard(now)
    assert asked == [[DEC]]
    report = reporting.monthly_report(NOV, now)  # both its months are closed: no ledger sum at all
    assert asked == [[DEC]]
    assert issued_spent(report.figures) == issued_spent(again.last_month)


def test_the_current_month_is_never_cached_and_a_new_entry_shows_at_once(boundary_world):
    staff = factories.make_user(role="staff")
    before = reporting.dashboard(utcnow())
    points.award(boundary_world["ann"], 5, reference="bonus:3", description="奖励", key="bonus:3", by=staff)
    db.session.flush()
    after = reporting.dashboard(utcnow())
    assert DEC not in cached()
    assert after.this_month.points_issued == before.this_month.points_issued + 5
    assert issued_spent(after.last_month) == issued_spent(before.last_month)


def test_a_correction_today_of_a_closed_months_attendance_counts_today_and_the_closed_month_stays(boundary_world):
    staff = factories.make_user(role="staff")
    before = reporting.dashboard(utcnow())
    assert NOV in cached()
    late_nov = db.session.scalars(  # Ann's 23:59 session on 30 November, confirmed then
        select(Attendance).join(DutySession, Attendance.session_id == DutySession.id)
        .where(Attendance.volunteer_id == boundary_world["ann"].id, DutySession.starts_at < NOV.end)).one()
    duty.correct_points(staff, late_nov, 25, "补记", utcnow())  # 10 -> 25: a reversal and an award, today
    db.session.flush()
    after = reporting.dashboard(utcnow())
    assert issued_spent(after.last_month) == issued_spent(before.last_month) == (17, 0)
    assert after.this_month.points_issued == before.this_month.points_issued - 10 + 25
    fresh = reporting._points_sums([NOV, DEC])
    assert issued_spent(after.last_month) == fresh[NOV] and issued_spent(after.this_month) == fresh[DEC]
    raw = independent([NOV, DEC])
    assert after.this_month.points_issued == raw[DEC]["points_issued"]


def test_a_month_counts_as_closed_only_an_hour_after_its_end(app, fixed_clock):
    midnight = NOV.end  # 00:00 on 1 December, local
    assert not reporting.is_closed(NOV, midnight + reporting.CLOSED_AFTER - timedelta(seconds=1))
    assert reporting.is_closed(NOV, midnight + reporting.CLOSED_AFTER)
    fixed_clock.start_at(midnight + timedelta(minutes=30))
    reporting.dashboard(clock.utcnow())
    assert NOV not in cached() and Month(2026, 10) in cached()
    fixed_clock.start_at(midnight + timedelta(hours=1))
    reporting.dashboard(clock.utcnow())
    assert NOV in cached() and DEC not in cached()


def test_without_now_nothing_is_cached(boundary_world):
    reporting.month_figures([NOV, DEC])
    reporting.monthly_report(NOV)
    assert cached() == {}
