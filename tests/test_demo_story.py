"""The demo world tells the same story on every date: the README's volunteer has half a year of duty,
hundreds of points, past redemptions and a patrol to check in to within the hour.

Seeded at month ends, the 1st, 31 December, 29 February, a Sunday and a Monday (the dates on which
random weights once left him with nothing). The story is about the calendar, not the database, so
it runs in the SQLite pass only; everybody else's activity is seeded at a fifth (``crowd``), which the
story does not depend on. The report's figures at full scale are checked on the suite's own demo
world (tests/test_cli.py), seeded at the suite's date — ``GRIDAPP_CLOCK_AT`` moves that one too.
"""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gridapp import clock
from gridapp.auth.models import User
from gridapp.counter.models import Redemption
from gridapp.demo import DEMO_VOLUNTEER_PHONE, seed_demo
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutySession
from gridapp.extensions import db
from gridapp.invariants import run_all
from gridapp.points.models import PointsEntry

pytestmark = pytest.mark.calendar
CROWD = 0.2
SMALL_CROWD = 0.05  # determinism is the generator's, at any crowd; two seeds at 0.2 cost ~4 s more

DATES = [
    "2026-11-30T21:30",  # the last day of November, a Monday evening
    "2026-12-31T23:30",  # New Year's Eve, half an hour before the year ends
    "2027-02-28T08:00",  # the last day of a short month, a Sunday
    "2027-03-01T00:10",  # just after midnight on the 1st, a Monday
    "2028-02-29T12:00",  # a leap day
]


@pytest.mark.parametrize("local_time", DATES)
def test_the_demo_volunteer_has_the_same_story_on_every_date(app, fixed_clock, local_time):
    now = clock.parse_local(local_time)
    fixed_clock.start_at(now)
    added = seed_demo(crowd=CROWD)
    db.session.commit()

    assert added["participations"] >= 200 and added["redemptions"] >= 50
    assert not any(run_all().values()), {name: rows for name, rows in run_all().items() if rows}

    volunteer = db.session.scalars(select(User).filter_by(phone=DEMO_VOLUNTEER_PHONE)).one()
    assert 200 <= volunteer.points_balance < 1000  # hundreds of points
    first_entry = db.session.scalar(select(func.min(PointsEntry.created_at)).filter_by(volunteer_id=volunteer.id))
    assert first_entry <= now - timedelta(days=120)  # a history of several months
    attended = db.session.scalar(select(func.count()).select_from(Attendance).filter_by(volunteer_id=volunteer.id))
    assert attended >= 40
    redeemed = db.session.scalar(select(func.count()).select_from(Redemption).filter_by(volunteer_id=volunteer.id))
    assert redeemed >= 4  # past counter days

    # Tonight's patrol: its check-in opens within the hour, and he can check in.
    soon = [s for s in db.session.scalars(select(DutySession).where(DutySession.ends_at > now))
            if s.checkin_opens_at <= now + timedelta(hours=1)]
    assert soon, "no session to check in to within the hour"
    session = soon[0]
    attendance = duty.check_in(volunteer, session, max(now, session.checkin_opens_at))
    assert attendance.status == "checked_in"


def test_seeding_twice_at_one_moment_builds_the_same_world(app, fixed_clock):
    """Deterministic for a given date: the same moment gives the same balances."""
    now = clock.parse_local(DATES[0])
    fixed_clock.start_at(now)
    seed_demo(now, crowd=SMALL_CROWD)
    balances = dict(db.session.execute(select(User.phone, User.points_balance)).all())
    db.session.rollback()
    seed_demo(now, crowd=SMALL_CROWD)
    assert dict(db.session.execute(select(User.phone, User.points_balance)).all()) == balances
