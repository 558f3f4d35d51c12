"""积分公示 through HTTP: staff publish and resolve; a volunteer reads the masked posting, objects to
their own line (and only that), and sees the outcome; the 光荣榜 opt-out; sponsors kept out."""
import re
from datetime import timedelta

import pytest

from gridapp import clock
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.points.models import PointsEntry
from gridapp.publicity.models import Objection, Posting
from gridapp.reporting.months import Month

from .. import factories

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day


@pytest.fixture
def setup(app):
    staff = factories.make_user(role="staff")
    ann = factories.make_user(name="张建军", household=factories.make_household("5", "1", "302"))
    bob = factories.make_user(name="艾力努尔·拜克力")
    for who, n, key in ((ann, 10, "a"), (bob, 25, "b")):
        points.award(who, n, reference=f"t:{key}", description="巡逻", key=key, by=staff,
                     at=clock.parse_local("2026-11-15T19:00"))
    db.session.commit()
    return staff, ann, bob


def test_staff_publish_and_a_volunteer_objects_and_sees_the_outcome(client, setup):
    staff, ann, bob = setup
    client.login(staff.phone)
    page = client.get("/staff/publicity").get_data(as_text=True)
    assert 'value="2026-11"' in page  # last month by default
    response = client.submit("/staff/publicity", {"month": "2026-11", "window_days": "5", "note": "请核对",
                                                         "confirmed": "1"})
    assert response.status_code == 303
    posting = Posting.query.one()
    client.logout()

    client.login(ann.phone)
    html = client.get(f"/gongshi/{posting.id}").get_data(as_text=True)
    assert "公示中" in html and "张*军" in html and "艾**尔·拜*力" in html and "5栋1单元" in html
    assert "张建军" not in html.split('id="lines"')[1] and "302" not in html.split('id="lines"')[1]
    assert "光荣榜" in html
    response = client.submit(f"/gongshi/{posting.id}/objection", {"reason": "巡逻了两次，只记了一次"},
                             page=f"/gongshi/{posting.id}")
    assert response.status_code == 303
    again = client.submit(f"/gongshi/{posting.id}/objection", {"reason": "再提一次"}, page=f"/gongshi/{posting.id}")
    assert again.status_code == 422 and "您已对这一行提出过异议" in again.get_data(as_text=True)
    client.logout()

    client.login(staff.phone)
    objection = Objection.query.one()
    entry = PointsEntry.query.filter_by(volunteer_id=ann.id).one()
    page = client.get(f"/staff/publicity/{posting.id}").get_data(as_text=True)
    assert "巡逻了两次，只记了一次" in page and "待处理" in page
    response = client.submit(f"/staff/objections/{objection.id}/accept",
                             {f"a{objection.id}-entry_id": entry.id, f"a{objection.id}-correct_points": "20",
                              f"a{objection.id}-note": "补记一次巡逻"}, page=f"/staff/publicity/{posting.id}")
    assert response.status_code == 303, response.get_data(as_text=True)
    client.logout()

    client.login(ann.phone)
    html = client.get(f"/gongshi/{posting.id}").get_data(as_text=True)
    assert "已更正" in html and "补记一次巡逻" in html and "积分已更正为 20 分" in html
    assert "已更正 1 条" in html


def test_a_volunteer_cannot_object_after_the_window(client, setup, fixed_clock):
    staff, ann, _bob = setup
    client.login(staff.phone)
    client.submit("/staff/publicity", {"month": "2026-11", "window_days": "1", "confirmed": "1"})
    posting = Posting.query.one()
    client.logout()
    client.login(ann.phone)
    form_page = f"/gongshi/{posting.id}"
    token = client.csrf_token(form_page)
    fixed_clock.start_at(posting.closes_at + timedelta(minutes=1))
    response = client.post(f"/gongshi/{posting.id}/objection", data={"reason": "晚了", "csrf_token": token})
    assert response.status_code == 422 and "公示期已于" in response.get_data(as_text=True)
    assert "已结束" in client.get(form_page).get_data(as_text=True)
    assert Objection.query.count() == 0


def test_the_honour_roll_opt_out(client, setup):
    staff, ann, _bob = setup
    client.login(staff.phone)
    client.submit("/staff/publicity", {"month": "2026-11", "window_days": "5", "confirmed": "1"})
    posting = Posting.query.one()
    client.logout()
    client.login(ann.phone)
    page = f"/gongshi/{posting.id}"
    assert "张*军" in client.get(page).get_data(as_text=True).split("光荣榜")[1].split("公示名单")[0]
    response = client.submit("/me/honour-roll", {"opted_out": "y", "back": page}, page=page)
    assert response.status_code == 303 and response.headers["Location"].endswith(page)
    assert "张*军" not in client.get(page).get_data(as_text=True).split("光荣榜")[1].split("公示名单")[0]


def test_sponsors_cannot_read_the_posting(client, login_as):
    login_as("sponsor")
    assert client.get("/gongshi").status_code == 403


def test_publishing_asks_first_naming_how_many_are_listed_and_an_unfinished_month_is_refused(client, setup):
    """A posting is public and cannot be withdrawn: the first post shows what will be published (the month,
    how many volunteers, the window) and writes nothing; the confirmed post publishes. A month not yet over
    is refused in Chinese: its month-end redemptions belong on the list."""
    staff, _ann, _bob = setup
    client.login(staff.phone)
    form = {"month": "2026-11", "window_days": "5", "note": "请核对"}
    asked = client.submit("/staff/publicity", form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "发布2026年11月积分公示？" in page and "2 位志愿者" in page
    assert 'name="confirmed" value="1"' in page and 'name="note" value="请核对"' in page
    assert Posting.query.count() == 0
    assert client.submit("/staff/publicity", form | {"confirmed": "1"}).status_code == 303
    assert Posting.query.count() == 1
    this_month = Month.of(clock.utcnow()).key
    refused = client.submit("/staff/publicity", {"month": this_month, "window_days": "5", "confirmed": "1"})
    assert refused.status_code == 422 and "还没有结束，月底之后才能公示" in refused.get_data(as_text=True)
    again = client.submit("/staff/publicity", form | {"confirmed": "1"}).get_data(as_text=True)
    assert "已经公示过了" in again
    for shown_again in (refused.get_data(as_text=True), again):  # the next 发布 asks again
        assert re.search(r'<input id="confirmed" name="confirmed" type="hidden" value="">', shown_again)
