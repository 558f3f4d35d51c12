"""The exchange counter's rules (积分兑换): counter sessions, looking volunteers up, the basket, and the
one-transaction redemption that spends points and takes goods — or changes nothing at all.

Serialisation under concurrency: a redemption first share-locks its counter session's row (closing
waits for it; other tables do not), then locks the household (so two tables cannot both hand out
"one kettle per household"), then the items in id order, then spends the points with a conditional
UPDATE (so one balance cannot be spent twice) and takes each item's stock with a conditional UPDATE
(so the last kettle goes once); the receipt number, the one row all tables share, comes last.
Functions flush but never commit: the view commits once.
"""
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, cached_property

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, insert, or_, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..auth.models import STAFF_ROLES, User, new_volunteer_code
from ..auth.service import require_role, search_terms
from ..clock import start_of_local_month, to_local
from ..community.models import Household
from ..database import atomic, row_locks_needed, savepoint
from ..errors import DomainError, NotFound
from ..extensions import db
from ..goods import stock
from ..goods.models import Donation, DonationLine, Item, Lot, Sponsor, StockMovement
from ..numbering import formatted, next_number
from ..points import service as points
from .models import CounterSession, Redemption, RedemptionDay, RedemptionLine
from .schedule import extra_day, is_counter_day

RECEIPT_SERIES = "DH"


def receipt_series(grid) -> str:
    """A grid's redemption receipt series: DH-<grid code> (DH-DXB-2026-0001), gap-free per year."""
    return f"{RECEIPT_SERIES}-{grid.code}"


class NotARedemptionDay(DomainError):
    default_message = _l("今天（%(day)s）不是兑换日。兑换日为每月最后一天；如需另开，请管理员填写原因后开台。")


class SessionClosed(DomainError):
    default_message = _l("本次兑换已日结，不能再兑换或作废。")


class LimitReached(DomainError):
    default_message = _l("%(item)s%(whose)s每月限兑 %(limit)d%(unit)s，本月已兑 %(used)d%(unit)s，这次最多还能兑 %(left)d%(unit)s。")


class EmptyBasket(DomainError):
    default_message = _l("请先选择要兑换的物品。")


class OtherGridsPoints(DomainError):
    default_message = _l("%(name)s是%(grid)s的志愿者。本社区的积分只能在自己所在网格的兑换台使用。")


def check_home_grid(volunteer: User, session: CounterSession) -> None:
    """Points are spent at the counter of the volunteer's own grid, or at any counter of its community
    when the community sets ``points_anywhere``. Raises OtherGridsPoints (naming the volunteer's grid)."""
    if volunteer.grid_id is None or volunteer.grid_id == session.grid_id:
        return
    home, here = volunteer.grid, session.grid
    if home.parent_id == here.parent_id and here.parent is not None and here.parent.points_anywhere:
        return
    raise OtherGridsPoints(name=volunteer.name, grid=home.name)


class UnknownVolunteer(DomainError):
    default_message = _l("找不到这位志愿者（%(query)s）。请核对手机号、姓名或志愿者卡。")


# --- counter sessions -------------------------------------------------------------------------

def is_redemption_day(day: date) -> bool:
    """The last day of the month, or a day an admin added (the rule is ``schedule.is_counter_day``)."""
    return is_counter_day(day)


def open_session(actor: User, today: date, reason: str = "") -> CounterSession:
    """开台. Staff open the counter on a redemption day; an admin may open on any day with a reason
    (the day is then recorded as an extra redemption day). Opening twice returns today's session.

    Raises NotARedemptionDay, or DomainError for an admin without a reason.
    """
    require_role(actor, *STAFF_ROLES)
    existing = CounterSession.query.filter_by(day=today).one_or_none()
    if existing is not None:
        return existing
    if not is_redemption_day(today):
        if actor.role != "admin":
            raise NotARedemptionDay(day=today.isoformat())
        if not reason.strip():
            raise DomainError(_l("非兑换日开台，请填写原因。"))
        db.session.add(RedemptionDay(day=today, reason=reason.strip(), added_by_id=actor.id))
    session = CounterSession(day=today, opened_by_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(session)
    except IntegrityError:
        return CounterSession.query.filter_by(day=today).one()  # another table opened it a moment ago
    return session


def add_redemption_day(actor: User, day: date, reason: str) -> RedemptionDay:
    """An admin adds an extra redemption day (e.g. before the Spring Festival), with a reason."""
    require_role(actor, "admin")
    if not reason.strip():
        raise DomainError(_l("请填写增加兑换日的原因。"))
    existing = extra_day(day)
    if existing is not None:
        return existing
    extra = RedemptionDay(day=day, reason=reason.strip(), added_by_id=actor.id)
    db.session.add(extra)
    db.session.flush()
    return extra


@cache
def _session_of_day_query():
    """Built once, as the other statements of the counter's volunteer panel (see
    auth.service._session_user_query): a statement SQLAlchemy has seen is not walked again."""
    return select(CounterSession).where(CounterSession.day == db.bindparam("day"))


def todays_session(today: date) -> CounterSession | None:
    return db.session.scalars(_session_of_day_query(), {"day": today}).one_or_none()


def recent_redemptions(session: CounterSession, limit: int = 10) -> list[Redemption]:
    """The session's latest redemptions, newest first, with the volunteer and who served (one query)."""
    return (session.redemptions.options(joinedload(Redemption.volunteer), joinedload(Redemption.served_by))
            .order_by(Redemption.id.desc()).limit(limit).all())


def get_session(session_id: int) -> CounterSession:
    """The counter session with who opened and closed it (its pages name them). Raises NotFound."""
    session = db.session.get(CounterSession, session_id, options=[joinedload(CounterSession.opened_by),
                                                                  joinedload(CounterSession.closed_by)])
    if session is None:
        raise NotFound()
    return session


def close_session(actor: User, session: CounterSession, now: datetime) -> CounterSession:
    """日结. Closing twice is a no-op; redemptions under way finish first (they hold the session row)."""
    require_role(actor, *STAFF_ROLES)
    db.session.execute(update(CounterSession).where(CounterSession.id == session.id,
                                                    CounterSession.closed_at.is_(None))
                       .values(closed_at=now, closed_by_id=actor.id).execution_options(synchronize_session=False))
    db.session.refresh(session)
    return session


@cache
def _hold_open_query():
    # The grid comes in the same statement (the receipt series names its code); only the session's row is
    # share-locked (PostgreSQL), not the grid's.
    return (select(CounterSession).where(CounterSession.id == db.bindparam("session_id"))
            .options(joinedload(CounterSession.grid, innerjoin=True))
            .with_for_update(read=True, of=CounterSession).execution_options(populate_existing=True))


def _hold_open(session: CounterSession) -> int:
    """Share-lock the session's row for this transaction and make sure it is open; raises SessionClosed.

    FOR SHARE (PostgreSQL): any number of redemptions hold it at once, and ``close_session``'s UPDATE
    waits until they have committed; a redemption that comes after the closing reads the closed row.
    On SQLite the write transaction holds the whole database, so a plain read of the row decides."""
    session_id = sa_inspect(session).identity[0]  # without reading the (possibly expired) object first
    row = db.session.scalars(_hold_open_query(), {"session_id": session_id}).one()
    if row.closed_at is not None:
        raise SessionClosed()
    return session_id


# --- volunteers ------------------------------------------------------------------------------

def without_code(volunteers) -> list[User]:
    """Those of ``volunteers`` who have no card code yet (only accounts from before cards existed
    that the 0009 migration has not reached, or rows made outside the app)."""
    return [volunteer for volunteer in volunteers if not volunteer.volunteer_code]


def give_codes(volunteers) -> int:
    """Give each of ``volunteers`` without a card code a new one; returns how many were given.

    A write: only from a POST (showing or printing a card is a GET and never writes). Codes of
    volunteers who have one never change: they are printed on cards.
    """
    given = 0
    for volunteer in without_code(volunteers):
        moved = db.session.execute(update(User).where(User.id == volunteer.id, User.volunteer_code.is_(None))
                                   .values(volunteer_code=new_volunteer_code())
                                   .execution_options(synchronize_session=False)).rowcount
        db.session.expire(volunteer, ["volunteer_code"])
        given += moved
    return given


def find_volunteers(query: str, limit: int = 10) -> list[User]:
    """Volunteers matching a scanned card code, a full phone number, its last 4 digits, or a name.

    An exact code or phone gives one person; a name or 4 digits may give several to pick from.
    """
    query, digits = search_terms(query)
    if not query:
        return []
    if digits and len(digits) == 4:
        # No code (V + 8 hex digits) or phone (11 digits) is 4 digits long: no exact look-up first.
        return db.session.scalars(_last4_query(limit), {"last4": f"%{digits}"}).all()
    exact = db.session.scalars(_exact_query(), {"code": query.upper(), "phone": digits or query}).all()
    if exact:
        return exact
    return db.session.scalars(_active_volunteers().where(User.name.contains(query, autoescape=True))
                              .order_by(User.name).limit(limit)).all()


def _active_volunteers():
    return (select(User).where(User.role == "volunteer", User.status == "active")
            .options(joinedload(User.household)))


# The lookups a table sends all day, built once (see _session_of_day_query).
@cache
def _exact_query():
    return _active_volunteers().where(or_(User.volunteer_code == db.bindparam("code"),
                                          User.phone == db.bindparam("phone")))


@cache
def _last4_query(limit: int):
    return _active_volunteers().where(User.phone.like(db.bindparam("last4"))).order_by(User.name).limit(limit)


@cache
def _volunteer_query():
    return select(User).where(User.id == db.bindparam("id")).options(joinedload(User.household))


def get_volunteer(volunteer_id: int) -> User:
    """The active volunteer with their household (the panel shows the address)."""
    volunteer = db.session.scalars(_volunteer_query(), {"id": volunteer_id}).one_or_none()
    if volunteer is None or volunteer.role != "volunteer" or not volunteer.is_active:
        raise NotFound(_l("找不到这位志愿者。"))
    return volunteer


@dataclass(frozen=True)
class MonthlyLimit:
    """One of an item's monthly limits as it stands for one volunteer: 每人 (theirs) or 每户 (their household's)."""

    whose: str
    limit: int
    used: int  # this month, not counting voided redemptions

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass
class ItemState:
    """One item as the counter shows it for one volunteer: how many more they may take, and why not.

    The monthly-limit rule lives here alone (``limits``, ``check_limits``): the basket and the shelf
    show what it allows, and ``redeem`` enforces it."""

    item: Item
    quantity: int = 0  # in the basket
    used_by_volunteer: int = 0
    used_by_household: int = 0

    @cached_property
    def limits(self) -> list[MonthlyLimit]:
        """The item's monthly limits that apply: per volunteer, then per household."""
        return [MonthlyLimit(whose, limit, used) for limit, used, whose in (
            (self.item.monthly_limit, self.used_by_volunteer, _l("每人")),
            (self.item.household_monthly_limit, self.used_by_household, _l("每户"))) if limit]

    @cached_property
    def left_by_limits(self) -> int | None:
        """How many more this month's limits allow; None when the item has no monthly limit."""
        limits = self.limits
        return min(limit.left for limit in limits) if limits else None

    def check_limits(self, quantity: int) -> None:
        """Raise LimitReached (naming the limit, this month's use and what is left) if taking
        ``quantity`` more would break one of the item's monthly limits."""
        for limit in self.limits:
            if quantity > limit.left:
                raise LimitReached(item=self.item.name, whose=limit.whose, limit=limit.limit, used=limit.used,
                                   unit=self.item.unit, left=limit.left)

    @property
    def can_take_more(self) -> int:
        """How many more units could go in the basket, by limits and stock (not by points)."""
        cap = self.item.stock if self.left_by_limits is None else min(self.item.stock, self.left_by_limits)
        return max(cap - self.quantity, 0)


@dataclass
class Basket:
    volunteer: User
    states: list[ItemState]

    # Worked out once per basket (its quantities are set when it is made): the template asks for each per item.
    @cached_property
    def total(self) -> int:
        return sum(s.quantity * s.item.points_price for s in self.states)

    @cached_property
    def remaining_balance(self) -> int:
        return self.volunteer.points_balance - self.total

    @cached_property
    def lines(self) -> list[ItemState]:
        return [s for s in self.states if s.quantity]


@cache
def _used_by_both_query(with_household: bool):
    mine = db.case((Redemption.volunteer_id == db.bindparam("volunteer_id"), RedemptionLine.quantity), else_=0)
    home = db.case((Redemption.household_id == db.bindparam("household_id"), RedemptionLine.quantity), else_=0)
    whose = (or_(Redemption.volunteer_id == db.bindparam("volunteer_id"),
                 Redemption.household_id == db.bindparam("household_id"))
             if with_household else Redemption.volunteer_id == db.bindparam("volunteer_id"))
    return (select(RedemptionLine.item_id, func.sum(mine), func.sum(home))
            .join(Redemption, RedemptionLine.redemption_id == Redemption.id)
            .where(Redemption.voided_at.is_(None), Redemption.created_at >= db.bindparam("since"),
                   RedemptionLine.item_id.in_(db.bindparam("item_ids", expanding=True)), whose)
            .group_by(RedemptionLine.item_id))


def _used_this_month_by_both(item_ids, since: datetime, volunteer: User) -> tuple[dict[int, int], dict[int, int]]:
    """This month's use of each item by ``volunteer`` and by their household (voided redemptions left
    out), in one query."""
    household_id = volunteer.household_id
    rows = db.session.execute(_used_by_both_query(household_id is not None),
                              {"volunteer_id": volunteer.id, "household_id": household_id, "since": since,
                               "item_ids": list(item_ids)}).all()
    used_by_household = {item_id: int(h) for item_id, _m, h in rows if h} if household_id else {}
    return {item_id: int(m) for item_id, m, _h in rows if m}, used_by_household


@cache
def _active_items_query():
    return select(Item).where(Item.active.is_(True)).order_by(Item.category, Item.points_price, Item.name)


def basket(volunteer: User, quantities: dict[int, int], now: datetime, month: "PanelMonth | None" = None) -> Basket:
    """The counter's grid for ``volunteer``: every active item (in stock or not), this month's use
    against the limits, and the chosen quantities (clamped to 0 … what stock and limits allow).

    ``month``: this month's use as the panel read it already (``panel_month``); else it is read here."""
    items = db.session.scalars(_active_items_query()).all()
    if month is not None:
        mine, home = month.used_by_volunteer, month.used_by_household
    else:
        mine, home = _used_this_month_by_both([i.id for i in items], start_of_local_month(now), volunteer)
    states = []
    for item in items:
        state = ItemState(item, used_by_volunteer=mine.get(item.id, 0), used_by_household=home.get(item.id, 0))
        state.quantity = min(max(int(quantities.get(item.id, 0)), 0), state.can_take_more)
        states.append(state)
    return Basket(volunteer, states)


HISTORY_PAGE_SIZE = 20


def redemption_history(volunteer: User, page: int = 1, per_page: int = HISTORY_PAGE_SIZE):
    """我的兑换记录: every redemption of the volunteer (voided ones too, marked), newest first, one page
    at a time, with their lines and items loaded; a page past the end is empty, not an error."""
    query = (select(Redemption).where(Redemption.volunteer_id == volunteer.id)
             .options(selectinload(Redemption.lines).joinedload(RedemptionLine.item))
             .order_by(Redemption.id.desc()))
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


# The panel's month as plain rows (issue 14): this month's redemption lines of the volunteer and of their
# household in one statement (no ORM entity per redemption, line and item). The redemptions are the
# statement's ORM columns, so the grid scope's criteria apply to them as to the entities; the lines and the
# items they name are joined as plain tables, followed freely as a relationship load would be.
@dataclass(frozen=True, slots=True)
class MonthLine:
    name: str
    quantity: int


@dataclass(frozen=True, slots=True)
class MonthRedemption:
    """One of this month's redemptions as the panel lists it: read-only, not an ORM entity."""

    id: int
    receipt_no: str
    voided_at: datetime | None
    lines: list[MonthLine]


@dataclass(frozen=True, slots=True)
class PanelMonth:
    """This month at the counter for one volunteer: their redemptions (newest first, voided ones too) and
    each item's use by them and by their household (voided redemptions left out)."""

    redemptions: list[MonthRedemption]
    used_by_volunteer: dict[int, int]
    used_by_household: dict[int, int]


@cache
def _panel_month_query(with_household: bool):
    line, item = RedemptionLine.__table__, Item.__table__
    mine = Redemption.volunteer_id == db.bindparam("volunteer_id")
    whose = or_(mine, Redemption.household_id == db.bindparam("household_id")) if with_household else mine
    return (select(Redemption.id, Redemption.receipt_no, Redemption.voided_at, Redemption.volunteer_id,
                   Redemption.household_id, line.c.item_id, line.c.quantity, item.c.name)
            .join(line, line.c.redemption_id == Redemption.id).join(item, item.c.id == line.c.item_id)
            .where(Redemption.created_at >= db.bindparam("since"), whose)
            .order_by(Redemption.id.desc(), line.c.id))


def panel_month(volunteer: User, now: datetime) -> PanelMonth:
    """This month's redemptions of ``volunteer`` with their lines, and this month's use of each item by the
    volunteer and by their household (as ``basket`` counts it), in one statement."""
    household_id = volunteer.household_id
    rows = db.session.execute(_panel_month_query(household_id is not None),
                              {"volunteer_id": volunteer.id, "household_id": household_id,
                               "since": start_of_local_month(now)})
    redemptions: list[MonthRedemption] = []
    mine: dict[int, int] = {}
    home: dict[int, int] = {}
    for rid, receipt_no, voided_at, volunteer_id, row_household, item_id, quantity, name in rows:
        if volunteer_id == volunteer.id:
            if not redemptions or redemptions[-1].id != rid:
                redemptions.append(MonthRedemption(rid, receipt_no, voided_at, []))
            redemptions[-1].lines.append(MonthLine(name, quantity))
        if voided_at is None:
            if volunteer_id == volunteer.id:
                mine[item_id] = mine.get(item_id, 0) + quantity
            if household_id is not None and row_household == household_id:
                home[item_id] = home.get(item_id, 0) + quantity
    return PanelMonth(redemptions, mine, home)


# --- redeem and void ---------------------------------------------------------------------------

@cache
def _by_token_query():
    return select(Redemption).where(Redemption.token == db.bindparam("token"))


def redeem(actor: User, session: CounterSession, volunteer: User, quantities: dict[int, int], *,
           token: str, now: datetime) -> Redemption:
    """Trade points for goods in one transaction: the session is open, the balance covers the total,
    every line has stock, the volunteer's and household's monthly limits hold; then spend the points,
    take the goods first-in-first-out and record the redemption (prices as of now) with a receipt number.

    The same ``token`` again returns the first redemption — also when two confirms of one token run
    at the same moment (a double tap): the UNIQUE token refuses the second, whose work is undone, and
    it returns the first. Raises SessionClosed, EmptyBasket, LimitReached or OutOfStock (naming the item
    and the shortfall), InsufficientPoints, OtherGridsPoints (a volunteer of another grid, unless the
    community lets points be spent anywhere) — and then nothing at all has changed (a savepoint of its own).
    """
    require_role(actor, *STAFF_ROLES)
    # No look-up of the token first (one SELECT fewer under the write lock): the usual confirm is a new
    # one. A used token ends in the redemption's UNIQUE token (or, as its own first redemption took the
    # last unit or reached a limit, in a domain error); either way the savepoint has undone everything,
    # and then the token is looked up.
    try:
        with savepoint():
            return _redeem(actor, session, volunteer, quantities, token=token, now=now)
    except (IntegrityError, DomainError):
        earlier = _redemption_of_token(token)
        if earlier is None:
            raise
        return earlier  # the same confirm, committed before (a retry) or a moment ago by another request


def _redemption_of_token(token: str) -> Redemption | None:
    return db.session.scalars(_by_token_query().execution_options(populate_existing=True),
                              {"token": token}).one_or_none()


def _redeem(actor: User, session: CounterSession, volunteer: User, quantities: dict[int, int], *,
            token: str, now: datetime) -> Redemption:
    """``redeem``'s work, in its savepoint. The order keeps what every table shares short: the day's
    session row is only share-locked (closing waits for redemptions under way, redemptions never
    wait for one another), and the receipt number — one counter row per series, locked until the
    commit to stay gap-free — is taken last, after the points and the goods."""
    # The session's row first: read again under the lock (populate_existing), it also refreshes the
    # session object that check_home_grid reads, one SELECT instead of two.
    session_id = _hold_open(session)
    check_home_grid(volunteer, session)
    if volunteer.household_id and row_locks_needed():
        db.session.execute(select(Household.id).where(Household.id == volunteer.household_id).with_for_update())
    wanted = {int(item_id): int(qty) for item_id, qty in quantities.items() if int(qty) > 0}
    if not wanted:
        raise EmptyBasket()
    # Items in id order, locked and read before anything moves: the basket's order is the volunteer's, not ours.
    items = stock.lock_and_load_items(wanted)
    wanted = {item_id: wanted[item_id] for item_id in sorted(wanted)}
    mine, home = _used_this_month_by_both(wanted, start_of_local_month(now), volunteer)
    for item_id, quantity in wanted.items():
        item = items.get(item_id)
        if item is None or not item.active:
            raise DomainError(_l("这件物品已停止兑换，请从篮子里移除。"))
        ItemState(item, used_by_volunteer=mine.get(item_id, 0),
                  used_by_household=home.get(item_id, 0)).check_limits(quantity)
    total = sum(items[i].points_price * q for i, q in wanted.items())
    redemption_id = _new_redemption_id()
    reference = Redemption.reference_of(redemption_id)
    names = "、".join(f"{items[i].name}×{q}" for i, q in wanted.items())
    entry = points.spend(volunteer, total, reference=reference, description=f"积分兑换：{names}",
                         key=f"redemption:{token}", by=actor, at=now)
    for item_id, quantity in wanted.items():
        stock.take(items[item_id], quantity, reference=reference, by=actor, recipient=volunteer)
    year = to_local(now).year
    series = receipt_series(session.grid)  # the counter's grid, whichever grid the volunteer lives in
    seq = next_number(series, year)
    redemption = Redemption(id=redemption_id, session_id=session_id, volunteer_id=volunteer.id,
                            household_id=volunteer.household_id, grid_id=session.grid_id,
                            receipt_no=formatted(series, year, seq), receipt_year=year, receipt_seq=seq,
                            total_points=total, points_entry_id=entry.id,
                            token=token, served_by_id=actor.id, created_at=now)
    db.session.add(redemption)
    db.session.flush()
    # The lines in one statement (the ORM would send one INSERT … RETURNING id per line); the
    # redemption's ``lines`` are read from the database when asked for.
    db.session.execute(insert(RedemptionLine), [
        {"redemption_id": redemption_id, "item_id": item_id, "quantity": quantity,
         "unit_points": items[item_id].points_price} for item_id, quantity in wanted.items()])
    db.session.expire(redemption, ["lines"])
    return redemption


def _new_redemption_id() -> int:
    """The new redemption's id, before its row is written (its ledger entries name it as their
    reference, and the row itself is written last, with the receipt number). PostgreSQL: the table's
    sequence. SQLite: one more than the largest of any grid, which is safe under its write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.scalar(select(func.nextval(func.pg_get_serial_sequence("redemptions", "id"))))
    # Over every grid's rows: a table statement, which the grid scope does not narrow (ids are global).
    return db.session.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM redemptions"))


def redemptions_of(volunteer: User, page: int = 1, per_page: int = 20):
    """The volunteer's redemptions (voided ones too), newest first, one page at a time."""
    return (Redemption.query.filter_by(volunteer_id=volunteer.id).order_by(Redemption.id.desc())
            .paginate(page=page, per_page=per_page, error_out=False))


def balance_after(redemption: Redemption) -> int:
    """剩余积分 on the receipt: the volunteer's balance right after this redemption's points were spent."""
    return points.balance_after_entry(redemption.volunteer_id, redemption.points_entry_id)


@cache
def _redemption_query():
    return (select(Redemption).where(Redemption.id == db.bindparam("id"))
            .options(selectinload(Redemption.lines).joinedload(RedemptionLine.item), joinedload(Redemption.volunteer),
                     joinedload(Redemption.household), joinedload(Redemption.served_by),
                     joinedload(Redemption.session)))


def get_redemption(redemption_id: int) -> Redemption:
    """The redemption with what its receipt shows (lines and their items, volunteer, household, who
    served, the day's session: is it open?) loaded in two queries, however many lines it has. Raises NotFound."""
    redemption = db.session.scalars(_redemption_query(), {"id": redemption_id}).one_or_none()
    if redemption is None:
        raise NotFound()
    return redemption


@atomic
def void(actor: User, redemption: Redemption, reason: str, now: datetime) -> Redemption:
    """作废 while the session is open: the points come back by a reversal entry and the goods go back
    to the very lots they came from. Voiding twice is a no-op. Raises SessionClosed, DomainError
    without a reason."""
    require_role(actor, *STAFF_ROLES)
    if not (reason or "").strip():
        raise DomainError(_l("请填写作废原因。"))
    if redemption.voided_at is not None:
        return redemption
    _hold_open(redemption.session)
    stock.lock_items(line.item_id for line in redemption.lines)  # before the points: tables in one order
    moved = db.session.execute(update(Redemption).where(Redemption.id == redemption.id,
                                                        Redemption.voided_at.is_(None))
                               .values(voided_at=now, voided_by_id=actor.id, void_reason=reason.strip())
                               .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(redemption)
    if moved != 1:
        return redemption  # another table voided it a moment ago
    points.reverse(redemption.points_entry, reason=f"作废 {redemption.receipt_no}：{reason.strip()}", by=actor,
                   at=now)
    stock.put_back(redemption.reference, reason=f"作废 {redemption.receipt_no}", by=actor)
    return redemption


def day_summary(session: CounterSession) -> dict:
    """日结: redemptions, points redeemed, items out per item and per sponsor, voids, and who served.

    A handful of queries however many redemptions the day had: the redemptions with their people in
    one, the goods out per item and per sponsor each summed by the database."""
    redemptions = (session.redemptions
                   .options(joinedload(Redemption.volunteer), joinedload(Redemption.served_by),
                            joinedload(Redemption.voided_by))
                   .order_by(Redemption.id).all())
    kept = [r for r in redemptions if r.voided_at is None]
    references = [r.reference for r in kept]
    per_item: dict[str, int] = {}
    per_sponsor: dict[str, int] = {}
    if references:
        taken = func.sum(-StockMovement.delta)
        out = (StockMovement.reference.in_(references), StockMovement.kind == "redemption")
        for name, n in db.session.execute(
                select(Item.name, taken).select_from(StockMovement).join(Item, StockMovement.item_id == Item.id)
                .where(*out).group_by(Item.id, Item.name)):
            per_item[name] = per_item.get(name, 0) + int(n)
        for name, n in db.session.execute(
                select(Sponsor.name, taken).select_from(StockMovement)
                .join(Lot, StockMovement.lot_id == Lot.id)
                .outerjoin(DonationLine, Lot.donation_line_id == DonationLine.id)
                .outerjoin(Donation, DonationLine.donation_id == Donation.id)
                .outerjoin(Sponsor, Donation.sponsor_id == Sponsor.id)
                .where(*out).group_by(Sponsor.id, Sponsor.name)):
            sponsor = name if name is not None else str(_l("盘点入库"))
            per_sponsor[sponsor] = per_sponsor.get(sponsor, 0) + int(n)
    served: dict[str, int] = {}
    for r in kept:
        served[r.served_by.name] = served.get(r.served_by.name, 0) + 1
    return {
        "redemptions": len(kept),
        "volunteers": len({r.volunteer_id for r in kept}),
        "points": sum(r.total_points for r in kept),
        "per_item": sorted(per_item.items()),
        "per_sponsor": sorted(per_sponsor.items(), key=lambda kv: -kv[1]),
        "voids": [r for r in redemptions if r.voided_at is not None],
        "served": sorted(served.items(), key=lambda kv: -kv[1]),
    }
