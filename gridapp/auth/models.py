import secrets

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Index, false

from ..clock import utcnow
from ..extensions import db
from ..org.scope import PeopleScoped

ROLE_LABELS = {
    "volunteer": _l("志愿者"),
    "staff": _l("网格员"),
    "admin": _l("管理员"),
    "sponsor": _l("爱心企业"),
    "viewer": _l("上级查看"),
}
ROLES = tuple(ROLE_LABELS)
# The one role vocabulary: who works for the grid (staff pages and services accept both).
STAFF_ROLES = ("staff", "admin")
# Everyone who uses a grid's own pages; a division viewer (上级查看) sees roll-ups of figures only.
GRID_ROLES = ("volunteer", "staff", "admin", "sponsor")

STATUS_LABELS = {
    "pending": _l("待审核"),
    "active": _l("已启用"),
    "rejected": _l("未通过"),
    "disabled": _l("已停用"),
}
STATUSES = tuple(STATUS_LABELS)


def new_volunteer_code() -> str:
    return "V" + secrets.token_hex(4).upper()


class User(PeopleScoped, UserMixin, db.Model):
    """Anyone who logs in: volunteers, staff (grid workers), admins and sponsor users.

    Login is by 11-digit mainland phone number. Each login is a row in ``login_sessions``
    (see LoginSession); the login cookie names that row, so ending the row ends the login.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role_known"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint("length(phone) = 11", name="phone_11_digits"),
        CheckConstraint("length(name) > 0", name="name_not_blank"),
        # A sponsor user belongs to exactly one sponsor; nobody else belongs to any.
        CheckConstraint(
            "(role = 'sponsor' AND sponsor_id IS NOT NULL) OR (role <> 'sponsor' AND sponsor_id IS NULL)",
            name="sponsor_only_for_sponsor_role",
        ),
        CheckConstraint("points_balance >= 0", name="points_balance_not_negative"),
        # Covering indexes of the reporting figures: new registrations per month; volunteers on the roll
        # and registrations waiting for review.
        Index("ix_users_created_at", "created_at", "role"),
        Index("ix_users_status_role", "status", "role"),
        # A volunteer's grid is their household's: one criterion scopes volunteers (org.scope).
        db.ForeignKeyConstraint(["household_id", "grid_id"], ["households.id", "households.grid_id"],
                                name="fk_users_household_grid"),
        CheckConstraint("household_id IS NULL OR grid_id IS NOT NULL", name="household_has_grid"),
    )

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False)
    phone = db.Column(db.String(11), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    role = db.Column(db.String(16), nullable=False, default="volunteer")
    status = db.Column(db.String(16), nullable=False, default="pending")
    household_id = db.Column(db.Integer, db.ForeignKey("households.id"), index=True)
    # The volunteer's grid (their household's; set by org.scope on flush); NULL for staff, admins, sponsors.
    grid_id = db.Column(db.Integer, db.ForeignKey("org_units.id"), index=True)
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id"), index=True)
    sponsor_id = db.Column(db.Integer, db.ForeignKey("sponsors.id"), index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    reviewed_at = db.Column(db.DateTime)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    rejection_reason = db.Column(db.String(200))
    last_login_at = db.Column(db.DateTime)
    # A cache of the sum of this volunteer's points entries, written only by gridapp.points.service
    # in the same transaction as the entry; `flask verify` checks the two agree.
    points_balance = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    # Printed on the volunteer's QR card; staff scan it into the counter's search box.
    volunteer_code = db.Column(db.String(16), unique=True, default=new_volunteer_code)
    # Set when someone else chose the password (staff reset it): the user must pick their own at next login.
    must_change_password = db.Column(db.Boolean, nullable=False, default=False, server_default=false())

    household = db.relationship("Household", foreign_keys=[household_id])
    grid = db.relationship("OrgUnit", foreign_keys=[grid_id])
    team = db.relationship("Team")
    sponsor = db.relationship("Sponsor")
    reviewed_by = db.relationship("User", remote_side=[id], foreign_keys=[reviewed_by_id])

    # The login this request came with (set by the session loader, or at login); not a column.
    login_session = None
    session_token = ""

    @property
    def is_volunteer(self) -> bool:
        return self.role == "volunteer"

    def get_id(self) -> str:
        """What the login cookie carries: the secret token of this login's session row."""
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def role_label(self) -> str:
        return str(ROLE_LABELS[self.role])

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def phone_tail(self) -> str:
        return self.phone[-4:]

    @property
    def masked_phone(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]}"

    def __repr__(self):
        return f"<User {self.id} {self.role} {self.phone_tail}>"


END_REASONS = ("logout", "password", "others", "staff", "disabled", "reset")
_DEVICES = (("MicroMessenger", "微信"), ("HarmonyOS", "鸿蒙"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Android", "Android"), ("Windows", "Windows"), ("Macintosh", "Mac"), ("Linux", "Linux"))
_BROWSERS = (("MicroMessenger", ""), ("Edg/", "Edge"), ("Chrome/", "Chrome"), ("Firefox/", "Firefox"),
             ("Safari/", "Safari"))


def device_label(user_agent: str) -> str:
    agent = user_agent or ""
    system = next((name for marker, name in _DEVICES if marker in agent), "")
    browser = next((name for marker, name in _BROWSERS if marker in agent), "")
    label = " · ".join(part for part in (system, browser) if part)
    return label or agent[:40]


class LoginSession(db.Model):
    """One login on one device (登录设备). The login cookie carries a random token; the table keeps only its
    SHA-256, so a copy of the table logs nobody in. Every request looks the row up: once ``ended_at`` is set
    (logout, password change or reset, 退出其他设备, staff ending it, deactivation) the cookie is worthless,
    whoever kept a copy.

    ``last_seen_at`` is written at most every few minutes, outside the request's own transaction.
    """

    __tablename__ = "login_sessions"
    __table_args__ = (
        CheckConstraint(f"end_reason IS NULL OR end_reason IN {END_REASONS!r}", name="end_reason_known"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_has_reason"),
    )

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    user_agent = db.Column(db.String(200), nullable=False, default="")
    ended_at = db.Column(db.DateTime)
    end_reason = db.Column(db.String(16))
    # Staff and admins: the grid this login works in (chosen with the header's switcher).
    grid_id = db.Column(db.Integer, db.ForeignKey("org_units.id"))

    user = db.relationship("User")

    @property
    def device_label(self) -> str:
        """A short name for the device from its user agent (phones say little more than this)."""
        return device_label(self.user_agent)


class ThrottleCounter(db.Model):
    """Attempts counted per key (``login-phone:138…``, ``login-ip:…``, ``register-ip:…``) in a fixed window.

    In the database, so that every worker and every app server counts together (DESIGN.md §6).
    """

    __tablename__ = "throttle_counters"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_not_negative"),)

    key = db.Column(db.String(100), primary_key=True)
    window_started_at = db.Column(db.DateTime, nullable=False, index=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)


class PasswordReset(db.Model):
    """A record that staff reset someone's password: who, for whom, when (the password itself is never kept)."""

    __tablename__ = "password_resets"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    reset_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    reset_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    user = db.relationship("User", foreign_keys=[user_id])
    reset_by = db.relationship("User", foreign_keys=[reset_by_id])
