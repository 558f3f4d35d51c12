"""Logins live on the server: logout, 退出其他设备, password change, staff action and deactivation end them,
and a copy of the cookie made before is dead from then on."""
import re
from datetime import timedelta

import pytest

from gridapp.auth import service
from gridapp.auth.models import LoginSession
from gridapp.extensions import db

from .. import factories


def copied_cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_a_copied_cookie_is_dead_after_logout(app, client):
    user = factories.make_user()
    assert client.login(user.phone).status_code == 303
    cookie = copied_cookie(client)
    assert with_cookie(app, cookie).get("/account").status_code == 200  # the copy works while logged in
    assert client.logout().status_code == 303
    stolen = with_cookie(app, cookie).get("/account")
    assert stolen.status_code == 302 and "/login" in stolen.location
    assert db.session.scalar(db.select(LoginSession.end_reason).where(LoginSession.user_id == user.id)) == "logout"


def test_end_other_devices_from_the_account_page(app, client):
    user = factories.make_user()
    phone = app.test_client()
    assert phone.login(user.phone).status_code == 303
    assert client.login(user.phone).status_code == 303
    page = client.get("/account").get_data(as_text=True)
    assert "登录设备" in page and "本设备" in page and "退出其他设备" in page
    response = client.submit("/account/sessions/end-others", page="/account")
    assert response.status_code == 303
    assert "已退出其他 1 台设备" in client.get("/account").get_data(as_text=True)
    assert phone.get("/account").status_code == 302  # the other device is out
    assert client.get("/account").status_code == 200  # this one stays in
    assert "只有本设备登录" in client.get("/account").get_data(as_text=True)


def test_a_deactivated_user_is_out_at_once(app, client):
    user = factories.make_user()
    staff = factories.make_user(role="staff")
    client.login(user.phone)
    cookie = copied_cookie(client)
    service.disable_account(staff, user)
    db.session.commit()
    assert client.get("/me").status_code == 302
    assert with_cookie(app, cookie).get("/me").status_code == 302
    assert service.open_sessions(user) == []


def test_password_change_ends_the_other_devices_but_not_this_one(app, client):
    user = factories.make_user()
    other = app.test_client()
    other.login(user.phone)
    client.login(user.phone)
    response = client.submit("/account/password", {"current": factories.PASSWORD, "password": "new-password-9",
                                                   "confirm": "new-password-9"})
    assert response.status_code == 303
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_staff_end_a_volunteers_logins_from_the_roster(app, client):
    volunteer = factories.make_user(name="蒋生军")
    phone = app.test_client()
    phone.login(volunteer.phone)
    staff = factories.make_user(role="staff")
    client.login(staff.phone)
    page = client.get("/staff/volunteers").get_data(as_text=True)
    assert f"/staff/volunteers/{volunteer.id}/sessions/end" in page
    response = client.submit(f"/staff/volunteers/{volunteer.id}/sessions/end", page="/staff/volunteers")
    assert response.status_code == 303
    assert "蒋生军" in client.get("/staff/volunteers").get_data(as_text=True)
    assert phone.get("/me").status_code == 302


def test_staff_may_not_end_an_admins_or_their_own_logins(app):
    staff = factories.make_user(role="staff")
    admin = factories.make_user(role="admin")
    for target in (admin, staff):
        try:
            service.end_sessions_by_staff(staff, target)
        except service.NotYoursToManage:
            continue
        raise AssertionError(f"staff ended {target.role}'s sessions")
    assert service.end_sessions_by_staff(admin, staff) == 0


def test_end_all_sessions_is_what_a_password_reset_calls(app, client):
    user = factories.make_user()
    client.login(user.phone)
    assert service.end_all_sessions(user) == 1
    db.session.commit()
    assert client.get("/account").status_code == 302


@pytest.mark.own_database  # "last seen" is written on a connection of its own
def test_last_seen_is_written_at_most_every_few_minutes_and_outside_the_request(app, client, fixed_clock):
    user = factories.make_user()
    client.login(user.phone)
    [login] = service.open_sessions(user)
    login_id, first_seen = login.id, login.last_seen_at
    db.session.rollback()  # the test's own reads end here, as a real server's would

    def last_seen():
        db.session.rollback()  # a fresh read, after the request's own transaction
        seen = db.session.get(LoginSession, login_id, populate_existing=True).last_seen_at
        db.session.rollback()
        return seen

    client.get("/account")
    assert last_seen() == first_seen  # moments later: not written
    fixed_clock.start_at(first_seen + timedelta(minutes=6))
    client.get("/account")
    assert last_seen() >= first_seen + timedelta(minutes=6)


def test_a_login_unused_for_a_month_is_over(app, client, fixed_clock):
    user = factories.make_user()
    client.login(user.phone)
    [login] = service.open_sessions(user)
    fixed_clock.start_at(login.last_seen_at + service.SESSION_IDLE_LIMIT + timedelta(minutes=1))
    assert client.get("/account").status_code == 302


def test_the_cookie_names_a_random_token_that_the_database_keeps_only_hashed(app, client):
    user = factories.make_user()
    client.login(user.phone)
    [login] = service.open_sessions(user)
    assert re.fullmatch(r"[0-9a-f]{64}", login.token_hash)
    assert service.load_session_user(login.token_hash) is None  # the hash itself logs nobody in
