"""Each service operation is atomic on its own: a caller that catches the domain error and commits
anyway (a batch job carrying on with the next volunteer, say) commits nothing of the refused operation."""
from datetime import timedelta

import pytest

from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutyType
from gridapp.extensions import db
from gridapp.goods.stock import OutOfStock
from gridapp.invariants import run_all
from gridapp.points import service as points
from gridapp.points.models import PointsEntry

from . import factories


def broken_invariants() -> dict:
    return {name: rows for name, rows in run_all().items() if rows}


def catch_and_commit(operation, error):
    """The careless caller: the error is caught, and whatever happened is committed."""
    with pytest.raises(error):
        operation()
    db.session.commit()


def test_a_refused_spend_leaves_no_entry_when_the_caller_commits(app):
    volunteer = factories.make_user()
    points.award(volunteer, 10, reference="test", description="测试", key="seed")
    db.session.commit()
    catch_and_commit(lambda: points.spend(volunteer, 50, reference="test", description="兑换", key="too-much"),
                     points.InsufficientPoints)
    assert PointsEntry.query.filter_by(idempotency_key="too-much").count() == 0
    assert db.session.get(type(volunteer), volunteer.id, populate_existing=True).points_balance == 10
    assert broken_invariants() == {}


def test_a_refused_reversal_leaves_no_entry_when_the_caller_commits(app):
    volunteer = factories.make_user()
    award = points.award(volunteer, 10, reference="test", description="测试", key="seed")
    points.spend(volunteer, 8, reference="test", description="兑换", key="spent")
    db.session.commit()
    catch_and_commit(lambda: points.reverse(award, reason="误发"), points.InsufficientPoints)
    assert PointsEntry.query.filter_by(kind="reversal").count() == 0
    assert broken_invariants() == {}


@pytest.fixture
def full_session(app):
    staff = factories.make_user(role="staff")
    duty_type = DutyType(name="安全巡逻", default_points=10)
    db.session.add(duty_type)
    start = utcnow() - timedelta(minutes=10)
    [session] = duty.schedule(staff, duty_type=duty_type, title="南门巡逻", place="南门", starts_at=start,
                              ends_at=start + timedelta(hours=2), capacity=1)
    duty.check_in(factories.make_user(), session, utcnow())
    db.session.commit()
    return session


def test_a_check_in_refused_for_a_full_session_leaves_no_attendance(full_session):
    latecomer = factories.make_user()
    catch_and_commit(lambda: duty.check_in(latecomer, full_session, utcnow()), duty.SessionFull)
    assert Attendance.query.filter_by(volunteer_id=latecomer.id).count() == 0
    assert full_session.taken == duty.place_holders(full_session) == 1
    assert broken_invariants() == {}


def test_a_sign_up_refused_for_a_full_session_leaves_no_attendance(full_session):
    latecomer = factories.make_user()
    catch_and_commit(lambda: duty.sign_up(latecomer, full_session, utcnow()), duty.SessionFull)
    assert Attendance.query.filter_by(volunteer_id=latecomer.id).count() == 0
    assert broken_invariants() == {}


def test_a_redemption_refused_for_stock_spends_no_points_when_the_caller_commits(app):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")
    staff = factories.make_user(role="staff")
    session = counter.open_session(staff, local_today(), "")
    soap = factories.make_item("洗衣粉", points_price=5)
    factories.donate(staff, factories.make_sponsor(), (soap, 1))
    volunteer = factories.make_user()
    points.award(volunteer, 100, reference="test", description="测试", key="seed")
    db.session.commit()
    # The stock moved away after the basket was shown (another table): the volunteer's limit is fine.
    catch_and_commit(lambda: counter.redeem(staff, session, volunteer, {soap.id: 3}, token="t1", now=utcnow()),
                     OutOfStock)
    assert db.session.get(type(volunteer), volunteer.id, populate_existing=True).points_balance == 100
    assert PointsEntry.query.filter_by(kind="spend").count() == 0
    assert broken_invariants() == {}
