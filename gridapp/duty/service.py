"""Duty rules: scheduling sessions, signing up, checking in and out, and the grid worker's roster.

Points are earned only through ``confirm`` (and changed only through ``reject`` and
``correct_points``), which call the points ledger in the caller's transaction. Places are
counted with conditional UPDATEs on ``duty_sessions.taken``, so simultaneous check-ins never
exceed the capacity, and every state change of an attendance is a conditional UPDATE too,
so a double tap finds nothing left to change. Every operation is atomic on its own (``@atomic``, a
savepoint): one that refuses — a full session, say, after its attendance row was written — leaves
nothing behind, even for a caller that catches the error and commits.

Capabilities above duty add rules for their own sessions through ``add_rule`` (an
``AttendanceRule``), called at check-in, before an award and after a reversal — campaigns pay a
person once per campaign that way, without duty importing campaigns.

Sessions that cross midnight (a night patrol 22:00 → 次日 02:00) are ordinary sessions: every
rule works on the stored instants (naive UTC), never on a calendar day. The check-in window runs
from ``opens_before`` the start to the end, across midnight; a volunteer still checked in at the
end is checked out at the end; a session stays among "today's and upcoming" sessions until it ends.

Which month a session's points count in: the month in which they are **confirmed**, i.e. the time
of the points entry, read in the community's zone (``clock.start_of_local_month``), which is what
我的积分's "this month" and every monthly figure use. A patrol from 31 Dec 22:00 to 1 Jan 02:00
confirmed on the morning of 1 Jan counts in January (the year's first month), although its
description in the history keeps the day it started ("12月31日"). The month-end exchange is on
the last day of the month, before such a patrol starts, so no point is ever earned in one month
and wanted at that month's counter.
"""
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..auth.models import STAFF_ROLES, User
from ..auth.service import require_role
from ..clock import to_local
from ..database import as_written, atomic
from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from ..org.scope import unscoped
from ..points import service as points
from ..points.models import PointsEntry
from .models import HOLDS_A_PLACE, PRESENT, Attendance, DutySession, DutyType

DEFAULT_OPENS_BEFORE = timedelta(minutes=30)
MAX_REPEAT_WEEKS = 26


class CheckInClosed(DomainError):
    default_message = _l("现在不在签到时间内。签到时间：%(opens)s 至 %(closes)s。")


class SessionFull(DomainError):
    default_message = _l("名额已满（共 %(capacity)d 人），请联系网格员。")


class AlreadyCheckedIn(DomainError):
    default_message = _l("您已于 %(time)s 签到，无需重复签到。")


class OtherGridSession(PermissionDenied):
    default_message = _l("这项志愿服务属于%(grid)s，您是%(home)s的志愿者，不能在这里签到或报名。请参加本网格的志愿服务。")


def require_home_grid(volunteer: User, session: DutySession) -> None:
    """A volunteer checks in (and signs up) only in their own grid: their points are paid from their
    grid's goods, and the session's staff know their own residents. Refused with OtherGridSession, which
    names the session's grid — a QR code of another grid says clearly whose it is."""
    if volunteer.grid_id is not None and volunteer.grid_id != session.grid_id:
        raise OtherGridSession(grid=session.grid.name, home=volunteer.grid.name)


class NotYourTeam(DomainError):
    default_message = _l("这项志愿服务仅限“%(team)s”队员参加。")


class SessionOver(DomainError):
    default_message = _l("这项志愿服务已经结束。")


class NotPresent(DomainError):
    default_message = _l("只能确认已签到的志愿者。")


class NotCheckedIn(DomainError):
    default_message = _l("您还没有签到，不能签退。")


class BadSchedule(DomainError):
    default_message = _l("时间安排有误。")


def _time(value: datetime) -> str:
    return format_datetime(to_local(value), "MM-dd HH:mm", rebase=False)


# --- rules that capabilities above duty add to some sessions -------------------------------

class AttendanceRule:
    """A rule a capability above duty adds to some of its sessions (campaigns: one award per
    campaign, whichever zone — see ``campaigns.service``). Duty does not know those sessions; it
    calls every registered rule, in the caller's transaction, at three moments. A rule refuses by
    raising a DomainError (the caller then rolls back, so nothing has changed)."""

    def before_present(self, volunteer: User, session: DutySession, now: datetime) -> str | None:
        """Before ``volunteer`` checks in or is marked present at ``session``. Returns a note for the
        roster (what the rule did), or None."""
        return None

    def before_award(self, attendance: Attendance) -> None:
        """Before ``attendance`` is confirmed and paid its points."""

    def after_reversal(self, attendance: Attendance) -> None:
        """After the award of ``attendance`` was reversed by a rejection."""


RULES: list[AttendanceRule] = []


def add_rule(rule: AttendanceRule) -> AttendanceRule:
    """Register a rule (once per kind: importing a module twice does not run it twice)."""
    if not any(type(known) is type(rule) for known in RULES):
        RULES.append(rule)
    return rule


def _before_present(volunteer: User, session: DutySession, now: datetime) -> tuple[str, ...]:
    return tuple(str(note) for rule in RULES if (note := rule.before_present(volunteer, session, now)))


# --- duty types and sessions ------------------------------------------------------------

@atomic
def add_duty_type(actor: User, name: str, default_points: int) -> DutyType:
    """Staff add a kind of duty. Raises PermissionDenied, or DomainError if the name exists."""
    require_role(actor, *STAFF_ROLES)
    if DutyType.query.filter_by(name=name).first() is not None:
        raise DomainError(_l("已有名为“%(name)s”的服务类型。"), name=name)
    duty_type = DutyType(name=name, default_points=default_points)
    db.session.add(duty_type)
    db.session.flush()
    return duty_type


@atomic
def schedule(actor: User, *, duty_type: DutyType, title: str, place: str, starts_at: datetime,
             ends_at: datetime, points: int | None = None, capacity: int | None = None, team=None,
             opens_before: timedelta = DEFAULT_OPENS_BEFORE, repeat_weeks: int = 1) -> list[DutySession]:
    """Staff schedule a duty session, or the same session weekly for ``repeat_weeks`` weeks.

    Points default to the type's; check-in opens ``opens_before`` the start and closes at the end.
    The end may be on the next day (a night patrol; the view turns an end time earlier than the start
    into the next day). Raises PermissionDenied, or BadSchedule for an end not after the start, a
    session over 24 hours or an unreasonable repeat.
    """
    require_role(actor, *STAFF_ROLES)
    if ends_at <= starts_at:
        raise BadSchedule(_l("结束时间必须晚于开始时间。"))
    if ends_at - starts_at > timedelta(hours=24):
        raise BadSchedule(_l("一次服务不能超过24小时。"))
    if not 1 <= repeat_weeks <= MAX_REPEAT_WEEKS:
        raise BadSchedule(_l("每周重复的周数需在1到%(max)d之间。"), max=MAX_REPEAT_WEEKS)
    series = secrets.token_hex(8) if repeat_weeks > 1 else None
    sessions = []
    for week in range(repeat_weeks):
        shift = timedelta(weeks=week)
        session = DutySession(
            duty_type=duty_type, title=title, place=place, starts_at=starts_at + shift, ends_at=ends_at + shift,
            checkin_opens_at=starts_at + shift - opens_before, checkin_closes_at=ends_at + shift,
            points=points or duty_type.default_points, capacity=capacity, team=team, series=series,
            created_by_id=actor.id,
        )
        db.session.add(session)
        sessions.append(session)
    db.session.flush()
    return sessions


def get_session(session_id: int) -> DutySession:
    session = db.session.get(DutySession, session_id)
    if session is None:
        raise NotFound()
    return session


def session_by_token(token: str) -> DutySession:
    """The session behind a printed QR code, in whichever grid (the code names it; the caller checks who
    may check in: ``require_home_grid``); raises NotFound."""
    with unscoped():
        session = DutySession.query.filter_by(token=token).one_or_none()
    if session is None:
        raise NotFound(_l("二维码无效：找不到这项志愿服务。"))
    return session


# The volunteer's list of sessions reads plain rows of the columns it shows (issue 14: the volunteer's home
# is the most viewed page; an entity per session and per attendance cost more than the rest of the query).
# They are the statement's ORM columns, so the grid scope's criteria apply as to the entities, and their
# rules are the models' own (``DutySession.window_open`` and ``is_full``, ``Attendance.status_label``).
@dataclass(frozen=True, slots=True)
class SessionLine:
    """A duty session as a volunteer's list shows it: read-only, not an ORM entity."""

    id: int
    title: str
    place: str
    points: int
    starts_at: datetime
    checkin_opens_at: datetime
    checkin_closes_at: datetime
    capacity: int | None
    taken: int

    is_full = DutySession.is_full
    window_open = DutySession.window_open


@dataclass(frozen=True, slots=True)
class AttendanceLine:
    """The volunteer's attendance at a listed session: read-only, not an ORM entity."""

    id: int
    status: str

    status_label = Attendance.status_label


@lru_cache(maxsize=8)  # a caller passing a new select every time gains nothing, and keeps nothing
def _sessions_for_volunteer_query(leaving_out):
    query = (select(DutySession.id, DutySession.title, DutySession.place, DutySession.points, DutySession.starts_at,
                    DutySession.checkin_opens_at, DutySession.checkin_closes_at, DutySession.capacity,
                    DutySession.taken, Attendance.id, Attendance.status)
             .outerjoin(Attendance, and_(Attendance.session_id == DutySession.id,
                                         Attendance.volunteer_id == db.bindparam("volunteer_id")))
             .where(DutySession.ends_at >= db.bindparam("now"), DutySession.starts_at <= db.bindparam("until"),
                    or_(DutySession.team_id.is_(None), DutySession.team_id == db.bindparam("team_id"))))
    if leaving_out is not None:
        query = query.where(DutySession.id.not_in(leaving_out))
    return query.order_by(DutySession.starts_at).limit(30)


def sessions_for_volunteer(volunteer: User, now: datetime, days: int = 7, *,
                           leaving_out=None) -> list[tuple[SessionLine, AttendanceLine | None]]:
    """Today's and upcoming sessions the volunteer may join (their team's or open to all), with their
    attendance — one query of plain rows. ``leaving_out``: a select of session ids not to list (the
    volunteer's home leaves a campaign's zone sessions to the campaign's card; pass the same select object
    each time).

    The statement is built once per ``leaving_out`` (the volunteer's home runs it on every view):
    SQLAlchemy finds its compiled SQL for a statement it has seen before without walking it again."""
    rows = db.session.execute(_sessions_for_volunteer_query(leaving_out),
                              {"volunteer_id": volunteer.id, "now": now, "until": now + timedelta(days=days),
                               "team_id": volunteer.team_id})
    return [(SessionLine(*row[:9]), AttendanceLine(row[9], row[10]) if row[9] is not None else None)
            for row in rows]


def attendance_history(volunteer: User, page: int = 1, per_page: int = 20):
    """Every session the volunteer signed up for or attended, newest first, one page at a time."""
    query = (Attendance.query.filter(Attendance.volunteer_id == volunteer.id)
             .join(DutySession, Attendance.session_id == DutySession.id)
             .options(db.contains_eager(Attendance.session))
             .order_by(DutySession.starts_at.desc(), Attendance.id.desc()))
    return query.paginate(page=page, per_page=per_page, error_out=False)


def attendance_of(volunteer: User, session: DutySession) -> Attendance | None:
    return Attendance.query.filter_by(session_id=session.id, volunteer_id=volunteer.id).one_or_none()


def staff_sessions(now: datetime, past: bool = False, page: int = 1):
    query = DutySession.query.options(db.joinedload(DutySession.duty_type))
    if past:
        query = query.filter(DutySession.ends_at < now).order_by(DutySession.starts_at.desc())
    else:
        query = query.filter(DutySession.ends_at >= now).order_by(DutySession.starts_at)
    return query.paginate(page=page, per_page=30, error_out=False)


# --- places ----------------------------------------------------------------------------

def _take_place(session: DutySession, *, over_capacity: bool = False) -> None:
    """Hold one place; refuses when full unless staff mark someone present (they came, so they count)."""
    condition = [DutySession.id == session.id]
    if not over_capacity:
        condition.append(or_(DutySession.capacity.is_(None), DutySession.taken < DutySession.capacity))
    moved = db.session.execute(update(DutySession).where(*condition).values(taken=DutySession.taken + 1)
                               .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise SessionFull(capacity=session.capacity)
    db.session.expire(session, ["taken"])


def _free_place(session: DutySession) -> None:
    db.session.execute(update(DutySession).where(DutySession.id == session.id, DutySession.taken > 0)
                       .values(taken=DutySession.taken - 1).execution_options(synchronize_session=False))
    db.session.expire(session, ["taken"])


def _transition(attendance: Attendance, from_statuses, **values) -> bool:
    """Move the attendance on only if it is still in one of ``from_statuses``; False if someone was first
    (the attendance is then read again). When it moved, the object holds ``values`` without reading
    the row back (``database.as_written``)."""
    moved = db.session.execute(
        update(Attendance).where(Attendance.id == attendance.id, Attendance.status.in_(from_statuses))
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.refresh(attendance)
        return False
    as_written(attendance, values)
    return True


def _new_attendance(session: DutySession, volunteer: User, **values) -> Attendance:
    """Insert the volunteer's row for this session; a concurrent insert of the same pair wins."""
    attendance = Attendance(session_id=session.id, volunteer_id=volunteer.id, **values)
    try:
        with db.session.begin_nested():
            db.session.add(attendance)
    except IntegrityError:
        return None
    return attendance


def _check_team(volunteer: User, session: DutySession) -> None:
    if session.team_id is not None and volunteer.team_id != session.team_id:
        raise NotYourTeam(team=session.team.name)


# --- volunteers ------------------------------------------------------------------------

@atomic
def sign_up(volunteer: User, session: DutySession, now: datetime) -> Attendance:
    """A volunteer signs up ahead (optional). Holds a place; raises SessionOver, NotYourTeam, SessionFull.

    Signing up again is a no-op.
    """
    require_role(volunteer, "volunteer")
    require_home_grid(volunteer, session)
    if now > session.ends_at:
        raise SessionOver()
    _check_team(volunteer, session)
    attendance = attendance_of(volunteer, session)
    if attendance is None:
        attendance = _new_attendance(session, volunteer, status="signed_up", signed_up_at=now)
        if attendance is None:
            return attendance_of(volunteer, session)
        _take_place(session)
    elif attendance.status == "cancelled":
        if _transition(attendance, ("cancelled",), status="signed_up", signed_up_at=now):
            _take_place(session)
    return attendance


@atomic
def cancel_sign_up(volunteer: User, session: DutySession) -> Attendance | None:
    """Withdraw a sign-up before checking in, freeing the place. A no-op when there is nothing to cancel."""
    attendance = attendance_of(volunteer, session)
    if attendance is not None and _transition(attendance, ("signed_up",), status="cancelled"):
        _free_place(session)
    return attendance


@atomic
def check_in(volunteer: User, session: DutySession, now: datetime) -> Attendance:
    """签到: the volunteer checks in inside the window (default 30 min before start until the end).

    Raises CheckInClosed, NotYourTeam, SessionFull, or AlreadyCheckedIn (with the time) on a second try,
    or the DomainError of a session rule (``RULES``); what a rule did is in ``attendance.notes``.
    """
    require_role(volunteer, "volunteer")
    require_home_grid(volunteer, session)
    if not session.window_open(now):
        raise CheckInClosed(opens=_time(session.checkin_opens_at), closes=_time(session.checkin_closes_at))
    _check_team(volunteer, session)
    attendance = attendance_of(volunteer, session)
    notes = _before_present(volunteer, session, now) if attendance is None or attendance.status in (
        "signed_up", "cancelled") else ()
    if attendance is None:
        attendance = _new_attendance(session, volunteer, status="checked_in", checked_in_at=now)
        if attendance is None:  # the same volunteer, a moment earlier, in another request
            attendance = attendance_of(volunteer, session)
        else:
            _take_place(session)
            attendance.notes = notes
            return attendance
    if attendance.status in ("signed_up", "cancelled"):
        was = attendance.status
        if _transition(attendance, (was,), status="checked_in", checked_in_at=now):
            if was == "cancelled":
                _take_place(session)
            attendance.notes = notes
            return attendance
    raise AlreadyCheckedIn(time=_time(attendance.checked_in_at or now))


@atomic
def check_out(volunteer: User, session: DutySession, now: datetime) -> Attendance:
    """签退. Raises NotCheckedIn if the volunteer has not checked in; checking out twice is a no-op."""
    attendance = attendance_of(volunteer, session)
    if attendance is None or attendance.status in ("signed_up", "cancelled"):
        raise NotCheckedIn()
    _transition(attendance, ("checked_in",), status="checked_out", checked_out_at=now)
    return attendance


# --- the grid worker's roster -----------------------------------------------------------

def roster(session: DutySession) -> list[Attendance]:
    order = {"checked_in": 0, "checked_out": 1, "signed_up": 2, "confirmed": 3, "rejected": 4, "cancelled": 5}
    rows = (session.attendances.filter(Attendance.status != "cancelled")
            .options(db.joinedload(Attendance.volunteer), db.joinedload(Attendance.award_entry)).all())
    return sorted(rows, key=lambda a: (order[a.status], a.checked_in_at or a.signed_up_at or datetime.min))


def get_attendance(session: DutySession, attendance_id: int) -> Attendance:
    attendance = db.session.get(Attendance, attendance_id)
    if attendance is None or attendance.session_id != session.id:
        raise NotFound()
    return attendance


@atomic
def mark_present(actor: User, session: DutySession, volunteer: User, now: datetime) -> Attendance:
    """Staff check in a volunteer without a phone (or from a paper sign-in sheet), at any time.

    They came, so they count even beyond the capacity. Marking someone present twice is a no-op.
    The session's rules (``RULES``) may refuse (a DomainError) or act first; what they did is in
    ``attendance.notes`` for the roster to say.
    """
    require_role(actor, *STAFF_ROLES)
    if volunteer.role != "volunteer" or not volunteer.is_active:
        raise DomainError(_l("只能为已启用的志愿者签到。"))
    values = dict(status="checked_in", checked_in_at=min(now, session.ends_at), marked_by_id=actor.id)
    attendance = attendance_of(volunteer, session)
    notes = _before_present(volunteer, session, now) if attendance is None or attendance.status in (
        "signed_up", "cancelled") else ()
    if attendance is None:
        attendance = _new_attendance(session, volunteer, **values)
        if attendance is not None:
            _take_place(session, over_capacity=True)
            attendance.notes = notes
            return attendance
        attendance = attendance_of(volunteer, session)
    if attendance.status in ("signed_up", "cancelled"):
        was = attendance.status
        if _transition(attendance, (was,), **values) and was == "cancelled":
            _take_place(session, over_capacity=True)
    attendance.notes = notes
    return attendance


def _award_key(attendance: Attendance) -> str:
    """The award's idempotency key: the same for every simultaneous confirm of this attendance,
    new after each reversal, so that one attendance has at most one unreversed award."""
    last_reversal = (db.session.query(PointsEntry.id)
                     .filter(PointsEntry.reference == attendance.reference, PointsEntry.kind == "reversal")
                     .order_by(PointsEntry.id.desc()).limit(1).scalar())
    return f"{attendance.reference}:award:after:{last_reversal or 0}"


def _description(session: DutySession) -> str:
    """What the volunteer reads in 我的积分: the duty and its day, so weekly duties can be told apart."""
    day = to_local(session.starts_at)
    return f"{session.duty_type.name}：{session.title}（{day.month}月{day.day}日）"


@atomic
def confirm(actor: User, attendance: Attendance, now: datetime, points_override: int | None = None) -> Attendance:
    """Staff confirm attendance: the volunteer earns the session's points, exactly once.

    Confirming a confirmed attendance is a no-op. A volunteer still checked in after the end is
    checked out at the end (marked automatic). Raises NotPresent for one who has not checked in, or
    the DomainError of a session rule that refuses the award (a campaign pays a person once).
    """
    require_role(actor, *STAFF_ROLES)
    if attendance.status == "confirmed":
        return attendance
    if attendance.status not in PRESENT:
        raise NotPresent()
    for rule in RULES:
        rule.before_award(attendance)
    session = attendance.session
    volunteer = db.session.get(User, attendance.volunteer_id)
    entry = points.award(volunteer, points_override or session.points, reference=attendance.reference,
                         description=_description(session), key=_award_key(attendance), by=actor, at=now)
    values = dict(status="confirmed", award_entry_id=entry.id, reviewed_by_id=actor.id, reviewed_at=now)
    if attendance.status == "checked_in" and now >= session.ends_at:
        values.update(checked_out_at=session.ends_at, auto_checked_out=True)
    if not _transition(attendance, PRESENT, **values):
        if attendance.status == "confirmed":
            # Someone confirmed first; the award above was theirs (same key), so nothing changed.
            return attendance
        raise NotPresent()
    return attendance


def awaiting_confirmation(session: DutySession) -> list[Attendance]:
    """Who checked in or out and waits for staff to confirm (and award points), in check-in order."""
    return (session.attendances.filter(Attendance.status.in_(PRESENT))
            .order_by(Attendance.checked_in_at, Attendance.id).all())


@atomic
def confirm_all_present(actor: User, session: DutySession, now: datetime) -> int:
    """Confirm everyone checked in or out; returns how many were confirmed now."""
    require_role(actor, *STAFF_ROLES)
    confirmed = 0
    for attendance in session.attendances.filter(Attendance.status.in_(PRESENT)).all():
        before = attendance.status
        confirm(actor, attendance, now)
        confirmed += before != attendance.status
    return confirmed


@atomic
def reject(actor: User, attendance: Attendance, reason: str, now: datetime) -> Attendance:
    """Staff reject an attendance with a reason; points already awarded are reversed (never edited).

    Raises InsufficientPoints if those points were spent already, DomainError without a reason.
    """
    require_role(actor, *STAFF_ROLES)
    if not reason:
        raise DomainError(_l("请填写不通过的原因。"))
    if attendance.status == "rejected":
        return attendance
    if attendance.status == "confirmed" and attendance.award_entry is not None:
        points.reverse(attendance.award_entry, reason=reason, by=actor)
        for rule in RULES:
            rule.after_reversal(attendance)
    _transition(attendance, PRESENT + ("confirmed", "signed_up"), status="rejected", rejection_reason=reason,
                reviewed_by_id=actor.id, reviewed_at=now)
    return attendance


@atomic
def correct_points(actor: User, attendance: Attendance, new_points: int, reason: str, now: datetime) -> Attendance:
    """Change the points of a confirmed attendance: a reversal entry plus a new award, never an edit."""
    require_role(actor, *STAFF_ROLES)
    if attendance.status != "confirmed":
        raise DomainError(_l("只有已确认的记录才能更正积分。"))
    if not reason:
        raise DomainError(_l("请填写更正的原因。"))
    if new_points <= 0:
        raise DomainError(_l("积分必须大于0。"))
    if attendance.award_entry.delta == new_points:
        return attendance
    points.reverse(attendance.award_entry, reason=reason, by=actor)
    volunteer = db.session.get(User, attendance.volunteer_id)
    entry = points.award(volunteer, new_points, reference=attendance.reference,
                         description=f"{_description(attendance.session)}（更正：{reason}）",
                         key=_award_key(attendance), by=actor)
    _transition(attendance, ("confirmed",), award_entry_id=entry.id, reviewed_by_id=actor.id, reviewed_at=now)
    return attendance


def place_holders(session: DutySession) -> int:
    """How many attendances hold a place (what ``taken`` must equal)."""
    return db.session.scalar(select(db.func.count()).select_from(Attendance).where(
        Attendance.session_id == session.id, Attendance.status.in_(HOLDS_A_PLACE)))
