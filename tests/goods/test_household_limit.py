"""The household monthly limit (每户每月最多 N 件) is set on the item forms and holds across counter tables."""
import re

import pytest

from gridapp.clock import local_today
from gridapp.counter import service as counter
from gridapp.counter.models import Redemption
from gridapp.extensions import db
from gridapp.goods.models import Item
from gridapp.points import service as points

from .. import factories

TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


def item_form(**fields):
    form = {"name": "烧水壶", "unit": "个", "category": "家电", "points_price": "120", "monthly_limit": "",
            "household_monthly_limit": "", "low_stock_threshold": "3", "active": "y"}
    form.update({key: str(value) for key, value in fields.items()})
    return form


def test_staff_set_and_change_the_household_limit_on_the_item_forms(client):
    staff = factories.make_user(role="staff")
    client.login(staff.phone)
    page = client.get("/staff/items/new").get_data(as_text=True)
    assert 'name="household_monthly_limit"' in page and "每户每月最多 N 件" in page
    created = client.submit("/staff/items/new", item_form(household_monthly_limit=1))
    assert created.status_code == 303
    kettle = Item.query.filter_by(name="烧水壶").one()
    assert kettle.household_monthly_limit == 1 and kettle.monthly_limit is None

    edit = client.get(created.location).get_data(as_text=True)
    assert re.search(r'name="household_monthly_limit"[^>]*value="1"', edit)
    assert client.submit(created.location, item_form(household_monthly_limit=2)).status_code == 303
    db.session.refresh(kettle)
    assert kettle.household_monthly_limit == 2
    assert client.submit(created.location, item_form(household_monthly_limit="")).status_code == 303
    db.session.refresh(kettle)
    assert kettle.household_monthly_limit is None
    refused = client.submit(created.location, item_form(household_monthly_limit=0))
    assert refused.status_code == 422 and "需在1到100之间" in refused.get_data(as_text=True)


def test_two_members_of_one_household_at_two_tables_get_one_kettle_between_them(app):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")
    db.session.commit()
    table_one, table_two = factories.make_user(role="staff"), factories.make_user(role="staff")
    home = factories.make_household("3", "2", "501")
    wife, husband = factories.make_user(name="古丽", household=home), factories.make_user(name="买买提", household=home)
    for member in (wife, husband):
        points.award(member, 300, reference="test", description="测试积分", key=f"seed:{member.id}")
    db.session.commit()

    first, second = app.test_client(), app.test_client()
    first.login(table_one.phone)
    second.login(table_two.phone)
    assert first.submit("/counter/open", page="/counter").status_code == 303
    # The limit is set the way staff set it: on the item's form.
    assert first.submit("/staff/items/new", item_form(household_monthly_limit=1)).status_code == 303
    kettle = Item.query.filter_by(name="烧水壶").one()
    factories.donate(table_one, factories.make_sponsor("物业公司"), (kettle, 5))

    def confirm(client, volunteer):
        page = client.get(f"/counter/v/{volunteer.id}?q{kettle.id}=1").get_data(as_text=True)
        form = {"csrf_token": client.csrf_token(f"/counter/v/{volunteer.id}"), "token": TOKEN.search(page).group(1),
                f"q{kettle.id}": "1"}
        return client.post(f"/counter/v/{volunteer.id}/confirm", data=form)

    assert confirm(first, wife).status_code == 303
    refused = confirm(second, husband)
    assert refused.status_code == 422
    assert "烧水壶每户每月限兑 1个，本月已兑 1个" in refused.get_data(as_text=True)
    assert [r.volunteer_id for r in Redemption.query.all()] == [wife.id]
    db.session.refresh(kettle)
    assert kettle.stock == 4


@pytest.mark.demo
def test_the_demo_world_has_one_kettle_per_household_a_month(app):
    from collections import Counter

    from gridapp.clock import to_local
    from gridapp.counter.models import RedemptionLine

    kettle = Item.query.filter_by(name="烧水壶").one()
    assert kettle.household_monthly_limit == 1
    assert Item.query.filter(Item.household_monthly_limit.is_not(None)).count() >= 2
    taken = Counter()
    for line in RedemptionLine.query.filter_by(item_id=kettle.id):
        redemption = line.redemption
        if redemption.voided_at is None and redemption.household_id:
            taken[(redemption.household_id, to_local(redemption.created_at).strftime("%Y-%m"))] += line.quantity
    assert taken and max(taken.values()) == 1
