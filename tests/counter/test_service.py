"""The exchange counter: one-transaction redemptions, limits, voids, sessions, and concurrency."""
from datetime import date, time, timedelta

import pytest

from gridapp.auth.models import User
from gridapp.clock import from_local
from gridapp.counter import service as counter
from gridapp.counter.models import CounterSession, Redemption
from gridapp.errors import DomainError
from gridapp.extensions import db
from gridapp.goods import stock
from gridapp.goods.models import Item, Lot, StockMovement
from gridapp.points import service as points
from gridapp.points.models import PointsEntry

from .. import factories
from ..concurrency import assert_invariants_hold, run_at_once

NOW = from_local(date(2026, 11, 30), time(10, 0))  # the last day of November, on the community clock
TODAY = date(2026, 11, 30)


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


@pytest.fixture
def session(staff):
    opened = counter.open_session(staff, TODAY)
    db.session.commit()
    return opened


@pytest.fixture
def shelf(staff):
    """A kettle (one per household a month), tissues (6 per person a month), toothpaste; from two sponsors."""
    kettle = factories.make_item("烧水壶", points_price=120, monthly_limit=1, household_monthly_limit=1)
    tissues = factories.make_item("抽纸", unit="包", points_price=10, monthly_limit=6)
    paste = factories.make_item("牙膏", unit="支", points_price=10)
    factories.donate(staff, factories.make_sponsor("物业公司"), (kettle, 2), (tissues, 20),
                     received_on=date(2026, 9, 1))
    factories.donate(staff, factories.make_sponsor("食品城"), (paste, 10), (kettle, 1), received_on=date(2026, 10, 1))
    return kettle, tissues, paste


def volunteer_with(balance, household=None):
    volunteer = factories.make_user(**({"household": household} if household else {}))
    points.award(volunteer, balance, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    db.session.commit()
    return volunteer


def test_redeem_spends_points_takes_goods_and_numbers_the_receipt(staff, session, shelf):
    kettle, tissues, _ = shelf
    volunteer = volunteer_with(200)
    redemption = counter.redeem(staff, session, volunteer, {kettle.id: 1, tissues.id: 3}, token="t1", now=NOW)
    db.session.commit()
    assert redemption.receipt_no == "DH-DXB-2026-0001" and redemption.total_points == 150
    assert points.balance(volunteer) == 50
    assert (kettle.stock, tissues.stock) == (2, 17)
    assert [(line.item.name, line.quantity, line.unit_points) for line in redemption.lines] == [
        ("烧水壶", 1, 120), ("抽纸", 3, 10)]
    moved = StockMovement.query.filter_by(reference=redemption.reference).all()
    assert {m.lot.sponsor.name for m in moved if m.item_id == kettle.id} == {"物业公司"}  # oldest lot first
    assert_invariants_hold()


def test_prices_are_kept_at_the_time_of_redemption(staff, session, shelf):
    _, tissues, _ = shelf
    redemption = counter.redeem(staff, session, volunteer_with(100), {tissues.id: 2}, token="t1", now=NOW)
    tissues.points_price = 15
    db.session.commit()
    assert redemption.lines[0].unit_points == 10 and redemption.total_points == 20


def test_too_few_points_names_the_shortfall_and_changes_nothing(staff, session, shelf):
    kettle, _, _ = shelf
    volunteer = volunteer_with(100)
    with pytest.raises(points.InsufficientPoints) as caught:
        counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="t1", now=NOW)
    db.session.rollback()
    assert "需要 120 分，现有 100 分" in caught.value.message
    assert Redemption.query.count() == 0 and kettle.stock == 3 and points.balance(volunteer) == 100
    assert_invariants_hold()


def test_stock_gone_since_the_basket_was_built(staff, session, shelf):
    _, _, paste = shelf
    stock.take(paste, 9, reference="elsewhere")
    db.session.commit()
    volunteer = volunteer_with(100)
    with pytest.raises(stock.OutOfStock) as caught:
        counter.redeem(staff, session, volunteer, {paste.id: 2}, token="t1", now=NOW)
    db.session.rollback()
    assert caught.value.message == "牙膏库存不足：需要 2支，只剩 1支。"
    assert points.balance(volunteer) == 100 and Redemption.query.count() == 0


def test_limits_per_volunteer_and_per_household(staff, session, shelf):
    kettle, tissues, _ = shelf
    home = factories.make_household("3", "2", "401")
    husband, wife = volunteer_with(500, home), volunteer_with(500, home)
    counter.redeem(staff, session, husband, {kettle.id: 1, tissues.id: 6}, token="t1", now=NOW)
    db.session.commit()
    with pytest.raises(counter.LimitReached) as per_household:
        counter.redeem(staff, session, wife, {kettle.id: 1}, token="t2", now=NOW)
    db.session.rollback()
    assert "烧水壶每户每月限兑 1个，本月已兑 1个" in per_household.value.message
    with pytest.raises(counter.LimitReached) as per_person:
        counter.redeem(staff, session, husband, {tissues.id: 1}, token="t3", now=NOW)
    db.session.rollback()
    assert "抽纸每人每月限兑 6包" in per_person.value.message
    counter.redeem(staff, session, wife, {tissues.id: 6}, token="t4", now=NOW)  # her own limit is untouched
    db.session.commit()
    assert_invariants_hold()


def test_a_voided_redemption_frees_the_limit(staff, session, shelf):
    kettle, _, _ = shelf
    volunteer = volunteer_with(500)
    first = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="t1", now=NOW)
    counter.void(staff, first, "拿错了", NOW)
    counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="t2", now=NOW)
    db.session.commit()
    assert points.balance(volunteer) == 380


def test_the_basket_and_the_shelf_offer_exactly_what_redeem_accepts_under_the_limits(staff, session):
    """One monthly-limit rule (ItemState): what the counter and the shelf say is left is what redeem allows."""
    from gridapp.counter.shelf import shelf as volunteer_shelf

    towels = factories.make_item("毛巾", unit="条", points_price=10, monthly_limit=4, household_monthly_limit=5)
    factories.donate(staff, factories.make_sponsor("物业公司"), (towels, 20), received_on=date(2026, 9, 1))
    home = factories.make_household("3", "2", "402")
    husband, wife = volunteer_with(500, home), volunteer_with(500, home)
    counter.redeem(staff, session, husband, {towels.id: 3}, token="t1", now=NOW)
    db.session.commit()

    def left(volunteer):
        state = next(s for s in counter.basket(volunteer, {}, NOW).states if s.item.id == towels.id)
        on_shelf = next(i for i in volunteer_shelf(volunteer, NOW) if i.name == "毛巾")
        assert on_shelf.limit_left == state.left_by_limits
        return state.left_by_limits

    assert (left(husband), left(wife)) == (1, 2)  # his own limit (4 - 3); the household's (5 - 3)
    with pytest.raises(counter.LimitReached) as too_many:
        counter.redeem(staff, session, wife, {towels.id: left(wife) + 1}, token="t2", now=NOW)
    db.session.rollback()
    assert too_many.value.message == "毛巾每户每月限兑 5条，本月已兑 3条，这次最多还能兑 2条。"
    counter.redeem(staff, session, wife, {towels.id: left(wife)}, token="t3", now=NOW)
    db.session.commit()
    assert (left(husband), left(wife)) == (0, 0)
    assert_invariants_hold()


def test_the_same_token_gives_the_same_redemption(staff, session, shelf):
    _, tissues, _ = shelf
    volunteer = volunteer_with(100)
    first = counter.redeem(staff, session, volunteer, {tissues.id: 1}, token="same", now=NOW)
    second = counter.redeem(staff, session, volunteer, {tissues.id: 1}, token="same", now=NOW)
    db.session.commit()
    assert first.id == second.id and points.balance(volunteer) == 90 and Redemption.query.count() == 1


def test_the_same_token_again_gives_the_first_redemption_though_that_used_up_the_limit(staff, session, shelf):
    """No look-up of the token before the work: the retry is refused by the monthly limit its own first
    redemption used up, and answers with that redemption, having changed nothing."""
    kettle, _, _ = shelf
    volunteer = volunteer_with(500)
    first = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="last", now=NOW)
    db.session.commit()
    stock_after, balance_after = kettle.stock, points.balance(volunteer)
    again = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="last", now=NOW)
    db.session.commit()
    db.session.expire_all()
    assert again.id == first.id and Redemption.query.count() == 1
    assert kettle.stock == stock_after and points.balance(volunteer) == balance_after
    assert_invariants_hold()


def test_the_same_token_after_the_day_is_closed_gives_the_first_redemption(staff, session, shelf):
    _, tissues, _ = shelf
    volunteer = volunteer_with(100)
    first = counter.redeem(staff, session, volunteer, {tissues.id: 1}, token="before-close", now=NOW)
    counter.close_session(staff, session, NOW + timedelta(hours=6))
    db.session.commit()
    assert counter.redeem(staff, session, volunteer, {tissues.id: 1}, token="before-close", now=NOW).id == first.id


def test_a_redemptions_lines_are_read_back_with_their_prices(staff, session, shelf):
    """The lines are written in one statement, not through the redemption object: asking for them reads them."""
    kettle, tissues, _ = shelf
    redemption = counter.redeem(staff, session, volunteer_with(200), {tissues.id: 3, kettle.id: 1}, token="t1",
                                now=NOW)
    assert [(line.item_id, line.quantity, line.unit_points) for line in redemption.lines] == [
        (kettle.id, 1, 120), (tissues.id, 3, 10)]
    db.session.commit()
    assert_invariants_hold()


def test_void_gives_back_points_and_goods_to_the_very_lots(staff, session, shelf):
    kettle, tissues, _ = shelf
    volunteer = volunteer_with(200)
    redemption = counter.redeem(staff, session, volunteer, {kettle.id: 1, tissues.id: 2}, token="t1", now=NOW)
    db.session.commit()
    before = {lot.id: lot.remaining for lot in Lot.query}
    taken = {m.lot_id: -m.delta for m in StockMovement.query.filter_by(reference=redemption.reference)}
    counter.void(staff, redemption, "志愿者改主意", NOW)
    counter.void(staff, redemption, "又点了一次", NOW)
    db.session.commit()
    after = {lot.id: lot.remaining for lot in Lot.query}
    assert {lot_id: after[lot_id] - before[lot_id] for lot_id in taken} == taken
    assert points.balance(volunteer) == 200
    assert redemption.void_reason == "志愿者改主意" and redemption.voided_by_id == staff.id
    assert PointsEntry.query.filter_by(kind="reversal").count() == 1
    assert_invariants_hold()


def test_closed_session_refuses_redemptions_and_voids(staff, session, shelf):
    _, tissues, _ = shelf
    volunteer = volunteer_with(100)
    redemption = counter.redeem(staff, session, volunteer, {tissues.id: 1}, token="t1", now=NOW)
    counter.close_session(staff, session, NOW + timedelta(hours=6))
    db.session.commit()
    with pytest.raises(counter.SessionClosed):
        counter.redeem(staff, session, volunteer, {tissues.id: 1}, token="t2", now=NOW)
    db.session.rollback()
    with pytest.raises(counter.SessionClosed):
        counter.void(staff, redemption, "晚了", NOW)
    db.session.rollback()
    assert points.balance(volunteer) == 90


def test_sessions_open_on_redemption_days_or_by_an_admin_with_a_reason(app, staff):
    with pytest.raises(counter.NotARedemptionDay):
        counter.open_session(staff, date(2026, 11, 29))
    admin = factories.make_user(role="admin")
    with pytest.raises(DomainError):
        counter.open_session(admin, date(2026, 11, 29))
    extra = counter.open_session(admin, date(2026, 11, 29), reason="春节前加开")
    db.session.commit()
    assert extra.day == date(2026, 11, 29) and counter.is_redemption_day(date(2026, 11, 29))
    assert counter.open_session(staff, TODAY).id != extra.id
    assert counter.open_session(staff, TODAY).id == counter.todays_session(TODAY).id


def test_find_volunteers_by_code_phone_tail_and_name(app):
    volunteer = factories.make_user(name="艾力努尔·拜克力")
    code = volunteer.volunteer_code  # every account has one from the start
    assert counter.find_volunteers(code.lower()) == [volunteer]
    assert counter.find_volunteers(volunteer.phone) == [volunteer]
    assert counter.find_volunteers(volunteer.phone[-4:]) == [volunteer]
    assert counter.find_volunteers("艾力努尔") == [volunteer]
    assert counter.find_volunteers("没有这个人") == []


def test_find_volunteers_reads_a_phone_however_the_table_typed_it(app):
    volunteer = factories.make_user(phone="13912345678")
    factories.make_user(phone="13900000000")
    for typed in ("139 1234 5678", "+86 139-1234-5678", "１３９１２３４５６７８", "５６７８", " 5678\t"):
        assert counter.find_volunteers(typed) == [volunteer], typed
    assert counter.find_volunteers("\x00") == []  # a stray control character is no search at all


def test_day_summary(staff, session, shelf):
    kettle, tissues, _ = shelf
    a, b = volunteer_with(300), volunteer_with(300)
    counter.redeem(staff, session, a, {kettle.id: 1}, token="t1", now=NOW)
    voided = counter.redeem(staff, session, b, {tissues.id: 2}, token="t2", now=NOW)
    counter.void(staff, voided, "错了", NOW)
    counter.redeem(staff, session, b, {tissues.id: 3}, token="t3", now=NOW)
    db.session.commit()
    summary = counter.day_summary(session)
    assert (summary["redemptions"], summary["volunteers"], summary["points"]) == (2, 2, 150)
    assert dict(summary["per_item"]) == {"烧水壶": 1, "抽纸": 3}
    assert dict(summary["per_sponsor"]) == {"物业公司": 4}
    assert [r.id for r in summary["voids"]] == [voided.id] and summary["served"] == [("贾亮", 2)]


@pytest.mark.own_database
def test_two_tables_selling_the_last_kettle(app, staff, session, shelf):
    kettle, _, _ = shelf
    stock.take(kettle, 2, reference="elsewhere")
    ids = [volunteer_with(200).id for _ in range(2)]
    staff_id, session_id, kettle_id = staff.id, session.id, kettle.id

    def sell(n):
        return counter.redeem(db.session.get(User, staff_id), db.session.get(CounterSession, session_id),
                              db.session.get(User, ids[n]), {kettle_id: 1}, token=f"table{n}", now=NOW).receipt_no

    results = run_at_once(app, 2, sell)
    assert sum(isinstance(r, str) for r in results) == 1
    assert any(isinstance(r, stock.OutOfStock) for r in results)
    db.session.expire_all()
    assert db.session.get(Item, kettle_id).stock == 0
    assert sorted(db.session.get(User, i).points_balance for i in ids) == [80, 200]
    assert_invariants_hold()


@pytest.mark.own_database
def test_one_balance_spent_at_two_tables_never_goes_below_zero(app, staff, session, shelf):
    _, tissues, paste = shelf
    volunteer_id = volunteer_with(60).id
    staff_id, session_id, items = staff.id, session.id, [tissues.id, paste.id]

    def spend(n):
        return counter.redeem(db.session.get(User, staff_id), db.session.get(CounterSession, session_id),
                              db.session.get(User, volunteer_id), {items[n % 2]: 4}, token=f"t{n}", now=NOW).id

    results = run_at_once(app, 6, spend)
    assert sum(isinstance(r, int) for r in results) == 1
    # The others are refused: too few points left, or (when a table waited on the items' locks and then
    # saw the first redemption) this month's limit already reached. Either way nothing is spent twice.
    assert all(isinstance(r, (int, points.InsufficientPoints, counter.LimitReached)) for r in results), results
    db.session.expire_all()
    assert db.session.get(User, volunteer_id).points_balance == 20
    assert_invariants_hold()


@pytest.mark.own_database
def test_a_hundred_simultaneous_confirms_of_one_token(app, staff, session, shelf):
    _, tissues, _ = shelf
    volunteer_id = volunteer_with(100).id
    staff_id, session_id, item_id = staff.id, session.id, tissues.id

    def confirm(_):
        return counter.redeem(db.session.get(User, staff_id), db.session.get(CounterSession, session_id),
                              db.session.get(User, volunteer_id), {item_id: 2}, token="one-token", now=NOW).id

    results = run_at_once(app, 100, confirm)
    assert len(set(results)) == 1 and isinstance(results[0], int), [r for r in results if not isinstance(r, int)][:3]
    db.session.expire_all()
    assert Redemption.query.count() == 1 and db.session.get(User, volunteer_id).points_balance == 80
    assert_invariants_hold()


def test_the_ledger_entries_of_a_redemption_and_its_void_carry_their_own_times(staff, session, shelf):
    """A redemption entered for an earlier moment (the demo's past counter days, a late entry) is spent in the
    ledger at that moment, and its void at the void's: the month figures count them in their own month."""
    kettle, _, _ = shelf
    volunteer = volunteer_with(500)
    redemption = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="t-times", now=NOW)
    voided_at = NOW + timedelta(minutes=5)
    counter.void(staff, redemption, "拿错了", voided_at)
    db.session.commit()
    spent, reversal = PointsEntry.query.filter_by(reference=redemption.reference).order_by(PointsEntry.id).all()
    assert (spent.kind, spent.created_at) == ("spend", NOW)
    assert (reversal.kind, reversal.created_at) == ("reversal", voided_at)
