"""积分公示 tables: a posting per month, its lines (one per volunteer, figures frozen when published),
objections on lines, and the volunteers who opted out of the 光荣榜."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, UniqueConstraint

from ..clock import utcnow
from ..extensions import db
from ..org.scope import GridScoped

OBJECTION_LABELS = {
    "open": _l("待处理"),
    "accepted": _l("已更正"),
    "rejected": _l("未采纳"),
}
OBJECTION_STATUSES = tuple(OBJECTION_LABELS)


class Posting(GridScoped, db.Model):
    """One month's 积分公示: published by staff, open for objections from ``opens_at`` to ``closes_at``."""

    __tablename__ = "postings"
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="window_not_empty"),
                      UniqueConstraint("grid_id", "month", name="uq_postings_month"))

    id = db.Column(db.Integer, primary_key=True)
    month = db.Column(db.Date, nullable=False)  # the 1st of the month posted
    opens_at = db.Column(db.DateTime, nullable=False)
    closes_at = db.Column(db.DateTime, nullable=False)
    note = db.Column(db.String(200), nullable=False, default="")
    published_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    published_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    published_by = db.relationship("User")

    def is_open(self, now) -> bool:
        return self.opens_at <= now < self.closes_at


class PostingLine(db.Model):
    """A volunteer's line on a posting: points earned and spent in the month, balance at its end."""

    __tablename__ = "posting_lines"
    owner_column = "volunteer_id"  # whose it is: auth.service.require_owner
    __table_args__ = (UniqueConstraint("posting_id", "volunteer_id", name="uq_posting_lines_volunteer"),)

    id = db.Column(db.Integer, primary_key=True)
    posting_id = db.Column(db.Integer, db.ForeignKey("postings.id"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    earned = db.Column(db.Integer, nullable=False)
    spent = db.Column(db.Integer, nullable=False)
    balance = db.Column(db.Integer, nullable=False)

    posting = db.relationship("Posting")
    volunteer = db.relationship("User")


class Objection(db.Model):
    """异议: a volunteer questions their own line while the posting is open; staff accept it (a reversal
    and a new entry, both linked here) or reject it with a reason. One objection per line (UNIQUE)."""

    __tablename__ = "objections"
    __table_args__ = (
        CheckConstraint(f"status IN {OBJECTION_STATUSES!r}", name="status_known"),
        CheckConstraint("status = 'open' OR resolved_at IS NOT NULL", name="resolved_has_time"),
        CheckConstraint("status <> 'accepted' OR (reversal_entry_id IS NOT NULL AND new_entry_id IS NOT NULL)",
                        name="accepted_has_entries"),
    )

    id = db.Column(db.Integer, primary_key=True)
    line_id = db.Column(db.Integer, db.ForeignKey("posting_lines.id"), nullable=False, unique=True)
    posting_id = db.Column(db.Integer, db.ForeignKey("postings.id"), nullable=False, index=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    reason = db.Column(db.String(300), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="open")
    raised_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    resolved_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    resolved_at = db.Column(db.DateTime)
    resolution = db.Column(db.String(300), nullable=False, default="")
    reversal_entry_id = db.Column(db.Integer, db.ForeignKey("points_entries.id"), unique=True)
    new_entry_id = db.Column(db.Integer, db.ForeignKey("points_entries.id"), unique=True)

    line = db.relationship("PostingLine", backref=db.backref("objection", uselist=False))
    volunteer = db.relationship("User", foreign_keys=[volunteer_id])
    resolved_by = db.relationship("User", foreign_keys=[resolved_by_id])
    reversal_entry = db.relationship("PointsEntry", foreign_keys=[reversal_entry_id])
    new_entry = db.relationship("PointsEntry", foreign_keys=[new_entry_id])

    @property
    def status_label(self) -> str:
        return str(OBJECTION_LABELS[self.status])


class HonourRollOptOut(db.Model):
    """A volunteer who asked not to be named on the 光荣榜."""

    __tablename__ = "honour_roll_opt_outs"

    volunteer_id = db.Column(db.Integer, db.ForeignKey("users.id"), primary_key=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
