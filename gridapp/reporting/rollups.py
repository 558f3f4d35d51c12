"""Roll-ups (汇总): a month's figures of every grid under a community, a farm or the division, side by side.

A community's page has one row per grid; a page of a unit above communities (a farm, the division) has
one row per community beneath it, each the sum of its grids. A total row sums the rows. The figures
are those of the monthly report (``reporting.service``), per grid:

- 参与人次 participations and 活跃志愿者 active volunteers: confirmed attendances of the grid's duty
  sessions that start in the month, and the distinct volunteers among them (a unit's figure is the sum
  of its grids': one who served in two grids counts in each);
- 发放积分 / 消耗积分 points issued / spent: ledger entries written in the month (reversals netted, as
  in ``service.ISSUED``/``SPENT``) of the volunteers whose home grid it is (a spend at another grid's
  counter, where the community allows it, counts in the volunteer's grid);
- 兑换笔数 redemptions (not voided) made at the grid's counter in the month;
- 捐赠 donations to the grid received in the month (not voided): how many, units, estimated value;
- 扫雪活动 campaigns (published or finished) of the grid that start in the month.

Every figure comes from a grouped statement (GROUP BY grid) over all the page's grids at once: five
statements a page (the tree, the user's assignments, and the three of ``grid_figures``), besides the
request's own (its login and scope), whatever the number of grids. The read is deliberately cross-grid (``org.scope.unscoped``) and restricted, by an
explicit ``grid_id IN (…)``, to the grids under the unit — which must lie under a unit the user is
assigned to (``visible_unit``). A roll-up holds figures and unit names only, never a person's name.
"""
from dataclasses import dataclass, field, fields

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, distinct, func, literal_column, select

from ..auth.models import User
from ..campaigns.models import Campaign
from ..counter.models import Redemption
from ..duty.models import Attendance, DutySession
from ..errors import NotFound
from ..extensions import db
from ..goods.models import Donation, DonationLine
from ..org.models import OrgUnit, StaffAssignment
from ..org.scope import unscoped
from ..points.models import PointsEntry
from .exports import INT, MONEY, TEXT, Book, Column, Sheet
from .months import Month, span
from .service import ISSUED, SPENT

# The roles that see roll-ups: a community's (or farm's) admin, and the division viewer (上级查看).
ROLLUP_ROLES = ("admin", "viewer")


@dataclass
class Figures:
    """One unit's month (see the module docstring)."""

    participations: int = 0
    active_volunteers: int = 0
    points_issued: int = 0
    points_spent: int = 0
    redemptions: int = 0
    donations: int = 0
    donated_items: int = 0
    donated_value_fen: int = 0
    campaigns: int = 0

    def add(self, other: "Figures") -> "Figures":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


FIGURE_LABELS = {
    "participations": _l("参与人次"), "active_volunteers": _l("活跃志愿者"), "points_issued": _l("发放积分"),
    "points_spent": _l("消耗积分"), "redemptions": _l("兑换笔数"), "donations": _l("捐赠笔数"),
    "donated_items": _l("捐赠入库（件）"), "donated_value_fen": _l("捐赠价值（估）"), "campaigns": _l("扫雪活动"),
}


@dataclass
class Row:
    unit: OrgUnit
    grid_ids: list[int]
    figures: Figures


@dataclass
class Rollup:
    unit: OrgUnit
    month: Month
    rows: list[Row]
    total: Figures = field(default_factory=Figures)
    chain: list = field(default_factory=list)  # the unit's ancestors and the unit (the page's breadcrumb)

    @property
    def rows_are_grids(self) -> bool:
        return all(row.unit.is_grid for row in self.rows)


class Tree:
    """The organisation tree, read in one statement (a deployment has a few hundred units at most)."""

    def __init__(self, units: list[OrgUnit]):
        self.units = {u.id: u for u in units}
        self.children: dict[int | None, list[OrgUnit]] = {}
        for u in sorted(units, key=lambda u: (u.position, u.id)):
            self.children.setdefault(u.parent_id, []).append(u)

    @classmethod
    def load(cls) -> "Tree":
        return cls(list(db.session.scalars(select(OrgUnit))))

    def below(self, unit: OrgUnit) -> list[OrgUnit]:
        """``unit`` and every unit beneath it, in tree order."""
        out, stack = [], [unit]
        while stack:
            u = stack.pop()
            out.append(u)
            stack.extend(reversed(self.children.get(u.id, [])))
        return out

    def grids_under(self, unit: OrgUnit) -> list[OrgUnit]:
        return [u for u in self.below(unit) if u.is_grid]

    def chain(self, unit: OrgUnit) -> list[OrgUnit]:
        """The unit's ancestors from the root down, and the unit."""
        out = [unit]
        while out[-1].parent_id is not None and out[-1].parent_id in self.units:
            out.append(self.units[out[-1].parent_id])
        return out[::-1]

    def rows_of(self, unit: OrgUnit) -> list[OrgUnit]:
        """The rows of ``unit``'s page: its grids for a community (a unit whose children include grids);
        for a unit above, the communities beneath it (the units holding grids), in tree order."""
        if any(child.is_grid for child in self.children.get(unit.id, [])):
            return [child for child in self.children[unit.id] if child.is_grid]
        return [u for u in self.below(unit)
                if u is not unit and not u.is_grid and any(c.is_grid for c in self.children.get(u.id, []))]


def visible_roots(user, tree: Tree) -> list[OrgUnit]:
    """The units whose roll-ups ``user`` may see: those they are assigned to above the grids (an admin's
    community, a viewer's farm or division). Everything beneath them is visible too."""
    if getattr(user, "role", None) not in ROLLUP_ROLES:
        return []
    ids = db.session.scalars(select(StaffAssignment.unit_id).where(StaffAssignment.user_id == user.id))
    return [tree.units[i] for i in sorted(ids, key=lambda i: (tree.units[i].position, i))
            if i in tree.units and not tree.units[i].is_grid]


def visible_unit(user, tree: Tree, unit_id: int, *, grid: bool = False) -> OrgUnit:
    """The unit ``unit_id`` if it lies under a unit ``user`` may see (and is a grid when ``grid``, a unit
    above grids otherwise). Raises NotFound for anything else: another community's page is not there."""
    unit = tree.units.get(unit_id)
    if unit is not None and unit.is_grid == grid:
        for root in visible_roots(user, tree):
            if unit in tree.below(root):
                return unit
    raise NotFound(_l("找不到这个单位，或您无权查看。"))


def grid_figures(grid_ids: list[int], month: Month) -> dict[int, Figures]:
    """The month's figures of each of ``grid_ids``: three grouped statements (attendances; the points
    ledger; redemptions, donations and campaigns as one UNION ALL), a cross-grid read restricted to
    those grids."""
    out = {gid: Figures() for gid in grid_ids}
    if not grid_ids:
        return out

    def put(rows, *names):
        for grid_id, *values in rows:
            if grid_id in out:
                for name, value in zip(names, values):
                    setattr(out[grid_id], name, int(value or 0))

    with unscoped():
        put(db.session.execute(
            select(DutySession.grid_id, func.count(), func.count(distinct(Attendance.volunteer_id)))
            .select_from(Attendance).join(DutySession, Attendance.session_id == DutySession.id)
            .where(Attendance.status == "confirmed", span(DutySession.starts_at, [month]),
                   DutySession.grid_id.in_(grid_ids))
            .group_by(DutySession.grid_id)), "participations", "active_volunteers")
        put(db.session.execute(
            select(User.grid_id, func.coalesce(func.sum(case((ISSUED, PointsEntry.delta), else_=0)), 0),
                   func.coalesce(func.sum(case((SPENT, -PointsEntry.delta), else_=0)), 0))
            .select_from(PointsEntry).join(User, PointsEntry.volunteer_id == User.id)
            .where(span(PointsEntry.created_at, [month]), User.grid_id.in_(grid_ids))
            .group_by(User.grid_id)), "points_issued", "points_spent")
        # Redemptions, donations and campaigns: one statement, a UNION ALL of three grouped parts.
        # Each part names itself in its first column.
        one, two, three, zero = (literal_column(str(n)) for n in (1, 2, 3, 0))
        redemptions = (select(one.label("part"), Redemption.grid_id, func.count(), zero, zero)
                       .where(span(Redemption.created_at, [month]), Redemption.voided_at.is_(None),
                              Redemption.grid_id.in_(grid_ids)).group_by(Redemption.grid_id))
        donations = (select(two, Donation.grid_id, func.count(distinct(Donation.id)),
                            func.coalesce(func.sum(DonationLine.quantity), 0),
                            func.coalesce(func.sum(DonationLine.quantity
                                                   * func.coalesce(DonationLine.unit_value_fen, 0)), 0))
                     .select_from(Donation).join(DonationLine, DonationLine.donation_id == Donation.id)
                     .where(span(Donation.received_on, [month], dates=True), Donation.voided_at.is_(None),
                            Donation.grid_id.in_(grid_ids)).group_by(Donation.grid_id))
        campaigns = (select(three, Campaign.grid_id, func.count(), zero, zero)
                     .where(Campaign.status != "draft", span(Campaign.starts_at, [month]),
                            Campaign.grid_id.in_(grid_ids)).group_by(Campaign.grid_id))
        for part, grid_id, a, b, c in db.session.execute(redemptions.union_all(donations, campaigns)):
            if grid_id not in out:
                continue
            figures = out[grid_id]
            if int(part) == 1:
                figures.redemptions = int(a)
            elif int(part) == 2:
                figures.donations, figures.donated_items, figures.donated_value_fen = int(a), int(b), int(c)
            else:
                figures.campaigns = int(a)
    return out


def rollup(user, unit_id: int, month: Month) -> Rollup:
    """The roll-up page of ``unit_id`` for ``month``: one row per grid (a community) or per community
    (a farm, the division), and the total. Raises NotFound when ``user`` may not see the unit. A
    constant number of statements: the tree, the user's assignments, and ``grid_figures``'s three."""
    tree = Tree.load()
    unit = visible_unit(user, tree, unit_id)
    row_units = tree.rows_of(unit)
    rows = [Row(u, [g.id for g in ([u] if u.is_grid else tree.grids_under(u))], Figures()) for u in row_units]
    per_grid = grid_figures(sorted({gid for row in rows for gid in row.grid_ids}), month)
    result = Rollup(unit, month, rows, chain=tree.chain(unit))
    for row in rows:
        for gid in row.grid_ids:
            row.figures.add(per_grid[gid])
        result.total.add(row.figures)
    return result


@dataclass
class GridPage:
    grid: OrgUnit
    month: Month
    figures: Figures
    chain: list


def grid_page(user, grid_id: int, month: Month) -> GridPage:
    """One grid's month, read-only (figures only): the drill-down of a community's row. NotFound when
    ``user`` may not see the grid."""
    tree = Tree.load()
    grid = visible_unit(user, tree, grid_id, grid=True)
    return GridPage(grid, month, grid_figures([grid.id], month)[grid.id], tree.chain(grid))


def home_unit(user) -> OrgUnit | None:
    """The first unit whose roll-up ``user`` may see (where /rollups leads), or None."""
    roots = visible_roots(user, Tree.load())
    return roots[0] if roots else None


def rollup_book(r: Rollup):
    """The roll-up as an export book: one sheet, a row per unit and the total row."""
    keys = list(FIGURE_LABELS)
    columns = [Column(str(_l("网格") if r.rows_are_grids else _l("社区")), TEXT, width=18)] + [
        Column(str(FIGURE_LABELS[k]), MONEY if k == "donated_value_fen" else INT) for k in keys]
    rows = [(row.unit.name, *(getattr(row.figures, k) for k in keys)) for row in r.rows]
    rows.append((str(_l("合计")), *(getattr(r.total, k) for k in keys)))
    return Book(f"rollup-{r.unit.code}-{r.month.key}", [Sheet(f"{r.unit.name} {r.month.display()}", columns, rows)])
