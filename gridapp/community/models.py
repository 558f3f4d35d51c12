from flask_babel import gettext
from sqlalchemy import CheckConstraint, UniqueConstraint

from ..clock import utcnow
from ..extensions import db
from ..org.scope import GridScoped, LinkedToGrids

# The grids a team serves (a team may serve several grids of its community).
team_grids = db.Table(
    "team_grids",
    db.Column("team_id", db.Integer, db.ForeignKey("teams.id"), primary_key=True),
    db.Column("grid_id", db.Integer, db.ForeignKey("org_units.id"), primary_key=True, index=True),
)


class Household(GridScoped, db.Model):
    """A household (户) of a grid, addressed by building (栋), unit (单元) and room (室)."""

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("grid_id", "building", "unit", "room", name="uq_households_address"),
        # What users.(household_id, grid_id) refers to: a volunteer's grid is their household's.
        UniqueConstraint("id", "grid_id", name="uq_households_id_grid"),
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


class Team(LinkedToGrids, db.Model):
    """A volunteer team (志愿服务队), e.g. 环保小卫士, serving one or more grids of its community."""

    __tablename__ = "teams"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), nullable=False, unique=True)
    description = db.Column(db.String(200), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)

    grids = db.relationship("OrgUnit", secondary=team_grids)

    @classmethod
    def in_grids(cls, ids):
        """The scope's criterion: the team serves one of ``ids``."""
        return cls.id.in_(db.select(team_grids.c.team_id).where(team_grids.c.grid_id.in_(ids)))

    def __repr__(self):
        return f"<Team {self.name}>"
