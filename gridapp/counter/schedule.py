"""When the exchange counter opens: by default the last day of every month."""
import calendar
from datetime import date


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_redemption_day(today: date) -> date:
    """The next default redemption day on or after ``today`` (the last day of this month)."""
    return last_day_of_month(today)
