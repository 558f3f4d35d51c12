"""Donation intake: adding rows keeps what was typed; a new item's name that exists is never merged silently."""
import re

import pytest

from gridapp.goods import donations
from gridapp.goods.models import Donation, Item

from .. import factories
from .test_views import intake, staff  # noqa: F401  (fixture)


def test_more_rows_keeps_every_typed_field_and_adds_five_rows(client, staff):
    sponsor = factories.make_sponsor("屯坪便民超市")
    kettle = factories.make_item("烧水壶")
    client.login(staff.phone)
    data = intake(sponsor, {"item": kettle.id, "quantity": 4, "unit_value": "59.90"},
                  {"item": 0, "new_name": "保温杯", "new_unit": "个", "new_price": 30, "quantity": 10})
    data["note"] = "年前慰问"
    data["more_rows"] = "1"
    response = client.submit("/staff/donations/new", data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(rf'<option selected value="{sponsor.id}">屯坪便民超市', page)
    assert re.search(rf'<option selected value="{kettle.id}">烧水壶', page)
    for name, value in (("lines-0-quantity", "4"), ("lines-0-unit_value", "59.90"), ("lines-1-new_name", "保温杯"),
                        ("lines-1-new_price", "30"), ("lines-1-quantity", "10")):
        assert re.search(rf'name="{name}"[^>]*value="{value}"', page), name
    assert "年前慰问" in page
    assert 'name="lines-9-quantity"' in page and 'name="lines-10-quantity"' not in page
    assert 'action="/staff/donations/new?rows=10"' in page
    assert "class=\"error" not in page  # adding rows is not a failed submit
    assert Donation.query.count() == 0


def test_lines_are_table_rows(client, staff):
    client.login(staff.phone)
    page = client.get("/staff/donations/new").get_data(as_text=True)
    table = page[page.index('<table class="line-table">'):page.index("</table>")]
    assert table.count("<tr>") == 1 + 5 and 'name="lines-4-quantity"' in table


def test_new_item_with_an_existing_name_is_refused_naming_unit_and_price(client, staff):
    sponsor = factories.make_sponsor()
    factories.make_item("食用油", unit="瓶", points_price=50)
    client.login(staff.phone)
    response = client.submit("/staff/donations/new", intake(
        sponsor, {"item": 0, "new_name": "食用油", "new_unit": "个", "new_price": 80, "quantity": 6}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "已有物品“食用油”（单位：瓶，50 分）" in page
    assert Donation.query.count() == 0
    oil = Item.query.filter_by(name="食用油").one()
    assert (oil.unit, oil.points_price, oil.stock) == ("瓶", 50, 0)
    # what was typed is still there to change
    assert re.search(r'name="lines-0-new_price"[^>]*value="80"', page)


def test_create_item_names_the_existing_item(app):
    staff_user = factories.make_user(role="staff")
    oil = factories.make_item("食用油", unit="瓶", points_price=50)
    with pytest.raises(donations.ItemNameTaken) as refused:
        donations.create_item(staff_user, name=" 食用油 ", unit="个", points_price=80)
    assert refused.value.item == oil
    assert "瓶" in refused.value.message and "50" in refused.value.message


@pytest.mark.parametrize("quantity, unit_value", [("abc", "59.90"), ("3", "sNaN"), ("3", "NaN"), ("3", "Infinity"),
                                                  ("1.5", "-1")])
def test_a_row_with_no_number_where_one_belongs_is_one_chinese_message_per_cell(client, staff, quantity, unit_value):
    """'sNaN' as a unit value once gave a 500 (comparing it raises); 'abc' as a quantity stacked WTForms' English
    "Not a valid integer value." over two Chinese messages. Each bad cell says one thing, in Chinese; nothing is saved."""
    sponsor = factories.make_sponsor()
    kettle = factories.make_item("烧水壶")
    client.login(staff.phone)
    response = client.submit("/staff/donations/new",
                             intake(sponsor, {"item": kettle.id, "quantity": quantity, "unit_value": unit_value}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = re.findall(r'<p class="error" id="lines-0-(\w+)-error">([^<]*)</p>', page)
    assert errors and len({cell for cell, _text in errors}) == len(errors), errors
    assert all(re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[A-Za-z]{3}", text) for _cell, text in errors)
    assert Donation.query.count() == 0
