"""Time: the one place that reads the clock or knows the community's time zone.

The database stores naive UTC. People read and type times on the community's clocks: the zone is
``GRIDAPP_TIMEZONE`` (default ``Asia/Shanghai``: the 12th Division keeps Beijing time, not Xinjiang
local time). Months, "today" and "the last day of the month" are all cut in that zone.

Tests, benchmarks and demos may start the clock at a named instant (``start_at``, or the
``GRIDAPP_CLOCK_AT`` variable, a local ISO time such as ``2027-02-28T10:00``); it then runs on at
real speed from there, so durations and ordering stay real while the date is fixed.
"""
import calendar
import os
import time as _time
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"GRIDAPP_TIMEZONE={name!r} is not a time zone; the community keeps Beijing time: "
                         f"{DEFAULT_TIMEZONE} (an IANA name such as Asia/Urumqi)") from exc


COMMUNITY_TZ = _zone(os.environ.get("GRIDAPP_TIMEZONE") or DEFAULT_TIMEZONE)

_start: tuple[datetime, float] | None = None  # (UTC instant the clock was set to, monotonic reading then)


def timezone_name() -> str:
    return COMMUNITY_TZ.key


def set_timezone(name: str) -> None:
    """Switch the community's zone (tests run the same scenarios under several zones)."""
    global COMMUNITY_TZ
    COMMUNITY_TZ = _zone(name)


def start_at(moment: datetime | None) -> None:
    """Run the clock from ``moment`` (naive = UTC, aware = converted) onwards; ``None`` = the real clock."""
    global _start
    if moment is None:
        _start = None
        return
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    _start = (moment, _time.monotonic())


def parse_local(text: str) -> datetime:
    """A local ISO date or date-time (``2027-02-28`` or ``2027-02-28T10:00``) as naive UTC."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=COMMUNITY_TZ)
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def utcnow() -> datetime:
    if _start is not None:
        moment, then = _start
        return moment + timedelta(seconds=_time.monotonic() - then)
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(value: datetime | None) -> datetime | None:
    """A naive UTC moment (as the database keeps them) on the community's clock.

    A value already local (aware) stays the same moment: converting twice once moved a printed window by 8 hours."""
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(COMMUNITY_TZ)
    return value.replace(tzinfo=timezone.utc).astimezone(COMMUNITY_TZ)


def from_local(day: date, time_of_day: time) -> datetime:
    """A date and time as read on a clock in the community, as naive UTC for the database."""
    local = datetime.combine(day, time_of_day, tzinfo=COMMUNITY_TZ)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def local_span(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    """A span typed as a day, a start and an end time (as on a duty form), as naive UTC.

    An end earlier than the start is on the next day: 22:00–02:00 is a night patrol ending at 02:00
    the morning after (the form says "次日 02:00"). An end equal to the start stays on the same day
    (an empty span, which the services refuse).
    """
    end_day = day + timedelta(days=1) if end < start else day
    return from_local(day, start), from_local(end_day, end)


def days_after(later: datetime, earlier: datetime) -> int:
    """How many calendar days in the community ``later`` (naive UTC) falls after ``earlier``: 1 = the next day."""
    return (to_local(later).date() - to_local(earlier).date()).days


def local_now() -> datetime:
    return to_local(utcnow())


def local_today() -> date:
    return local_now().date()


def start_of_local_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in the community, as naive UTC."""
    return from_local(day, time(0, 0))


def start_of_local_month(now: datetime) -> datetime:
    """Midnight on the 1st of the month of ``now`` (naive UTC) in the community, as naive UTC."""
    return start_of_local_day(to_local(now).date().replace(day=1))


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


if os.environ.get("GRIDAPP_CLOCK_AT"):
    start_at(parse_local(os.environ["GRIDAPP_CLOCK_AT"]))
