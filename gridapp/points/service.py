"""The points ledger's rules (DESIGN.md §5).

Every change is an append-only ``PointsEntry`` plus a conditional UPDATE of the cached
``users.points_balance`` in the same transaction; the database refuses a negative balance
(CHECK), a second entry with the same idempotency key (UNIQUE), a second reversal of one
entry (UNIQUE ``reverses_id``), and any UPDATE or DELETE of an entry (trigger).
Functions flush but never commit: the caller's transaction makes the whole action atomic. Each one is
also atomic on its own (``@atomic``, a savepoint): one that refuses leaves nothing behind, even for a
caller that catches the error and commits.
"""
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..auth.models import User
from ..clock import utcnow
from ..database import atomic
from ..errors import DomainError
from ..extensions import db
from .models import PointsEntry

HISTORY_PAGE_SIZE = 20


class InsufficientPoints(DomainError):
    default_message = _l("积分不足：需要 %(needed)d 分，现有 %(balance)d 分。")


class NotReversible(DomainError):
    default_message = _l("冲正记录本身不能再冲正。")


def _existing(key: str) -> PointsEntry | None:
    return PointsEntry.query.filter_by(idempotency_key=key).one_or_none()


@cache
def _move_balance_statement():
    """Built once (see the statements of 我的积分 below): the conditional UPDATE of the cached balance."""
    delta = bindparam("delta")
    return (update(User).where(User.id == bindparam("volunteer_id"), User.points_balance + delta >= 0)
            .values(points_balance=User.points_balance + delta).execution_options(synchronize_session=False))


def _apply(volunteer: User, delta: int, kind: str, reference: str, description: str, key: str,
           by: User | None, reverses: PointsEntry | None = None, at: datetime | None = None) -> PointsEntry:
    """Write one entry and move the cached balance, or do nothing if ``key`` was used before (the UNIQUE
    key decides: the INSERT is tried first, so the usual case — a new key — costs no extra SELECT)."""
    entry = PointsEntry(volunteer_id=volunteer.id, delta=delta, kind=kind, reference=reference,
                        description=description[:200], idempotency_key=key,
                        created_by_id=by.id if by else None, reverses_id=reverses.id if reverses else None,
                        created_at=at or utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        # The key was used before, or a concurrent request with the same key won: its entry is the result.
        previous = _existing(key)
        if previous is None:
            raise
        return previous
    # The balance moves only if it stays >= 0; CHECK (points_balance >= 0) is the last line of defence.
    moved = db.session.execute(_move_balance_statement(), {"volunteer_id": volunteer.id, "delta": delta}).rowcount
    if moved != 1:
        db.session.refresh(volunteer, ["points_balance"])  # the message must show the real balance
        raise InsufficientPoints(needed=-delta, balance=volunteer.points_balance)
    db.session.expire(volunteer, ["points_balance"])
    return entry


@atomic
def award(volunteer: User, points: int, *, reference: str, description: str, key: str,
          by: User | None = None, at: datetime | None = None) -> PointsEntry:
    """Add ``points`` (> 0) to the volunteer's balance, as of ``at`` (default now).
    The same ``key`` again returns the first entry."""
    if points <= 0:
        raise DomainError(_l("奖励积分必须大于0。"))
    return _apply(volunteer, points, "award", reference, description, key, by, at=at)


@atomic
def spend(volunteer: User, points: int, *, reference: str, description: str, key: str,
          by: User | None = None, at: datetime | None = None) -> PointsEntry:
    """Take ``points`` (> 0) from the balance, as of ``at`` (default now: the redemption's own time).
    Raises InsufficientPoints if the balance does not cover it."""
    if points <= 0:
        raise DomainError(_l("扣减积分必须大于0。"))
    return _apply(volunteer, -points, "spend", reference, description, key, by, at=at)


@atomic
def reverse(entry: PointsEntry, *, reason: str, by: User | None = None, at: datetime | None = None) -> PointsEntry:
    """Undo ``entry`` with an entry of the opposite sign, as of ``at`` (default now). Each entry is reversed
    at most once: reversing it again returns the first reversal.

    Raises NotReversible for a reversal, InsufficientPoints if reversing an award would take
    the balance below zero (the points were spent already).
    """
    if entry.kind == "reversal":
        raise NotReversible()
    key = f"reversal:{entry.id}"
    earlier = PointsEntry.query.filter_by(reverses_id=entry.id).one_or_none()
    if earlier is not None:
        return earlier
    volunteer = db.session.get(User, entry.volunteer_id)
    return _apply(volunteer, -entry.delta, "reversal", entry.reference,
                  f"冲正：{entry.description}（{reason}）", key, by, reverses=entry, at=at)


def balance(volunteer: User) -> int:
    """The volunteer's current balance: the cached column, kept equal to the sum of entries.

    Read from the loaded user (every change here expires it, so it is reloaded after a change);
    spending never trusts it: the conditional UPDATE decides.
    """
    return volunteer.points_balance


@cache
def _balance_after_query():
    return select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
        PointsEntry.volunteer_id == bindparam("volunteer_id"), PointsEntry.id <= bindparam("entry_id"))


def balance_after_entry(volunteer_id: int, entry_id: int) -> int:
    """The volunteer's balance right after their entry ``entry_id``: the sum of their entries up to and
    including it (entries are append-only, so this never changes — a receipt shows it as 剩余积分). From the
    ids alone: a record that names its entry, such as a redemption, need not load the entry first."""
    return int(db.session.scalar(_balance_after_query(), {"volunteer_id": volunteer_id, "entry_id": entry_id}))


# The statements of 我的积分 are built once (on first use): SQLAlchemy finds the compiled SQL of a
# statement object it has seen before without walking it again, which a statement built anew on
# every view costs (about a tenth of the page's CPU for these three).

@cache
def _earned_since_query():
    earning = or_(PointsEntry.kind == "award", and_(PointsEntry.kind == "reversal", PointsEntry.delta < 0))
    return select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
        PointsEntry.volunteer_id == bindparam("volunteer_id"), PointsEntry.created_at >= bindparam("since"), earning)


def earned_since(volunteer: User, since: datetime) -> int:
    """Points earned (awards less reversed awards) since ``since``, for "this month"."""
    total = db.session.scalar(_earned_since_query(), {"volunteer_id": volunteer.id, "since": since})
    return max(int(total), 0)


# The history pages only read a line's words, time, points and who confirmed it: plain rows of those
# columns spare the ORM an entity (and the confirming user's) per row (bench/README: 我的积分 ×0.85–0.87).
# The confirming user is what the entry points at, followed freely as a relationship load would be (the
# grid scope's criteria never apply to one): joined as the plain table, which the criteria do not touch
# (tests/points/test_history_rows.py).
@dataclass(frozen=True, slots=True)
class Confirmer:
    name: str


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One line of a volunteer's history as the pages show it: read-only, not an ORM entity."""

    id: int
    kind: str
    delta: int
    description: str
    created_at: datetime
    created_by: Confirmer | None


@cache
def _history_queries():
    """(a page of lines, their count): built once, the volunteer and the page as bound parameters."""
    creator = User.__table__.alias("creator")
    mine = PointsEntry.volunteer_id == bindparam("volunteer_id")
    lines = (select(PointsEntry.id, PointsEntry.kind, PointsEntry.delta, PointsEntry.description,
                    PointsEntry.created_at, creator.c.name)
             .outerjoin(creator, creator.c.id == PointsEntry.created_by_id).where(mine)
             .order_by(PointsEntry.id.desc()).limit(bindparam("limit")).offset(bindparam("offset")))
    return lines, select(func.count()).select_from(PointsEntry).where(mine)


class HistoryPage(Pagination):
    """A page of ``history``: Flask-SQLAlchemy's pager (``items``, ``total``, ``pages``, ``iter_pages`` …)
    over the two statements built once."""

    def _query_items(self) -> list[HistoryLine]:
        lines, _count = _history_queries()
        params = {"volunteer_id": self._query_args["volunteer_id"], "limit": self.per_page,
                  "offset": self._query_offset}
        return [HistoryLine(id_, kind, delta, description, created_at, Confirmer(name) if name is not None else None)
                for id_, kind, delta, description, created_at, name in db.session.execute(lines, params)]

    def _query_count(self) -> int:
        _lines, count = _history_queries()
        return db.session.scalar(count, {"volunteer_id": self._query_args["volunteer_id"]})


def history(volunteer: User, page: int = 1, per_page: int = HISTORY_PAGE_SIZE) -> HistoryPage:
    """The volunteer's entries, newest first, one page at a time (keyset-friendly index on volunteer_id, id),
    as read-only ``HistoryLine``s; a page past the end is empty, not an error."""
    return HistoryPage(page=page, per_page=per_page, error_out=False, volunteer_id=volunteer.id)
