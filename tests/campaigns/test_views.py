"""Campaign pages through HTTP: staff planning, the sign-up page, the PDFs with ETags, the volunteer's home."""
import re
from datetime import timedelta

import pytest

from gridapp.campaigns import notice
from gridapp.campaigns import service as campaigns
from gridapp.campaigns.models import Campaign
from gridapp.clock import to_local, utcnow
from gridapp.duty.models import Attendance, DutySession
from gridapp.extensions import db

from .. import factories
from .conftest import make_campaign, tomorrow_start

TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def form_of(client, url):
    html = client.get(url).get_data(as_text=True)
    return {"csrf_token": CSRF.search(html).group(1), "token": TOKEN.search(html).group(1)}


@pytest.fixture
def draft(staff):
    return make_campaign(staff, zones=2, starts_at=tomorrow_start(), now=utcnow())


# --- staff ------------------------------------------------------------------------------------

def test_quick_snow_makes_one_draft_even_when_tapped_twice(client, staff, live_campaign):
    client.login(staff.phone)
    page = client.get("/staff/campaigns").get_data(as_text=True)
    assert "一键发起扫雪" in page and "6 个区域" in page
    day = (to_local(utcnow()) + timedelta(days=2)).date().isoformat()
    form = {"csrf_token": CSRF.search(page).group(1), "token": TOKEN.search(page).group(1), "day": day}
    first = client.post("/staff/campaigns/quick-snow", data=form)
    second = client.post("/staff/campaigns/quick-snow", data=form)  # a double tap
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert Campaign.query.count() == 2
    draft = Campaign.query.order_by(Campaign.id.desc()).first()
    assert draft.status == "draft" and len(draft.zones) == 6 and draft.copied_from_id == live_campaign.id
    detail = client.get(first.location).get_data(as_text=True)
    assert "已生成草稿：6 个区域已照上次分好" in detail and "发布活动" in detail


def test_quick_snow_for_a_past_day_says_so(client, staff):
    client.login(staff.phone)
    day = (to_local(utcnow()) - timedelta(days=1)).date().isoformat()
    page = client.get("/staff/campaigns").get_data(as_text=True)
    response = client.post("/staff/campaigns/quick-snow", data={
        "csrf_token": CSRF.search(page).group(1), "token": TOKEN.search(page).group(1), "day": day})
    assert response.status_code == 422 and "日期不能早于今天" in response.get_data(as_text=True)
    assert Campaign.query.count() == 0


def test_new_campaign_form_starts_from_the_snow_texts_and_saves_a_draft(client, staff):
    client.login(staff.phone)
    page = client.get("/staff/campaigns/new").get_data(as_text=True)
    assert "日扫雪除冰\"" in page and "按照区域分工" in page
    day = (to_local(utcnow()) + timedelta(days=1)).date().isoformat()
    data = {"title": "关于开展扫雪除冰志愿服务活动的通知", "duty_type": "0", "day": day, "start": "10:00",
            "end": "12:00", "meeting_point": "B区南门广场", "organiser": "屯坪社区党总支", "contact_name": "艾力努尔•拜克力",
            "contact_phone": "13800000002", "body": "各位党员：\n请参加。", "tools": "铁锹", "safety": "注意安全",
            "points": "15"}
    bad = client.submit("/staff/campaigns/new", dict(data, end="10:00"))  # (an earlier end is the next day)
    assert bad.status_code == 422 and "结束时间必须晚于开始时间" in bad.get_data(as_text=True)
    response = client.submit("/staff/campaigns/new", data)
    assert response.status_code == 303
    campaign = Campaign.query.one()
    assert campaign.status == "draft" and campaign.duty_type.name == "扫雪除冰"
    assert campaign.contact_name == "艾力努尔·拜克力"  # the name dot is normalised


def test_publishing_without_zones_shows_the_reason(client, staff):
    campaign = make_campaign(staff, zones=0, starts_at=tomorrow_start(), now=utcnow())
    client.login(staff.phone)
    response = client.submit(f"/staff/campaigns/{campaign.id}/publish", page=f"/staff/campaigns/{campaign.id}")
    assert response.status_code == 422
    assert "还没有划分区域，不能发布" in response.get_data(as_text=True)
    assert campaign.status == "draft" and DutySession.query.count() == 0


def test_publishing_makes_the_zone_sessions_and_the_roster_links(client, staff, draft):
    client.login(staff.phone)
    response = client.submit(f"/staff/campaigns/{draft.id}/publish", page=f"/staff/campaigns/{draft.id}")
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "已发布：2 个区域的签到已安排" in page
    for zone in draft.zones:
        assert f'href="/staff/duty/{zone.session_id}"' in page  # each zone's roster is duty's


def test_adding_and_deleting_zones(client, staff, live_campaign):
    client.login(staff.phone)
    url = f"/staff/campaigns/{live_campaign.id}"
    added = client.submit(f"{url}/zones", {"name": "东侧停车场", "needed": "4", "description": "", "team": "",
                                           "leader_name": "", "leader_phone": ""}, page=url)
    assert added.status_code == 303
    zone = live_campaign.zones[-1]
    assert zone.name == "东侧停车场" and zone.session.capacity == 4
    duplicate = client.submit(f"{url}/zones", {"name": "东侧停车场", "needed": "4"}, page=url)
    assert duplicate.status_code == 422 and "已有名为“东侧停车场”的区域" in duplicate.get_data(as_text=True)

    taken_zone = live_campaign.zones[0]
    campaigns.sign_up(factories.make_user(), taken_zone, utcnow())
    db.session.commit()
    refused = client.submit(f"{url}/zones/{taken_zone.id}/delete", page=url)
    assert refused.status_code == 422
    assert "“南门片区”已有 1 人报名或签到，不能删除" in refused.get_data(as_text=True)
    assert len(live_campaign.zones) == 7
    deleted = client.submit(f"{url}/zones/{zone.id}/delete", page=url)
    assert deleted.status_code == 303 and len(live_campaign.zones) == 6


def test_staff_assign_a_volunteer_from_the_search(client, staff, live_campaign):
    volunteer = factories.make_user(name="古丽米拉·艾山")
    zone = live_campaign.zones[3]
    client.login(staff.phone)
    url = f"/staff/campaigns/{live_campaign.id}/zones/{zone.id}"
    page = client.get(f"{url}?q=古丽米拉").get_data(as_text=True)
    assert "古丽米拉·艾山" in page
    response = client.submit(f"{url}/assign", {"volunteer_id": str(volunteer.id)}, page=url)
    assert response.status_code == 303
    assert campaigns.place_of(volunteer, live_campaign)[0] == zone
    other = f"/staff/campaigns/{live_campaign.id}/zones/{live_campaign.zones[0].id}"
    again = client.submit(f"{other}/assign", {"volunteer_id": str(volunteer.id)}, page=other)
    assert again.status_code == 422 and "古丽米拉·艾山 已报名“1—4号楼”" in again.get_data(as_text=True)
    cancelled = client.submit(f"{url}/people/{volunteer.id}/cancel", page=url)
    assert cancelled.status_code == 303 and campaigns.place_of(volunteer, live_campaign) is None


def test_a_zone_of_another_campaign_is_404(client, staff, live_campaign, draft):
    client.login(staff.phone)
    other_zone = draft.zones[0]
    assert client.get(f"/staff/campaigns/{live_campaign.id}/zones/{other_zone.id}").status_code == 404
    assert client.get(f"/staff/campaigns/{live_campaign.id}/zones/{other_zone.id}/sheet.pdf").status_code == 404
    client.logout()
    volunteer = factories.make_user()
    client.login(volunteer.phone)
    form = form_of(client, f"/campaigns/{live_campaign.id}")
    response = client.post(f"/campaigns/{live_campaign.id}/zones/{other_zone.id}/sign-up", data=form)
    assert response.status_code == 404 and Attendance.query.count() == 0


# --- the sign-up page (the notice's QR code) -----------------------------------------------------

def test_the_qr_link_sends_to_login_and_back(client, live_campaign):
    volunteer = factories.make_user()
    response = client.get(f"/campaigns/{live_campaign.id}")
    assert response.status_code == 302 and f"next=%2Fcampaigns%2F{live_campaign.id}" in response.location
    back = client.post(response.location, data={"csrf_token": client.csrf_token(response.location),
                                                "phone": volunteer.phone, "password": factories.PASSWORD})
    assert back.location == f"/campaigns/{live_campaign.id}"
    page = client.get(back.location).get_data(as_text=True)
    assert "报名：南门片区" in page and "已报 0 / 8 人" in page


def test_volunteer_signs_up_then_a_second_time_is_refused(client, live_campaign):
    volunteer = factories.make_user()
    client.login(volunteer.phone)
    url = f"/campaigns/{live_campaign.id}"
    zone = live_campaign.zones[1]
    form = form_of(client, url)
    first = client.post(f"{url}/zones/{zone.id}/sign-up", data=form)
    retry = client.post(f"{url}/zones/{zone.id}/sign-up", data=form)  # the same form again: a retry
    assert first.status_code == retry.status_code == 303 and first.location == url
    page = client.get(url).get_data(as_text=True)
    assert "报名成功：北门片区" in page and "我的区域" in page and "取消报名" in page
    assert zone.session.taken == 1
    again = client.post(f"{url}/zones/{live_campaign.zones[2].id}/sign-up", data=form_of(client, url))
    assert again.status_code == 422 and "您已报名“北门片区”" in again.get_data(as_text=True)
    cancel = client.post(f"{url}/cancel", data=form_of(client, url))
    assert cancel.status_code == 303 and "已取消“北门片区”的报名" in client.get(url).get_data(as_text=True)
    assert zone.session.taken == 0


def test_a_full_zone_says_so(client, staff):
    campaign = make_campaign(staff, zones=1, starts_at=tomorrow_start(), now=utcnow(), publish_at=utcnow())
    zone = campaign.zones[0]
    for _ in range(zone.needed):
        campaigns.sign_up(factories.make_user(), zone, utcnow())
    db.session.commit()
    client.login(factories.make_user().phone)
    url = f"/campaigns/{campaign.id}"
    page = client.get(url).get_data(as_text=True)
    assert "名额已满" in page and "报名：南门片区" not in page
    # a page opened before the last place went (its form is still on the phone)
    response = client.submit(f"{url}/zones/{zone.id}/sign-up", {"token": "a-fresh-token"}, page="/account")
    assert response.status_code == 422
    assert "“南门片区”名额已满（共 8 人），请选择其他区域。" in response.get_data(as_text=True)


def test_drafts_are_not_found_for_volunteers(client, draft):
    client.login(factories.make_user().phone)
    assert client.get(f"/campaigns/{draft.id}").status_code == 404
    assert client.get(f"/campaigns/{draft.id}/notice.pdf").status_code == 404


def test_pages_keep_the_content_security_policy(client, staff, live_campaign):
    client.login(staff.phone)
    for url in (f"/campaigns/{live_campaign.id}", f"/staff/campaigns/{live_campaign.id}", "/staff/campaigns",
                f"/staff/campaigns/{live_campaign.id}/zones/{live_campaign.zones[0].id}", "/staff/campaigns/new"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html and " style=" not in html, url


# --- PDFs: caching and the progress indicator ---------------------------------------------------

@pytest.fixture
def renders(monkeypatch):
    """Counts real renders of the notice (cache misses)."""
    counted = []
    real = notice.RENDERERS[notice.NOTICE_TEMPLATE]
    monkeypatch.setitem(notice.RENDERERS, notice.NOTICE_TEMPLATE, lambda ctx: counted.append(1) or real(ctx))
    return counted


def test_the_notice_pdf_is_cached_by_content(client, staff, live_campaign, renders):
    client.login(factories.make_user().phone)
    url = f"/campaigns/{live_campaign.id}/notice.pdf"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data.startswith(b"%PDF") and first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    assert etag and len(renders) == 1

    second = client.get(url)
    assert second.status_code == 200 and second.data == first.data and second.headers["ETag"] == etag
    assert len(renders) == 1  # the same text: the same PDF, not rendered again

    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b"" and len(renders) == 1

    campaigns.sign_up(factories.make_user(), live_campaign.zones[0], utcnow())
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304  # sign-ups are not on it

    live_campaign.tools = "铁锹、扫帚、手套"
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag and len(renders) == 2


def test_the_pdf_link_shows_progress_and_works_without_javascript(client, staff, live_campaign, renders):
    client.login(staff.phone)
    page = client.get(f"/staff/campaigns/{live_campaign.id}").get_data(as_text=True)
    pdf_url, ready_url = f"/campaigns/{live_campaign.id}/notice.pdf", f"/campaigns/{live_campaign.id}/notice/ready"
    link = re.search(r'<span class="pdf-link" id="notice-link">.*?</span>\s*</span>', page, re.S).group(0)
    assert f'href="{pdf_url}"' in link and f'hx-get="{ready_url}"' in link
    assert 'hx-indicator="#notice-link"' in link and '<span class="pdf-progress" role="status">正在生成…</span>' in link
    fragment = client.get(ready_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert f'href="{pdf_url}"' in fragment.get_data(as_text=True) and "打开通知" in fragment.get_data(as_text=True)
    assert len(renders) == 1
    client.get(pdf_url)
    assert len(renders) == 1  # made while the indicator showed; opened from the cache
    plain = client.get(ready_url)
    assert plain.status_code == 303 and plain.location == pdf_url


def test_the_sign_in_sheet_is_for_staff(client, staff, live_campaign):
    zone = live_campaign.zones[0]
    volunteer = factories.make_user(name="艾力努尔·拜克力")
    campaigns.sign_up(volunteer, zone, utcnow())
    db.session.commit()
    url = f"/staff/campaigns/{live_campaign.id}/zones/{zone.id}/sheet.pdf"
    client.login(volunteer.phone)
    assert client.get(url).status_code == 403
    client.logout()
    client.login(staff.phone)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf" and response.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


# --- the volunteer's home -------------------------------------------------------------------------

def test_home_shows_the_campaign_with_my_zone_and_the_meeting_point(client, live_campaign):
    volunteer = factories.make_user()
    client.login(volunteer.phone)
    home = client.get("/me").get_data(as_text=True)
    assert live_campaign.title in home and "集合：迪祥佳苑B区南门广场" in home and "去报名" in home
    assert "北门片区" not in home  # the zones' duty sessions are not listed one by one
    campaigns.sign_up(volunteer, live_campaign.zones[1], utcnow())
    db.session.commit()
    home = client.get("/me").get_data(as_text=True)
    assert "我的区域：北门片区" in home and "已报名" in home
    assert f'href="/duty/{live_campaign.zones[1].session_id}"' in home  # check in there on the day
    assert f'href="/duty/{live_campaign.zones[0].session_id}"' not in home
