"""Demo data for the organisation tree: the tree itself is written by migration 0014; this assigns the
demo staff to the grid and the demo admins to its community where they have no assignment yet (accounts
made after the migration), so that 组织架构 shows the community's grids to the demo admin."""
from sqlalchemy import select

from ..extensions import db
from .models import StaffAssignment
from .service import community_of, first_grid


def seed_assignments(users) -> int:
    """Assign each staff member in ``users`` to the first grid and each admin to its community, unless
    already assigned somewhere. Returns the assignments added."""
    grid = first_grid()
    if grid is None:
        return 0
    community = community_of(grid) or grid
    assigned = set(db.session.scalars(select(StaffAssignment.user_id)))
    added = 0
    for user in users:
        unit = {"staff": grid, "admin": community}.get(user.role)
        if unit is not None and user.id not in assigned:
            db.session.add(StaffAssignment(user_id=user.id, unit_id=unit.id))
            added += 1
    db.session.flush()
    return added
