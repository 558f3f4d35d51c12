import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, UniqueConstraint

from ..clock import utcnow
from ..extensions import db
from ..org.scope import GridScoped

STATUS_LABELS = {
    "signed_up": _l("已报名"),
    "checked_in": _l("已签到"),
    "checked_out": _l("已签退"),
    "confirmed": _l("已确认"),
    "rejected": _l("未通过"),
    "cancelled": _l("已取消报名"),
}
STATUSES = tuple(STATUS_LABELS)
PRESENT = ("checked_in", "checked_out")  # came, not yet confirmed
HOLDS_A_PLACE = ("signed_up", "checked_in", "checked_out", "confirmed", "rejected")


def new_session_token() -> str:
    return secrets.token_urlsafe(9)


class DutyType(db.Model):
    """A kind of volunteer work (安全巡逻, 环境卫生整治 …) with its default points."""

    __tablename__ = "duty_types"
    __table_args__ = (CheckConstraint("default_points > 0", name="points_positive"),
                      CheckConstraint("default_points <= 200", name="points_bounded"))

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False, unique=True)
    default_points = db.Column(db.Integer, nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)


class DutySession(GridScoped, db.Model):
    """One scheduled duty: where and when, how many points, how many people.

    ``token`` is printed as a QR code on paper (/c/<token>) and never changes.
    ``taken`` counts the places held (sign-ups and check-ins), moved by conditional UPDATEs
    so that simultaneous check-ins can never exceed ``capacity``.
    """

    __tablename__ = "duty_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("checkin_closes_at > checkin_opens_at", name="window_not_empty"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint("points <= 200", name="points_bounded"),
        CheckConstraint("capacity IS NULL OR capacity <= 1000", name="capacity_bounded"),
    )

    id = db.Column(db.Integer, primary_key=True)
    duty_type_id = db.Column(db.Integer, db.ForeignKey("duty_types.id"), nullable=False)
    title = db.Column(db.String(80), nullable=False)
    place = db.Column(db.String(80), nullable=False)
    starts_at = db.Column(db.DateTime, nullable=False, index=True)
    ends_at = db.Column(db.DateTime, nullable=False)
    checkin_opens_at = db.Column(db.DateTime, nullable=False)
    checkin_closes_at = db.Column(db.DateTime, nullable=False)
    points = db.Column(db.Integer, nullable=False)
    capacity = db.Column(db.Integer)
    taken = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id"))
    token = db.Column(db.String(32), nullable=False, unique=True, default=new_session_token)
    series = db.Column(db.String(32), index=True)  # shared by the sessions of one "repeat weekly"
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    duty_type = db.relationship("DutyType")
    team = db.relationship("Team")

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.taken >= self.capacity

    def window_open(self, now) -> bool:
        return self.checkin_opens_at <= now <= self.checkin_closes_at


class Attendance(db.Model):
    """One volunteer at one duty session: signed up, checked in and out, confirmed (points) or rejected.

    UNIQUE (session, volunteer): one row per person per session, so a second check-in is a
    state change that finds nothing to change. ``award_entry_id`` is the points entry that
    currently pays for it; a confirmed attendance has exactly one unreversed award.
    """

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("session_id", "volunteer_id", name="uq_attendances_one_per_volunteer"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint("status <> 'confirmed' OR award_entry_id IS NOT NULL", name="confirmed_is_paid"),
    )

    id = db.Column(db.Integer, primary_key=True)
    session_id = db.Column(db.Integer, db.ForeignKey("duty_sessions.id"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    status = db.Column(db.String(16), nullable=False)
    signed_up_at = db.Column(db.DateTime)
    checked_in_at = db.Column(db.DateTime)
    checked_out_at = db.Column(db.DateTime)
    auto_checked_out = db.Column(db.Boolean, nullable=False, default=False)
    marked_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))  # staff marked present for them
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    reviewed_at = db.Column(db.DateTime)
    rejection_reason = db.Column(db.String(200))
    award_entry_id = db.Column(db.Integer, db.ForeignKey("points_entries.id"), unique=True)

    session = db.relationship("DutySession", backref=db.backref("attendances", lazy="dynamic"))
    volunteer = db.relationship("User", foreign_keys=[volunteer_id])
    marked_by = db.relationship("User", foreign_keys=[marked_by_id])
    reviewed_by = db.relationship("User", foreign_keys=[reviewed_by_id])
    award_entry = db.relationship("PointsEntry")

    # Not stored: what the session's rules said when this request checked the volunteer in or marked
    # them present (e.g. "moved from another zone of the campaign"), for the roster to show.
    notes: tuple[str, ...] = ()

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def reference(self) -> str:
        return f"checkin:{self.id}"
