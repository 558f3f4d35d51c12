"""Operations that move several items lock them in one order (item id), whatever order their lines
come in, so two of them at once queue instead of deadlocking (DESIGN.md §6).

Real threads on a real database; each item's move lingers a moment, so the two transactions overlap
for certain. On PostgreSQL, locking in basket order deadlocked here (one of the two failed with
"deadlock detected", a 500 at the table); SQLite's single writer serialises them anyway.
"""
import time

import pytest

from gridapp.auth.models import User
from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.extensions import db
from gridapp.goods import donations, stock
from gridapp.goods import stocktake as stocktakes
from gridapp.goods.models import Item
from gridapp.invariants import run_all
from gridapp.points import service as points

from .. import factories
from ..concurrency import run_at_once

pytestmark = pytest.mark.own_database


@pytest.fixture
def lingering_moves(monkeypatch):
    """After each item's stock moves, the transaction lingers: the other one gets going meanwhile."""
    move = stock._move_item

    def slow(item, delta):
        moved = move(item, delta)
        time.sleep(0.4)
        return moved

    monkeypatch.setattr(stock, "_move_item", slow)


@pytest.fixture
def table(app):
    """Today's counter open, two items in stock, a volunteer with points."""
    admin, staff = factories.make_user(role="admin"), factories.make_user(role="staff", name="贾亮")
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")
    kettle = factories.make_item("烧水壶", points_price=20, category="日用品")
    sheet = factories.make_item("床单", points_price=20, category="日用品")
    factories.donate(staff, factories.make_sponsor("物业公司"), (kettle, 5), (sheet, 5))
    volunteer = factories.make_user(name="蒋生军")
    points.award(volunteer, 100, reference="test", description="测试积分", key="seed")
    session = counter.open_session(staff, local_today())
    db.session.commit()
    return {"staff": staff.id, "volunteer": volunteer.id, "session": session.id, "kettle": kettle.id,
            "sheet": sheet.id}


def basket(ids, first, then):
    """A basket at the counter with ``first`` put in before ``then``."""
    return counter.redeem(db.session.get(User, ids["staff"]), counter.get_session(ids["session"]),
                          db.session.get(User, ids["volunteer"]), {ids[first]: 1, ids[then]: 1},
                          token=f"basket-{first}", now=utcnow())


def assert_everyone_served_and_invariants_hold(results):
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {name: rows for name, rows in run_all().items() if rows} == {}


def test_a_basket_and_a_donation_in_opposite_orders_both_go_through(app, table, lingering_moves):
    def at_once(n):
        if n == 0:
            return basket(table, "kettle", "sheet")
        staff = db.session.get(User, table["staff"])
        return donations.issue(staff, sponsor=factories.make_sponsor("食品城"), received_on=local_today(),
                               lines=[donations.Line(db.session.get(Item, table["sheet"]), 2),
                                      donations.Line(db.session.get(Item, table["kettle"]), 2)])

    results = run_at_once(app, 2, at_once, timeout=60)
    assert_everyone_served_and_invariants_hold(results)
    assert [db.session.get(Item, table[name]).stock for name in ("kettle", "sheet")] == [6, 6]


def test_a_basket_and_a_stocktake_in_opposite_orders_both_go_through(app, table, lingering_moves):
    staff = db.session.get(User, table["staff"])
    count = stocktakes.start(staff, utcnow())
    lines = stocktakes.lines_of(count)
    assert [line.item.name for line in lines] == ["床单", "烧水壶"]  # the sheet's order: category, then name
    stocktakes.save_counts(staff, count, {line.id: 7 for line in lines}, {line.id: "找到两件" for line in lines})
    db.session.commit()
    count_id = count.id

    def at_once(n):
        if n == 0:
            return basket(table, "kettle", "sheet")  # the other way round
        actor = db.session.get(User, table["staff"])
        return stocktakes.confirm(actor, stocktakes.get_stocktake(count_id), on=local_today(), now=utcnow())

    results = run_at_once(app, 2, at_once, timeout=60)
    assert_everyone_served_and_invariants_hold(results)


def test_a_void_puts_goods_back_in_id_order(app, table, lingering_moves):
    """Voiding a basket (goods back to their lots) while a donation of the same items comes in."""
    redemption_id = basket(table, "sheet", "kettle").id
    db.session.commit()

    def at_once(n):
        actor = db.session.get(User, table["staff"])
        if n == 0:
            return counter.void(actor, counter.get_redemption(redemption_id), "志愿者改换其他物品", utcnow())
        return donations.issue(actor, sponsor=factories.make_sponsor("便民超市"), received_on=local_today(),
                               lines=[donations.Line(db.session.get(Item, table["sheet"]), 1),
                                      donations.Line(db.session.get(Item, table["kettle"]), 1)])

    results = run_at_once(app, 2, at_once, timeout=60)
    assert_everyone_served_and_invariants_hold(results)
    assert [db.session.get(Item, table[name]).stock for name in ("kettle", "sheet")] == [6, 6]


def test_lock_items_answers_the_ids_in_order(app, table):
    assert stock.lock_items([table["sheet"], table["kettle"], table["sheet"]]) == sorted([table["kettle"],
                                                                                          table["sheet"]])
    assert stock.lock_items([]) == []
