"""Campaign tables: a campaign and its zones (按区域分工).

A volunteer's place in a zone is not stored here: it is their duty attendance at the zone's
duty session (created when the campaign is published). See ``service.py``.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, UniqueConstraint

from ..clock import utcnow
from ..extensions import db
from ..org.scope import GridScoped

STATUS_LABELS = {
    "draft": _l("草稿"),
    "published": _l("已发布"),
    "finished": _l("已结束"),
}
STATUSES = tuple(STATUS_LABELS)


class Campaign(GridScoped, db.Model):
    """One campaign (e.g. 12月26日扫雪除冰): what the notice says, and its status draft → published → finished.

    ``duty_type`` is its kind (扫雪除冰 by default); ``points`` what each confirmed participant
    earns. ``issued_on`` is the notice's date (the day it was published, or created for a draft).
    """

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("points <= 200", name="points_bounded"),
        CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published_has_time"),
    )

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(60), nullable=False)
    duty_type_id = db.Column(db.Integer, db.ForeignKey("duty_types.id"), nullable=False)
    starts_at = db.Column(db.DateTime, nullable=False, index=True)
    ends_at = db.Column(db.DateTime, nullable=False)
    meeting_point = db.Column(db.String(80), nullable=False)
    organiser = db.Column(db.String(60), nullable=False)
    contact_name = db.Column(db.String(40), nullable=False, default="")
    contact_phone = db.Column(db.String(20), nullable=False, default="")
    body = db.Column(db.Text, nullable=False, default="")
    tools = db.Column(db.String(100), nullable=False, default="")
    safety = db.Column(db.Text, nullable=False, default="")
    points = db.Column(db.Integer, nullable=False)
    status = db.Column(db.String(16), nullable=False, default="draft")
    issued_on = db.Column(db.Date, nullable=False)
    copied_from_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"))
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    published_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    published_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)

    duty_type = db.relationship("DutyType")
    zones = db.relationship("CampaignZone", back_populates="campaign", order_by="CampaignZone.position",
                            cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


class CampaignZone(db.Model):
    """One zone of a campaign: where (name, description), who leads it, how many people it needs.

    ``session`` is the duty session that check-in uses, set when the campaign is published;
    its capacity is ``needed``. The session knows its zone (``campaign_zone``).
    """

    __tablename__ = "campaign_zones"
    __table_args__ = (
        UniqueConstraint("campaign_id", "name", name="uq_campaign_zones_name"),
        CheckConstraint("needed > 0", name="needed_positive"),
        CheckConstraint("needed <= 200", name="needed_bounded"),
    )

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    name = db.Column(db.String(30), nullable=False)
    description = db.Column(db.String(60), nullable=False, default="")
    team = db.Column(db.String(30), nullable=False, default="")
    leader_name = db.Column(db.String(40), nullable=False, default="")
    leader_phone = db.Column(db.String(20), nullable=False, default="")
    needed = db.Column(db.Integer, nullable=False)
    session_id = db.Column(db.Integer, db.ForeignKey("duty_sessions.id"), unique=True)

    campaign = db.relationship("Campaign", back_populates="zones")
    # ``DutySession.campaign_zone``: the zone a duty session serves, or None for an ordinary session; loaded
    # once per session object, so a roster's check-ins and confirms ask the database once, not per person.
    session = db.relationship("DutySession", backref=db.backref("campaign_zone", uselist=False))


class CampaignAward(db.Model):
    """The campaign's record of a volunteer's award: which zone's attendance was paid its points.

    One person earns a campaign's points once, whichever zones they were marked in: UNIQUE
    (campaign, volunteer) makes the database refuse a second award (see ``service.py``). The row
    is written when the attendance is confirmed and removed when that award is reversed by a
    rejection (a correction of the points keeps it: the same attendance is still paid).
    """

    __tablename__ = "campaign_awards"
    __table_args__ = (
        UniqueConstraint("campaign_id", "volunteer_id", name="uq_campaign_awards_one_per_volunteer"),
    )

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    zone_id = db.Column(db.Integer, db.ForeignKey("campaign_zones.id"), nullable=False, index=True)
    attendance_id = db.Column(db.Integer, db.ForeignKey("attendances.id"), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    zone = db.relationship("CampaignZone")
