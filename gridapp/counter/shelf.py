"""积分超市: what a volunteer can get, on their phone — every active item with its point price, the
stock in words, how many more this month's limits allow, and "还差 N 分" or "可兑换"; and when and
where the counter opens next.

The limits and this month's use come from the counter's own ``basket`` (one rule, one place).
"""
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from ..auth.models import User
from ..org.service import letterhead
from . import service as counter
from .schedule import next_counter_day

STOCK_WORDS = {"plenty": _l("充足"), "low": _l("紧张"), "out": _l("已换完")}


@dataclass
class CounterDay:
    day: date
    hours: str
    place: str


def counter_day(today: date, grid) -> CounterDay:
    """The next counter day with the hours and place of ``grid``'s counter (the tree's
    ``counter_hours`` / ``counter_place``, which its admins edit)."""
    names = letterhead(grid)
    return CounterDay(next_counter_day(today), names.counter_hours, names.counter_place)


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
