"""Throttling of logins and registrations, counted where every worker and app server sees the same number.

By default the counters live in the database (``throttle_counters``): one row per key with the start of its
window and the attempts in it, moved by conditional UPDATEs, so two gunicorn workers (or two servers) cannot
each allow the limit. ``GRIDAPP_RATELIMIT_STORAGE_URI=redis://…`` (or ``memcached://…``) hands the counting
to Flask-Limiter with that store instead (see ``uses_database``).

An attempt is counted *before* the slow part (the password hash), so simultaneous attempts cannot slip
past the limit together; a login that succeeds gives its attempt back (only failures count).
"""
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import parse
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import DomainError
from ..extensions import db
from .models import ThrottleCounter

DATABASE = "database"
FORGET_AFTER = timedelta(days=1)  # rows idle this long are deleted as attempts go by


class TooManyAttempts(DomainError):
    default_message = _l("尝试次数过多，为保护账号安全，请稍等几分钟再试。")
    status = 429


def uses_database() -> bool:
    """True unless a Flask-Limiter store (redis://, memcached://, memory://) was configured."""
    return current_app.config.get("THROTTLE_STORAGE", DATABASE) == DATABASE


def limit_of(config_key: str) -> tuple[int, timedelta]:
    """A configured limit such as ``"5 per 10 minutes"`` as (5, 10 minutes)."""
    item = parse(current_app.config[config_key])
    return item.amount, timedelta(seconds=item.get_expiry())


def _count_one(key: str, amount: int, window: timedelta, now: datetime) -> bool:
    """One more attempt for ``key`` if it has any left in its window; False if it has none."""
    # A window that has run out starts again.
    db.session.execute(update(ThrottleCounter)
                       .where(ThrottleCounter.key == key, ThrottleCounter.window_started_at <= now - window)
                       .values(window_started_at=now, attempts=0))
    one_more = (update(ThrottleCounter).where(ThrottleCounter.key == key, ThrottleCounter.attempts < amount)
                .values(attempts=ThrottleCounter.attempts + 1))
    if db.session.execute(one_more).rowcount == 1:
        return True
    if db.session.scalar(select(ThrottleCounter.key).where(ThrottleCounter.key == key)) is not None:
        # The row exists. Another worker's first attempt may have made it since the UPDATE above (on
        # PostgreSQL each statement sees what was committed before it): count on it now; if nothing
        # moves now either, its attempts are used up.
        return db.session.execute(one_more).rowcount == 1
    try:
        with db.session.begin_nested():
            db.session.execute(insert(ThrottleCounter).values(key=key, window_started_at=now, attempts=1))
    except IntegrityError:  # another worker inserted it a moment ago: count on its row
        return _count_one(key, amount, window, now)
    return True


def count_attempt(limits: dict[str, tuple[int, timedelta]], now: datetime) -> None:
    """Count one attempt against every key of ``limits`` (key -> (amount, window)), all or none.

    Raises TooManyAttempts (and counts nothing) if any key has used its limit in its window. The caller
    commits at once, before the slow work, so that other workers see the attempt.
    """
    db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.window_started_at < now - FORGET_AFTER))
    for key, (amount, window) in limits.items():
        if not _count_one(key[:100], amount, window, now):
            raise TooManyAttempts()


def give_back(keys, now: datetime) -> None:
    """A login that succeeded: its attempt does not count against the keys."""
    db.session.execute(update(ThrottleCounter)
                       .where(ThrottleCounter.key.in_([key[:100] for key in keys]), ThrottleCounter.attempts > 0)
                       .values(attempts=ThrottleCounter.attempts - 1))
