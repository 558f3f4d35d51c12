"""Report pages through HTTP: the phone form and its bad input, who may see which report and photo,
the staff's steps and timeline, the 413 page that keeps the text, and the public echo wall."""
import io
import re

import pytest
from PIL import Image

from gridapp.extensions import db
from gridapp.reports import photos
from gridapp.reports.models import Report, ReportPhoto

from .. import factories
from .conftest import HTML, advance, jpeg, make_report, png_bomb, truncated_jpeg, zip_file

TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PHOTO_URL = re.compile(r'/photos/([A-Za-z0-9_-]+)/(?:thumb|full)\.jpg')
DESCRIPTION = "1栋门口路面塌陷一个大坑，晚上看不见"


def report_form(client, **fields):
    page = client.get("/reports/new").get_data(as_text=True)
    data = {"csrf_token": CSRF.search(page).group(1), "token": TOKEN.search(page).group(1), "category": "road",
            "description": DESCRIPTION, "building": "1", "unit": "", "place": "门口"}
    data.update(fields)
    return data


def post_report(client, files=(), **fields):
    data = report_form(client, **fields)
    data["photos"] = [(io.BytesIO(content), name, "image/jpeg") for name, content in files]
    return client.post("/reports/new", data=data, content_type="multipart/form-data")


def assert_nothing_written():
    assert Report.query.count() == ReportPhoto.query.count() == 0
    assert photos.store().names() == set()


# --- reporting ---------------------------------------------------------------------------------

def test_a_volunteer_reports_a_hazard_with_a_photo_and_sees_it(client, login_as):
    volunteer = login_as("volunteer")
    response = post_report(client, files=[("IMG_0001.jpg", jpeg())])
    assert response.status_code == 303
    report = Report.query.one()
    assert response.location.endswith(f"/reports/{report.id}")
    assert (report.reporter_id, report.category, report.building, report.status) == (volunteer.id, "road", "1", "new")
    page = client.get(response.location).get_data(as_text=True)
    assert DESCRIPTION in page and "新上报" in page and "已提交，网格员会尽快处理" in page
    key = PHOTO_URL.search(page).group(1)
    photo = client.get(f"/photos/{key}/full.jpg")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.headers["Cache-Control"] == "private, max-age=3600"
    stored = Image.open(io.BytesIO(photo.data))
    assert not stored.getexif() and not stored.getexif().get_ifd(0x8825) and b"GPS" not in photo.data
    mine = client.get("/reports/mine").get_data(as_text=True)
    assert "道路破损" in mine and "新上报" in mine


def test_tapping_submit_twice_makes_one_report(client, login_as):
    login_as("volunteer")
    data = report_form(client)
    first = client.post("/reports/new", data=dict(data), content_type="multipart/form-data")
    second = client.post("/reports/new", data=dict(data), content_type="multipart/form-data")
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert Report.query.count() == 1


@pytest.mark.parametrize("files, message", [
    ([("page.jpg", HTML)], "第 1 张照片无法识别"),
    ([("photo.jpg", jpeg()), ("archive.jpg", zip_file())], "第 2 张照片无法识别"),
    ([("bomb.png", png_bomb())], "第 1 张照片像素太多"),
    ([("cut.jpg", truncated_jpeg())], "第 1 张照片无法识别"),
    ([(f"{n}.jpg", jpeg(80, 60)) for n in range(6)], "最多上传 3 张照片"),
], ids=["html", "zip", "30000x30000 png", "truncated jpeg", "six photos"])
def test_bad_photos_are_refused_with_the_text_kept(client, login_as, files, message):
    login_as("volunteer")
    response = post_report(client, files=files)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert DESCRIPTION in page  # what was typed is still there
    assert_nothing_written()


@pytest.mark.parametrize("fields, message", [
    (dict(description=""), "请写一下是什么问题或需要什么帮助"),
    (dict(description="坑" * 501), "不能超过500个字"),
    (dict(building="", place=""), "请选择楼栋，或写明位置"),
    (dict(category=""), "请选择类别"),
])
def test_bad_text_is_refused_in_chinese(client, login_as, fields, message):
    login_as("volunteer")
    response = post_report(client, **fields)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert_nothing_written()


def test_an_upload_over_ten_megabytes_gets_a_chinese_413_page_that_keeps_the_text(client, login_as, app):
    login_as("volunteer")
    big = jpeg() + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = post_report(client, files=[("big.jpg", big)], place="南门岗亭东侧", unit="2")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "照片太大：一次上传合计不能超过 10 MB" in page
    assert DESCRIPTION in page and 'value="南门岗亭东侧"' in page and 'value="2"' in page
    assert '<option selected value="road">' in page and '<option selected value="1">' in page
    assert_nothing_written()


# --- who may see what ----------------------------------------------------------------------------

def test_a_report_and_its_photos_are_for_the_reporter_and_staff_only(app, client, volunteer, staff):
    report = make_report(volunteer, photos=[jpeg()])
    report_url, key = f"/reports/{report.id}", report.photos[0].key
    expected = {"reporter": (200, 200), "other volunteer": (404, 404), "staff": (200, 200), "admin": (200, 200),
                "sponsor": (403, 404)}
    people = {"reporter": volunteer, "other volunteer": factories.make_user(), "staff": staff,
              "admin": factories.make_user(role="admin"), "sponsor": factories.make_user(role="sponsor")}
    for who, user in people.items():
        client.login(user.phone)
        got = (client.get(report_url).status_code, client.get(f"/photos/{key}/thumb.jpg").status_code)
        assert got == expected[who], who
        if who == "other volunteer":
            assert "找不到这条上报" in client.get(report_url).get_data(as_text=True)
        client.logout()
    assert client.get(report_url).status_code == 302  # to the login page
    assert client.get(f"/photos/{key}/full.jpg").status_code == 404


def test_photos_are_public_once_on_the_echo_wall_and_private_again_when_taken_down(client, volunteer, staff):
    report = advance(make_report(volunteer, photos=[jpeg()]), staff, "solved")
    key = report.photos[0].key
    public = client.get(f"/photos/{key}/thumb.jpg")
    assert public.status_code == 200 and public.headers["Cache-Control"] == "public, max-age=600"
    assert client.get(f"/photos/{key}/thumb.jpg", headers={"If-None-Match": public.headers["ETag"]}).status_code == 304
    client.login(staff.phone)
    assert client.submit(f"/staff/reports/{report.id}/wall", {"show": "0"}, page=f"/reports/{report.id}").status_code == 303
    client.logout()
    assert client.get(f"/photos/{key}/thumb.jpg").status_code == 404


def test_volunteers_cannot_use_the_staff_steps(client, login_as, volunteer):
    report = make_report(volunteer)
    login_as("volunteer")
    for step in ("accept", "start", "solve", "decline", "wall"):
        response = client.submit(f"/staff/reports/{report.id}/{step}", page="/reports/new")
        assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True)
    assert db.session.get(Report, report.id).status == "new"


# --- the staff's steps ------------------------------------------------------------------------------

def test_staff_move_a_report_step_by_step_and_the_reporter_sees_the_timeline(client, volunteer, staff, partner):
    report = make_report(volunteer)
    url = f"/reports/{report.id}"
    client.login(staff.phone)
    skipped = client.submit(f"/staff/reports/{report.id}/solve", {"resolution": "修好了"}, page=url)
    assert skipped.status_code == 422 and "不能直接标记为已解决" in skipped.get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "受理即确认隐患属实，上报的志愿者获得 5 积分" in page
    due = re.search(r'name="due_on"[^>]*value="([^"]+)"', page).group(1)
    accepted = client.submit(f"/staff/reports/{report.id}/accept",
                             {"assignee": "0", "partner": str(partner.id), "due_on": due, "note": "通知供水公司"}, page=url)
    assert accepted.status_code == 303
    assert client.submit(f"/staff/reports/{report.id}/start", {"note": "已到场抢修"}, page=url).status_code == 303
    solved = client.post(f"/staff/reports/{report.id}/solve", content_type="multipart/form-data", data={
        "csrf_token": CSRF.search(client.get(url).get_data(as_text=True)).group(1), "resolution": "更换爆裂管段",
        "on_wall": "y", "photos": [(io.BytesIO(jpeg()), "after.jpg", "image/jpeg")]})
    assert solved.status_code == 303
    client.logout()
    client.login(volunteer.phone)
    page = client.get(url).get_data(as_text=True)
    for text in ("已解决", "更换爆裂管段", "三坪供水有限公司", "通知供水公司", "已到场抢修", "+5 分", "贾亮"):
        assert text in page, text
    assert page.index("新上报") < page.index("已受理") < page.index("处理中") < page.rindex("已解决")


def test_the_queue_marks_overdue_items(client, volunteer, staff, fixed_clock):
    from datetime import timedelta

    from gridapp.clock import utcnow

    late = advance(make_report(volunteer, description="路灯不亮"), staff, "accepted")
    fixed_clock.start_at(utcnow() + timedelta(days=5))
    client.login(staff.phone)
    page = client.get("/staff/reports?status=overdue").get_data(as_text=True)
    assert "已逾期 1" in page and "路灯不亮" in page and "overdue" in page
    assert f"/reports/{late.id}" in page
    assert "待处理上报" in client.get("/staff").get_data(as_text=True)


def test_staff_keep_the_partner_units_and_the_points(client, staff):
    client.login(staff.phone)
    added = client.submit("/staff/reports/partners", {"name": "三坪燃气服务站", "kind": "gas", "contact_name": "杨军",
                                                      "phone": "0994-5821500"}, page="/staff/reports/settings")
    assert added.status_code == 303
    again = client.submit("/staff/reports/partners", {"name": "三坪燃气服务站", "kind": "gas"},
                          page="/staff/reports/settings")
    assert again.status_code == 422 and "已有名为“三坪燃气服务站”的单位" in again.get_data(as_text=True)
    saved = client.submit("/staff/reports/points", {"category": "parking", "points": "3"}, page="/staff/reports/settings")
    assert saved.status_code == 303
    page = client.get("/staff/reports/settings").get_data(as_text=True)
    assert "三坪燃气服务站" in page and 'id="points-parking" name="points" value="3"' in page
    bad = client.submit("/staff/reports/points", {"category": "parking", "points": "999"}, page="/staff/reports/settings")
    assert bad.status_code == 422 and "积分需在0到200之间" in bad.get_data(as_text=True)


# --- the echo wall ---------------------------------------------------------------------------------

def test_the_echo_wall_is_public_and_never_names_the_reporter(client, staff):
    # A phone whose last four digits can be no date or time on the page (the factories' numbers count up,
    # and a tail such as 2026 would be found in any date).
    reporter = factories.make_user(name="阿依古丽·买买提", phone="13977773951")
    shown = advance(make_report(reporter, building="5", unit="2", place="", description="楼下路面破损"), staff, "solved")
    wish = advance(make_report(reporter, category="shopping", building="4", unit="1", place="301室",
                               description="独居老人需要代买米面", wall_consent=True), staff, "solved")
    hidden = advance(make_report(reporter, category="repair", description="水龙头坏了，不想公开"), staff, "solved")
    make_report(reporter, description="还没解决的问题")
    response = client.get("/huiyin")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "楼下路面破损" in page and "独居老人需要代买米面" in page and "物业与自来水公司联合抢修" in page
    assert "水龙头坏了" not in page and "还没解决的问题" not in page
    assert reporter.name not in page and reporter.phone_tail not in page and staff.name not in page
    assert "5栋" in page and "2单元" not in page and "301室" not in page  # building level only
    assert 'loading="lazy"' in page
    assert "用时" in page and "1 小时" in page
    assert shown.id and wish.id and hidden.id
