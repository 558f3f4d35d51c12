"""Donation intake: receipt numbers, lots, voiding, validation, sponsor totals and impact."""
from datetime import date, timedelta

import pytest

from gridapp.clock import local_today
from gridapp.errors import DomainError, PermissionDenied
from gridapp.extensions import db
from gridapp.goods import donations, stock
from gridapp.goods.models import Donation, Item, StockMovement
from gridapp.invariants import run_all

from .. import factories
from ..concurrency import run_at_once


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


@pytest.fixture
def sponsor(app):
    return factories.make_sponsor("新疆丝路天山国际食品城", kind="enterprise")


def test_issuing_numbers_receipts_per_year_and_stocks_the_shelf(staff, sponsor):
    tissues = factories.make_item("抽纸", unit="包", points_price=10)
    first = factories.donate(staff, sponsor, (tissues, 100, 350), received_on=date(2026, 3, 1))
    second = factories.donate(staff, sponsor, (tissues, 40), received_on=date(2026, 11, 2))
    db.session.refresh(tissues)
    assert (first.receipt_no, second.receipt_no) == ("JZ-DXB-2026-0001", "JZ-DXB-2026-0002")
    assert tissues.stock == 140
    assert first.total_value_fen == 35000 and first.lines[0].lot.remaining == 100


def test_a_new_year_starts_at_one(staff, sponsor):
    soap = factories.make_item("洗衣粉", unit="袋")
    factories.donate(staff, sponsor, (soap, 1), received_on=date(2025, 12, 31))
    assert factories.donate(staff, sponsor, (soap, 1), received_on=date(2026, 1, 1)).receipt_no == "JZ-DXB-2026-0001"


def test_a_failed_donation_uses_no_number(staff, sponsor):
    soap = factories.make_item("洗衣粉", unit="袋")
    with pytest.raises(DomainError):
        donations.issue(staff, sponsor=sponsor, received_on=date(2026, 5, 1),
                        lines=[donations.Line(soap, 5), donations.Line(soap, 0)])
    db.session.rollback()
    assert factories.donate(staff, sponsor, (soap, 5), received_on=date(2026, 5, 1)).receipt_no == "JZ-DXB-2026-0001"


@pytest.mark.parametrize("lines, message", [
    ([], "请至少填写一行物品"),
    ([(0,)], "数量必须大于0"),
    ([(-3,)], "数量必须大于0"),
    ([(2, -100)], "估价不能为负数"),
])
def test_bad_lines_are_refused_in_chinese(staff, sponsor, lines, message):
    soap = factories.make_item("洗衣粉", unit="袋")
    with pytest.raises(DomainError) as caught:
        donations.issue(staff, sponsor=sponsor, received_on=date(2026, 5, 1),
                        lines=[donations.Line(soap, *line) for line in lines])
    assert message in caught.value.message


def test_a_date_in_the_future_is_refused(staff, sponsor):
    soap = factories.make_item("洗衣粉", unit="袋")
    with pytest.raises(DomainError):
        donations.issue(staff, sponsor=sponsor, received_on=local_today() + timedelta(days=2),
                        lines=[donations.Line(soap, 1)])


def test_volunteers_cannot_record_donations(app, sponsor):
    with pytest.raises(PermissionDenied):
        donations.issue(factories.make_user(), sponsor=sponsor, received_on=date(2026, 5, 1), lines=[])


def test_void_takes_the_stock_back_and_keeps_the_number(staff, sponsor):
    sheets = factories.make_item("床单", unit="条")
    donation = factories.donate(staff, sponsor, (sheets, 10))
    donations.void(staff, donation, "数量点错")
    db.session.commit()
    db.session.refresh(sheets)
    assert sheets.stock == 0 and donation.voided_at is not None and donation.void_reason == "数量点错"
    assert factories.donate(staff, sponsor, (sheets, 1)).receipt_no == "JZ-DXB-2026-0002"
    assert {name: rows for name, rows in run_all().items() if rows} == {}


def test_void_is_refused_once_goods_were_redeemed(staff, sponsor):
    sheets = factories.make_item("床单", unit="条")
    donation = factories.donate(staff, sponsor, (sheets, 10))
    stock.take(sheets, 1, reference="redemption:1")
    db.session.commit()
    with pytest.raises(donations.DonationInUse) as caught:
        donations.void(staff, donation, "数量点错")
    db.session.rollback()
    assert "床单" in caught.value.message
    db.session.refresh(sheets)
    assert sheets.stock == 9 and donation.voided_at is None


def test_void_needs_a_reason(staff, sponsor):
    donation = factories.donate(staff, sponsor, (factories.make_item(), 1))
    with pytest.raises(DomainError):
        donations.void(staff, donation, "  ")


def test_create_item_validates(staff):
    with pytest.raises(DomainError):
        donations.create_item(staff, name="水杯", unit="吨", points_price=10)
    with pytest.raises(DomainError):
        donations.create_item(staff, name="水杯", unit="个", points_price=0)
    donations.create_item(staff, name="水杯", unit="个", points_price=10)
    with pytest.raises(DomainError):
        donations.create_item(staff, name="水杯", unit="个", points_price=10)


def test_sponsor_totals_and_impact_count_people_not_names(staff, sponsor):
    kettle, tissues = factories.make_item("烧水壶"), factories.make_item("抽纸", unit="包")
    factories.donate(staff, sponsor, (kettle, 4, 5000), (tissues, 10))
    other = factories.make_sponsor("便民超市")
    factories.donate(staff, other, (kettle, 1))
    volunteer_a, volunteer_b = factories.make_user(), factories.make_user()
    stock.take(kettle, 1, reference="redemption:1", recipient=volunteer_a)
    stock.take(kettle, 1, reference="redemption:2", recipient=volunteer_b)
    stock.take(tissues, 2, reference="redemption:2", recipient=volunteer_b)
    stock.put_back("redemption:2")  # voided at the counter: b received nothing in the end
    db.session.commit()
    impact = {row["item"].name: row for row in donations.sponsor_impact(sponsor)}
    assert {k: (v["donated"], v["redeemed"], v["on_shelf"], v["volunteers"]) for k, v in impact.items()} == {
        "烧水壶": (4, 1, 3, 1), "抽纸": (10, 0, 10, 0)}
    totals = {s.name: rest for s, *rest in donations.sponsor_totals()}
    assert totals["新疆丝路天山国际食品城"] == [1, 14, 20000] and totals["便民超市"] == [1, 1, 0]


@pytest.mark.own_database
def test_simultaneous_donations_get_consecutive_numbers(app, staff, sponsor):
    item_id, staff_id, sponsor_id = factories.make_item().id, staff.id, sponsor.id

    def issue(_):
        from gridapp.auth.models import User
        from gridapp.goods.models import Sponsor

        return donations.issue(db.session.get(User, staff_id), sponsor=db.session.get(Sponsor, sponsor_id),
                               received_on=date(2026, 6, 1),
                               lines=[donations.Line(db.session.get(Item, item_id), 1)]).receipt_no

    results = run_at_once(app, 10, issue)
    assert sorted(results) == [f"JZ-DXB-2026-{n:04d}" for n in range(1, 11)]
    assert Donation.query.count() == 10 and StockMovement.query.count() == 10
