"""Reports, their photos and timeline, partner units and the points a confirmed hazard earns.

A report moves 新上报 → 已受理 → 处理中 → 已解决, or to 不予处理 from any open step; each move is one
row in ``report_events`` (who, when, note). Photos are files in the photo store (``photos.py``)
named by ``report_photos.key``: one row, two files (the ≤1280 px picture and the ≤320 px thumbnail).
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Index

from ..clock import utcnow
from ..extensions import db
from ..org.scope import GridScoped

KIND_LABELS = {"hazard": _l("隐患"), "wish": _l("微心愿")}
KINDS = tuple(KIND_LABELS)

# category -> (kind, label). The order is the order of the form's menu.
CATEGORIES = {
    "road": ("hazard", _l("道路破损")),
    "parking": ("hazard", _l("乱停车/占用消防通道")),
    "pipe": ("hazard", _l("管道漏水")),
    "light": ("hazard", _l("路灯")),
    "ice": ("hazard", _l("积雪结冰")),
    "hazard_other": ("hazard", _l("其他隐患")),
    "shopping": ("wish", _l("老人代购")),
    "repair": ("wish", _l("维修")),
    "visit": ("wish", _l("上门服务（义诊、义剪）")),
    "wish_other": ("wish", _l("其他心愿")),
}
HAZARD_CATEGORIES = tuple(c for c, (kind, _label) in CATEGORIES.items() if kind == "hazard")

STATUS_LABELS = {
    "new": _l("新上报"),
    "accepted": _l("已受理"),
    "in_progress": _l("处理中"),
    "solved": _l("已解决"),
    "declined": _l("不予处理"),
}
STATUSES = tuple(STATUS_LABELS)
OPEN_STATUSES = ("new", "accepted", "in_progress")
ASSIGNED = ("accepted", "in_progress")  # has someone responsible and a due date

PARTNER_KIND_LABELS = {
    "property": _l("物业"),
    "water": _l("供水"),
    "power": _l("供电"),
    "gas": _l("供气"),
    "other": _l("其他单位"),
}
PARTNER_KINDS = tuple(PARTNER_KIND_LABELS)

STAGE_LABELS = {"before": _l("处理前"), "after": _l("处理后")}
STAGES = tuple(STAGE_LABELS)

DEFAULT_HAZARD_POINTS = 5


class PartnerUnit(db.Model):
    """A "red partner" (红色合伙人) that fixes things: the property company, water, power, gas …"""

    __tablename__ = "partner_units"
    __table_args__ = (CheckConstraint(f"kind IN {PARTNER_KINDS!r}", name="kind_known"),)

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False, unique=True)
    kind = db.Column(db.String(16), nullable=False)
    contact_name = db.Column(db.String(40), nullable=False, default="")
    phone = db.Column(db.String(20), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def kind_label(self) -> str:
        return str(PARTNER_KIND_LABELS[self.kind])


class HazardPoints(db.Model):
    """Points a confirmed hazard of one category earns; a category without a row earns the default (5)."""

    __tablename__ = "report_hazard_points"
    __table_args__ = (CheckConstraint("points >= 0 AND points <= 200", name="points_in_range"),)

    category = db.Column(db.String(16), primary_key=True)
    points = db.Column(db.Integer, nullable=False)
    updated_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Report(GridScoped, db.Model):
    """One hazard or micro-wish, from its report to its resolution."""

    __tablename__ = "reports"
    owner_column = "reporter_id"  # whose it is: auth.service.require_owner
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind_known"),
        CheckConstraint(f"category IN {tuple(CATEGORIES)!r}", name="category_known"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint("length(description) > 0", name="description_not_blank"),
        CheckConstraint("building IS NOT NULL OR length(place) > 0", name="has_a_place"),
        CheckConstraint("status NOT IN ('accepted', 'in_progress', 'solved') OR accepted_at IS NOT NULL",
                        name="accepted_has_time"),
        CheckConstraint("status NOT IN ('accepted', 'in_progress', 'solved') "
                        "OR assignee_id IS NOT NULL OR partner_id IS NOT NULL", name="accepted_has_someone"),
        CheckConstraint("status <> 'solved' OR (solved_at IS NOT NULL AND length(resolution) > 0)",
                        name="solved_says_what_was_done"),
        CheckConstraint("status <> 'declined' OR length(decline_reason) > 0", name="declined_has_reason"),
        CheckConstraint("on_wall = false OR status = 'solved'", name="wall_only_solved"),
        CheckConstraint("on_wall = false OR kind = 'hazard' OR wall_consent = true", name="wish_on_wall_with_consent"),
        Index("ix_reports_wall", "on_wall", "solved_at"),
        Index("ix_reports_queue", "status", "created_at"),
        Index("ix_reports_reporter", "reporter_id", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(8), nullable=False)
    category = db.Column(db.String(16), nullable=False)
    description = db.Column(db.String(500), nullable=False)
    building = db.Column(db.String(16))
    unit = db.Column(db.String(16))
    place = db.Column(db.String(80), nullable=False, default="")
    reporter_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    # The patrol check-in the volunteer reported from, if any.
    attendance_id = db.Column(db.Integer, db.ForeignKey("attendances.id"), index=True)
    wall_consent = db.Column(db.Boolean, nullable=False, default=False)
    status = db.Column(db.String(16), nullable=False, default="new")
    assignee_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    partner_id = db.Column(db.Integer, db.ForeignKey("partner_units.id"))
    due_on = db.Column(db.Date)
    resolution = db.Column(db.String(500))
    decline_reason = db.Column(db.String(200))
    on_wall = db.Column(db.Boolean, nullable=False, default=False)
    points_entry_id = db.Column(db.Integer, db.ForeignKey("points_entries.id"), unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    accepted_at = db.Column(db.DateTime)
    solved_at = db.Column(db.DateTime)
    closed_at = db.Column(db.DateTime)  # solved or declined

    reporter = db.relationship("User", foreign_keys=[reporter_id])
    assignee = db.relationship("User", foreign_keys=[assignee_id])
    partner = db.relationship("PartnerUnit")
    attendance = db.relationship("Attendance")
    points_entry = db.relationship("PointsEntry")
    photos = db.relationship("ReportPhoto", back_populates="report", order_by="ReportPhoto.id")
    events = db.relationship("ReportEvent", back_populates="report", order_by="ReportEvent.id")

    @property
    def reference(self) -> str:
        return f"report:{self.id}"

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def category_label(self) -> str:
        return str(CATEGORIES[self.category][1])

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    def photos_of(self, stage: str) -> list:
        return [photo for photo in self.photos if photo.stage == stage]

    def __repr__(self):
        return f"<Report {self.id} {self.category} {self.status}>"


class ReportPhoto(db.Model):
    """A photo of a report, before or after. Its files (picture and thumbnail) live in the photo store."""

    __tablename__ = "report_photos"
    __table_args__ = (
        CheckConstraint(f"stage IN {STAGES!r}", name="stage_known"),
        CheckConstraint("width > 0 AND height > 0 AND thumb_width > 0 AND thumb_height > 0", name="has_size"),
    )

    id = db.Column(db.Integer, primary_key=True)
    report_id = db.Column(db.Integer, db.ForeignKey("reports.id"), nullable=False, index=True)
    stage = db.Column(db.String(8), nullable=False)
    key = db.Column(db.String(40), nullable=False, unique=True)  # random; the files' name
    width = db.Column(db.Integer, nullable=False)
    height = db.Column(db.Integer, nullable=False)
    thumb_width = db.Column(db.Integer, nullable=False)
    thumb_height = db.Column(db.Integer, nullable=False)
    size_bytes = db.Column(db.Integer, nullable=False)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    report = db.relationship("Report", back_populates="photos")


class ReportEvent(db.Model):
    """One step of a report's timeline: the status it moved to, who moved it, when, and a note."""

    __tablename__ = "report_events"
    __table_args__ = (CheckConstraint(f"to_status IN {STATUSES!r}", name="status_known"),)

    id = db.Column(db.Integer, primary_key=True)
    report_id = db.Column(db.Integer, db.ForeignKey("reports.id"), nullable=False, index=True)
    from_status = db.Column(db.String(16))
    to_status = db.Column(db.String(16), nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    note = db.Column(db.String(300), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    report = db.relationship("Report", back_populates="events")
    actor = db.relationship("User")

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.to_status])
