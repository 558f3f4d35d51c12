"""The organisation tree: reading it (the grid a page or a record speaks for, and its names) and
editing it (admins of the level above add, edit, reorder and delete units beneath their own).

Who may edit what: an admin assigned to a unit (``StaffAssignment``) manages every unit *beneath*
it — a community admin its grids, a division admin its farms, communities and grids — never the
unit it is assigned to (that is its own level's letterhead, set by the level above) and nothing
outside its branch. A unit outside the branch does not exist as far as the admin knows (NotFound).
"""
import re
from dataclasses import dataclass, field
from functools import cache

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, func, inspect, or_, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from .models import OrgUnit, StaffAssignment
from .scope import GridScope, current_scope

CODE_PATTERN = re.compile(r"[A-Z0-9]{2,8}")
NAME_MAX, LEVEL_MAX, CODE_MAX = 60, 16, 8
ORGANISER_MAX, PLACE_MAX, HOURS_MAX, CONTACT_MAX = 60, 60, 20, 60


class OwnUnit(PermissionDenied):
    default_message = _l("不能修改自己所在的单位，请联系上级单位的管理员。")


class BlankName(DomainError):
    default_message = _l("请填写单位名称。")


class BlankLevel(DomainError):
    default_message = _l("请填写层级名称（如：网格、社区）。")


class BadCode(DomainError):
    default_message = _l("代码须为2–8位大写拉丁字母或数字，如：DXB。")


class CodeTaken(DomainError):
    default_message = _l("代码“%(code)s”已被其他单位使用。")


class GridHasNoChildren(DomainError):
    default_message = _l("网格是最末一级，下面不能再添加单位。")


class UnitNotEmpty(DomainError):
    default_message = _l("“%(name)s”下面还有下级单位，请先删除或移走它们。")


class UnitHasStaff(DomainError):
    default_message = _l("“%(name)s”还有分配的工作人员，请先取消分配。")


class UnitHasData(DomainError):
    default_message = _l("“%(name)s”已有业务数据（住户、活动、物品、捐赠等），不能删除。")


# --- the grid a page or a record speaks for -----------------------------------------------------

def grids() -> list[OrgUnit]:
    """Every grid of the deployment, in tree order."""
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.is_grid).order_by(OrgUnit.position, OrgUnit.id)))


def first_grid() -> OrgUnit | None:
    """The deployment's first grid (a fresh database has the one its first migration made), with its
    community loaded in the same query (every page prints both)."""
    return db.session.scalars(
        select(OrgUnit).options(joinedload(OrgUnit.parent)).where(OrgUnit.is_grid)
        .order_by(OrgUnit.position, OrgUnit.id).limit(1)).first()


@cache
def _grid_with_community():
    """Built once: a statement built anew per call is walked again for SQLAlchemy's cache key every time."""
    return select(OrgUnit).options(joinedload(OrgUnit.parent)).where(OrgUnit.id == bindparam("id"))


def current_grid() -> OrgUnit | None:
    """The grid the current page speaks for: the request's working grid (its names head the page and sign
    its notices and receipts); outside a scope (sponsors, CLI), the first grid.

    Read once per app context (a request), kept on ``flask.g`` with its community, in the same query as
    the other grids the header's switcher offers: the page's header and the documents on it ask again
    and again.
    """
    scope = current_scope()
    working = scope.working if scope is not None else None
    if not has_app_context():
        return first_grid()
    grid = g.get("current_grid")
    if grid is None or grid not in db.session or (working is not None and grid.id != working):
        grid = None
        if working is not None and len(scope.choices) < 2:
            # A volunteer's grid came with the login (auth's login query): no statement at all then.
            # Session.get builds its statement anew on every call; the one built once costs far less.
            grid = db.session.identity_map.get(identity_key(OrgUnit, working))
            if grid is None or inspect(grid).expired:  # expired by a commit: one query, not a refresh and a lazy load
                grid = db.session.scalars(_grid_with_community(), {"id": working}).first()
        elif working is not None:
            g.scope_grids = list(db.session.scalars(
                select(OrgUnit).options(joinedload(OrgUnit.parent))
                .where(OrgUnit.id.in_(set(scope.choices) | {working})).order_by(OrgUnit.position, OrgUnit.id)))
            grid = next((unit for unit in g.scope_grids if unit.id == working), None)
        g.current_grid = grid = grid or first_grid()
    return grid


def switchable_grids() -> list[OrgUnit]:
    """The grids staff or an admin may switch between in this request (none unless there are several);
    read with the current grid, in one query."""
    scope = current_scope()
    if scope is None or len(scope.choices) < 2 or not has_app_context():
        return []
    current_grid()
    return [unit for unit in g.get("scope_grids", ()) if unit.id in scope.choices]


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors from the root down, e.g. [division, farm, community] for a grid."""
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
    """The grid a record belongs to: its ``grid`` when it carries one, else the current grid.

    A record of the page's own grid (the usual case) is answered from the page's grid, read once with
    its community, rather than by loading the record's ``grid`` and then that grid's community again.
    """
    grid_id = getattr(record, "grid_id", None)
    if grid_id is not None:
        current = current_grid()
        if current is not None and current.id == grid_id:
            return current
    return getattr(record, "grid", None) or current_grid()


@dataclass(frozen=True)
class Letterhead:
    """The names a grid's pages, notices and receipts print, as plain strings (never None).

    ``community`` is the unit above the grid (某某社区); ``organiser`` the grid's organiser that signs
    (某某网格党支部), falling back to the grid's name; ``community_organiser`` the community's
    (某某社区党总支), falling back to the community's name.
    """

    grid: str = ""
    community: str = ""
    organiser: str = ""
    community_organiser: str = ""
    counter_place: str = ""
    counter_hours: str = ""
    contact: str = ""

    @property
    def signature(self) -> str:
        """Community and organiser on one line, as a notice or receipt heads them: 某某社区 · 某某网格党支部."""
        return " · ".join(part for part in (self.community, self.organiser) if part)

    @property
    def brand(self) -> str:
        """Community and grid on one line, the page header: 某某社区 · 某某网格."""
        return " · ".join(part for part in (self.community, self.grid) if part)


def letterhead(grid: OrgUnit | None) -> Letterhead:
    """The names ``grid`` prints (empty strings for no grid, e.g. a database without a tree)."""
    if grid is None:
        return Letterhead()
    community = community_of(grid)
    community_name = community.name if community is not None else ""
    return Letterhead(
        grid=grid.name, community=community_name, organiser=grid.organiser or grid.name,
        community_organiser=(community.organiser or community.name) if community is not None else "",
        counter_place=grid.counter_place, counter_hours=grid.counter_hours, contact=grid.contact)


def letterhead_of(record) -> Letterhead:
    """The names on a document about ``record`` (a donation's receipt, a session's poster …): its grid's."""
    return letterhead(grid_of(record))


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


def works_in_current_grid(user_id):
    """The criterion "this user (staff or admin, by ``user_id``, a column) works in the scope's grid":
    assigned to it or to a unit above it, or assigned nowhere (a deployment of one grid need not assign
    anyone); true outside a scope. Lists of colleagues to hand work to (a report's assignee) use it: staff
    of another grid could neither see nor do the work."""
    scope = current_scope()
    if scope is None or scope.working is None:
        return true()
    units, unit = [], db.session.get(OrgUnit, scope.working)
    while unit is not None:
        units.append(unit.id)
        unit = unit.parent
    assigned = select(StaffAssignment.user_id)
    return or_(user_id.in_(assigned.where(StaffAssignment.unit_id.in_(units))), user_id.not_in(assigned))


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


# --- staff assignments ------------------------------------------------------------------

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


# --- who manages which units ----------------------------------------------------------------------

def assigned_units(user) -> list[OrgUnit]:
    """The units ``user`` is assigned to (StaffAssignment), in tree order."""
    return list(db.session.scalars(
        select(OrgUnit).join(StaffAssignment, StaffAssignment.unit_id == OrgUnit.id)
        .where(StaffAssignment.user_id == user.id).order_by(OrgUnit.position, OrgUnit.id)))


def _all_units() -> dict[int, OrgUnit]:
    """Every unit by id, in one query (the tree is small: a division has a few hundred units)."""
    return {unit.id: unit for unit in db.session.scalars(select(OrgUnit).order_by(OrgUnit.position, OrgUnit.id))}


def _manager_roots(user) -> set[int]:
    if getattr(user, "role", None) != "admin":
        return set()
    return set(db.session.scalars(select(StaffAssignment.unit_id).where(StaffAssignment.user_id == user.id)))


def _within(roots: set[int], unit: OrgUnit) -> tuple[bool, bool]:
    """(is ``unit`` in the branch of one of ``roots``, is it strictly beneath one of them)."""
    beneath = any(parent.id in roots for parent in ancestors(unit))
    return beneath or unit.id in roots, beneath


def can_manage(user, unit: OrgUnit) -> bool:
    """May ``user`` edit, reorder or delete ``unit``? Only an admin assigned to one of its ancestors."""
    return _within(_manager_roots(user), unit)[1]


def can_add_beneath(user, unit: OrgUnit) -> bool:
    """May ``user`` add a unit beneath ``unit``? Its own unit or any unit beneath it (a grid has none)."""
    return _within(_manager_roots(user), unit)[0]


def _require_manageable(user, unit: OrgUnit | None) -> OrgUnit:
    """``unit`` if ``user`` may edit it (one read of the user's assignments). NotFound outside the user's
    branch; OwnUnit (403) for its own unit."""
    in_branch, beneath = _within(_manager_roots(user), unit) if unit is not None else (False, False)
    if not in_branch:
        raise NotFound()
    if not beneath:
        raise OwnUnit()
    return unit


def unit_to_manage(user, unit_id: int) -> OrgUnit:
    """The unit ``user`` may edit. NotFound outside the user's branch; OwnUnit (403) for its own unit."""
    return _require_manageable(user, db.session.get(OrgUnit, unit_id))


def parent_to_add_beneath(user, unit_id: int) -> OrgUnit:
    """The unit ``user`` may add a child beneath; NotFound outside its branch."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or not can_add_beneath(user, unit):
        raise NotFound()
    return unit


@dataclass
class Node:
    """A unit in the tree as the admin sees it: may it be edited, and its children."""

    unit: OrgUnit
    editable: bool
    children: list["Node"] = field(default_factory=list)
    first: bool = False
    last: bool = False


def tree_for(user) -> list[Node]:
    """The branches ``user`` manages, one root per assigned unit (which is shown but not editable).

    Built from one query of every unit, so the page's query count does not grow with the tree.
    """
    units = _all_units()
    roots = _manager_roots(user)
    kids: dict[int | None, list[OrgUnit]] = {}
    for unit in units.values():
        kids.setdefault(unit.parent_id, []).append(unit)

    def build(unit: OrgUnit, editable: bool) -> Node:
        children = kids.get(unit.id, [])
        node = Node(unit, editable, [build(child, True) for child in children])
        if node.children:
            node.children[0].first = node.children[-1].last = True
        return node

    # An admin assigned both to a community and to one of its grids sees the community's branch once.
    def covered(unit):
        parent = units.get(unit.parent_id)
        while parent is not None:
            if parent.id in roots:
                return True
            parent = units.get(parent.parent_id)
        return False

    return [build(units[unit_id], False) for unit_id in sorted(roots, key=lambda i: (units[i].position, i))
            if unit_id in units and not covered(units[unit_id])]


# --- editing ---------------------------------------------------------------------------------------

def _clean(value) -> str:
    return (value or "").strip()


def _check_code(code: str, unit: OrgUnit | None = None) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise BadCode()
    taken = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).first()
    if taken is not None and (unit is None or taken != unit.id):
        raise CodeTaken(code=code)
    return code


def add_unit(user, parent: OrgUnit, *, level_name: str, name: str, code: str, is_grid: bool) -> OrgUnit:
    """Add a unit beneath ``parent``, last among its siblings.

    Raises NotFound if ``parent`` is outside the user's branch, GridHasNoChildren beneath a grid,
    BlankName / BlankLevel for blank names, BadCode unless the code is 2–8 Latin capitals or digits,
    CodeTaken if another unit has it (also when a racing request took it a moment ago).
    """
    if not can_add_beneath(user, parent):
        raise NotFound()
    if parent.is_grid:
        raise GridHasNoChildren()
    name, level_name, code = _clean(name), _clean(level_name), _clean(code).upper()
    if not name:
        raise BlankName()
    if not level_name:
        raise BlankLevel()
    _check_code(code)
    position = db.session.scalar(
        select(func.coalesce(func.max(OrgUnit.position), -1)).where(OrgUnit.parent_id == parent.id)) + 1
    unit = OrgUnit(parent_id=parent.id, level_name=level_name[:LEVEL_MAX], name=name[:NAME_MAX], code=code,
                   is_grid=bool(is_grid), position=position)
    try:
        with db.session.begin_nested():
            db.session.add(unit)
    except IntegrityError as exc:
        raise CodeTaken(code=code) from exc
    db.session.expire(parent, ["children"])
    return unit


def update_unit(user, unit: OrgUnit, *, name: str, organiser: str = "", counter_place: str = "",
                counter_hours: str = "", contact: str = "", points_anywhere: bool = False) -> OrgUnit:
    """Change a unit's names: name, organiser (signs its notices and receipts), counter place and default
    hours, contact; on a unit above grids (a community), whether points may be spent at any of its grids.

    Raises NotFound outside the user's branch, OwnUnit for the user's own unit, BlankName for a blank name.
    """
    _require_manageable(user, unit)
    name = _clean(name)
    if not name:
        raise BlankName()
    unit.name = name[:NAME_MAX]
    unit.organiser = _clean(organiser)[:ORGANISER_MAX]
    unit.counter_place = _clean(counter_place)[:PLACE_MAX]
    unit.counter_hours = _clean(counter_hours)[:HOURS_MAX]
    unit.contact = _clean(contact)[:CONTACT_MAX]
    unit.points_anywhere = bool(points_anywhere) and not unit.is_grid
    db.session.flush()
    return unit


def move_unit(user, unit: OrgUnit, step: int) -> OrgUnit:
    """Move a unit one place up (``step`` -1) or down (+1) among its siblings; at either end nothing moves.

    Siblings are renumbered 0, 1, 2 … on the way. Raises NotFound / OwnUnit as update_unit.
    """
    _require_manageable(user, unit)
    siblings = list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.parent_id == unit.parent_id).order_by(OrgUnit.position, OrgUnit.id)))
    index = siblings.index(unit)
    target = index + (1 if step > 0 else -1)
    if 0 <= target < len(siblings):
        siblings[index], siblings[target] = siblings[target], siblings[index]
    for position, sibling in enumerate(siblings):
        sibling.position = position
    db.session.flush()
    return unit


def delete_unit(user, unit: OrgUnit) -> str:
    """Delete a unit that has no children, no staff assigned and no data; returns its name.

    Raises NotFound / OwnUnit as update_unit, UnitNotEmpty with children, UnitHasStaff with staff
    assigned, and UnitHasData when the database's foreign keys refuse (households, sessions, items …
    still belong to it) — nothing is deleted then.
    """
    _require_manageable(user, unit)
    name = unit.name
    if db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.parent_id == unit.id)):
        raise UnitNotEmpty(name=name)
    if _staff_count(unit):
        raise UnitHasStaff(name=name)
    try:
        with db.session.begin_nested():
            db.session.delete(unit)
            db.session.flush()
    except IntegrityError as exc:
        raise UnitHasData(name=name) from exc
    return name


def _staff_count(unit: OrgUnit) -> int:
    return db.session.scalar(select(func.count()).select_from(StaffAssignment).where(StaffAssignment.unit_id == unit.id))
