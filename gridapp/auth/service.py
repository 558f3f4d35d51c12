"""Account rules: who may register whom, approval of residents, login and password change.

Services take model objects and plain values, never the request. They flush but do
not commit: the view commits once.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..clock import utcnow
from ..community.service import find_or_create_household
from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from .models import User, new_session_nonce
from .passwords import burn_a_verification, hash_password, needs_rehash, verify_password

STAFF_ROLES = ("staff", "admin")


class PhoneTaken(DomainError):
    default_message = _l("该手机号已注册。如忘记密码，请联系网格员。")


class InvalidCredentials(DomainError):
    default_message = _l("手机号或密码不正确。")


class AccountPending(DomainError):
    default_message = _l("您的注册正在等待网格员审核，审核通过后即可登录。")


class AccountRejected(DomainError):
    default_message = _l("您的注册未通过审核：%(reason)s。如有疑问请联系网格员。")


class AccountDisabled(DomainError):
    default_message = _l("该账号已停用，请联系网格员。")


class NotPending(DomainError):
    default_message = _l("该注册已处理过，无需重复操作。")


def require_role(actor: User | None, *roles: str) -> None:
    """Raise PermissionDenied unless ``actor`` is an active user with one of ``roles``."""
    if actor is None or not actor.is_authenticated or not actor.is_active or actor.role not in roles:
        raise PermissionDenied()


def _add_user(user: User) -> User:
    """Insert ``user``; a phone number already taken (even by a racing request) raises PhoneTaken."""
    if User.query.filter_by(phone=user.phone).first() is not None:
        raise PhoneTaken()
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as exc:
        raise PhoneTaken() from exc
    return user


def register_resident(*, name, phone, password, building, unit, room, team=None) -> User:
    """A resident registers on their own phone: a volunteer account that stays *pending* until staff approve.

    A resident whose earlier registration was turned down may register again with the same number.
    Raises PhoneTaken if the number belongs to any other account.
    """
    household = find_or_create_household(building, unit, room)
    previous = User.query.filter_by(phone=phone, status="rejected").one_or_none()
    if previous is not None:
        # A turned-down resident may apply again with corrected details; the reviewer starts afresh.
        previous.name, previous.household, previous.team = name, household, team
        previous.password_hash = hash_password(password)
        previous.status, previous.rejection_reason = "pending", None
        previous.reviewed_by_id = previous.reviewed_at = None
        previous.session_nonce = new_session_nonce()
        return previous
    user = User(
        name=name, phone=phone, password_hash=hash_password(password), role="volunteer",
        status="pending", household=household, team=team,
    )
    return _add_user(user)


def register_at_table(actor: User, *, name, phone, password, building, unit, room, team=None) -> User:
    """Staff register a volunteer in person and set a first password; the account is active at once.

    Raises PermissionDenied unless ``actor`` is staff or admin, PhoneTaken if the number is registered.
    """
    require_role(actor, *STAFF_ROLES)
    household = find_or_create_household(building, unit, room)
    now = utcnow()
    user = User(
        name=name, phone=phone, password_hash=hash_password(password), role="volunteer",
        status="active", household=household, team=team, created_by_id=actor.id,
        reviewed_by_id=actor.id, reviewed_at=now,
    )
    return _add_user(user)


def create_account(actor: User | None, *, role, name, phone, password, sponsor=None) -> User:
    """An admin creates a staff, admin or sponsor account (a sponsor account needs its sponsor).

    ``actor`` None means the operations CLI, which runs with the server's own authority.
    Raises PermissionDenied unless ``actor`` is an admin, PhoneTaken if the number is registered,
    DomainError for a sponsor account without a sponsor.
    """
    if actor is not None:
        require_role(actor, "admin")
    if role == "sponsor" and sponsor is None:
        raise DomainError(_l("爱心企业账号必须选择所属企业。"))
    if role != "sponsor":
        sponsor = None
    now = utcnow()
    user = User(
        name=name, phone=phone, password_hash=hash_password(password), role=role, status="active",
        sponsor=sponsor, created_by_id=actor.id if actor else None,
        reviewed_by_id=actor.id if actor else None, reviewed_at=now,
    )
    return _add_user(user)


def search_volunteers(query: str):
    """Active volunteers whose name contains ``query`` or whose phone ends with it (staff look people up
    by name or the last 4 digits), as a query to page or limit."""
    volunteers = User.query.filter_by(role="volunteer", status="active")
    query = (query or "").strip()
    if query:
        volunteers = volunteers.filter(or_(User.name.contains(query, autoescape=True),
                                           User.phone.endswith(query, autoescape=True)))
    return volunteers.order_by(User.name, User.id)


def pending_registrations() -> list[User]:
    return User.query.filter_by(status="pending").order_by(User.created_at, User.id).all()


def get_user(user_id: int) -> User:
    """The user with this id; raises NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def _review(actor: User, user: User, status: str, reason: str | None) -> User:
    require_role(actor, *STAFF_ROLES)
    # The conditional update makes a second click, or a second staff member, a clear no-op.
    changed = (
        User.query.filter_by(id=user.id, status="pending")
        .update({"status": status, "reviewed_by_id": actor.id, "reviewed_at": utcnow(),
                 "rejection_reason": reason}, synchronize_session=False)
    )
    if changed != 1:
        raise NotPending()
    db.session.refresh(user)
    return user


def approve_registration(actor: User, user: User) -> User:
    """Staff approve a pending self-registration; the resident can log in from now on.

    Raises PermissionDenied for non-staff, NotPending if it was already approved or rejected.
    """
    return _review(actor, user, "active", None)


def reject_registration(actor: User, user: User, reason: str) -> User:
    """Staff turn down a pending self-registration, with a reason the resident is shown at login.

    Raises PermissionDenied for non-staff, NotPending if it was already approved or rejected.
    """
    return _review(actor, user, "rejected", reason)


def authenticate(phone: str, password: str) -> User:
    """The active user with this phone and password.

    Raises InvalidCredentials (unknown phone or wrong password, indistinguishable and equally slow),
    AccountPending, AccountRejected or AccountDisabled.
    """
    user = User.query.filter_by(phone=phone).one_or_none()
    if user is None:
        burn_a_verification(password)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password):
        raise InvalidCredentials()
    if user.status == "pending":
        raise AccountPending()
    if user.status == "rejected":
        raise AccountRejected(reason=user.rejection_reason or "")
    if user.status == "disabled":
        raise AccountDisabled()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Set a new password after checking the current one; every other session of the user ends.

    Raises InvalidCredentials if the current password is wrong.
    """
    if not verify_password(user.password_hash, current_password):
        raise InvalidCredentials(_l("当前密码不正确。"))
    user.password_hash = hash_password(new_password)
    user.session_nonce = new_session_nonce()
    return user


def load_session_user(session_id: str) -> User | None:
    """The user behind a login cookie's id ``"<id>.<nonce>"``, if still active and the nonce still current."""
    user_id, _, nonce = session_id.partition(".")
    if not user_id.isdigit():
        return None
    # Household and team come in the same query: every volunteer page shows them.
    user = db.session.get(User, int(user_id), options=[joinedload(User.household), joinedload(User.team)])
    if user is None or user.session_nonce != nonce or not user.is_active:
        return None
    return user
