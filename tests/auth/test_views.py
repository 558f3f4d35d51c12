"""Account flows through HTTP, as a phone or a staff laptop would drive them."""
import re

import pytest

from gridapp.auth.models import User
from gridapp.community.models import Household
from gridapp.extensions import db

from .. import factories

FORM = {"name": "古丽米拉·艾山", "phone": "139 1234 5678", "building": "5", "unit": "1", "room": "302",
        "team": "0", "password": "winter-2026", "confirm": "winter-2026"}


def test_register_then_pending_then_approved_then_login(client, app):
    response = client.submit("/register", FORM)
    assert response.status_code == 303 and response.location.endswith("/register/done")
    user = User.query.filter_by(phone="13912345678").one()
    assert user.status == "pending" and user.name == "古丽米拉·艾山"

    refused = client.login("13912345678", "winter-2026")
    assert refused.status_code == 422
    assert "等待网格员审核" in refused.get_data(as_text=True)

    staff = factories.make_user(role="staff")
    client.login(staff.phone)
    page = client.get("/staff/registrations").get_data(as_text=True)
    assert "古丽米拉·艾山" in page
    approved = client.submit(f"/staff/registrations/{user.id}/approve", page="/staff/registrations")
    assert approved.status_code == 303
    client.logout()

    assert client.login("13912345678", "winter-2026").status_code == 303
    assert "古丽米拉·艾山" in client.get("/me").get_data(as_text=True)


def test_approve_with_htmx_swaps_only_the_row(client, app):
    pending = factories.make_user(status="pending", name="热依拉·阿不都")
    client.login(factories.make_user(role="staff").phone)
    token = client.csrf_token("/staff/registrations")
    response = client.post(f"/staff/registrations/{pending.id}/approve", data={"csrf_token": token},
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and f'id="registration-{pending.id}"' in html and "已启用" in html
    assert "HX-Request" in response.headers["Vary"]
    db.session.refresh(pending)
    assert pending.status == "active"


def test_reject_needs_a_reason(client, app):
    pending = factories.make_user(status="pending")
    client.login(factories.make_user(role="staff").phone)
    token = client.csrf_token("/staff/registrations")
    response = client.post(f"/staff/registrations/{pending.id}/reject", data={"csrf_token": token, "reason": ""},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "请填写不通过的原因" in response.get_data(as_text=True)
    db.session.refresh(pending)
    assert pending.status == "pending"


def test_reviewing_an_unknown_registration_is_404(client):
    client.login(factories.make_user(role="staff").phone)
    response = client.submit("/staff/registrations/999999/approve", page="/staff/registrations")
    assert response.status_code == 404
    assert "找不到" in response.get_data(as_text=True)


def test_wrong_password_is_a_clear_chinese_error(client):
    user = factories.make_user()
    response = client.login(user.phone, "wrong-password")
    assert response.status_code == 422
    assert "手机号或密码不正确" in response.get_data(as_text=True)


@pytest.mark.parametrize("phone, message", [
    ("1234", "请输入11位手机号"),
    ("23800000000", "请输入11位手机号"),
    ("138000000001", "请输入11位手机号"),
    ("", "请填写手机号"),
    ("13٨٠٠٠٠٠٠٠٠", "请输入11位手机号"),  # Arabic-Indic digits are digits to \d, not a number an SMS reaches
])
def test_malformed_phone_numbers_are_refused(client, phone, message):
    response = client.submit("/register", {**FORM, "phone": phone})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert User.query.count() == 0 and Household.query.count() == 0


def test_overlong_name_and_missing_fields_write_nothing(client):
    response = client.submit("/register", {**FORM, "name": "阿" * 41, "building": "", "confirm": "different-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("姓名不能超过40个字", "请填写楼栋号", "两次输入的密码不一致"):
        assert message in html
    assert User.query.count() == 0 and Household.query.count() == 0


def test_a_long_uyghur_name_with_a_dot_is_kept_whole(client):
    name = "阿不都热合曼·托合提·买买提明"
    assert client.submit("/register", {**FORM, "name": name.replace("·", "•")}).status_code == 303
    assert User.query.one().name == name


def test_a_phone_typed_full_width_is_one_account_with_the_same_number_typed_plain(client):
    response = client.submit("/register", {**FORM, "phone": "＋８６　１３９－１２３４－５６７８"})
    assert response.status_code == 303
    assert User.query.one().phone == "13912345678"
    again = client.submit("/register", {**FORM, "name": "别人", "phone": "13912345678"})
    assert again.status_code == 422 and "该手机号已注册" in again.get_data(as_text=True)
    refused = client.login("１３９１２３４５６７８", "winter-2026")
    assert "等待网格员审核" in refused.get_data(as_text=True)  # found the account: the number matched


def test_registering_a_taken_phone_says_so(client):
    factories.make_user(phone="13912345678")
    response = client.submit("/register", FORM)
    assert response.status_code == 422
    assert "该手机号已注册" in response.get_data(as_text=True)


def test_staff_registers_a_volunteer_at_the_table(client):
    client.login(factories.make_user(role="staff").phone)
    response = client.submit("/staff/volunteers/new", FORM)
    assert response.status_code == 303
    assert User.query.filter_by(phone="13912345678").one().status == "active"
    search = client.get("/staff/volunteers?q=5678").get_data(as_text=True)
    assert "古丽米拉·艾山" in search


def test_admin_creates_a_sponsor_account(client):
    sponsor = factories.make_sponsor(name="屯坪便民超市")
    client.login(factories.make_user(role="admin").phone)
    data = {"role": "sponsor", "name": "赵德明", "phone": "13911112222", "sponsor": str(sponsor.id),
            "password": "shop-owner-1"}
    assert client.submit("/admin/accounts/new", data).status_code == 303
    created = User.query.filter_by(phone="13911112222").one()
    assert (created.role, created.sponsor_id) == ("sponsor", sponsor.id)

    no_sponsor = client.submit("/admin/accounts/new", {**data, "phone": "13911113333", "sponsor": "0"})
    assert no_sponsor.status_code == 422
    assert "必须选择所属企业" in no_sponsor.get_data(as_text=True)


def test_login_starts_a_fresh_session(client):
    user = factories.make_user()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.login(user.phone)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == user.get_id()


def test_login_redirects_only_to_local_next(client):
    user = factories.make_user()
    token = client.csrf_token("/login")
    response = client.post("/login?next=//evil.example/x", data={"csrf_token": token, "phone": user.phone,
                                                               "password": factories.PASSWORD})
    assert response.status_code == 303 and response.location == "/"


def test_protected_page_sends_to_login_and_back(client):
    user = factories.make_user()
    response = client.get("/account")
    assert response.status_code == 302 and "/login?next=%2Faccount" in response.location
    token = client.csrf_token(response.location)
    back = client.post(response.location, data={"csrf_token": token, "phone": user.phone,
                                                "password": factories.PASSWORD})
    assert back.location == "/account"


def test_change_password_then_old_one_fails(client):
    user = factories.make_user()
    client.login(user.phone)
    response = client.submit("/account/password", {"current": factories.PASSWORD, "password": "new-password-9",
                                                   "confirm": "new-password-9"})
    assert response.status_code == 303
    assert client.get("/account").status_code == 200  # this session carries the new nonce
    client.logout()
    assert client.login(user.phone).status_code == 422
    assert client.login(user.phone, "new-password-9").status_code == 303


def test_logout_needs_post(client):
    client.login(factories.make_user().phone)
    assert client.get("/logout").status_code == 405
    assert client.logout().status_code == 303
    assert client.get("/me").status_code == 302


def test_login_is_throttled_per_phone_with_a_chinese_message(client, app):
    user = factories.make_user()
    for _ in range(5):
        assert client.login(user.phone, "guess-guess").status_code == 422
    blocked = client.login(user.phone, factories.PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)
    other = factories.make_user()
    assert client.login(other.phone).status_code == 303  # another phone from the same IP is not blocked


def test_login_is_throttled_per_ip(client, app):
    app.config["LOGIN_LIMIT_PER_IP"] = "6 per 10 minutes"
    for n in range(6):
        assert client.login(f"1390000{n:04d}", "guess-guess").status_code == 422
    assert client.login("13900009999", "guess-guess").status_code == 429


def test_successful_logins_do_not_count_towards_the_limit(client):
    user = factories.make_user()
    for _ in range(7):
        assert client.login(user.phone).status_code == 303
        client.logout()


def test_session_cookie_flags(client, app):
    user = factories.make_user()
    response = client.login(user.phone)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # GRIDAPP_HTTPS unset; see test_config for the secure case
    assert re.search(r"session=[^;]+", cookie)
