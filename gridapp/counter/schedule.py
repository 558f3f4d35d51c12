"""When the exchange counter opens: the last day of every month, and any extra day an admin adds
(临时开台, with a reason) — one rule for the counter itself and for every page that announces the day.

``is_counter_day`` is what opening the counter checks; ``next_counter_day`` is what the volunteer's
home, the staff home, 我的兑换记录, the counter page and the volunteer's shelf show. A day whose
counter has been closed (日结) is over: the next counter day is then a later one, because a closed
counter takes no more redemptions that day.
"""
from datetime import date, timedelta
from functools import cache

from sqlalchemy import bindparam, literal, select, true

from ..clock import last_day_of_month
from ..extensions import db
from .models import CounterSession, RedemptionDay


class CounterDay(date):
    """A counter day: a ``date`` (format it, compare it, use it wherever a date goes) that also says why.

    ``reason`` is the admin's reason for an extra day (None for the month's last day); ``time`` and
    ``place`` are not recorded for counter days yet, so they are None. ``date`` is the plain date.
    """

    reason: str | None = None
    time = None
    place = None

    @classmethod
    def of(cls, day: date, reason: str | None = None) -> "CounterDay":
        counter_day = cls(day.year, day.month, day.day)
        counter_day.reason = reason
        return counter_day

    @property
    def date(self) -> date:
        return date(self.year, self.month, self.day)

    @property
    def is_extra(self) -> bool:
        """An extra day an admin added (not the last day of its month)."""
        return self.reason is not None

    def __repr__(self) -> str:
        return f"CounterDay({self.isoformat()!r}, reason={self.reason!r})"


def is_counter_day(day: date) -> bool:
    """The counter may open on ``day``: the last day of its month, or a day an admin added."""
    return day == last_day_of_month(day) or extra_day(day) is not None


def extra_day(day: date) -> RedemptionDay | None:
    """The grid's extra redemption day ``day`` (the grid scope picks the grid), if an admin added it."""
    return db.session.scalars(select(RedemptionDay).where(RedemptionDay.day == day).limit(1)).first()


def counter_day_select():
    """The select behind ``next_counter_day``, to run with ``counter_day_params(today)`` and read with
    ``counter_day_from``: whether today's counter is closed (``closed_at``), next to the first two extra
    days from today to the end of the month of tomorrow (``day``, ``reason``) — the second serves when
    the first is today and today is closed. At least one row comes back, even without extra days; a
    caller may outer-join more to it (the volunteer's home adds what the points buy)."""
    closed = select(CounterSession.closed_at).where(CounterSession.day == bindparam("today")).scalar_subquery()
    extra = (select(RedemptionDay.day, RedemptionDay.reason)
             .where(RedemptionDay.day >= bindparam("today"), RedemptionDay.day <= bindparam("horizon"))
             .order_by(RedemptionDay.day).limit(2).subquery("extra_days"))
    one_row = select(literal(1).label("one")).subquery()
    return (select(closed.label("closed_at"), extra.c.day, extra.c.reason).select_from(one_row)
            .outerjoin(extra, true()))


def counter_day_params(today: date) -> dict:
    return {"today": today, "horizon": last_day_of_month(today + timedelta(days=1))}


def counter_day_from(today: date, rows) -> CounterDay:
    """The next counter day from the rows of ``counter_day_select`` (in any order, days repeated or not)."""
    start = today + timedelta(days=1) if rows[0].closed_at is not None else today
    month_end = last_day_of_month(start)
    extra = sorted({(row.day, row.reason) for row in rows if row.day is not None and start <= row.day <= month_end})
    if extra:
        # An extra day on the month's last day is that day anyway; it keeps its reason.
        return CounterDay.of(*extra[0])
    return CounterDay.of(month_end)


# Built once: every volunteer page runs it (see auth.service._session_user_query).
_next_counter_day_query = cache(counter_day_select)


def next_counter_day(today: date) -> CounterDay:
    """The next day the counter opens, on or after ``today`` (the community's local date).

    The earlier of this month's last day and the first extra redemption day from ``today`` on;
    ``today`` itself is skipped once its counter is closed (日结). An extra day comes with its reason.
    One query (every volunteer page announces the day).
    """
    return counter_day_from(today, db.session.execute(_next_counter_day_query(), counter_day_params(today)).all())
