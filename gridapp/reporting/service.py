"""The figures staff report: the dashboard (this month next to last month, 12-month trends, since-start
totals) and the monthly report (月度报表) with its breakdowns.

Every figure is one SQL aggregate over the ledgers and tables below, never a Python loop over rows;
months are cut in the community's zone (``months.Month``). What each figure counts:

- 参与人次 participations: confirmed attendances of duty sessions that start in the month;
  活跃志愿者: the distinct volunteers among them; 待确认签到: attendances still checked in/out
  (not yet confirmed or rejected) of the month's sessions.
- 新注册: volunteer accounts created in the month (any status).
- 发放积分 points issued: awards written in the month, less reversals of awards written in the month
  (a correction lands in the month it is made; the ledger is never back-dated by an edit).
  消耗积分 points spent: spends, less reversals of spends (voided redemptions), likewise.
- 兑换笔数 / 兑出物品: redemptions made in the month and not voided, and the units on their lines.
- 捐赠 (件, 价值): lines of donations received in the month (by receipt date) and not voided.
- Snapshots (now, not per month): stock value at point prices (active items), low-stock items,
  registrations waiting for review.

Closed months' points are summed once per process (``points_figures``): the points ledger is
append-only and every entry is written at the moment it is made, so a month that has ended can
receive no new entry. A correction made today of an old attendance is a reversal plus a new award
written today: it counts in today's month, and the old month stays as it was. The dashboard thus
sums only the open month(s) of the ledger on each view, not a year of it. The other figures are
not cached: an old session's attendance can still be confirmed, a redemption or donation voided,
a donation entered with an earlier receipt date.
"""
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from flask import current_app

from sqlalchemy import and_, case, distinct, func, literal_column, or_, select, union_all

from ..auth.models import User
from ..campaigns.models import Campaign, CampaignZone
from ..community.models import Team
from ..counter.models import Redemption, RedemptionLine
from ..duty.models import HOLDS_A_PLACE, PRESENT, Attendance, DutySession, DutyType
from ..extensions import db
from ..goods.models import Donation, DonationLine, Item, Sponsor
from ..org.scope import current_scope, in_home_grids
from ..points.models import PointsEntry
from .months import Month, last_months, span

TREND_MONTHS = 12
TOP_ITEMS = 10

ISSUED = or_(PointsEntry.kind == "award", and_(PointsEntry.kind == "reversal", PointsEntry.delta < 0))
SPENT = or_(PointsEntry.kind == "spend", and_(PointsEntry.kind == "reversal", PointsEntry.delta > 0))


@dataclass
class MonthFigures:
    """One month's figures (see the module docstring for what each counts)."""

    month: Month
    participations: int = 0
    active_volunteers: int = 0
    unconfirmed: int = 0
    new_registrations: int = 0
    points_issued: int = 0
    points_spent: int = 0
    redemptions: int = 0
    items_out: int = 0
    donated_items: int = 0
    donated_value_fen: int = 0

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "month"}


def _per_month(months: list[Month], column, make, *, dates: bool = False):
    """Rows (month index, aggregates…) for each month: ``make(within)`` is a SELECT of aggregates
    restricted by ``within`` (``column`` in one month). One statement, a UNION ALL of one index range
    scan per month: on SQLite this is several times faster than sorting every row into its month
    with a CASE expression, and it reads only the months asked for."""
    parts = []
    for i, month in enumerate(months):
        lo, hi = (month.first_day, month.next().first_day) if dates else (month.start, month.end)
        parts.append(make(and_(column >= lo, column < hi)).add_columns(literal_column(str(i)).label("month_index")))
    return db.session.execute(union_all(*parts)).all() if len(parts) > 1 else db.session.execute(parts[0]).all()


# A month is taken as closed this long after its end: an entry is stamped with the time its request
# began (``now``), so one begun at 23:59:59 may be committed a few seconds after midnight (a request
# is cut off after 30 s). An hour is ample.
CLOSED_AFTER = timedelta(hours=1)
CLOSED_MONTHS_KEY = "gridapp.reporting.closed_months"


def is_closed(month: Month, now: datetime) -> bool:
    """True once ``month`` can receive no new points entry: CLOSED_AFTER past its end (local zone)."""
    return now >= month.end + CLOSED_AFTER


def _points_sums(months: list[Month]) -> dict[Month, tuple[int, int]]:
    """(points issued, points spent) of each month from the ledger: one statement. Under a grid scope,
    the entries of the volunteers whose home grid is in it (the ledger itself carries no grid)."""
    scope = current_scope()

    def make(within):
        statement = (select(func.coalesce(func.sum(case((ISSUED, PointsEntry.delta), else_=0)), 0),
                            func.coalesce(func.sum(case((SPENT, -PointsEntry.delta), else_=0)), 0))
                     .select_from(PointsEntry).where(within))
        if scope is not None:
            statement = (statement.join(User, PointsEntry.volunteer_id == User.id)
                         .where(User.grid_id.in_(scope.ids)))
        return statement

    rows = _per_month(months, PointsEntry.created_at, make)
    out = dict.fromkeys(months, (0, 0))
    for issued, spent, index in rows:
        out[months[int(index)]] = (int(issued or 0), int(spent or 0))
    return out


def closed_months_cache() -> dict:
    """This app's sums of closed months, keyed by the month's bounds in UTC (so by month and zone) and
    the grids of the scope."""
    return current_app.extensions.setdefault(CLOSED_MONTHS_KEY, {})


def points_figures(months: list[Month], now: datetime | None = None) -> dict[Month, tuple[int, int]]:
    """(points issued, points spent) of each of ``months``. With ``now``, a month closed at ``now``
    (``is_closed``) is summed once per process and then read from memory; the others (this month,
    and last month in the first hour of this one) are summed on every call. Without ``now``, every
    month is summed."""
    cache = closed_months_cache() if now is not None else {}
    scope = current_scope()
    grids = scope.ids if scope is not None else None  # each grid's sums are its own
    out = {m: cache[(m.start, m.end, grids)] for m in months if (m.start, m.end, grids) in cache}
    missing = [m for m in months if m not in out]
    if missing:
        fresh = _points_sums(missing)
        out.update(fresh)
        if now is not None:
            cache.update({(m.start, m.end, grids): sums for m, sums in fresh.items() if is_closed(m, now)})
    return out


def month_figures(months: list[Month], now: datetime | None = None) -> list[MonthFigures]:
    """The figures of consecutive ``months`` (oldest first): five statements whatever their number
    (four when every month's points are cached: pass ``now`` to use the closed months' cache)."""
    out = [MonthFigures(m) for m in months]

    def put(rows, *names):
        for row in rows:
            index = int(row[-1])
            for name, value in zip(names, row[:-1]):
                setattr(out[index], name, int(value or 0))

    # Attendances, by the month their session starts.
    confirmed = Attendance.status == "confirmed"
    put(_per_month(months, DutySession.starts_at, lambda within: (
        select(func.coalesce(func.sum(case((confirmed, 1), else_=0)), 0),
               func.count(distinct(case((confirmed, Attendance.volunteer_id), else_=None))),
               func.coalesce(func.sum(case((Attendance.status.in_(PRESENT), 1), else_=0)), 0))
        .select_from(Attendance).join(DutySession, Attendance.session_id == DutySession.id)
        .where(within, Attendance.status.in_(("confirmed",) + PRESENT)))),
        "participations", "active_volunteers", "unconfirmed")

    put(_per_month(months, User.created_at, lambda within: (
        select(func.count()).select_from(User)
        .where(within, User.role == "volunteer", in_home_grids(User.grid_id)))), "new_registrations")

    sums = points_figures(months, now)
    for figures in out:
        figures.points_issued, figures.points_spent = sums[figures.month]

    put(_per_month(months, Redemption.created_at, lambda within: (
        select(func.count(distinct(Redemption.id)), func.coalesce(func.sum(RedemptionLine.quantity), 0))
        .select_from(Redemption).join(RedemptionLine, RedemptionLine.redemption_id == Redemption.id)
        .where(within, Redemption.voided_at.is_(None)))), "redemptions", "items_out")

    put(_per_month(months, Donation.received_on, lambda within: (
        select(func.coalesce(func.sum(DonationLine.quantity), 0),
               func.coalesce(func.sum(DonationLine.quantity * func.coalesce(DonationLine.unit_value_fen, 0)), 0))
        .select_from(Donation).join(DonationLine, DonationLine.donation_id == Donation.id)
        .where(within, Donation.voided_at.is_(None))), dates=True), "donated_items", "donated_value_fen")
    return out


@dataclass
class Snapshot:
    """Figures of the present moment."""

    stock_value_points: int
    low_stock: list  # [(name, stock, unit, threshold)]
    pending_registrations: int


def snapshot() -> Snapshot:
    """Stock value at point prices (active items), items at or under their low-stock threshold,
    registrations waiting for review."""
    value = db.session.scalar(select(func.coalesce(func.sum(Item.stock * Item.points_price), 0))
                              .where(Item.active.is_(True)))
    low = db.session.execute(select(Item.name, Item.stock, Item.unit, Item.low_stock_threshold)
                             .where(Item.active.is_(True), Item.stock <= Item.low_stock_threshold)
                             .order_by(Item.stock, Item.name)).all()
    pending = db.session.scalar(select(func.count()).select_from(User).where(
        User.status == "pending", or_(in_home_grids(User.grid_id), User.grid_id.is_(None))))
    return Snapshot(int(value), [tuple(row) for row in low], int(pending))


@dataclass
class Totals:
    """Since the start: the source report's figures (1,200+ participations, 460 prizes, 600+ donated
    items, 16 sponsors), plus the volunteers on the roll."""

    participations: int
    prizes: int
    donated_items: int
    sponsors: int
    volunteers: int


def totals() -> Totals:
    """Since-start totals (each one aggregate; none reads the points ledger)."""
    # through the session: an attendance carries no grid of its own
    participations = db.session.scalar(select(func.count()).select_from(Attendance)
                                       .join(DutySession, Attendance.session_id == DutySession.id)
                                       .where(Attendance.status == "confirmed"))
    prizes = db.session.scalar(select(func.coalesce(func.sum(RedemptionLine.quantity), 0))
                               .join(Redemption, RedemptionLine.redemption_id == Redemption.id)
                               .where(Redemption.voided_at.is_(None)))
    donated, sponsors = db.session.execute(
        select(func.coalesce(func.sum(DonationLine.quantity), 0), func.count(distinct(Donation.sponsor_id)))
        .join(DonationLine, DonationLine.donation_id == Donation.id).where(Donation.voided_at.is_(None))).one()
    volunteers = db.session.scalar(select(func.count()).select_from(User)
                                   .where(User.role == "volunteer", User.status == "active",
                                          in_home_grids(User.grid_id)))
    return Totals(int(participations), int(prizes), int(donated), int(sponsors), int(volunteers))


@dataclass
class Dashboard:
    this_month: MonthFigures
    last_month: MonthFigures
    trend: list[MonthFigures]
    snapshot: Snapshot
    totals: Totals


def dashboard(now) -> Dashboard:
    """工作台: this month next to last month, 12 months of trends, the present snapshot, since-start totals."""
    trend = month_figures(last_months(now, TREND_MONTHS), now)
    return Dashboard(trend[-1], trend[-2], trend, snapshot(), totals())


# --- the monthly report ---------------------------------------------------------------------

@dataclass
class ZoneTurnout:
    name: str
    needed: int
    signed_up: int
    confirmed: int


@dataclass
class CampaignTurnout:
    title: str
    starts_at: object
    zones: list[ZoneTurnout] = field(default_factory=list)


@dataclass
class MonthlyReport:
    month: Month
    figures: MonthFigures
    previous: MonthFigures
    per_team: list  # [(team name or None, participations, points issued)]
    per_duty_type: list  # [(duty type, participations, points of their current awards)]
    campaigns: list[CampaignTurnout]
    top_items: list  # [(item, unit, units, points)]
    per_sponsor: list  # [(sponsor, donations, units, value in fen)]
    snapshot: Snapshot


def per_team(month: Month) -> list[tuple]:
    """Every team (and 未加入服务队 = None): confirmed participations in the month by its members,
    and points issued to its members in the month."""
    came = dict(db.session.execute(
        select(User.team_id, func.count()).select_from(Attendance)
        .join(DutySession, Attendance.session_id == DutySession.id)
        .join(User, Attendance.volunteer_id == User.id)
        .where(Attendance.status == "confirmed", span(DutySession.starts_at, [month]))
        .group_by(User.team_id)).all())
    # Summed per volunteer first (from the covering month-figures index), then per team: one lookup
    # of each volunteer's team instead of one per entry (at 2M entries, half the time).
    per_volunteer = (select(PointsEntry.volunteer_id, func.sum(PointsEntry.delta).label("issued"))
                     .where(span(PointsEntry.created_at, [month]), ISSUED)
                     .group_by(PointsEntry.volunteer_id).subquery())
    issued = dict(db.session.execute(
        select(User.team_id, func.sum(per_volunteer.c.issued)).select_from(per_volunteer)
        .join(User, per_volunteer.c.volunteer_id == User.id).where(in_home_grids(User.grid_id))
        .group_by(User.team_id)).all())
    teams = db.session.execute(select(Team.id, Team.name).order_by(Team.id)).all()
    rows = [(name, int(came.get(team_id, 0)), int(issued.get(team_id) or 0)) for team_id, name in teams]
    rows.append((None, int(came.get(None, 0)), int(issued.get(None) or 0)))
    return rows


def per_duty_type(month: Month) -> list[tuple]:
    """Each duty type with sessions in the month: confirmed participations and the points of their
    current (unreversed) awards."""
    return [tuple(row) for row in db.session.execute(
        select(DutyType.name, func.count(Attendance.id), func.coalesce(func.sum(PointsEntry.delta), 0))
        .select_from(Attendance)
        .join(DutySession, Attendance.session_id == DutySession.id)
        .join(DutyType, DutySession.duty_type_id == DutyType.id)
        .join(PointsEntry, PointsEntry.id == Attendance.award_entry_id)
        .where(Attendance.status == "confirmed", span(DutySession.starts_at, [month]))
        .group_by(DutyType.id, DutyType.name).order_by(DutyType.id))]


def campaign_turnout(month: Month) -> list[CampaignTurnout]:
    """Snow campaigns (published or finished) that start in the month, with each zone's people needed,
    signed up (places held) and confirmed."""
    campaigns = db.session.scalars(select(Campaign).where(Campaign.status != "draft",
                                                          span(Campaign.starts_at, [month]))
                                   .order_by(Campaign.starts_at)).all()
    if not campaigns:
        return []
    rows = db.session.execute(
        select(CampaignZone.campaign_id, CampaignZone.name, CampaignZone.needed,
               func.sum(case((Attendance.status.in_(HOLDS_A_PLACE), 1), else_=0)),
               func.sum(case((Attendance.status == "confirmed", 1), else_=0)))
        .select_from(CampaignZone)
        .outerjoin(Attendance, Attendance.session_id == CampaignZone.session_id)
        .where(CampaignZone.campaign_id.in_([c.id for c in campaigns]))
        .group_by(CampaignZone.id, CampaignZone.campaign_id, CampaignZone.name, CampaignZone.needed,
                  CampaignZone.position)
        .order_by(CampaignZone.campaign_id, CampaignZone.position)).all()
    out = {c.id: CampaignTurnout(c.title, c.starts_at) for c in campaigns}
    for campaign_id, name, needed, held, confirmed in rows:
        out[campaign_id].zones.append(ZoneTurnout(name, needed, int(held or 0), int(confirmed or 0)))
    return list(out.values())


def top_items(month: Month, limit: int = TOP_ITEMS) -> list[tuple]:
    """The items redeemed most in the month (units), with the points they cost."""
    units = func.sum(RedemptionLine.quantity)
    return [tuple(row) for row in db.session.execute(
        select(Item.name, Item.unit, units, func.sum(RedemptionLine.quantity * RedemptionLine.unit_points))
        .select_from(RedemptionLine)
        .join(Redemption, RedemptionLine.redemption_id == Redemption.id)
        .join(Item, RedemptionLine.item_id == Item.id)
        .where(span(Redemption.created_at, [month]), Redemption.voided_at.is_(None))
        .group_by(Item.id, Item.name, Item.unit).order_by(units.desc(), Item.name).limit(limit))]


def per_sponsor(month: Month) -> list[tuple]:
    """Donations received in the month per sponsor: donations, units, estimated value (fen)."""
    return [tuple(row) for row in db.session.execute(
        select(Sponsor.name, func.count(distinct(Donation.id)), func.sum(DonationLine.quantity),
               func.sum(DonationLine.quantity * func.coalesce(DonationLine.unit_value_fen, 0)))
        .select_from(Donation)
        .join(DonationLine, DonationLine.donation_id == Donation.id)
        .join(Sponsor, Donation.sponsor_id == Sponsor.id)
        .where(span(Donation.received_on, [month], dates=True), Donation.voided_at.is_(None))
        .group_by(Sponsor.id, Sponsor.name).order_by(func.sum(DonationLine.quantity).desc(), Sponsor.name))]


def monthly_report(month: Month, now: datetime | None = None) -> MonthlyReport:
    """月度报表 for any month (past months can be reopened at any time: it is computed, not stored;
    with ``now``, closed months' points come from the cache, see ``points_figures``)."""
    previous, figures = month_figures([month.previous(), month], now)
    return MonthlyReport(month, figures, previous, per_team(month), per_duty_type(month), campaign_turnout(month),
                         top_items(month), per_sponsor(month), snapshot())
