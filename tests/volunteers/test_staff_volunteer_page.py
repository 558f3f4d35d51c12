"""Staff look after one volunteer (/staff/volunteers/<id>): details, history, edit, deactivate, reset password."""
import re

import pytest

from gridapp.auth import service as accounts
from gridapp.auth.models import PasswordReset, User
from gridapp.clock import utcnow
from gridapp.errors import PermissionDenied
from gridapp.extensions import db
from gridapp.points import service as points

from .. import factories

TEMPORARY = re.compile(r'class="temporary-password"[^>]*>(\d{8})<')


def staff_client(app):
    """A second browser: the grid worker's laptop."""
    other = app.test_client()
    staff = factories.make_user(role="staff", name="贾亮")
    assert other.login(staff.phone).status_code == 303
    return other, staff


def test_reset_password_ends_other_sessions_records_who_and_forces_a_change(client, app):
    volunteer = factories.make_user(name="蒋生军")
    assert client.login(volunteer.phone).status_code == 303  # the volunteer's old phone is still logged in
    laptop, staff = staff_client(app)

    page = laptop.get(f"/staff/volunteers/{volunteer.id}/reset-password").get_data(as_text=True)
    assert "确认重置密码" in page
    answer = laptop.submit(f"/staff/volunteers/{volunteer.id}/reset-password")
    assert answer.status_code == 200
    temporary = TEMPORARY.search(answer.get_data(as_text=True)).group(1)

    # the old phone is logged out; the old password is gone
    assert client.get("/me").status_code == 302
    assert client.login(volunteer.phone).status_code == 422
    # recorded: who and when
    reset = PasswordReset.query.filter_by(user_id=volunteer.id).one()
    assert reset.reset_by_id == staff.id and reset.reset_at is not None
    assert "贾亮" in laptop.get(f"/staff/volunteers/{volunteer.id}").get_data(as_text=True)

    # the temporary password logs in, but every page leads to choosing a new password first
    assert client.login(volunteer.phone, temporary).status_code == 303
    forced = client.get("/me")
    assert forced.status_code == 303 and forced.location.endswith("/account/password")
    assert "网格员为您重置了密码" in client.get("/account/password").get_data(as_text=True)
    same = client.submit("/account/password", {"current": temporary, "password": temporary, "confirm": temporary})
    assert same.status_code == 422
    changed = client.submit("/account/password",
                            {"current": temporary, "password": "my-own-2026", "confirm": "my-own-2026"})
    assert changed.status_code == 303
    assert client.get("/me").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, volunteer.id).must_change_password is False


def test_the_reset_page_is_a_confirmation_and_get_changes_nothing(client, login_as):
    volunteer = factories.make_user()
    password_hash = volunteer.password_hash
    login_as("staff")
    client.get(f"/staff/volunteers/{volunteer.id}/reset-password")
    db.session.expire_all()
    assert db.session.get(User, volunteer.id).password_hash == password_hash
    assert db.session.get(User, volunteer.id).must_change_password is False
    assert PasswordReset.query.count() == 0


def test_staff_cannot_reset_a_staff_or_admin_password(app):
    staff = factories.make_user(role="staff")
    admin = factories.make_user(role="admin")
    with pytest.raises(PermissionDenied):
        accounts.reset_password(staff, admin, utcnow())
    with pytest.raises(PermissionDenied):
        accounts.reset_password(factories.make_user(), factories.make_user(), utcnow())


def test_end_all_sessions_invalidates_every_cookie(app):
    volunteer = factories.make_user()
    cookies = []
    for _device in range(2):
        accounts.start_session(volunteer)
        cookies.append(volunteer.get_id())
    db.session.commit()
    assert all(accounts.load_session_user(cookie) is not None for cookie in cookies)
    accounts.end_all_sessions(volunteer)
    db.session.commit()
    assert [accounts.load_session_user(cookie) for cookie in cookies] == [None, None]


def test_volunteer_page_shows_details_balance_and_paged_histories(client, login_as):
    team = factories.make_team("环保小卫士")
    volunteer = factories.make_user(name="古丽米拉·艾山", team=team)
    for n in range(20):
        points.award(volunteer, 5, reference=f"test:{n}", description=f"巡逻第{n}次", key=f"k{n}")
    db.session.commit()
    login_as("staff")
    page = client.get(f"/staff/volunteers/{volunteer.id}").get_data(as_text=True)
    for text in ("古丽米拉·艾山", volunteer.phone, volunteer.household.label, "环保小卫士", "已启用", ">100<",
                 "巡逻第19次", "第 1 / 2 页"):
        assert text in page, text
    assert "巡逻第0次" not in page
    assert "巡逻第0次" in client.get(f"/staff/volunteers/{volunteer.id}?page=2").get_data(as_text=True)
    assert "没有记录" in client.get(f"/staff/volunteers/{volunteer.id}?tab=redemptions").get_data(as_text=True)
    assert "没有记录" in client.get(f"/staff/volunteers/{volunteer.id}?tab=attendance").get_data(as_text=True)


def test_edit_details_uses_registration_validation(client, login_as):
    volunteer = factories.make_user(name="马静")
    taken = factories.make_user()
    login_as("staff")
    form = {"name": "马 静", "phone": taken.phone, "building": "7", "unit": "2", "room": "301", "team": "0"}
    refused = client.submit(f"/staff/volunteers/{volunteer.id}/edit", form)
    assert refused.status_code == 422 and "该手机号已注册" in refused.get_data(as_text=True)
    bad = client.submit(f"/staff/volunteers/{volunteer.id}/edit", dict(form, phone="12345"))
    assert bad.status_code == 422 and "请输入11位手机号" in bad.get_data(as_text=True)
    ok = client.submit(f"/staff/volunteers/{volunteer.id}/edit", dict(form, phone="+86 139-0000-1111"))
    assert ok.status_code == 303
    db.session.expire_all()
    volunteer = db.session.get(User, volunteer.id)
    assert (volunteer.name, volunteer.phone, volunteer.household.label) == ("马 静", "13900001111", "7栋2单元301室")


def test_deactivate_logs_out_and_reactivate_lets_back_in(client, app):
    volunteer = factories.make_user()
    assert client.login(volunteer.phone).status_code == 303
    laptop, _staff = staff_client(app)
    assert laptop.submit(f"/staff/volunteers/{volunteer.id}/deactivate",
                         page=f"/staff/volunteers/{volunteer.id}").status_code == 303
    assert client.get("/me").status_code == 302
    assert "该账号已停用" in client.login(volunteer.phone).get_data(as_text=True)
    page = laptop.get(f"/staff/volunteers/{volunteer.id}").get_data(as_text=True)
    assert "已停用" in page and "重新启用账号" in page
    laptop.submit(f"/staff/volunteers/{volunteer.id}/reactivate", page=f"/staff/volunteers/{volunteer.id}")
    assert client.login(volunteer.phone).status_code == 303


def test_volunteer_page_is_for_volunteers_only(client, login_as):
    admin = factories.make_user(role="admin")
    login_as("staff")
    assert client.get(f"/staff/volunteers/{admin.id}").status_code == 404


# --- item 2: the roster links to the page and finds people by name, phone, last 4 digits, household ---

def test_roster_rows_link_to_the_volunteer_page(client, login_as):
    volunteer = factories.make_user(name="阿依古丽")
    login_as("staff")
    page = client.get("/staff/volunteers").get_data(as_text=True)
    assert f'href="/staff/volunteers/{volunteer.id}"' in page


@pytest.mark.parametrize("query", ["阿依", "13911112222", "2222", "9-3-1201", "9栋3单元1201室", "9 3 1201",
                                   "139 1111 2222", "２２２２", "９栋３单元１２０１室"])
def test_roster_search_by_name_phone_tail_or_household(client, login_as, query):
    household = factories.make_household("9", "3", "1201")
    wanted = factories.make_user(name="阿依古丽", phone="13911112222", household=household)
    other = factories.make_user(name="王强")
    login_as("staff")
    page = client.get("/staff/volunteers", query_string={"q": query}).get_data(as_text=True)
    assert f"/staff/volunteers/{wanted.id}\"" in page
    assert f"/staff/volunteers/{other.id}\"" not in page


def test_a_roster_search_of_only_punctuation_finds_no_phone_by_its_empty_end(client, login_as):
    factories.make_user(name="阿依古丽", phone="13911112222")
    login_as("staff")
    for query in ("-", "( )", "+86"):
        page = client.get("/staff/volunteers", query_string={"q": query}).get_data(as_text=True)
        assert "阿依古丽" not in page, query


def test_roster_lists_deactivated_volunteers_to_reactivate(client, login_as):
    gone = factories.make_user(name="停用的人", status="disabled")
    login_as("staff")
    page = client.get("/staff/volunteers", query_string={"q": "停用的人"}).get_data(as_text=True)
    assert f"/staff/volunteers/{gone.id}\"" in page and "已停用" in page
