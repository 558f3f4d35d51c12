"""积分超市: what a volunteer can get, on their phone — every active item with its point price, the
stock in words, how many more this month's limits allow, and "还差 N 分" or "可兑换"; and when and
where the counter opens next.

The limits and this month's use come from the counter's own ``basket`` (one rule, one place).
"""
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import true
from sqlalchemy.orm import aliased

from ..auth.models import User
from ..extensions import db
from ..goods import stock
from ..goods.models import Item
from ..org.service import letterhead
from . import schedule
from . import service as counter
from .schedule import next_counter_day

STOCK_WORDS = {"plenty": _l("充足"), "low": _l("紧张"), "out": _l("已换完")}


@dataclass
class CounterDay:
    day: date
    hours: str
    place: str
    affordable_count: int = 0  # kinds of goods the points buy (counter_card only)
    affordable: list = field(default_factory=list)  # the dearest few of them


def counter_day(today: date, grid) -> CounterDay:
    """The next counter day with the hours and place of ``grid``'s counter (the tree's
    ``counter_hours`` / ``counter_place``, which its admins edit)."""
    names = letterhead(grid)
    return CounterDay(next_counter_day(today), names.counter_hours, names.counter_place)


@cache
def _counter_card_query(limit: int):
    affordable = stock.within_points_select(limit).subquery("affordable")
    item = aliased(Item, affordable, name="item")
    # Outer-joined as the entity (not the bare subquery): the grid scope's criterion on items then goes
    # into the join's ON clause, and a volunteer whose points buy nothing still gets the day's row.
    return schedule.counter_day_select().add_columns(item, affordable.c.kinds).outerjoin(item, true())


def counter_card(today: date, points: int, grid, limit: int = 3) -> CounterDay:
    """The volunteer home's counter card: the next counter day with ``grid``'s hours and place (``counter_day``)
    and what ``points`` buy (``goods.stock.within_points``), in one query built once: the day's rows
    (at most two) times the items' (at most ``limit``)."""
    params = {**schedule.counter_day_params(today), "points": points}
    rows = db.session.execute(_counter_card_query(limit), params).all()
    items = {row.item.id: row for row in rows if row.item is not None}
    dearest = sorted(items.values(), key=lambda row: (-row.item.points_price, row.item.id))
    names = letterhead(grid)
    return CounterDay(schedule.counter_day_from(today, rows), names.counter_hours, names.counter_place,
                      dearest[0].kinds if dearest else 0, [row.item for row in dearest])


@dataclass
class ShelfItem:
    name: str
    unit: str
    category: str
    price: int
    stock_level: str  # plenty / low / out
    limit_left: int | None  # None: no monthly limit
    short_by: int  # points still needed (0: the balance covers one)

    @property
    def stock_word(self) -> str:
        return str(STOCK_WORDS[self.stock_level])

    @property
    def can_redeem(self) -> bool:
        return self.stock_level != "out" and self.limit_left != 0 and self.short_by == 0


def stock_level(stock: int, threshold: int) -> str:
    """已换完 at 0, 紧张 at or under the item's low-stock threshold, 充足 above it."""
    if stock <= 0:
        return "out"
    return "low" if stock <= threshold else "plenty"


def shelf(volunteer: User, now: datetime) -> list[ShelfItem]:
    """Every active item as the volunteer sees it on the shelf, cheapest first within a category."""
    balance = volunteer.points_balance
    return [ShelfItem(s.item.name, s.item.unit, s.item.category, s.item.points_price,
                      stock_level(s.item.stock, s.item.low_stock_threshold), s.left_by_limits,
                      max(s.item.points_price - balance, 0))
            for s in counter.basket(volunteer, {}, now).states]
