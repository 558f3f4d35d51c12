from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text

from ..clock import utcnow
from ..extensions import db
from ..org.scope import GridScoped

SPONSOR_KINDS = {
    "enterprise": _l("企业"),
    "shop": _l("商铺"),
    "property": _l("物业公司"),
    "institution": _l("事业单位"),
}
UNITS = ("个", "条", "包", "袋", "支", "套", "瓶", "盒", "件", "双")
MOVEMENT_LABELS = {
    "donation": _l("捐赠入库"),
    "redemption": _l("兑换出库"),
    "return": _l("撤销退回"),
    "void": _l("作废冲销"),
    "adjustment": _l("盘点调整"),
}
MOVEMENT_KINDS = tuple(MOVEMENT_LABELS)


class Sponsor(db.Model):
    """A business or institution that donates goods; sponsor users belong to one."""

    __tablename__ = "sponsors"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('enterprise', 'shop', 'property', 'institution')", name="kind_known"
        ),
    )

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), nullable=False, unique=True)
    kind = db.Column(db.String(16), nullable=False)
    contact_person = db.Column(db.String(40), nullable=False, default="")
    phone = db.Column(db.String(20), nullable=False, default="")
    address = db.Column(db.String(120), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def kind_label(self) -> str:
        return SPONSOR_KINDS.get(self.kind, self.kind)

    def __repr__(self):
        return f"<Sponsor {self.name}>"


class Item(GridScoped, db.Model):
    """A kind of goods on a grid's shelf. ``stock`` caches the sum of its movements (CHECK >= 0)."""

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(f"unit IN {UNITS!r}", name="unit_known"),
        CheckConstraint("points_price > 0", name="price_positive"),
        CheckConstraint("monthly_limit IS NULL OR monthly_limit > 0", name="limit_positive"),
        CheckConstraint("household_monthly_limit IS NULL OR household_monthly_limit > 0",
                        name="household_limit_positive"),
        CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("points_price <= 100000", name="price_bounded"),
        CheckConstraint("monthly_limit IS NULL OR monthly_limit <= 100", name="limit_bounded"),
        CheckConstraint("household_monthly_limit IS NULL OR household_monthly_limit <= 100",
                        name="household_limit_bounded"),
        CheckConstraint("low_stock_threshold <= 10000", name="threshold_bounded"),
        CheckConstraint("stock <= 10000000", name="stock_bounded"),
        UniqueConstraint("grid_id", "name", name="uq_items_name"),
    )

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False)
    unit = db.Column(db.String(4), nullable=False)
    category = db.Column(db.String(20), nullable=False, default="")
    points_price = db.Column(db.Integer, nullable=False)
    monthly_limit = db.Column(db.Integer)  # per volunteer per month; None = no limit
    household_monthly_limit = db.Column(db.Integer)  # per household per month (a kettle per household)
    low_stock_threshold = db.Column(db.Integer, nullable=False, default=5)
    active = db.Column(db.Boolean, nullable=False, default=True)
    stock = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    @property
    def is_low(self) -> bool:
        return self.stock <= self.low_stock_threshold

    def __repr__(self):
        return f"<Item {self.name} {self.stock}>"


class Donation(GridScoped, db.Model):
    """A sponsor's donation, received by staff, with a gap-free receipt number.

    Never edited once issued: a mistake is voided (while its lots are untouched) and issued anew.
    """

    __tablename__ = "donations"
    owner_column = "sponsor_id"  # whose it is: auth.service.require_owner
    __table_args__ = (
        UniqueConstraint("grid_id", "receipt_year", "receipt_seq", name="uq_donations_receipt"),
        CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="void_has_reason"),
    )

    id = db.Column(db.Integer, primary_key=True)
    receipt_no = db.Column(db.String(24), nullable=False, unique=True)
    receipt_year = db.Column(db.Integer, nullable=False)
    receipt_seq = db.Column(db.Integer, nullable=False)
    sponsor_id = db.Column(db.Integer, db.ForeignKey("sponsors.id"), nullable=False, index=True)
    received_on = db.Column(db.Date, nullable=False, index=True)
    note = db.Column(db.String(200), nullable=False, default="")
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    voided_at = db.Column(db.DateTime)
    voided_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    void_reason = db.Column(db.String(200))

    sponsor = db.relationship("Sponsor")
    created_by = db.relationship("User", foreign_keys=[created_by_id])
    voided_by = db.relationship("User", foreign_keys=[voided_by_id])
    lines = db.relationship("DonationLine", back_populates="donation", order_by="DonationLine.id")

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def total_value_fen(self) -> int:
        return sum(line.value_fen for line in self.lines)


class DonationLine(db.Model):
    """One line of a donation: an item and a quantity, with an optional estimated unit value (in fen)."""

    __tablename__ = "donation_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_value_fen IS NULL OR unit_value_fen >= 0", name="value_not_negative"),
        CheckConstraint("quantity <= 10000", name="quantity_bounded"),
        CheckConstraint("unit_value_fen IS NULL OR unit_value_fen <= 10000000", name="value_bounded"),
    )

    id = db.Column(db.Integer, primary_key=True)
    donation_id = db.Column(db.Integer, db.ForeignKey("donations.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    quantity = db.Column(db.Integer, nullable=False)
    unit_value_fen = db.Column(db.Integer)

    donation = db.relationship("Donation", back_populates="lines")
    item = db.relationship("Item")
    lot = db.relationship("Lot", back_populates="donation_line", uselist=False)

    @property
    def value_fen(self) -> int:
        return (self.unit_value_fen or 0) * self.quantity


class Lot(db.Model):
    """A batch of one item on the shelf: a donation line, or units found at a stocktake.

    Redemptions consume lots first-in-first-out, so a sponsor can see where its goods went.
    """

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_in_range"),
        CheckConstraint("quantity <= 1000000", name="quantity_bounded"),
        Index("ix_lots_fifo", "item_id", "received_on", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    donation_line_id = db.Column(db.Integer, db.ForeignKey("donation_lines.id"), unique=True)
    received_on = db.Column(db.Date, nullable=False)
    quantity = db.Column(db.Integer, nullable=False)
    remaining = db.Column(db.Integer, nullable=False)

    item = db.relationship("Item")
    donation_line = db.relationship("DonationLine", back_populates="lot")

    @property
    def sponsor(self):
        return self.donation_line.donation.sponsor if self.donation_line else None


class StockMovement(db.Model):
    """One change of stock in one lot. Append-only (trigger); ``reverses_id`` undoes exactly one movement."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint(f"kind IN {MOVEMENT_KINDS!r}", name="kind_known"),
        CheckConstraint("(kind = 'return') = (reverses_id IS NOT NULL)", name="return_names_its_movement"),
        Index("ix_stock_movements_item_history", "item_id", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    lot_id = db.Column(db.Integer, db.ForeignKey("lots.id"), nullable=False, index=True)
    delta = db.Column(db.Integer, nullable=False)
    kind = db.Column(db.String(16), nullable=False)
    reference = db.Column(db.String(64), nullable=False, index=True)
    reason = db.Column(db.String(200), nullable=False, default="")
    recipient_id = db.Column(db.Integer, db.ForeignKey("users.id"))  # the volunteer who received the goods
    reverses_id = db.Column(db.Integer, db.ForeignKey("stock_movements.id"), unique=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    item = db.relationship("Item")
    lot = db.relationship("Lot")
    created_by = db.relationship("User", foreign_keys=[created_by_id])

    @property
    def kind_label(self) -> str:
        return str(MOVEMENT_LABELS[self.kind])


class Stocktake(GridScoped, db.Model):
    """A count of the shelf (盘点): a sheet of expected quantities, the counts entered, then confirmed.

    Confirming writes one adjustment movement per difference; a confirmed stocktake is read-only.
    """

    __tablename__ = "stocktakes"
    __table_args__ = (
        CheckConstraint("status IN ('counting', 'confirmed')", name="status_known"),
        # At most one stocktake counting at a time per grid, whoever presses "start".
        Index("uq_stocktakes_one_counting", "grid_id", "status", unique=True,
              sqlite_where=text("status = 'counting'"), postgresql_where=text("status = 'counting'")),
    )

    id = db.Column(db.Integer, primary_key=True)
    status = db.Column(db.String(16), nullable=False, default="counting")
    note = db.Column(db.String(200), nullable=False, default="")
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    confirmed_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    confirmed_at = db.Column(db.DateTime)

    created_by = db.relationship("User", foreign_keys=[created_by_id])
    confirmed_by = db.relationship("User", foreign_keys=[confirmed_by_id])
    lines = db.relationship("StocktakeLine", back_populates="stocktake", order_by="StocktakeLine.id")


class StocktakeLine(db.Model):
    """One item on a count sheet: what the books expected when the sheet was made, and what was counted."""

    __tablename__ = "stocktake_lines"
    __table_args__ = (
        UniqueConstraint("stocktake_id", "item_id", name="uq_stocktake_lines_item"),
        CheckConstraint("expected >= 0", name="expected_not_negative"),
        CheckConstraint("counted IS NULL OR counted >= 0", name="counted_not_negative"),
        CheckConstraint("counted IS NULL OR counted <= 1000000", name="counted_bounded"),
    )

    id = db.Column(db.Integer, primary_key=True)
    stocktake_id = db.Column(db.Integer, db.ForeignKey("stocktakes.id"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    expected = db.Column(db.Integer, nullable=False)
    counted = db.Column(db.Integer)
    reason = db.Column(db.String(200), nullable=False, default="")

    stocktake = db.relationship("Stocktake", back_populates="lines")
    item = db.relationship("Item")

    @property
    def difference(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected
