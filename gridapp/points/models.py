from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Index

from ..clock import utcnow
from ..extensions import db

KIND_LABELS = {
    "award": _l("获得积分"),
    "spend": _l("兑换物品"),
    "reversal": _l("冲正"),
}
KINDS = tuple(KIND_LABELS)


class PointsEntry(db.Model):
    """One change to a volunteer's points. Append-only: a trigger refuses UPDATE and DELETE.

    A mistake is corrected by a reversal entry (``reverses_id``), never by an edit. The
    idempotency key is unique: the same action retried has exactly one effect.
    """

    __tablename__ = "points_entries"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint(f"kind IN {KINDS!r}", name="kind_known"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_names_its_entry"),
        CheckConstraint("kind <> 'award' OR delta > 0", name="award_is_positive"),
        CheckConstraint("kind <> 'spend' OR delta < 0", name="spend_is_negative"),
        Index("ix_points_entries_volunteer_history", "volunteer_id", "id"),
        # Month figures (dashboard, report with its per-team points, 公示) read only these columns: a
        # covering index.
        Index("ix_points_entries_month_figures", "created_at", "kind", "delta", "volunteer_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    delta = db.Column(db.Integer, nullable=False)
    kind = db.Column(db.String(16), nullable=False)
    # What the entry is for, e.g. "checkin:42" or "redemption:7"; the description is what people read.
    reference = db.Column(db.String(64), nullable=False, index=True)
    description = db.Column(db.String(200), nullable=False)
    reverses_id = db.Column(db.Integer, db.ForeignKey("points_entries.id"), unique=True)
    idempotency_key = db.Column(db.String(100), nullable=False, unique=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    volunteer = db.relationship("User", foreign_keys=[volunteer_id])
    created_by = db.relationship("User", foreign_keys=[created_by_id])
    reverses = db.relationship("PointsEntry", remote_side=[id], foreign_keys=[reverses_id])

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    def __repr__(self):
        return f"<PointsEntry {self.id} {self.kind} {self.delta:+d} v{self.volunteer_id}>"
