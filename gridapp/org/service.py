"""Reading the organisation tree, the request's grid scope, staff assignments."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from .models import OrgUnit, StaffAssignment
from .scope import GridScope, current_scope


def grids() -> list[OrgUnit]:
    """Every grid of the deployment, in tree order."""
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.is_grid).order_by(OrgUnit.position, OrgUnit.id)))


def first_grid() -> OrgUnit | None:
    """The deployment's first grid (a fresh database has the one its first migration made)."""
    return db.session.scalars(
        select(OrgUnit).where(OrgUnit.is_grid).order_by(OrgUnit.position, OrgUnit.id).limit(1)).first()


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


# --- the request's grid scope (see org.scope) --------------------------------------------------

_ALLOWED_GRIDS = text("""
WITH RECURSIVE below(id, is_grid, parent_id) AS (
    SELECT o.id, o.is_grid, o.parent_id FROM org_units o
    JOIN staff_assignments a ON a.unit_id = o.id WHERE a.user_id = :user_id
    UNION ALL
    SELECT o.id, o.is_grid, o.parent_id FROM org_units o JOIN below b ON o.parent_id = b.id
)
SELECT DISTINCT b.id, s.id AS sibling FROM below b
JOIN org_units c ON c.id = b.parent_id
LEFT JOIN org_units s ON s.parent_id = c.id AND s.is_grid AND c.points_anywhere
WHERE b.is_grid
ORDER BY b.id
""")

_GRID_AND_SIBLINGS = text("""
SELECT g.id, s.id AS sibling FROM org_units g
JOIN org_units c ON c.id = g.parent_id
LEFT JOIN org_units s ON s.parent_id = c.id AND s.is_grid AND c.points_anywhere
WHERE g.is_grid
ORDER BY g.position, g.id
""")


def _scope_from(rows, wanted: int | None) -> GridScope | None:
    allowed: dict[int, set[int]] = {}
    for grid_id, sibling in rows:
        allowed.setdefault(grid_id, {grid_id}).update({sibling} if sibling is not None else ())
    if not allowed:
        return None
    working = wanted if wanted in allowed else next(iter(allowed))
    return GridScope(ids=(working,), working=working, people_ids=tuple(sorted(allowed[working])),
                     choices=tuple(allowed))


def allowed_grid_ids(user) -> list[int]:
    """The grids a staff member or admin may work in: the grids they are assigned to and every grid
    under a unit they are assigned to (an admin of a community: its grids)."""
    return sorted({grid_id for grid_id, _ in db.session.execute(_ALLOWED_GRIDS, {"user_id": user.id})})


def scope_for(user, wanted_grid_id: int | None = None, wanted_code: str | None = None) -> GridScope | None:
    """The scope of a request (one query at most):

    - a volunteer: their grid (people of other grids are not theirs to see);
    - staff and admins: the working grid — ``wanted_grid_id`` (kept on their login) if they may work
      there, else the first grid they may; with no assignment at all, the first grid (a deployment with
      one grid needs no assignments). Volunteers of the community's other grids are visible as people
      when its points may be spent anywhere;
    - a sponsor: None (no scope; their own-sponsor checks limit them);
    - nobody logged in: the grid whose code the URL names, else the first grid.
    """
    role = getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None
    if role == "sponsor":
        return None
    if role == "volunteer" and user.grid_id is not None:
        return GridScope(ids=(user.grid_id,), working=user.grid_id, people_ids=(user.grid_id,))
    if role in ("staff", "admin"):
        scope = _scope_from(db.session.execute(_ALLOWED_GRIDS, {"user_id": user.id}), wanted_grid_id)
        if scope is not None:
            return scope
    if wanted_code:
        grid = db.session.scalars(select(OrgUnit).where(OrgUnit.code == wanted_code.upper(), OrgUnit.is_grid)).first()
        if grid is not None:
            return GridScope.of_grid(grid)
    rows = list(db.session.execute(_GRID_AND_SIBLINGS))
    first = rows[0][0] if rows else None
    return _scope_from([row for row in rows if row[0] == first], first)


def set_working_grid(login, user, grid_id: int) -> OrgUnit:
    """Staff or an admin choose the grid they work in (kept on this login). Raises NotFound for a grid
    they may not work in."""
    if user.role not in ("staff", "admin") or grid_id not in allowed_grid_ids(user):
        raise NotFound(_l("找不到这个网格。"))
    login.grid_id = grid_id
    return db.session.get(OrgUnit, grid_id)


def current_grid() -> OrgUnit | None:
    """The grid the current page speaks for: the request's working grid (its names head the page and sign
    its notices and receipts); outside a scope (sponsors, CLI), the first grid."""
    scope = current_scope()
    if scope is not None and scope.working is not None:
        grid = db.session.get(OrgUnit, scope.working)
        if grid is not None:
            return grid
    return first_grid()


# --- assignments and deletion ------------------------------------------------------------------

def assignments() -> list[StaffAssignment]:
    """Every assignment, with its unit (the assignment page lists them)."""
    return list(db.session.scalars(select(StaffAssignment).options(joinedload(StaffAssignment.unit))
                                   .order_by(StaffAssignment.user_id, StaffAssignment.unit_id)))


def assign(actor, user, unit: OrgUnit) -> StaffAssignment:
    """An admin assigns staff to a grid, an admin to a community (or any unit above grids), or a division
    viewer to a unit above grids (whose roll-ups they then see).

    Raises PermissionDenied unless ``actor`` is an admin; DomainError for staff assigned above a grid or
    an account that is not staff or admin. Assigning twice keeps one assignment."""
    if getattr(actor, "role", None) != "admin":
        raise PermissionDenied()
    if user.role not in ("staff", "admin", "viewer"):
        raise DomainError(_l("只有网格员、管理员和上级查看账号可以分配到网格或社区。"))
    if user.role == "staff" and not unit.is_grid:
        raise DomainError(_l("网格员只能分配到网格。"))
    if user.role == "viewer" and unit.is_grid:
        raise DomainError(_l("上级查看账号只能分配到社区、农场或师。"))
    existing = db.session.get(StaffAssignment, (user.id, unit.id))
    if existing is not None:
        return existing
    assignment = StaffAssignment(user_id=user.id, unit_id=unit.id)
    db.session.add(assignment)
    db.session.flush()
    return assignment


def unassign(actor, user_id: int, unit_id: int) -> None:
    """An admin ends an assignment (nothing happens if there is none). Raises PermissionDenied."""
    if getattr(actor, "role", None) != "admin":
        raise PermissionDenied()
    db.session.execute(delete(StaffAssignment).where(StaffAssignment.user_id == user_id,
                                                     StaffAssignment.unit_id == unit_id))


class UnitInUse(DomainError):
    default_message = _l("“%(name)s”下还有数据（住户、志愿活动、兑换、库存或捐赠等），不能删除。请先把数据移走。")


def delete_unit(actor, unit: OrgUnit) -> None:
    """An admin deletes a unit of the tree. A unit with data in it (or units beneath it) is refused:
    the foreign keys refuse and this says so (UnitInUse), nothing half-deleted. Its assignments go with it.
    Raises PermissionDenied for anyone but an admin."""
    if getattr(actor, "role", None) != "admin":
        raise PermissionDenied()
    name = unit.name
    try:
        with db.session.begin_nested():
            db.session.execute(delete(StaffAssignment).where(StaffAssignment.unit_id == unit.id))
            db.session.execute(delete(OrgUnit).where(OrgUnit.id == unit.id))
    except IntegrityError:
        raise UnitInUse(name=name) from None
    db.session.expunge(unit)
