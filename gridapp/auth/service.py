"""Account rules: who may register whom, approval of residents, login, password change and reset,
staff looking after a volunteer's account (details, deactivation), and the server-side login sessions
(登录设备) that logout, password change, reset and deactivation end.

Services take model objects and plain values, never the request. They flush but do
not commit: the view commits once.
"""
import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..clock import utcnow
from ..community.models import Household
from ..community.service import find_or_create_household, normalise_address_part
from ..database import SQLITE_BUSY_TIMEOUT_MS
from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from ..org.models import OrgUnit
from .forms import normalise_phone
from .models import LoginSession, PasswordReset, User
from .passwords import burn_a_verification, hash_password, needs_rehash, verify_password

STAFF_ROLES = ("staff", "admin")
# A login unused this long is over (the cookie itself lasts until the browser closes).
SESSION_IDLE_LIMIT = timedelta(days=30)
# "Last seen" is written at most this often: a page view is a read, not a write.
LAST_SEEN_EVERY = timedelta(minutes=5)
TOUCH_WAIT_MS = 200


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


class RejectionNeedsReason(DomainError):
    default_message = _l("请填写不通过的原因，居民登录时会看到。")


def require_role(actor: User | None, *roles: str) -> None:
    """Raise PermissionDenied unless ``actor`` is an active user with one of ``roles``."""
    if actor is None or not actor.is_authenticated or not actor.is_active or actor.role not in roles:
        raise PermissionDenied()


def owns(user: User, obj) -> bool:
    """Whether ``obj`` belongs to ``user``. Its model names the owner with ``owner_column``: a column
    naming a user (``volunteer_id``, ``reporter_id``, ``user_id``), or ``sponsor_id`` for what a
    sponsor gave, which belongs to that sponsor's accounts."""
    column = type(obj).owner_column
    owner = user.sponsor_id if column == "sponsor_id" else user.id
    return owner is not None and getattr(obj, column) == owner


def require_owner(user: User, obj, *, staff_too: bool = False, error=NotFound):
    """``obj`` if it belongs to ``user`` (see ``owns``) or, with ``staff_too``, if ``user`` is staff:
    the one check behind every "my redemption / my receipt / my report / my line" page and action.

    Otherwise raises ``error`` (a DomainError class or instance), by default NotFound: someone
    else's redemption, receipt or report does not exist, as far as this user knows.
    """
    if owns(user, obj) or (staff_too and user.role in STAFF_ROLES):
        return obj
    raise error


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
        end_all_sessions(previous)
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


# --- sponsors, as far as accounts need them ---------------------------------------------------
# A sponsor account belongs to one sponsor (goods.models.Sponsor). Goods is a capability above auth,
# so auth never imports it: goods hands auth its two lookups when gridapp.goods.sponsors is imported
# (``provide_sponsors``), as campaigns hand duty their attendance rules.

_SPONSOR_LOOKUPS: dict = {}


def provide_sponsors(list_all, find) -> None:
    """Goods tells auth how to list every sponsor (``list_all()``, by id) and find one by id
    (``find(sponsor_id)``, None if there is none)."""
    _SPONSOR_LOOKUPS.update(list_all=list_all, find=find)


def _sponsor_lookup(name: str):
    if name not in _SPONSOR_LOOKUPS:
        raise RuntimeError("gridapp.goods.sponsors has not been imported: auth cannot look sponsors up")
    return _SPONSOR_LOOKUPS[name]


def sponsors() -> list:
    """Every sponsor, by id (what a sponsor account may belong to)."""
    return _sponsor_lookup("list_all")()


def sponsor_by_id(sponsor_id: int):
    """The sponsor with this id, or None."""
    return _sponsor_lookup("find")(sponsor_id)


def _household_match(query: str):
    """Households whose address is ``query`` written as 3-2-401, 3栋2单元401室 or 3 2 401 (None if it is not one)."""
    parts = [p for p in re.split(r"[\s\-－/栋号楼单元室]+", query) if p]
    if len(parts) != 3:
        return None
    building, unit, room = (normalise_address_part(p) for p in parts)
    return User.household_id.in_(select(Household.id).where(
        Household.building == building, Household.unit == unit, Household.room == room))


def search_terms(query: str) -> tuple[str, str | None]:
    """What staff typed into a search box, folded as names and addresses are stored (full-width forms, no control
    characters), and the phone digits in it when it is a number ('１３９ 1234-5678' gives '13912345678') or None."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", query or "")
                   if not unicodedata.category(ch).startswith("C")).strip()
    digits = normalise_phone(text)
    return text, digits if digits.isascii() and digits.isdigit() else None


def _name_or_phone_end(text: str, digits: str | None):
    conditions = [User.name.contains(text, autoescape=True)]
    if digits:
        conditions.append(User.phone.endswith(digits, autoescape=True))
    return conditions


def roster(query: str):
    """The staff's roster: active and deactivated volunteers whose name contains ``query``, whose phone
    number is or ends with it (last 4 digits), or whose household address it is (3-2-401, 3栋2单元401室).
    Household and team come in the same query: the roster shows them on every row."""
    volunteers = (User.query.filter(User.role == "volunteer", User.status.in_(("active", "disabled")))
                  .options(joinedload(User.household), joinedload(User.team)))
    query, digits = search_terms(query)
    if query:
        conditions = _name_or_phone_end(query, digits)
        household = _household_match(query)
        if household is not None:
            conditions.append(household)
        volunteers = volunteers.filter(or_(*conditions))
    return volunteers.order_by(User.status, User.name, User.id)


def search_volunteers(query: str):
    """Active volunteers whose name contains ``query`` or whose phone ends with it (staff look people up
    by name or the last 4 digits), as a query to page or limit."""
    volunteers = User.query.filter_by(role="volunteer", status="active")
    query, digits = search_terms(query)
    if query:
        volunteers = volunteers.filter(or_(*_name_or_phone_end(query, digits)))
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
    """Staff turn down a pending self-registration, with a reason the resident is shown at login:
    a rejection without a reason is refused.

    Raises PermissionDenied for non-staff, RejectionNeedsReason for a blank reason, NotPending if it
    was already approved or rejected.
    """
    require_role(actor, *STAFF_ROLES)
    if not (reason or "").strip():
        raise RejectionNeedsReason()
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
    The password is the user's own from now on (no longer one that must be changed).

    Raises InvalidCredentials if the current password is wrong, DomainError if a password that
    must be changed is "changed" to itself.
    """
    if not verify_password(user.password_hash, current_password):
        raise InvalidCredentials(_l("当前密码不正确。"))
    if user.must_change_password and current_password == new_password:
        raise DomainError(_l("请设置一个新的密码，不要沿用网格员给的临时密码。"))
    user.password_hash = hash_password(new_password)
    if user.login_session is not None:
        end_other_sessions(user, user.login_session.id, reason="password")
    else:
        end_all_sessions(user, reason="password")
    user.must_change_password = False
    return user


# --- staff look after a volunteer's account ---------------------------------------------------

TEMPORARY_PASSWORD_DIGITS = 8


def _require_volunteer_keeper(actor: User, user: User) -> None:
    """Staff and admins look after volunteers' accounts (never another staff, admin or sponsor account)."""
    require_role(actor, *STAFF_ROLES)
    if user.role != "volunteer":
        raise PermissionDenied()


def reset_password(actor: User, user: User, now) -> str:
    """Staff reset a volunteer's forgotten password at the table or on the phone, without SMS: a random
    temporary password (digits, easy to read out), returned once and never stored in clear. Every session
    of the volunteer ends, the reset is recorded (who, when), and the volunteer must choose their own
    password at the next login.

    Raises PermissionDenied unless ``actor`` is staff or admin and ``user`` is a volunteer.
    """
    _require_volunteer_keeper(actor, user)
    temporary = "".join(secrets.choice("0123456789") for _ in range(TEMPORARY_PASSWORD_DIGITS))
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    end_all_sessions(user, reason="reset", now=now)
    db.session.add(PasswordReset(user_id=user.id, reset_by_id=actor.id, reset_at=now))
    db.session.flush()
    return temporary


def password_resets(user: User, limit: int = 5) -> list[PasswordReset]:
    """The latest password resets of ``user``, newest first."""
    return (PasswordReset.query.filter_by(user_id=user.id).options(joinedload(PasswordReset.reset_by))
            .order_by(PasswordReset.id.desc()).limit(limit).all())


def update_volunteer(actor: User, user: User, *, name, phone, building, unit, room, team=None) -> User:
    """Staff correct a volunteer's details (the same rules as registration: a free, unique phone number).

    Raises PermissionDenied unless ``actor`` is staff or admin and ``user`` is a volunteer, PhoneTaken if
    another account has the number.
    """
    _require_volunteer_keeper(actor, user)
    if phone != user.phone and User.query.filter(User.phone == phone, User.id != user.id).first() is not None:
        raise PhoneTaken()
    user.name, user.phone, user.team = name, phone, team
    user.household = find_or_create_household(building, unit, room)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise PhoneTaken() from exc
    return user


def set_volunteer_active(actor: User, user: User, active: bool) -> User:
    """Staff deactivate a volunteer (who then cannot log in, and is logged out everywhere) or reactivate
    them. Points, history and redemptions stay as they are. Only active and deactivated accounts change
    (a pending registration is approved or rejected instead).

    Raises PermissionDenied unless ``actor`` is staff or admin and ``user`` is a volunteer, DomainError for
    a pending or rejected registration.
    """
    _require_volunteer_keeper(actor, user)
    if user.status not in ("active", "disabled"):
        raise DomainError(_l("这是待审核或未通过的注册，请在注册审核中处理。"))
    user.status = "active" if active else "disabled"
    if not active:
        end_all_sessions(user, reason="disabled")
    return user


def disable_account(actor: User, user: User) -> User:
    """Staff stop an account (停用): it cannot log in, and every login it has ends at once.

    Raises PermissionDenied unless ``actor`` is staff or admin, NotYoursToManage unless the account is
    a volunteer's (an admin may stop anyone's but their own).
    """
    _require_may_manage(actor, user)
    user.status = "disabled"
    end_all_sessions(user, reason="disabled")
    return user


# --- login sessions (登录设备) ------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, user_agent: str = "", now: datetime | None = None) -> LoginSession:
    """A new login for ``user`` on one device. The cookie's token is ``user.session_token`` afterwards
    (the table keeps only its hash)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    login = LoginSession(user_id=user.id, token_hash=_token_hash(token), created_at=now, last_seen_at=now,
                         user_agent=(user_agent or "")[:200])
    db.session.add(login)
    db.session.flush()
    user.login_session, user.session_token = login, token
    return login


def _end(condition, reason: str, now: datetime | None) -> int:
    return db.session.execute(
        update(LoginSession).where(LoginSession.ended_at.is_(None), *condition)
        .values(ended_at=now or utcnow(), end_reason=reason).execution_options(synchronize_session=False)
    ).rowcount


def end_session(login: LoginSession, *, reason: str = "logout", now: datetime | None = None) -> None:
    """End one login (logout): its cookie, and every copy of it, logs nobody in from now on."""
    _end([LoginSession.id == login.id], reason, now)
    db.session.expire(login)


def end_all_sessions(user: User, *, reason: str = "reset", now: datetime | None = None) -> int:
    """End every login of ``user`` on every device (password reset, deactivation, staff action).
    Returns how many were still open."""
    return _end([LoginSession.user_id == user.id], reason, now)


def end_other_sessions(user: User, keep_session_id: int, *, reason: str = "others",
                       now: datetime | None = None) -> int:
    """End every login of ``user`` except ``keep_session_id`` (退出其他设备, password change).
    Returns how many ended."""
    return _end([LoginSession.user_id == user.id, LoginSession.id != keep_session_id], reason, now)


def end_sessions_by_staff(actor: User, user: User, *, now: datetime | None = None) -> int:
    """Staff end a volunteer's logins (a lost phone, a shared one); an admin may do it for anyone.

    Raises PermissionDenied for anyone but staff, NotYoursToManage for an account they may not manage.
    """
    _require_may_manage(actor, user)
    return end_all_sessions(user, reason="staff", now=now)


class NotYoursToManage(DomainError):
    default_message = _l("只能对志愿者账号这样操作（管理员可对其他账号操作，但不能对自己）。")


def _require_may_manage(actor: User, user: User) -> None:
    require_role(actor, *STAFF_ROLES)
    if actor.id == user.id or (user.role != "volunteer" and actor.role != "admin"):
        raise NotYoursToManage()


def open_sessions(user: User, now: datetime | None = None) -> list[LoginSession]:
    """The user's logins that still work, most recently used first."""
    since = (now or utcnow()) - SESSION_IDLE_LIMIT
    return list(db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
                                   LoginSession.last_seen_at >= since)
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())))


@cache
def _session_user_query():
    """Built once (on first use, when every model is mapped): every request runs it, and SQLAlchemy
    keys its cache of compiled SQL on a statement object it has seen before for free, where a
    statement built anew is walked again on every call."""
    return (select(LoginSession, User).join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == bindparam("token_hash"), LoginSession.ended_at.is_(None),
                   LoginSession.last_seen_at >= bindparam("seen_since"))
            # The grid (with its community) comes in the same query: it is the page's letterhead
            # (org.service.current_grid). Household and team do not: only the account page shows them
            # (two lazy loads there), and every request would pay for loading them (/me x0.89).
            .options(joinedload(User.grid).joinedload(OrgUnit.parent)))


def load_session_user(token: str) -> User | None:
    """The user behind a login cookie's token, if that login has not ended or gone idle and the user is
    still active. The user comes back with ``login_session`` set."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(_session_user_query(), {"token_hash": _token_hash(token),
                                                     "seen_since": utcnow() - SESSION_IDLE_LIMIT}).first()
    if row is None or not row.User.is_active:
        return None
    user = row.User
    user.login_session, user.session_token = row.LoginSession, token
    return user


def session_needs_touch(login: LoginSession, now: datetime) -> bool:
    return login.last_seen_at <= now - LAST_SEEN_EVERY


def touch_session(connection, login_id: int, now: datetime) -> None:
    """Write "last seen" on ``connection`` — its own short transaction, never the request's — without
    waiting more than a moment for a lock: if the database is busy, a later page writes it."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={TOUCH_WAIT_MS}")
    else:
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{TOUCH_WAIT_MS}ms'")
    try:
        connection.execute(update(LoginSession).where(LoginSession.id == login_id,
                                                      LoginSession.last_seen_at <= now - LAST_SEEN_EVERY)
                           .values(last_seen_at=now))
    finally:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
