"""The volunteer's home page says what matters now, in that order, and nothing twice."""
from datetime import timedelta

import pytest

from gridapp.campaigns import service as campaigns
from gridapp.clock import local_today, utcnow
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.extensions import db
from gridapp.home.service import volunteer_home
from gridapp.points import service as points

from .. import factories
from ..campaigns.conftest import make_campaign, tomorrow_start

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day


def home_of(volunteer, counter_day=None):
    today = local_today()
    return volunteer_home(volunteer, utcnow(), today, counter_day or today, place="南门广场", hours="10:00—17:00")


def patrol(staff, title="南门夜间巡逻", minutes_ago=10, hours=2):
    duty_type = DutyType.query.filter_by(name="安全巡逻").one_or_none() or DutyType(name="安全巡逻", default_points=10)
    db.session.add(duty_type)
    start = utcnow() - timedelta(minutes=minutes_ago)
    [session] = duty.schedule(staff, duty_type=duty_type, title=title, place="B区南门岗亭", starts_at=start,
                              ends_at=start + timedelta(hours=hours), capacity=10)
    db.session.commit()
    return session


def test_zone_sessions_are_folded_into_their_campaign_card(app):
    staff = factories.make_user(role="staff", name="贾亮")
    campaign = make_campaign(staff, starts_at=tomorrow_start(), now=utcnow(), publish_at=utcnow())
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, campaign.zones[1], utcnow())
    db.session.commit()
    home = home_of(volunteer)
    assert [(c.id, place[0].name) for c, place, _ in home.my_campaigns] == [(campaign.id, "北门片区")]
    listed = [session.id for session, _ in home.upcoming] + ([home.featured[0].id] if home.featured else [])
    assert campaign.zones[1].session_id not in listed  # not a second, bare "北门片区" duty card


def test_confirmed_duty_leaves_today_and_upcoming(app):
    staff = factories.make_user(role="staff")
    session = patrol(staff)
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, session, utcnow())
    db.session.commit()
    assert home_of(volunteer).featured[0].id == session.id  # on duty now
    duty.confirm(staff, attendance, utcnow())
    db.session.commit()
    home = home_of(volunteer)
    assert home.featured is None and home.upcoming == []


def test_the_duty_i_can_check_in_to_now_comes_before_later_ones(app):
    staff = factories.make_user(role="staff")
    later = patrol(staff, "明天的巡逻", minutes_ago=-24 * 60)
    now_open = patrol(staff, "现在的巡逻")
    volunteer = factories.make_user()
    home = home_of(volunteer)
    assert home.featured[0].id == now_open.id and [s.id for s, _ in home.upcoming] == [later.id]


def test_counter_card_says_today_where_and_when_and_what_my_points_buy(client):
    staff = factories.make_user(role="staff")
    kettle = factories.make_item("烧水壶", points_price=120)
    tissues = factories.make_item("抽纸", points_price=10)
    factories.make_item("床单", points_price=999)
    factories.donate(staff, factories.make_sponsor(), (kettle, 3), (tissues, 30))
    volunteer = factories.make_user()
    points.award(volunteer, 150, reference="test", description="测试", key="home-test")
    db.session.commit()
    home = home_of(volunteer)
    assert home.counter.is_today and home.counter.place == "南门广场"
    assert home.counter.affordable_count == 2 and [i.name for i in home.counter.affordable] == ["烧水壶", "抽纸"]


def test_home_page_puts_counter_then_my_duty_then_my_zone_then_the_rest(client, fixed_clock):
    staff = factories.make_user(role="staff", name="贾亮")
    campaign = make_campaign(staff, starts_at=tomorrow_start(), now=utcnow(), publish_at=utcnow())
    session = patrol(staff)
    patrol(staff, "后天的巡逻", minutes_ago=-48 * 60)
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, campaign.zones[1], utcnow())
    db.session.commit()
    client.login(volunteer.phone)
    page = client.get("/me").get_data(as_text=True)
    main = page[page.index("<main"):]
    order = [main.index(text) for text in ("下一个积分兑换日", "现在可以签到", "我的区域：北门片区", "后天的巡逻")]
    assert order == sorted(order), order
    assert f'action="/duty/{session.id}/check-in"' in main
    assert main.count("北门片区") == 1
    assert "10:00—17:00" in main and "迪祥佳苑B区南门广场" in main


def test_on_the_counter_day_the_card_says_today(client, fixed_clock):
    fixed_clock.start_at(fixed_clock.parse_local("2026-12-31T09:00"))
    volunteer = factories.make_user()
    client.login(volunteer.phone)
    page = client.get("/me").get_data(as_text=True)
    assert "今天是积分兑换日" in page and "今天 · " in page
