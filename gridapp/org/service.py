"""Reading the organisation tree."""
from sqlalchemy import select

from ..extensions import db
from .models import OrgUnit


def grids() -> list[OrgUnit]:
    """Every grid of the deployment, in tree order."""
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.is_grid).order_by(OrgUnit.position, OrgUnit.id)))


def first_grid() -> OrgUnit | None:
    """The deployment's first grid (a fresh database has the one its first migration made)."""
    return db.session.scalars(
        select(OrgUnit).where(OrgUnit.is_grid).order_by(OrgUnit.position, OrgUnit.id).limit(1)).first()


def current_grid() -> OrgUnit | None:
    """The grid the current page speaks for: its names head the page and sign its notices and receipts.

    One grid per deployment for now: the first grid.
    """
    return first_grid()


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors from the root down, e.g. [十二师, 三坪农场, 屯坪社区] for a grid."""
    chain = []
    parent = unit.parent
    while parent is not None:
        chain.append(parent)
        parent = parent.parent
    return list(reversed(chain))


def community_of(grid: OrgUnit) -> OrgUnit | None:
    """The unit directly above a grid (its community)."""
    return grid.parent


def grid_of(record) -> OrgUnit | None:
    """The grid a record belongs to: its ``grid`` when it carries one, else the current grid."""
    return getattr(record, "grid", None) or current_grid()
