from sqlalchemy import CheckConstraint, UniqueConstraint

from ..clock import utcnow
from ..extensions import db
from ..org.scope import GridScoped


class RedemptionDay(GridScoped, db.Model):
    """A day a grid's counter may open besides the last day of the month, added by an admin with a reason."""

    __tablename__ = "redemption_days"
    __table_args__ = (db.PrimaryKeyConstraint("grid_id", "day", name="pk_redemption_days"),)

    day = db.Column(db.Date, nullable=False)
    reason = db.Column(db.String(200), nullable=False)
    added_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    added_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class CounterSession(GridScoped, db.Model):
    """One redemption day's counter of a grid (开台 … 日结). Every redemption belongs to one; at most one a
    day per grid."""

    __tablename__ = "counter_sessions"
    __table_args__ = (UniqueConstraint("grid_id", "day", name="uq_counter_sessions_day"),)

    id = db.Column(db.Integer, primary_key=True)
    day = db.Column(db.Date, nullable=False)
    opened_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    opened_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    closed_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    closed_at = db.Column(db.DateTime)

    opened_by = db.relationship("User", foreign_keys=[opened_by_id])
    closed_by = db.relationship("User", foreign_keys=[closed_by_id])

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Redemption(GridScoped, db.Model):
    """Points traded for goods at the counter: one spend entry, stock taken FIFO, a receipt number.

    The prices used are kept on the lines. Voided (never deleted) with who, when and why.
    ``token`` is the confirm form's one-time token: UNIQUE, so a double tap cannot redeem twice.
    """

    __tablename__ = "redemptions"
    owner_column = "volunteer_id"  # whose it is: auth.service.require_owner
    __table_args__ = (
        UniqueConstraint("grid_id", "receipt_year", "receipt_seq", name="uq_redemptions_receipt"),
        CheckConstraint("total_points > 0", name="total_positive"),
        CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="void_has_reason"),
    )

    id = db.Column(db.Integer, primary_key=True)
    session_id = db.Column(db.Integer, db.ForeignKey("counter_sessions.id"), nullable=False, index=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    household_id = db.Column(db.Integer, db.ForeignKey("households.id"), index=True)
    receipt_no = db.Column(db.String(24), nullable=False, unique=True)
    receipt_year = db.Column(db.Integer, nullable=False)
    receipt_seq = db.Column(db.Integer, nullable=False)
    total_points = db.Column(db.Integer, nullable=False)
    points_entry_id = db.Column(db.Integer, db.ForeignKey("points_entries.id"), unique=True)
    token = db.Column(db.String(64), nullable=False, unique=True)
    served_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    voided_at = db.Column(db.DateTime)
    voided_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    void_reason = db.Column(db.String(200))

    session = db.relationship("CounterSession", backref=db.backref("redemptions", lazy="dynamic"))
    volunteer = db.relationship("User", foreign_keys=[volunteer_id])
    household = db.relationship("Household")
    served_by = db.relationship("User", foreign_keys=[served_by_id])
    voided_by = db.relationship("User", foreign_keys=[voided_by_id])
    points_entry = db.relationship("PointsEntry")
    lines = db.relationship("RedemptionLine", back_populates="redemption", order_by="RedemptionLine.id")

    @property
    def reference(self) -> str:
        return self.reference_of(self.id)

    @staticmethod
    def reference_of(redemption_id: int) -> str:
        """What its points entry and stock movements name as their reference."""
        return f"redemption:{redemption_id}"


class RedemptionLine(db.Model):
    """An item and quantity of a redemption, at the price it was redeemed for."""

    __tablename__ = "redemption_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_points > 0", name="price_positive"),
        CheckConstraint("quantity <= 999", name="quantity_bounded"),
        CheckConstraint("unit_points <= 100000", name="price_bounded"),
    )

    id = db.Column(db.Integer, primary_key=True)
    redemption_id = db.Column(db.Integer, db.ForeignKey("redemptions.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False, index=True)
    quantity = db.Column(db.Integer, nullable=False)
    unit_points = db.Column(db.Integer, nullable=False)

    redemption = db.relationship("Redemption", back_populates="lines")
    item = db.relationship("Item")

    @property
    def points(self) -> int:
        return self.quantity * self.unit_points
