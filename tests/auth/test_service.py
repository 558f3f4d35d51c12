"""Account rules, called directly (no HTTP)."""
import threading

import pytest

from gridapp.auth import service
from gridapp.auth.models import User
from gridapp.errors import PermissionDenied
from gridapp.extensions import db

from .. import factories

RESIDENT = dict(name="艾力努尔·拜克力", phone="13912345678", password="snowyday2026",
                building="3栋", unit="2", room="401室")


def test_self_registration_is_pending_and_joins_household(app):
    user = service.register_resident(**RESIDENT)
    db.session.commit()
    assert user.status == "pending"
    assert user.role == "volunteer"
    assert user.household.label == "3栋2单元401室"  # '3栋' and '401室' normalised


def test_two_residents_of_one_flat_share_the_household(app):
    first = service.register_resident(**RESIDENT)
    second = service.register_resident(**{**RESIDENT, "phone": "13912345679", "building": "3", "room": "401"})
    db.session.commit()
    assert first.household_id == second.household_id


def test_an_address_typed_full_width_or_spaced_is_the_same_household(app):
    first = service.register_resident(**RESIDENT)
    second = service.register_resident(**{**RESIDENT, "phone": "13912345679", "building": "３ 栋", "unit": "２单元",
                                          "room": "４０１\u3000室"})
    db.session.commit()
    assert first.household_id == second.household_id
    assert second.household.label == "3栋2单元401室"


def test_registration_refuses_a_phone_already_registered(app):
    service.register_resident(**RESIDENT)
    db.session.commit()
    with pytest.raises(service.PhoneTaken):
        service.register_resident(**{**RESIDENT, "name": "别人"})
    db.session.rollback()
    assert User.query.filter_by(phone=RESIDENT["phone"]).count() == 1


def test_pending_user_cannot_log_in_until_approved(app):
    staff = factories.make_user(role="staff")
    user = service.register_resident(**RESIDENT)
    db.session.commit()
    with pytest.raises(service.AccountPending):
        service.authenticate(RESIDENT["phone"], RESIDENT["password"])
    service.approve_registration(staff, user)
    db.session.commit()
    assert service.authenticate(RESIDENT["phone"], RESIDENT["password"]).id == user.id
    assert user.reviewed_by_id == staff.id


def test_rejected_user_is_told_the_reason(app):
    staff = factories.make_user(role="staff")
    user = service.register_resident(**RESIDENT)
    service.reject_registration(staff, user, "非本小区住户")
    db.session.commit()
    with pytest.raises(service.AccountRejected) as caught:
        service.authenticate(RESIDENT["phone"], RESIDENT["password"])
    assert "非本小区住户" in caught.value.message


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_rejection_needs_a_reason_and_without_one_changes_nothing(app, reason):
    staff = factories.make_user(role="staff")
    user = service.register_resident(**RESIDENT)
    db.session.commit()
    with pytest.raises(service.RejectionNeedsReason) as caught:
        service.reject_registration(staff, user, reason)
    db.session.rollback()
    assert caught.value.message == "请填写不通过的原因，居民登录时会看到。"
    db.session.refresh(user)
    assert (user.status, user.reviewed_by_id, user.rejection_reason) == ("pending", None, None)


def test_sponsor_accounts_find_their_sponsor_through_goods_without_auth_importing_it(app):
    sponsor = factories.make_sponsor("新疆丝路天山国际食品城")
    db.session.commit()
    assert sponsor in service.sponsors() and service.sponsor_by_id(sponsor.id) is sponsor
    assert service.sponsor_by_id(sponsor.id + 1000) is None
    admin = factories.make_user(role="admin")
    account = service.create_account(admin, role="sponsor", name="李海燕", phone="13800001112",
                                     password="snowyday2026", sponsor=service.sponsor_by_id(sponsor.id))
    assert account.sponsor is sponsor


def test_a_rejected_resident_may_apply_again(app):
    staff = factories.make_user(role="staff")
    user = service.register_resident(**RESIDENT)
    service.reject_registration(staff, user, "房号填错了")
    db.session.commit()
    again = service.register_resident(**{**RESIDENT, "room": "402"})
    db.session.commit()
    assert again.id == user.id
    assert (again.status, again.rejection_reason, again.household.room) == ("pending", None, "402")


def test_approving_twice_is_refused_without_a_second_effect(app):
    staff, other_staff = factories.make_user(role="staff"), factories.make_user(role="staff")
    user = service.register_resident(**RESIDENT)
    service.approve_registration(staff, user)
    db.session.commit()
    with pytest.raises(service.NotPending):
        service.reject_registration(other_staff, user, "重复点击")
    db.session.rollback()
    db.session.refresh(user)
    assert (user.status, user.reviewed_by_id) == ("active", staff.id)


@pytest.mark.parametrize("role", ["volunteer", "sponsor"])
def test_only_staff_may_approve(app, role):
    actor = factories.make_user(role=role)
    user = service.register_resident(**RESIDENT)
    with pytest.raises(PermissionDenied):
        service.approve_registration(actor, user)


def test_staff_register_at_the_table_is_active_at_once(app):
    staff = factories.make_user(role="staff")
    user = service.register_at_table(staff, **RESIDENT)
    db.session.commit()
    assert user.status == "active" and user.created_by_id == staff.id
    assert service.authenticate(RESIDENT["phone"], RESIDENT["password"]).id == user.id


def test_volunteer_cannot_register_others_at_the_table(app):
    with pytest.raises(PermissionDenied):
        service.register_at_table(factories.make_user(), **RESIDENT)


@pytest.mark.parametrize("role", ["staff", "volunteer", "sponsor"])
def test_only_admins_create_accounts(app, role):
    with pytest.raises(PermissionDenied):
        service.create_account(factories.make_user(role=role), role="staff", name="新网格员",
                               phone="13911112222", password="password-123")


def test_sponsor_account_needs_a_sponsor(app):
    admin = factories.make_user(role="admin")
    with pytest.raises(service.DomainError):
        service.create_account(admin, role="sponsor", name="王老板", phone="13911112222", password="password-123")
    sponsor = factories.make_sponsor()
    user = service.create_account(admin, role="sponsor", name="王老板", phone="13911112222",
                                  password="password-123", sponsor=sponsor)
    db.session.commit()
    assert user.sponsor_id == sponsor.id


def test_wrong_password_and_unknown_phone_say_the_same(app):
    user = factories.make_user()
    with pytest.raises(service.InvalidCredentials) as wrong:
        service.authenticate(user.phone, "not-the-password")
    with pytest.raises(service.InvalidCredentials) as unknown:
        service.authenticate("13999999999", "not-the-password")
    assert wrong.value.message == unknown.value.message


@pytest.mark.real_password_hashing
def test_password_is_stored_as_argon2id_at_owasp_cost(app):
    user = service.register_resident(**RESIDENT)
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert RESIDENT["password"] not in user.password_hash


def test_changing_password_ends_other_sessions(app):
    user = factories.make_user()
    service.start_session(user)
    other_token = user.session_token
    this = service.start_session(user)
    this_token = user.session_token
    db.session.commit()
    service.change_password(user, factories.PASSWORD, "a-brand-new-pass")
    db.session.commit()
    assert service.load_session_user(other_token) is None
    assert service.load_session_user(this_token).login_session.id == this.id


@pytest.mark.own_database
def test_simultaneous_registrations_of_one_phone_make_one_account(app):
    """Ten phones submitting the same number at once (a double tap on a slow network, times ten)."""
    results, barrier = [], threading.Barrier(10)

    def register(n):
        with app.app_context():
            barrier.wait()
            try:
                service.register_resident(**{**RESIDENT, "name": f"居民{n}"})
                db.session.commit()
                results.append("ok")
            except service.PhoneTaken:
                db.session.rollback()
                results.append("taken")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["ok"] + ["taken"] * 9
    assert User.query.filter_by(phone=RESIDENT["phone"]).count() == 1
