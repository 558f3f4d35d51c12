"""The stock ledger: lots, first-in-first-out, exact put-back, append-only movements, concurrency."""
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from gridapp.extensions import db
from gridapp.goods import stock
from gridapp.goods.models import Item, Lot, StockMovement
from gridapp.invariants import run_all

from .. import factories
from ..concurrency import assert_invariants_hold, run_at_once


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff")


@pytest.fixture
def kettle(app):
    return factories.make_item("烧水壶", points_price=120, low_stock_threshold=2)


def test_take_consumes_the_oldest_lots_first(staff, kettle):
    food_city, shop = factories.make_sponsor("食品城"), factories.make_sponsor("便民超市")
    factories.donate(staff, shop, (kettle, 3), received_on=date(2026, 10, 20))
    factories.donate(staff, food_city, (kettle, 5), received_on=date(2026, 9, 1))
    taken = stock.take(kettle, 6, reference="redemption:1", by=staff)
    db.session.commit()
    assert [(t.lot.sponsor.name, t.quantity) for t in taken] == [("食品城", 5), ("便民超市", 1)]
    assert kettle.stock == 2
    assert_invariants_hold()


def test_put_back_returns_exactly_to_the_same_lots(staff, kettle):
    factories.donate(staff, factories.make_sponsor(), (kettle, 2), received_on=date(2026, 9, 1))
    factories.donate(staff, factories.make_sponsor(), (kettle, 2), received_on=date(2026, 10, 1))
    taken = stock.take(kettle, 3, reference="redemption:7", by=staff)
    stock.take(kettle, 1, reference="redemption:8", by=staff)
    returned = stock.put_back("redemption:7", reason="作废", by=staff)
    again = stock.put_back("redemption:7", reason="又点了一次", by=staff)
    db.session.commit()
    assert again == []
    assert sorted((m.lot_id, m.delta) for m in returned) == sorted((t.lot.id, t.quantity) for t in taken)
    assert [lot.remaining for lot in Lot.query.order_by(Lot.id)] == [2, 1]
    assert kettle.stock == 3
    assert_invariants_hold()


def test_taking_more_than_the_stock_names_the_item_and_changes_nothing(staff, kettle):
    factories.donate(staff, factories.make_sponsor(), (kettle, 2))
    with pytest.raises(stock.OutOfStock) as caught:
        stock.take(kettle, 3, reference="redemption:1")
    db.session.rollback()
    assert caught.value.message == "烧水壶库存不足：需要 3个，只剩 2个。"
    assert kettle.stock == 2 and StockMovement.query.count() == 1


@pytest.mark.parametrize("quantity", [0, -1])
def test_zero_or_negative_quantities_are_refused(staff, kettle, quantity):
    with pytest.raises(stock.DomainError):
        stock.take(kettle, quantity, reference="x")


@pytest.mark.parametrize("statement", ["UPDATE stock_movements SET delta = 99", "DELETE FROM stock_movements"])
def test_the_database_refuses_to_edit_or_delete_movements(staff, kettle, statement):
    factories.donate(staff, factories.make_sponsor(), (kettle, 2))
    with pytest.raises((IntegrityError, DBAPIError)) as caught:
        db.session.execute(text(statement))
    assert "append-only" in str(caught.value)
    db.session.rollback()


def test_the_database_refuses_negative_stock(staff, kettle):
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE items SET stock = -1 WHERE id = :id"), {"id": kettle.id})
    db.session.rollback()


def test_verify_names_stock_that_drifted(staff, kettle):
    factories.donate(staff, factories.make_sponsor(), (kettle, 2))
    db.session.execute(text("UPDATE items SET stock = 5 WHERE id = :id"), {"id": kettle.id})
    db.session.commit()
    assert run_all()["stock_equals_its_movements"] == [
        f"items id {kettle.id} (烧水壶): stock 5 but its movements sum to 2"]


def test_adjustment_finds_units_as_a_new_lot_and_loses_the_oldest(staff, kettle):
    factories.donate(staff, factories.make_sponsor(), (kettle, 4), received_on=date(2026, 9, 1))
    stock.adjust(kettle, -1, reference="stocktake:1", reason="破损", by=staff, on=date(2026, 11, 30))
    stock.adjust(kettle, 2, reference="stocktake:1", reason="找到两个", by=staff, on=date(2026, 11, 30))
    db.session.commit()
    assert kettle.stock == 5
    assert [(lot.quantity, lot.remaining, lot.donation_line_id is None) for lot in Lot.query.order_by(Lot.id)] == [
        (4, 3, False), (2, 2, True)]
    assert_invariants_hold()


@pytest.mark.own_database
def test_twenty_simultaneous_takes_of_the_last_five(app, staff, kettle):
    factories.donate(staff, factories.make_sponsor(), (kettle, 5))
    item_id = kettle.id

    def take(n):
        return stock.take(db.session.get(Item, item_id), 1, reference=f"redemption:{n}")[0].quantity

    results = run_at_once(app, 20, take)
    assert results.count(1) == 5
    assert all(isinstance(r, stock.OutOfStock) for r in results if r != 1), results
    db.session.expire_all()
    assert db.session.get(Item, item_id).stock == 0
    assert_invariants_hold()


@pytest.mark.own_database
def test_two_staff_taking_the_last_unit_one_is_told(app, staff, kettle):
    factories.donate(staff, factories.make_sponsor(), (kettle, 1))
    item_id = kettle.id
    results = run_at_once(app, 2, lambda n: stock.take(db.session.get(Item, item_id), 1, reference=f"r:{n}"))
    assert sum(isinstance(r, list) for r in results) == 1
    [refused] = [r for r in results if not isinstance(r, list)]
    assert isinstance(refused, stock.OutOfStock) and "只剩 0个" in refused.message
