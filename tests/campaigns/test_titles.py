"""Campaigns are told apart in lists: default titles carry the date; lists show date and status."""
import re
from datetime import timedelta

from gridapp.campaigns import service as campaigns
from gridapp.clock import to_local, utcnow
from gridapp.extensions import db

from .conftest import DAY, EVENING_BEFORE, make_campaign, staff  # noqa: F401  (fixture)


def test_quick_snow_titles_carry_their_dates(staff):
    first = campaigns.quick_snow(staff, DAY, EVENING_BEFORE)
    second = campaigns.quick_snow(staff, DAY + timedelta(days=2), EVENING_BEFORE)
    db.session.commit()
    assert (first.title, second.title) == ("12月26日扫雪除冰", "12月28日扫雪除冰")


def test_the_notice_heading_reads_as_a_notice():
    assert campaigns.notice_heading("12月26日扫雪除冰") == "关于开展12月26日扫雪除冰志愿服务活动的通知"
    assert campaigns.notice_heading("关于开展扫雪除冰志愿服务活动的通知") == "关于开展扫雪除冰志愿服务活动的通知"


def test_new_campaign_form_title_carries_the_default_day(client, staff):
    client.login(staff.phone)
    page = client.get("/staff/campaigns/new").get_data(as_text=True)
    day = campaigns.default_quick_day(utcnow())
    assert re.search(rf'name="title"[^>]*value="{day.month}月{day.day}日扫雪除冰"', page)


def test_staff_list_shows_each_campaigns_date_and_status(client, staff):
    first = campaigns.quick_snow(staff, DAY, EVENING_BEFORE)
    second = campaigns.quick_snow(staff, DAY + timedelta(days=2), EVENING_BEFORE)
    db.session.commit()
    client.login(staff.phone)
    page = client.get("/staff/campaigns").get_data(as_text=True)
    for campaign in (first, second):
        item = page[page.index(f"/staff/campaigns/{campaign.id}\""):]
        item = item[:item.index("</li>")]
        assert campaign.title in item and "草稿" in item
        assert f"{to_local(campaign.starts_at):%Y}" in item  # the full date is there as well
