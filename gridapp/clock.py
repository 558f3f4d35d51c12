"""Time: stored as naive UTC in the database, shown in the community's time zone."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

COMMUNITY_TZ = ZoneInfo("Asia/Urumqi")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(COMMUNITY_TZ)


def from_local(day, time_of_day) -> datetime:
    """A date and time as read on a clock in the community, as naive UTC for the database."""
    local = datetime.combine(day, time_of_day, tzinfo=COMMUNITY_TZ)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def local_today():
    return datetime.now(COMMUNITY_TZ).date()


def start_of_local_month(now: datetime) -> datetime:
    """Midnight on the 1st of this month in the community, as naive UTC."""
    local = to_local(now)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first.astimezone(timezone.utc).replace(tzinfo=None)
