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
