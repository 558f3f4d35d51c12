from flask_babel import gettext
from sqlalchemy import CheckConstraint, UniqueConstraint

from ..clock import utcnow
from ..extensions import db


class Household(db.Model):
    """A household (户) of the district, addressed by building (栋), unit (单元) and room (室)."""

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("building", "unit", "room", name="uq_households_address"),
        CheckConstraint("building <> '' AND unit <> '' AND room <> ''", name="address_not_blank"),
    )

    id = db.Column(db.Integer, primary_key=True)
    building = db.Column(db.String(16), nullable=False)
    unit = db.Column(db.String(16), nullable=False)
    room = db.Column(db.String(16), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def label(self) -> str:
        return gettext("%(building)s栋%(unit)s单元%(room)s室", building=self.building, unit=self.unit, room=self.room)

    def __repr__(self):
        return f"<Household {self.label}>"


class Team(db.Model):
    """A volunteer team (志愿服务队), e.g. 环保小卫士."""

    __tablename__ = "teams"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False, unique=True)
    description = db.Column(db.String(200), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)

    def __repr__(self):
        return f"<Team {self.name}>"
