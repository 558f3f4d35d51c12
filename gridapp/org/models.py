from sqlalchemy import CheckConstraint, ForeignKey, Index, String, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db


class OrgUnit(db.Model):
    """One unit of the organisation tree, e.g. 师 → 农场 → 社区 → 网格 (this deployment's is written by migration 0014).

    The level's name is data (师/农场/社区/网格, or 区/街道/社区/网格 in a city), so any tree fits. Only a
    grid (``is_grid``, a leaf) holds operational data: households, duty, campaigns, counter days, stock,
    donations. A grid carries what its notices and receipts print: the organiser that signs them
    (usually the grid's Party branch), the counter's place and default hours, and a contact.
    """

    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint("length(name) > 0", name="org_name_not_blank"),
        CheckConstraint("length(level_name) > 0", name="org_level_not_blank"),
        CheckConstraint("length(code) BETWEEN 2 AND 8", name="org_code_length"),
        CheckConstraint("NOT is_grid OR parent_id IS NOT NULL", name="grid_has_parent"),
        Index("ix_org_units_parent", "parent_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    level_name: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    # Short Latin code, unique in the deployment: it names the grid's receipt series (JZ-<code>-2026-0001).
    code: Mapped[str] = mapped_column(String(8), unique=True)
    is_grid: Mapped[bool] = mapped_column(default=False, server_default=false())
    organiser: Mapped[str] = mapped_column(String(60), default="", server_default="")
    counter_place: Mapped[str] = mapped_column(String(60), default="", server_default="")
    counter_hours: Mapped[str] = mapped_column(String(20), default="", server_default="")
    contact: Mapped[str] = mapped_column(String(60), default="", server_default="")
    # Set on a community: may its volunteers spend their points at the counter of another of its grids?
    points_anywhere: Mapped[bool] = mapped_column(default=False, server_default=false())
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[object] = mapped_column(db.DateTime, default=utcnow, server_default=func.current_timestamp())

    parent: Mapped["OrgUnit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["OrgUnit"]] = relationship(back_populates="parent", order_by="OrgUnit.position")

    def __repr__(self):
        return f"<OrgUnit {self.level_name} {self.name}>"


class StaffAssignment(db.Model):
    """A staff member or admin assigned to a unit: staff to one or more grids, an admin to a community
    (or higher), where they see every grid beneath."""

    __tablename__ = "staff_assignments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)

    unit: Mapped[OrgUnit] = relationship()
