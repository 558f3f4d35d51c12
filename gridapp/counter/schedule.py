"""When the exchange counter opens: by default the last day of every month."""
from datetime import date

from ..clock import last_day_of_month


def next_redemption_day(today: date) -> date:
    """The next default redemption day on or after ``today`` (the last day of this month)."""
    return last_day_of_month(today)
