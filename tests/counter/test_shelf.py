"""积分超市 (/me/goods): every active item with its price, stock in words, this month's limit left,
"还差 N 分" or "可兑换", and the next counter day; light enough for a cheap phone, linked from home."""
import gzip
import re

from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.counter import shelf
from gridapp.extensions import db
from gridapp.org.service import first_grid
from gridapp.points import service as points

from .. import factories


def build(app):
    staff = factories.make_user(role="staff")
    admin = factories.make_user(role="admin")
    sponsor = factories.make_sponsor()
    volunteer = factories.make_user(name="蒋生军")
    points.award(volunteer, 40, reference="t:1", description="巡逻", key="t1", by=staff)
    kettle = factories.make_item(name="烧水壶", points_price=120, low_stock_threshold=2, household_monthly_limit=1)
    tissue = factories.make_item(name="抽纸", unit="包", points_price=5, low_stock_threshold=5, monthly_limit=3)
    soap = factories.make_item(name="香皂", unit="个", points_price=8, low_stock_threshold=5)
    factories.make_item(name="旧床单", unit="条", points_price=60)  # never stocked: 已换完
    factories.donate(staff, sponsor, (kettle, 10), (tissue, 4), (soap, 30))
    counter.add_redemption_day(admin, local_today(), "测试")
    table = counter.open_session(staff, local_today())
    counter.redeem(staff, table, volunteer, {tissue.id: 2}, token="t", now=utcnow())
    db.session.commit()
    return volunteer


def test_the_shelf_tells_stock_limits_and_points_short(app):
    volunteer = build(app)
    items = {i.name: i for i in shelf.shelf(volunteer, utcnow())}
    assert volunteer.points_balance == 30
    assert (items["烧水壶"].stock_word, items["烧水壶"].short_by, items["烧水壶"].limit_left) == ("充足", 90, 1)
    assert (items["抽纸"].stock_word, items["抽纸"].limit_left, items["抽纸"].can_redeem) == ("紧张", 1, True)
    assert (items["香皂"].stock_word, items["香皂"].limit_left, items["香皂"].can_redeem) == ("充足", None, True)
    assert (items["旧床单"].stock_word, items["旧床单"].can_redeem) == ("已换完", False)


def test_the_shelf_page_works_without_javascript_and_is_light(app, client):
    volunteer = build(app)
    client.login(volunteer.phone)
    response = client.get("/me/goods")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "还差 90 分" in html and "可兑换" in html and "本月还可兑 1包" in html and "已换完" in html
    assert "下一个兑换日" in html and "地点：" in html and "时间：" in html
    assert "<form" not in html.split('<main id="main">')[1].split("</main>")[0]  # nothing to submit: reading only
    css = client.get(re.search(r'href="(/static/css/app\.[^"]*css)"', html).group(1)).get_data()
    weight = len(gzip.compress(response.get_data(), 9)) + len(gzip.compress(css, 9))
    assert weight <= 14 * 1024, weight
    home = client.get("/me").get_data(as_text=True)
    assert 'href="/me/goods"' in home


def test_the_shelf_is_for_volunteers(client, login_as):
    login_as("staff")
    assert client.get("/me/goods").status_code == 403


def test_the_next_counter_day_comes_from_the_schedule_and_the_grid(app):
    from datetime import date
    grid = first_grid()
    grid.counter_place, grid.counter_hours = "北门活动室", "09:30—12:00"
    day = shelf.counter_day(date(2027, 2, 3), grid)
    assert (day.day, day.place, day.hours) == (date(2027, 2, 28), "北门活动室", "09:30—12:00")


def test_the_homes_counter_card_is_the_counter_day_and_what_the_points_buy_in_one_query(app, count_queries):
    """The volunteer home's card gives what ``next_counter_day`` and ``goods.stock.within_points`` give
    apart — with extra days, a closed day, and no affordable goods — in one statement."""
    from datetime import date

    from gridapp.counter.schedule import next_counter_day
    from gridapp.goods import stock

    staff, admin = factories.make_user(role="staff"), factories.make_user(role="admin")
    items = [factories.make_item(name=f"卡片物品{n}", points_price=price) for n, price in enumerate((5, 8, 12, 30))]
    factories.donate(staff, factories.make_sponsor(), *[(item, 3) for item in items])
    today = date(2027, 2, 3)
    counter.add_redemption_day(admin, today, "加开")
    counter.add_redemption_day(admin, date(2027, 2, 10), "元宵节前加开")
    db.session.commit()

    def same_as_apart(points):
        with app.test_request_context():
            grid = first_grid()
            with count_queries() as queries:
                card = shelf.counter_card(today, points, grid)
            assert len(queries) == 1, queries.report()
            apart = shelf.counter_day(today, grid)
            kinds, dearest = stock.within_points(points)
        assert (card.day, card.day.reason, card.hours, card.place) == (apart.day, apart.day.reason, apart.hours,
                                                                       apart.place)
        assert (card.affordable_count, card.affordable) == (kinds, dearest)
        return card

    card = same_as_apart(12)
    assert card.day == today and card.day.reason == "加开"
    assert card.affordable_count == 3 and [i.points_price for i in card.affordable] == [12, 8, 5]
    assert same_as_apart(0).affordable == [] and same_as_apart(0).affordable_count == 0
    counter.close_session(staff, counter.open_session(staff, today), utcnow())
    db.session.commit()
    card = same_as_apart(100)
    assert card.day == date(2027, 2, 10) and card.day.reason == "元宵节前加开" and card.affordable_count == 4
    assert next_counter_day(today) == card.day
