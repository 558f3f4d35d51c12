"""Calendar months cut in the community's time zone, and SQL that sorts rows into them.

A month runs from midnight on the 1st (local) to midnight on the 1st of the next month; in the
database (naive UTC) that is ``[start, end)``. An entry at 23:59 on the 31st belongs to that month,
one at 00:00 on the 1st to the next. ``span`` is the range condition (an index range scan).
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from babel.dates import format_skeleton
from flask_babel import get_locale
from sqlalchemy import and_

from ..clock import from_local, last_day_of_month, to_local

MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> "Month":
        """The month (local) of a naive UTC instant."""
        local = to_local(moment)
        return cls(local.year, local.month)

    @classmethod
    def parse(cls, key: str) -> "Month | None":
        """``2026-12`` -> Month(2026, 12); None for anything else."""
        match = MONTH_KEY.match(key or "")
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            return None
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return last_day_of_month(self.first_day)

    @property
    def start(self) -> datetime:
        """Midnight on the 1st, local, as naive UTC."""
        return from_local(self.first_day, time(0, 0))

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def label(self) -> str:
        """The month on paper ("2026年11月"): PDFs print Chinese whatever the page language."""
        return f"{self.year}年{self.month}月"

    def display(self, short: bool = False) -> str:
        """The month in the page's language: "2026年11月" / "November 2026" (short: "11月" / "Nov");
        outside a request, Chinese."""
        return format_skeleton("MMM" if short else "yMMMM", self.first_day, locale=get_locale() or "zh_CN")


def last_months(now: datetime, count: int = 12) -> list[Month]:
    """The ``count`` months up to and including the month of ``now``, oldest first."""
    months = [Month.of(now)]
    while len(months) < count:
        months.append(months[-1].previous())
    return months[::-1]


def span(column, months: list[Month], *, dates: bool = False):
    """``column`` within the months (a sargable range the index can use)."""
    if dates:
        return and_(column >= months[0].first_day, column < months[-1].next().first_day)
    return and_(column >= months[0].start, column < months[-1].end)
