"""Goods pages through HTTP: donation intake, void with a confirmation step, items, sponsors, the portal."""
import re
from datetime import date

import pytest

from gridapp.clock import local_today
from gridapp.extensions import db
from gridapp.goods import stock
from gridapp.goods.models import Donation, Item, Sponsor

from .. import factories


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


def intake(sponsor, *rows, received_on=None):
    data = {"sponsor": str(sponsor.id), "received_on": (received_on or local_today()).isoformat(), "note": ""}
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{n}-{key}"] = str(value)
    return data


def test_staff_records_a_donation_with_a_new_item_on_the_spot(client, staff):
    sponsor = factories.make_sponsor("屯坪便民超市")
    kettle = factories.make_item("烧水壶")
    client.login(staff.phone)
    response = client.submit("/staff/donations/new", intake(
        sponsor, {"item": kettle.id, "quantity": 4, "unit_value": "59.90"},
        {"item": 0, "new_name": "保温杯", "new_unit": "个", "new_price": 30, "quantity": 10}))
    assert response.status_code == 303
    donation = Donation.query.one()
    assert donation.receipt_no.startswith(f"JZ-DXB-{local_today().year}-")
    assert [(l.item.name, l.quantity, l.unit_value_fen) for l in donation.lines] == [
        ("烧水壶", 4, 5990), ("保温杯", 10, None)]
    page = client.get(response.location).get_data(as_text=True)
    assert donation.receipt_no in page and "¥239.60" in page
    assert Item.query.filter_by(name="保温杯").one().stock == 10


@pytest.mark.parametrize("row, message", [
    ({"item": 1, "quantity": 0}, "数量需在1到10000之间"),  # a cell shows its first message: the range
    ({"item": 1, "quantity": -2}, "数量需在1到10000之间"),
    ({"item": 1, "quantity": "两个"}, ""),
    ({"item": 0, "quantity": 3}, "请选择物品，或填写新物品名称"),
    ({"item": 0, "new_name": "水杯", "quantity": 3}, "新物品请填写兑换积分"),
    ({"item": 999, "quantity": 3}, ""),
])
def test_bad_lines_are_refused_and_nothing_is_written(client, staff, row, message):
    sponsor = factories.make_sponsor()
    factories.make_item("烧水壶")
    client.login(staff.phone)
    response = client.submit("/staff/donations/new", intake(sponsor, row))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert Donation.query.count() == 0 and Item.query.count() == 1


def test_an_empty_form_asks_for_a_line(client, staff):
    client.login(staff.phone)
    response = client.submit("/staff/donations/new", intake(factories.make_sponsor()))
    assert response.status_code == 422 and "请至少填写一行物品" in response.get_data(as_text=True)


def test_void_asks_for_confirmation_then_voids(client, staff):
    sheets = factories.make_item("床单", unit="条")
    donation = factories.donate(staff, factories.make_sponsor(), (sheets, 5))
    client.login(staff.phone)
    page = f"/staff/donations/{donation.id}"
    first = client.submit(f"{page}/void", {"reason": "数量点错"}, page=page)
    assert first.status_code == 200 and "此操作不能撤销" in first.get_data(as_text=True)
    db.session.refresh(donation)
    assert donation.voided_at is None
    second = client.submit(f"{page}/void", {"reason": "数量点错", "confirmed": "1"}, page=page)
    assert second.status_code == 303
    db.session.refresh(donation)
    db.session.refresh(sheets)
    assert donation.voided_at is not None and sheets.stock == 0


def test_void_after_a_redemption_is_refused_with_the_item_named(client, staff):
    sheets = factories.make_item("床单", unit="条")
    donation = factories.donate(staff, factories.make_sponsor(), (sheets, 5))
    stock.take(sheets, 1, reference="redemption:1")
    db.session.commit()
    client.login(staff.phone)
    page = f"/staff/donations/{donation.id}"
    response = client.submit(f"{page}/void", {"reason": "数量点错", "confirmed": "1"}, page=page)
    assert response.status_code == 422 and "床单" in response.get_data(as_text=True)


def test_stock_list_highlights_low_stock(client, staff):
    kettle = factories.make_item("烧水壶", low_stock_threshold=3)
    factories.make_item("抽纸", unit="包", low_stock_threshold=3)
    factories.donate(staff, factories.make_sponsor(), (kettle, 2))
    client.login(staff.phone)
    page = client.get("/staff/stock").get_data(as_text=True)
    warning = re.search(r"库存不足：([^<]+)</p>", page).group(1)
    assert sorted(warning.split("、")) == sorted(["烧水壶", "抽纸"])


def test_changing_a_price_keeps_history(client, staff):
    kettle = factories.make_item("烧水壶", points_price=120)
    factories.donate(staff, factories.make_sponsor("食品城"), (kettle, 2))
    client.login(staff.phone)
    response = client.submit(f"/staff/items/{kettle.id}", {"name": "烧水壶", "unit": "个", "category": "家电",
                                                          "points_price": "150", "low_stock_threshold": "2",
                                                          "active": "y"})
    assert response.status_code == 303
    db.session.refresh(kettle)
    assert kettle.points_price == 150
    history = client.get(f"/staff/items/{kettle.id}").get_data(as_text=True)
    assert "捐赠入库" in history and "食品城" in history


def test_donations_filter_by_sponsor_and_month(client, staff):
    a, b = factories.make_sponsor("甲商铺"), factories.make_sponsor("乙商铺")
    item = factories.make_item()
    factories.donate(staff, a, (item, 1), received_on=date(2026, 10, 5))
    factories.donate(staff, b, (item, 1), received_on=date(2026, 11, 5))
    client.login(staff.phone)
    by_sponsor = client.get(f"/staff/donations?sponsor={a.id}").get_data(as_text=True)
    assert "甲商铺" in by_sponsor and "<td>乙商铺</td>" not in by_sponsor
    by_month = client.get("/staff/donations?month=2026-11").get_data(as_text=True)
    assert "<td>乙商铺</td>" in by_month and "<td>甲商铺</td>" not in by_month
    assert client.get("/staff/donations?month=bogus").status_code == 200


def test_staff_add_a_sponsor_and_names_must_be_unique(client, staff):
    client.login(staff.phone)
    data = {"name": "福满家超市", "kind": "shop", "contact_person": "王丽", "phone": "13909941009", "address": ""}
    assert client.submit("/staff/sponsors/new", data).status_code == 303
    again = client.submit("/staff/sponsors/new", data)
    assert again.status_code == 422 and "已有名为" in again.get_data(as_text=True)
    assert Sponsor.query.filter_by(name="福满家超市").count() == 1


def test_sponsor_sees_only_its_own_donations(client, staff):
    mine, theirs = factories.make_sponsor("食品城"), factories.make_sponsor("便民超市")
    item = factories.make_item("抽纸", unit="包")
    my_donation = factories.donate(staff, mine, (item, 10))
    their_donation = factories.donate(staff, theirs, (item, 20))
    user = factories.make_user(role="sponsor", sponsor=mine)
    client.login(user.phone)
    home = client.get("/sponsor").get_data(as_text=True)
    assert my_donation.receipt_no in home and their_donation.receipt_no not in home
    assert client.get(f"/sponsor/donations/{my_donation.id}").status_code == 200
    assert client.get(f"/sponsor/donations/{their_donation.id}").status_code == 404
    assert client.get(f"/staff/donations/{their_donation.id}").status_code == 403


def test_sponsor_impact_shows_counts_not_names(client, staff):
    sponsor = factories.make_sponsor("食品城")
    kettle = factories.make_item("烧水壶")
    factories.donate(staff, sponsor, (kettle, 3))
    volunteer = factories.make_user(name="蒋生军")
    stock.take(kettle, 1, reference="redemption:1", recipient=volunteer)
    db.session.commit()
    client.login(factories.make_user(role="sponsor", sponsor=sponsor).phone)
    home = client.get("/sponsor").get_data(as_text=True)
    assert "蒋生军" not in home and volunteer.phone not in home
    assert "<td>烧水壶</td><td>3个</td><td>1</td>\n      <td>2</td><td>1 人</td>" in home


def test_an_estimated_value_of_half_a_fen_rounds_half_up_at_intake(client, staff):
    sponsor = factories.make_sponsor()
    soap = factories.make_item("香皂")
    client.login(staff.phone)
    response = client.submit("/staff/donations/new", intake(sponsor, {"item": soap.id, "quantity": 4,
                                                                      "unit_value": "0.125"}))
    assert response.status_code == 303
    assert Donation.query.one().lines[0].unit_value_fen == 13  # 四舍五入, not the half-to-even 12
    assert "¥0.52" in client.get(response.location).get_data(as_text=True)


def test_a_double_tap_on_save_issues_one_receipt(client, staff):
    """The intake form carries a one-time token: the same post twice gives the first receipt again, not a
    second receipt and twice the stock."""
    sponsor = factories.make_sponsor("屯坪便民超市")
    kettle = factories.make_item("烧水壶")
    client.login(staff.phone)
    form = client.get("/staff/donations/new").get_data(as_text=True)
    data = intake(sponsor, {"item": kettle.id, "quantity": 4}) | {
        "token": re.search(r'name="token" type="hidden" value="([^"]+)"', form).group(1)}
    first, again = client.submit("/staff/donations/new", data), client.submit("/staff/donations/new", data)
    assert first.status_code == again.status_code == 303 and first.location == again.location
    assert Donation.query.count() == 1
    db.session.refresh(kettle)
    assert kettle.stock == 4
