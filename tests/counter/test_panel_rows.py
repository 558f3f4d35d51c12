"""The counter panel's month as plain rows (issue 14): the same redemptions and the same use against the
limits as the ORM reads it, in one statement."""
from datetime import date, time, timedelta

import sqlalchemy as sa

from gridapp.clock import from_local, start_of_local_month
from gridapp.counter import service as counter
from gridapp.counter.models import Redemption
from gridapp.extensions import db
from gridapp.goods.models import Item
from gridapp.points import service as points

from .. import factories

NOW = from_local(date(2026, 11, 30), time(10, 0))
LAST_MONTH = from_local(date(2026, 10, 31), time(10, 0))


def _volunteer(household, balance=1000):
    volunteer = factories.make_user(household=household)
    points.award(volunteer, balance, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    db.session.commit()
    return volunteer


def test_the_panels_month_lists_my_redemptions_newest_first_and_counts_use_as_the_limits_do(app):
    staff = factories.make_user(role="staff")
    session = counter.open_session(staff, date(2026, 11, 30))
    kettle = factories.make_item("烧水壶", points_price=50, household_monthly_limit=2)
    tissues = factories.make_item("抽纸", unit="包", points_price=5, monthly_limit=9)
    paste = factories.make_item("牙膏", unit="支", points_price=5)
    factories.donate(staff, factories.make_sponsor(), (kettle, 9), (tissues, 50), (paste, 50))
    home = factories.make_household()
    me, housemate, stranger = _volunteer(home), _volunteer(home), _volunteer(factories.make_household())
    last_month = counter.redeem(staff, session, me, {tissues.id: 4}, token="old", now=LAST_MONTH)
    first = counter.redeem(staff, session, me, {tissues.id: 2, paste.id: 1}, token="a", now=NOW)
    voided = counter.redeem(staff, session, me, {kettle.id: 1, tissues.id: 1}, token="b", now=NOW)
    counter.void(staff, voided, "登记错了", NOW)
    theirs = counter.redeem(staff, session, housemate, {kettle.id: 1, tissues.id: 3}, token="c", now=NOW)
    counter.redeem(staff, session, stranger, {kettle.id: 1}, token="d", now=NOW)
    db.session.commit()

    month = counter.panel_month(me, NOW)

    orm = db.session.scalars(sa.select(Redemption).where(Redemption.volunteer_id == me.id,
                                                         Redemption.created_at >= start_of_local_month(NOW))
                             .order_by(Redemption.id.desc())).all()
    assert [(r.receipt_no, r.voided_at, [(line.name, line.quantity) for line in r.lines]) for r in month.redemptions] \
        == [(r.receipt_no, r.voided_at, [(line.item.name, line.quantity) for line in r.lines]) for r in orm]
    assert [r.id for r in month.redemptions] == [voided.id, first.id]
    assert last_month.id not in [r.id for r in month.redemptions] and theirs.id not in [r.id for r in month.redemptions]
    ids = db.session.scalars(sa.select(Item.id)).all()
    assert (month.used_by_volunteer, month.used_by_household) == counter._used_this_month_by_both(
        ids, start_of_local_month(NOW), me)
    assert month.used_by_volunteer == {tissues.id: 2, paste.id: 1}  # the voided redemption not counted
    assert month.used_by_household == {tissues.id: 5, paste.id: 1, kettle.id: 1}


def test_a_volunteer_without_a_household_counts_only_their_own_use(app):
    staff = factories.make_user(role="staff")
    session = counter.open_session(staff, date(2026, 11, 30))
    paste = factories.make_item("牙膏", unit="支", points_price=5)
    factories.donate(staff, factories.make_sponsor(), (paste, 50))
    alone = factories.make_user(role="volunteer", household=None)
    points.award(alone, 100, reference="test", description="测试积分", key=f"seed:{alone.id}")
    counter.redeem(staff, session, alone, {paste.id: 2}, token="alone", now=NOW)
    db.session.commit()
    month = counter.panel_month(alone, NOW)
    assert month.used_by_volunteer == {paste.id: 2} and month.used_by_household == {}
    assert [[(line.name, line.quantity) for line in r.lines] for r in month.redemptions] == [[("牙膏", 2)]]


def test_the_panel_shows_the_months_redemptions_and_the_basket_counts_them(app, client, login_as, fixed_clock):
    fixed_clock.start_at(NOW)
    staff = login_as("staff")
    session = counter.open_session(staff, date(2026, 11, 30))
    kettle = factories.make_item("烧水壶", points_price=50, household_monthly_limit=1)
    factories.donate(staff, factories.make_sponsor(), (kettle, 9))
    me = _volunteer(factories.make_household())
    counter.redeem(staff, session, me, {kettle.id: 1}, token="e", now=LAST_MONTH)  # not this month's
    done = counter.redeem(staff, session, me, {kettle.id: 1}, token="k", now=NOW - timedelta(days=1))
    db.session.commit()
    page = client.get(f"/counter/v/{me.id}").get_data(as_text=True)
    assert f"{done.receipt_no}：烧水壶×1" in page
    assert f'id="add{kettle.id}" name="add" value="{kettle.id}" disabled' in page  # the household's one kettle is used
