"""The next counter day: one rule (counter/schedule.py) for the counter and for every page that announces it."""
from datetime import date

import pytest

from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.counter.schedule import CounterDay, is_counter_day, next_counter_day
from gridapp.extensions import db

from .. import factories

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day

TODAY = date(2026, 12, 16)  # the suite's clock (a Wednesday in December)


@pytest.fixture
def admin(app):
    return factories.make_user(role="admin", name="张亚鹏")


def test_without_extra_days_the_counter_day_is_the_last_day_of_the_month(app):
    day = next_counter_day(TODAY)
    assert day == date(2026, 12, 31) and not day.is_extra and day.reason is None
    assert next_counter_day(date(2027, 2, 1)) == date(2027, 2, 28)
    assert next_counter_day(date(2026, 12, 31)) == date(2026, 12, 31)  # the day itself, until it is closed


def test_an_extra_day_before_the_month_end_is_the_next_counter_day_with_its_reason(admin):
    counter.add_redemption_day(admin, date(2026, 12, 10), "已过去的加开日")
    counter.add_redemption_day(admin, date(2026, 12, 24), "元旦前加开")
    counter.add_redemption_day(admin, date(2026, 12, 20), "冬至加开")
    db.session.commit()
    day = next_counter_day(TODAY)
    assert day == date(2026, 12, 20) and day.is_extra and day.reason == "冬至加开"
    assert isinstance(day, date) and day.date == date(2026, 12, 20) and type(day.date) is date
    assert day.time is None and day.place is None
    assert next_counter_day(date(2026, 12, 20)) == date(2026, 12, 20)
    assert next_counter_day(date(2026, 12, 21)) == date(2026, 12, 24)
    assert next_counter_day(date(2026, 12, 25)) == date(2026, 12, 31)
    assert is_counter_day(date(2026, 12, 20)) and not is_counter_day(date(2026, 12, 21))
    assert counter.is_redemption_day(date(2026, 12, 20)) == is_counter_day(date(2026, 12, 20))


def test_an_extra_day_in_a_later_month_does_not_hide_this_months_last_day(admin):
    counter.add_redemption_day(admin, date(2027, 1, 5), "春节前加开")
    db.session.commit()
    assert next_counter_day(TODAY) == date(2026, 12, 31)
    assert next_counter_day(date(2027, 1, 1)) == CounterDay.of(date(2027, 1, 5), "春节前加开")


def test_once_todays_counter_is_closed_the_next_counter_day_is_a_later_one(admin):
    counter.add_redemption_day(admin, TODAY, "临时开台")
    session = counter.open_session(admin, TODAY)
    db.session.commit()
    assert next_counter_day(TODAY) == TODAY  # open: today is the counter day
    counter.close_session(admin, session, utcnow())
    db.session.commit()
    assert next_counter_day(TODAY) == date(2026, 12, 31)
    month_end = counter.open_session(admin, date(2026, 12, 31))
    counter.close_session(admin, month_end, utcnow())
    db.session.commit()
    assert next_counter_day(date(2026, 12, 31)) == date(2027, 1, 31)


def test_a_closed_extra_day_gives_way_to_the_next_extra_day_in_one_query(admin, count_queries):
    counter.add_redemption_day(admin, TODAY, "临时开台")
    counter.add_redemption_day(admin, date(2026, 12, 18), "周五加开")
    counter.close_session(admin, counter.open_session(admin, TODAY), utcnow())
    counter.add_redemption_day(admin, date(2027, 1, 1), "元旦加开")
    counter.close_session(admin, counter.open_session(admin, date(2026, 12, 31)), utcnow())
    db.session.commit()
    with count_queries() as queries:
        day = next_counter_day(TODAY)
    assert day == CounterDay.of(date(2026, 12, 18), "周五加开") and day.reason == "周五加开"
    assert len(queries) == 1, queries.report()
    # The month's last day closed: the next month's first day, an extra one, keeps its reason.
    assert next_counter_day(date(2026, 12, 31)).reason == "元旦加开"
    assert next_counter_day(date(2026, 12, 19)) == date(2026, 12, 31)


def test_the_volunteer_home_the_staff_home_and_the_history_announce_an_extra_day(client, admin, login_as):
    assert local_today() == TODAY
    counter.add_redemption_day(admin, date(2026, 12, 20), "冬至加开")
    db.session.commit()
    login_as("volunteer")
    for url in ("/me", "/me/redemptions"):
        page = client.get(url).get_data(as_text=True)
        assert "2026年12月20日" in page and "冬至加开" in page and "增开兑换日" in page, url
        assert "2026年12月31日" not in page, url
    client.logout()
    login_as("staff")
    page = client.get("/staff").get_data(as_text=True)
    assert "2026年12月20日" in page and "冬至加开" in page
    page = client.get("/counter").get_data(as_text=True)
    assert "今天不是兑换日" in page and "2026年12月20日" in page


def test_without_extra_days_the_pages_announce_the_last_day_of_the_month(client, login_as):
    login_as("volunteer")
    page = client.get("/me").get_data(as_text=True)
    assert "2026年12月31日" in page and "增开兑换日" not in page
