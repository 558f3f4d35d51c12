"""Duty pages through HTTP: the volunteer's phone and the grid worker's roster."""
import re
from datetime import timedelta

import pytest

from gridapp.clock import utcnow
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutyType
from gridapp.extensions import db
from gridapp.org.service import first_grid
from gridapp.points.models import PointsEntry

from .. import factories

TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff")


@pytest.fixture
def open_session(staff):
    """A patrol that started ten minutes ago: check-in is open."""
    duty_type = DutyType(name="安全巡逻", default_points=10)
    db.session.add(duty_type)
    start = utcnow() - timedelta(minutes=10)
    [session] = duty.schedule(staff, duty_type=duty_type, title="南门夜间巡逻", place="B区南门岗亭",
                              starts_at=start, ends_at=start + timedelta(hours=2), capacity=10)
    db.session.commit()
    return session


def check_in_form(client, url):
    html = client.get(url).get_data(as_text=True)
    return {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1),
            "token": TOKEN.search(html).group(1)}


def test_scan_link_shows_what_is_checked_into_above_the_login_and_comes_back(client, open_session):
    volunteer = factories.make_user()
    response = client.get(f"/c/{open_session.token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "签到：南门夜间巡逻" in page and "B区南门岗亭" in page and "请先登录" not in page
    login_url = re.search(r'<form method="post" action="(/login\?next=[^"]+)"', page).group(1)
    assert login_url == f"/login?next=/c/{open_session.token}"
    token = client.csrf_token(f"/c/{open_session.token}")
    back = client.post(login_url, data={"csrf_token": token, "phone": volunteer.phone,
                                        "password": factories.PASSWORD})
    assert back.location == f"/c/{open_session.token}"
    page = client.get(back.location).get_data(as_text=True)
    assert "南门夜间巡逻" in page and ">签到</button>" in page


def test_check_in_then_a_double_tap_gives_the_same_result(client, open_session):
    volunteer = factories.make_user()
    client.login(volunteer.phone)
    form = check_in_form(client, f"/c/{open_session.token}")
    url = f"/duty/{open_session.id}/check-in"
    first = client.post(url, data=form)
    second = client.post(url, data=form)  # the same form again: a retry over a bad network
    assert first.status_code == second.status_code == 303
    assert first.location == second.location == f"/duty/{open_session.id}/check-in/done"
    assert "签到成功" in client.get(first.location).get_data(as_text=True)
    assert Attendance.query.count() == 1 and open_session.taken == 1


def test_a_second_check_in_with_a_new_form_says_already(client, open_session):
    volunteer = factories.make_user()
    client.login(volunteer.phone)
    client.post(f"/duty/{open_session.id}/check-in", data=check_in_form(client, f"/duty/{open_session.id}"))
    again = client.post(f"/duty/{open_session.id}/check-in", data={
        "csrf_token": client.csrf_token(f"/duty/{open_session.id}"), "token": "a-fresh-token"})
    assert again.status_code == 422
    assert "无需重复签到" in again.get_data(as_text=True)


def test_check_in_outside_the_window_is_refused_in_chinese(client, staff):
    duty_type = DutyType(name="环境卫生整治", default_points=10)
    db.session.add(duty_type)
    start = utcnow() + timedelta(days=2)
    [later] = duty.schedule(staff, duty_type=duty_type, title="周六环境卫生整治", place="中心广场",
                            starts_at=start, ends_at=start + timedelta(hours=2))
    db.session.commit()
    client.login(factories.make_user().phone)
    form = check_in_form(client, f"/duty/{later.id}")
    response = client.post(f"/duty/{later.id}/check-in", data=form)
    assert response.status_code == 422
    assert "现在不在签到时间内" in response.get_data(as_text=True)
    assert Attendance.query.count() == 0


def test_check_out_after_check_in(client, open_session):
    client.login(factories.make_user().phone)
    client.post(f"/duty/{open_session.id}/check-in", data=check_in_form(client, f"/duty/{open_session.id}"))
    response = client.post(f"/duty/{open_session.id}/check-out", data=check_in_form(client, f"/duty/{open_session.id}"))
    assert response.status_code == 303
    assert "签退成功" in client.get(response.location).get_data(as_text=True)
    assert Attendance.query.one().status == "checked_out"


def test_staff_confirms_and_the_volunteer_sees_the_balance(client, app, open_session, staff):
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, open_session, utcnow())
    db.session.commit()
    client.login(staff.phone)
    roster = client.get(f"/staff/duty/{open_session.id}").get_data(as_text=True)
    assert volunteer.name in roster and "确认出勤" in roster
    token = client.csrf_token(f"/staff/duty/{open_session.id}")
    response = client.post(f"/staff/duty/{open_session.id}/attendances/{attendance.id}/confirm",
                           data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert "已确认" in response.get_data(as_text=True)
    again = client.post(f"/staff/duty/{open_session.id}/attendances/{attendance.id}/confirm",
                        data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert again.status_code == 200 and PointsEntry.query.count() == 1
    client.logout()
    client.login(volunteer.phone)
    mine = client.get("/me/points").get_data(as_text=True)
    assert re.search(r"<strong>10</strong>\s*<span>可用积分</span>", mine)
    assert "安全巡逻：南门夜间巡逻" in mine


def test_staff_marks_present_by_phone_tail_and_confirms_all(client, open_session, staff):
    elderly = factories.make_user(name="祁生勇")
    client.login(staff.phone)
    found = client.get(f"/staff/duty/{open_session.id}?q={elderly.phone_tail}").get_data(as_text=True)
    assert "祁生勇" in found
    marked = client.submit(f"/staff/duty/{open_session.id}/mark-present", {"volunteer_id": str(elderly.id)},
                           page=f"/staff/duty/{open_session.id}")
    assert marked.status_code == 303
    confirmed = client.submit(f"/staff/duty/{open_session.id}/confirm-all", {"confirmed": "1"},
                              page=f"/staff/duty/{open_session.id}")
    assert confirmed.status_code == 303
    db.session.refresh(elderly)
    assert elderly.points_balance == 10


def test_reject_needs_a_reason_and_reverses_points(client, open_session, staff):
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, open_session, utcnow())
    duty.confirm(staff, attendance, utcnow())
    db.session.commit()
    client.login(staff.phone)
    url = f"/staff/duty/{open_session.id}/attendances/{attendance.id}/reject"
    token = client.csrf_token(f"/staff/duty/{open_session.id}")
    empty = client.post(url, data={"csrf_token": token, "reason": ""}, headers={"HX-Request": "true"})
    assert empty.status_code == 422 and "请填写原因" in empty.get_data(as_text=True)
    done = client.post(url, data={"csrf_token": token, "reason": "冒名签到"}, headers={"HX-Request": "true"})
    assert done.status_code == 200
    db.session.refresh(volunteer)
    assert volunteer.points_balance == 0


@pytest.mark.parametrize("htmx", [True, False])
def test_a_refused_correction_keeps_what_was_typed_in_its_open_form(client, open_session, staff, htmx):
    """积分 300 is out of range: the row says so with the form open and the reason still typed, with
    or without JavaScript; the other rows show no message."""
    volunteer, other = factories.make_user(), factories.make_user()
    attendance = duty.check_in(volunteer, open_session, utcnow())
    duty.check_in(other, open_session, utcnow())
    duty.confirm(staff, attendance, utcnow())
    db.session.commit()
    client.login(staff.phone)
    url = f"/staff/duty/{open_session.id}/attendances/{attendance.id}/correct"
    token = client.csrf_token(f"/staff/duty/{open_session.id}")
    refused = client.post(url, data={"csrf_token": token, "points": "300", "reason": "少记了两小时的扫雪"},
                          headers={"HX-Request": "true"} if htmx else {})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and page.count('role="alert"') == 1 and "积分需在1到200之间" in page
    row = page[page.index(f'id="attendance-{attendance.id}"'):]
    row = row[:row.index("\n</li>")]  # the row ends at its own </li>, at the start of a line
    assert "<details open>" in row and 'value="少记了两小时的扫雪"' in row and 'value="300"' in row
    assert f'/correct#attendance-{attendance.id}"' in row  # without JavaScript the answer opens at this row
    assert PointsEntry.query.count() == 1


def test_staff_schedules_a_weekly_patrol(client, staff):
    patrol = DutyType(name="安全巡逻", default_points=10)
    db.session.add(patrol)
    db.session.commit()
    client.login(staff.phone)
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    data = {"duty_type": str(patrol.id), "title": "北门夜间巡逻", "place": "B区北门岗亭", "day": day, "start": "19:30",
            "end": "21:00", "points": "", "capacity": "12", "team": "0", "opens_before": "30", "repeat_weeks": "4"}
    response = client.submit("/staff/duty/new", data)
    assert response.status_code == 303
    assert len(duty.staff_sessions(utcnow()).items) == 4
    bad = client.submit("/staff/duty/new", {**data, "end": "19:30"})  # (an earlier end is the next day)
    assert bad.status_code == 422 and "结束时间必须晚于开始时间" in bad.get_data(as_text=True)


def test_a_double_tap_on_schedule_makes_one_series(client, staff):
    """The form carries a one-time token: the same post twice (a double tap, a retry over a bad network)
    answers with the first series' roster instead of scheduling it again."""
    patrol = DutyType(name="安全巡逻", default_points=10)
    db.session.add(patrol)
    db.session.commit()
    client.login(staff.phone)
    form = client.get("/staff/duty/new").get_data(as_text=True)
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    data = {"duty_type": str(patrol.id), "title": "北门夜间巡逻", "place": "B区北门岗亭", "day": day, "start": "19:30",
            "end": "21:00", "points": "", "capacity": "12", "team": "0", "opens_before": "30", "repeat_weeks": "4",
            "token": TOKEN.search(form).group(1)}
    first, again = client.submit("/staff/duty/new", data), client.submit("/staff/duty/new", data)
    assert first.status_code == again.status_code == 303 and first.location == again.location
    assert len(duty.staff_sessions(utcnow()).items) == 4


def test_poster_has_a_stable_qr_link(client, open_session, staff):
    client.login(staff.phone)
    page = client.get(f"/staff/duty/{open_session.id}/poster").get_data(as_text=True)
    assert "<svg" in page and f"/c/{open_session.token}" in page


def test_the_poster_is_signed_by_its_sessions_grid_as_the_tree_names_it(client, open_session, staff):
    client.login(staff.phone)
    url = f"/staff/duty/{open_session.id}/poster"
    assert '<p class="poster-org">屯坪社区 · 迪祥佳苑B区网格党支部</p>' in client.get(url).get_data(as_text=True)
    grid = first_grid()
    grid.organiser, grid.parent.name = "二区党支部", "胜利社区"
    db.session.commit()
    assert '<p class="poster-org">胜利社区 · 二区党支部</p>' in client.get(url).get_data(as_text=True)


def test_unknown_qr_token_is_a_chinese_404(client):
    client.login(factories.make_user().phone)
    response = client.get("/c/no-such-token")
    assert response.status_code == 404 and "二维码无效" in response.get_data(as_text=True)


def test_volunteer_home_lists_open_sessions(client, open_session):
    client.login(factories.make_user().phone)
    home = client.get("/me").get_data(as_text=True)
    assert "南门夜间巡逻" in home and "现在可以签到" in home
    assert f'action="/duty/{open_session.id}/check-in"' in home


def test_my_points_empty_state(client):
    client.login(factories.make_user().phone)
    assert "还没有积分记录" in client.get("/me/points").get_data(as_text=True)


def test_someone_elses_confirmation_link_shows_the_session_instead(client, open_session):
    client.login(factories.make_user().phone)
    response = client.get(f"/duty/{open_session.id}/check-in/done")
    assert response.status_code == 302 and response.location == f"/duty/{open_session.id}"
