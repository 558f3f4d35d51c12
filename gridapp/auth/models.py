import secrets

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, false

from ..clock import utcnow
from ..extensions import db

ROLE_LABELS = {
    "volunteer": _l("志愿者"),
    "staff": _l("网格员"),
    "admin": _l("管理员"),
    "sponsor": _l("爱心企业"),
}
ROLES = tuple(ROLE_LABELS)
# The one role vocabulary: who works for the grid (staff pages and services accept both).
STAFF_ROLES = ("staff", "admin")

STATUS_LABELS = {
    "pending": _l("待审核"),
    "active": _l("已启用"),
    "rejected": _l("未通过"),
    "disabled": _l("已停用"),
}
STATUSES = tuple(STATUS_LABELS)


def new_session_nonce() -> str:
    return secrets.token_hex(8)


def new_volunteer_code() -> str:
    return "V" + secrets.token_hex(4).upper()


class User(UserMixin, db.Model):
    """Anyone who logs in: volunteers, staff (grid workers), admins and sponsor users.

    Login is by 11-digit mainland phone number. ``session_nonce`` is part of the
    login cookie's user id: changing it (password change) logs out every other session.
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
    )

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False)
    phone = db.Column(db.String(11), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    role = db.Column(db.String(16), nullable=False, default="volunteer")
    status = db.Column(db.String(16), nullable=False, default="pending")
    household_id = db.Column(db.Integer, db.ForeignKey("households.id"), index=True)
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id"), index=True)
    sponsor_id = db.Column(db.Integer, db.ForeignKey("sponsors.id"), index=True)
    session_nonce = db.Column(db.String(32), nullable=False, default=new_session_nonce)
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

    household = db.relationship("Household")
    team = db.relationship("Team")
    sponsor = db.relationship("Sponsor")
    reviewed_by = db.relationship("User", remote_side=[id], foreign_keys=[reviewed_by_id])

    @property
    def is_volunteer(self) -> bool:
        return self.role == "volunteer"

    def get_id(self) -> str:
        return f"{self.id}.{self.session_nonce}"

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


class PasswordReset(db.Model):
    """A record that staff reset someone's password: who, for whom, when (the password itself is never kept)."""

    __tablename__ = "password_resets"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    reset_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    reset_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    user = db.relationship("User", foreign_keys=[user_id])
    reset_by = db.relationship("User", foreign_keys=[reset_by_id])
