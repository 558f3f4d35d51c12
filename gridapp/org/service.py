"""The organisation tree: reading it (the grid a page or a record speaks for, and its names) and
editing it (admins of the level above add, edit, reorder and delete units beneath their own).

Who may edit what: an admin assigned to a unit (``StaffAssignment``) manages every unit *beneath*
it — a community admin its grids, a division admin its farms, communities and grids — never the
unit it is assigned to (that is its own level's letterhead, set by the level above) and nothing
outside its branch. A unit outside the branch does not exist as far as the admin knows (NotFound).
"""
import re
from dataclasses import dataclass, field

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from .models import OrgUnit, StaffAssignment

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


def current_grid() -> OrgUnit | None:
    """The grid the current page speaks for: its names head the page and sign its notices and receipts.

    One grid per deployment for now: the first grid. Read once per app context (a request), kept on
    ``flask.g``: the page's header and the documents on it ask for it again and again.
    """
    if not has_app_context():
        return first_grid()
    grid = g.get("current_grid")
    if grid is None or grid not in db.session:  # (a session ended since: read it again)
        grid = g.current_grid = first_grid()
    return grid


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
    """The grid a record belongs to: its ``grid`` when it carries one, else the current grid."""
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


def _chain_ids(unit: OrgUnit) -> list[int]:
    """The ids of the unit's ancestors, nearest first."""
    ids, parent = [], unit.parent
    while parent is not None:
        ids.append(parent.id)
        parent = parent.parent
    return ids


def can_manage(user, unit: OrgUnit) -> bool:
    """May ``user`` edit, reorder or delete ``unit``? Only an admin assigned to one of its ancestors."""
    roots = _manager_roots(user)
    return bool(roots) and any(unit_id in roots for unit_id in _chain_ids(unit))


def can_add_beneath(user, unit: OrgUnit) -> bool:
    """May ``user`` add a unit beneath ``unit``? Its own unit or any unit beneath it (a grid has none)."""
    roots = _manager_roots(user)
    return bool(roots) and (unit.id in roots or any(unit_id in roots for unit_id in _chain_ids(unit)))


def unit_to_manage(user, unit_id: int) -> OrgUnit:
    """The unit ``user`` may edit. NotFound outside the user's branch; OwnUnit (403) for its own unit."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or not can_add_beneath(user, unit):
        raise NotFound()
    if not can_manage(user, unit):
        raise OwnUnit()
    return unit


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
    if not can_add_beneath(user, unit):
        raise NotFound()
    if not can_manage(user, unit):
        raise OwnUnit()
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
    if not can_add_beneath(user, unit):
        raise NotFound()
    if not can_manage(user, unit):
        raise OwnUnit()
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
    if not can_add_beneath(user, unit):
        raise NotFound()
    if not can_manage(user, unit):
        raise OwnUnit()
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
