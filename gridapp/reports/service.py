"""The rules of hazard reports and micro-wishes: reporting, triage, points, and the echo wall.

A report moves one step at a time — 新上报 → 已受理 → 处理中 → 已解决, or 不予处理 from any open
step — by a conditional UPDATE (``WHERE status = <the step it is on>``), so two staff acting at
once cannot both move it, and a step can never be skipped. Each move writes one timeline event.

A hazard accepted by staff (已受理 is the confirmation) earns its reporter the points of its
category through the points ledger, with an idempotency key that is the same for every
simultaneous confirmation, so it is paid once; declining a paid report reverses the award.
Functions flush but never commit: the caller's transaction makes each action atomic, photo
files included (see ``photos.save_files``).
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from ..auth.models import STAFF_ROLES, User
from ..auth.service import require_owner, require_role
from ..clock import start_of_local_month, to_local
from ..community.service import normalise_address_part
from ..database import as_written
from ..duty.models import PRESENT, Attendance, DutySession
from ..errors import DomainError, NotFound
from ..extensions import db
from ..org.service import works_in_current_grid
from ..points import service as points
from ..points.models import PointsEntry
from . import photos as photo_files
from .models import (ASSIGNED, CATEGORIES, DEFAULT_HAZARD_POINTS, HAZARD_CATEGORIES, OPEN_STATUSES,
                     PARTNER_KINDS, STATUS_LABELS, HazardPoints, PartnerUnit, Report, ReportEvent,
                     ReportPhoto)

DESCRIPTION_MAX = 500
PLACE_MAX = 80
NOTE_MAX = 300
REASON_MAX = 200
QUEUE_PAGE_SIZE = 20
WALL_PAGE_SIZE = 12
WALL_MONTHS = 6
PATROL_GRACE = timedelta(hours=1)  # a volunteer may finish writing the report just after the patrol
REPORTERS = ("volunteer",) + STAFF_ROLES


class WrongStep(DomainError):
    default_message = _l("这条上报现在是“%(status)s”，不能直接%(action)s。请按 新上报 → 已受理 → 处理中 → 已解决 的顺序处理。")


class PhotoNotSaved(DomainError):
    default_message = _l("照片保存失败，请稍后重试。")
    status = 503


# --- settings: partner units and points ----------------------------------------------------

def partners(active_only: bool = True) -> list[PartnerUnit]:
    query = select(PartnerUnit).order_by(PartnerUnit.active.desc(), PartnerUnit.id)
    if active_only:
        query = query.where(PartnerUnit.active.is_(True))
    return list(db.session.scalars(query))


def add_partner(actor: User, *, name: str, kind: str, contact_name: str = "", phone: str = "") -> PartnerUnit:
    """Staff add a partner unit (物业, 供水, 供电, 供气 …). Raises DomainError for a name in use."""
    require_role(actor, *STAFF_ROLES)
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise DomainError(_l("请填写单位名称（不超过40个字）。"))
    if kind not in PARTNER_KINDS:
        raise DomainError(_l("请选择单位类型。"))
    if db.session.scalar(select(PartnerUnit.id).where(PartnerUnit.name == name)) is not None:
        raise DomainError(_l("已有名为“%(name)s”的单位。"), name=name)
    partner = PartnerUnit(name=name, kind=kind, contact_name=(contact_name or "").strip()[:40],
                          phone=(phone or "").strip()[:20])
    db.session.add(partner)
    db.session.flush()
    return partner


def set_partner_active(actor: User, partner: PartnerUnit, active: bool) -> PartnerUnit:
    """Staff stop (or resume) offering a partner unit for new assignments; its history stays."""
    require_role(actor, *STAFF_ROLES)
    partner.active = active
    db.session.flush()
    return partner


def get_partner(partner_id: int | None) -> PartnerUnit | None:
    if not partner_id:
        return None
    partner = db.session.get(PartnerUnit, partner_id)
    if partner is None:
        raise NotFound()
    return partner


def hazard_points() -> dict[str, int]:
    """Points per hazard category: the staff's setting, or the default (5)."""
    chosen = dict(db.session.execute(select(HazardPoints.category, HazardPoints.points)).all())
    return {category: chosen.get(category, DEFAULT_HAZARD_POINTS) for category in HAZARD_CATEGORIES}


def set_hazard_points(actor: User, category: str, value: int, now: datetime) -> None:
    """Staff set how many points a confirmed hazard of ``category`` earns (0 to 200; 0 = none).
    Reports confirmed before keep what they earned."""
    require_role(actor, *STAFF_ROLES)
    if category not in HAZARD_CATEGORIES:
        raise DomainError(_l("没有这个隐患类别。"))
    if not 0 <= value <= 200:
        raise DomainError(_l("积分需在0到200之间。"))
    row = db.session.get(HazardPoints, category)
    if row is None:
        db.session.add(HazardPoints(category=category, points=value, updated_by_id=actor.id, updated_at=now))
    else:
        row.points, row.updated_by_id, row.updated_at = value, actor.id, now
    db.session.flush()


# --- reporting -----------------------------------------------------------------------------

def current_patrol(volunteer: User, now: datetime) -> Attendance | None:
    """The duty session the volunteer is checked in to now (or finished within the last hour), if any."""
    if volunteer.role != "volunteer":
        return None
    return db.session.scalars(
        select(Attendance).join(DutySession, Attendance.session_id == DutySession.id)
        .where(Attendance.volunteer_id == volunteer.id, Attendance.status.in_(PRESENT),
               DutySession.checkin_opens_at <= now, DutySession.ends_at >= now - PATROL_GRACE)
        .options(joinedload(Attendance.session)).order_by(DutySession.starts_at.desc()).limit(1)).first()


def _text(value: str | None, limit: int, required_message=None) -> str:
    value = (value or "").strip()
    if required_message is not None and not value:
        raise DomainError(required_message)
    if len(value) > limit:
        raise DomainError(_l("内容太长：不能超过%(max)d个字。"), max=limit)
    return value


def _add_photos(report: Report, processed: list, stage: str, by: User, now: datetime) -> list[ReportPhoto]:
    rows = [ReportPhoto(report_id=report.id, stage=stage, key=photo_files.new_key(), width=p.width,
                        height=p.height, thumb_width=p.thumb_width, thumb_height=p.thumb_height,
                        size_bytes=len(p.full), created_by_id=by.id, created_at=now) for p in processed]
    db.session.add_all(rows)
    db.session.flush()
    try:
        for row, photo in zip(rows, processed):
            photo_files.save_files(db.session, photo, row.key)
    except OSError as exc:  # disk full, no permission: the transaction rolls back and takes the files along
        raise PhotoNotSaved() from exc
    return rows


def submit(reporter: User, *, category: str, description: str, building: str | None = None,
           unit: str | None = None, place: str = "", photos: list[bytes] = (), wall_consent: bool = False,
           attendance: Attendance | None = None, now: datetime) -> Report:
    """A volunteer, resident or grid worker reports a hazard or a micro-wish, with up to 3 photos.

    The photos are all checked before anything is written (BadPhoto, TooManyPhotos); the
    description is required (≤500), where is a building or a place (≤80). ``attendance`` links
    the report to the patrol the volunteer is on (it must be theirs, and current). A wish's
    ``wall_consent`` lets staff show it on the echo wall once solved; a hazard needs none.
    """
    require_role(reporter, *REPORTERS)
    if category not in CATEGORIES:
        raise DomainError(_l("请选择类别。"))
    description = _text(description, DESCRIPTION_MAX, _l("请写一下是什么问题或需要什么帮助。"))
    building = normalise_address_part(building or "")[:16] or None
    unit = normalise_address_part(unit or "")[:16] or None if building else None
    place = _text(place, PLACE_MAX)
    if building is None and not place:
        raise DomainError(_l("请选择楼栋，或写明位置（如：南门岗亭东侧）。"))
    if attendance is not None:
        patrol = current_patrol(reporter, now)
        if patrol is None or patrol.id != attendance.id:
            raise DomainError(_l("这次志愿服务已经结束，不能再关联。"))
    processed = photo_files.process_all(list(photos))
    kind = CATEGORIES[category][0]
    report = Report(kind=kind, category=category, description=description, building=building, unit=unit,
                    place=place, reporter_id=reporter.id, attendance_id=attendance.id if attendance else None,
                    wall_consent=bool(wall_consent) if kind == "wish" else True, status="new", created_at=now)
    db.session.add(report)
    db.session.flush()
    db.session.add(ReportEvent(report_id=report.id, from_status=None, to_status="new", actor_id=reporter.id,
                               note="", created_at=now))
    _add_photos(report, processed, "before", reporter, now)
    return report


# --- reading -------------------------------------------------------------------------------

def get_report(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_l("找不到这条上报。"))
    return report


def visible_report(viewer: User, report_id: int) -> Report:
    """The report, for its reporter or staff. Anyone else gets NotFound (as if it did not exist)."""
    return require_owner(viewer, get_report(report_id), staff_too=True, error=NotFound(_l("找不到这条上报。")))


def my_reports(reporter: User, page: int = 1):
    query = (select(Report).where(Report.reporter_id == reporter.id).order_by(Report.id.desc())
             .options(selectinload(Report.photos)))
    return db.paginate(query, page=page, per_page=QUEUE_PAGE_SIZE, error_out=False)


def is_overdue(report: Report, today: date) -> bool:
    return report.status in ASSIGNED and report.due_on is not None and report.due_on < today


QUEUE_FILTERS = ("new", "accepted", "in_progress", "overdue", "solved", "declined")


def queue(which: str, today: date, page: int = 1):
    """The staff's queue for one status (or ``overdue``): open items oldest first (by due date once
    assigned), closed items newest first."""
    query = select(Report).options(joinedload(Report.reporter), joinedload(Report.assignee),
                                   joinedload(Report.partner))
    if which == "overdue":
        query = query.where(Report.status.in_(ASSIGNED), Report.due_on < today).order_by(Report.due_on, Report.id)
    elif which == "new":
        query = query.where(Report.status == "new").order_by(Report.created_at, Report.id)
    elif which in ASSIGNED:
        query = query.where(Report.status == which).order_by(Report.due_on, Report.id)
    elif which in ("solved", "declined"):
        query = query.where(Report.status == which).order_by(Report.closed_at.desc(), Report.id.desc())
    else:
        raise NotFound()
    return db.paginate(query, page=page, per_page=QUEUE_PAGE_SIZE, error_out=False)


def queue_counts(today: date) -> dict[str, int]:
    counts = dict(db.session.execute(select(Report.status, func.count()).group_by(Report.status)).all())
    counts["overdue"] = db.session.scalar(select(func.count()).select_from(Report).where(
        Report.status.in_(ASSIGNED), Report.due_on < today))
    return {which: counts.get(which, 0) for which in QUEUE_FILTERS}


def open_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Report).where(Report.status.in_(OPEN_STATUSES)))


def staff_members() -> list[User]:
    """Who a report can be handed to: active staff and admins working in this grid."""
    return list(db.session.scalars(select(User).where(User.role.in_(STAFF_ROLES), User.status == "active",
                                                      works_in_current_grid(User.id))
                                   .order_by(User.id)))


# --- triage --------------------------------------------------------------------------------

ACTION_LABELS = {
    "accepted": _l("受理"),
    "in_progress": _l("开始处理"),
    "solved": _l("标记为已解决"),
    "declined": _l("不予处理"),
}


def _move(actor: User, report: Report, allowed_from: tuple, to_status: str, note: str, now: datetime,
          **values) -> bool:
    """Move the report to ``to_status`` if it is on one of ``allowed_from``, with a timeline event.

    Returns False when it is already at ``to_status`` (a double tap, or a colleague was first);
    raises WrongStep when it is elsewhere (a skipped step, or a closed report).
    """
    db.session.refresh(report)
    if report.status == to_status:
        return False
    if report.status not in allowed_from:
        raise WrongStep(status=STATUS_LABELS[report.status], action=ACTION_LABELS[to_status])
    before = report.status
    values = dict(status=to_status, **values)
    moved = db.session.execute(
        update(Report).where(Report.id == report.id, Report.status == before)
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.refresh(report)
        if report.status == to_status:
            return False
        raise WrongStep(status=STATUS_LABELS[report.status], action=ACTION_LABELS[to_status])
    as_written(report, values)  # the row holds these now: no SELECT to read them back
    db.session.add(ReportEvent(report_id=report.id, from_status=before, to_status=to_status, actor_id=actor.id,
                               note=note, created_at=now))
    db.session.flush()
    return True


def _award_key(report: Report) -> str:
    """The same for every simultaneous confirmation of this report; new after each reversal."""
    last_reversal = db.session.scalar(
        select(PointsEntry.id).where(PointsEntry.reference == report.reference, PointsEntry.kind == "reversal")
        .order_by(PointsEntry.id.desc()).limit(1))
    return f"{report.reference}:award:after:{last_reversal or 0}"


def _pay(actor: User, report: Report, now: datetime) -> None:
    reporter = db.session.get(User, report.reporter_id)
    amount = hazard_points()[report.category] if report.kind == "hazard" else 0
    if amount <= 0 or reporter.role != "volunteer":
        return
    day = to_local(report.created_at)
    entry = points.award(reporter, amount, reference=report.reference,
                         description=f"隐患上报：{report.category_label}（{day.month}月{day.day}日）",
                         key=_award_key(report), by=actor, at=now)
    db.session.execute(update(Report).where(Report.id == report.id).values(points_entry_id=entry.id)
                       .execution_options(synchronize_session=False))
    as_written(report, {"points_entry_id": entry.id})


def accept(actor: User, report: Report, *, assignee: User | None = None, partner: PartnerUnit | None = None,
           due_on: date, note: str = "", today: date, now: datetime) -> Report:
    """已受理: staff confirm the report and give it to a staff member or a partner unit, with a due date.

    A confirmed hazard pays its reporter (volunteers only) the category's points, exactly once:
    confirming again, or two staff confirming at once, changes nothing more. Raises WrongStep
    unless the report is 新上报, DomainError without someone responsible or with a past due date.
    """
    require_role(actor, *STAFF_ROLES)
    if assignee is None and partner is None:
        raise DomainError(_l("请指定负责的网格员或合作单位。"))
    if assignee is not None and (assignee.role not in STAFF_ROLES or not assignee.is_active):
        raise DomainError(_l("只能指派给在岗的网格员。"))
    if partner is not None and not partner.active:
        raise DomainError(_l("“%(name)s”已停用，请选择其他单位。"), name=partner.name)
    if due_on is None or due_on < today:
        raise DomainError(_l("处理期限不能早于今天。"))
    note = _text(note, NOTE_MAX)
    if _move(actor, report, ("new",), "accepted", note, now, assignee_id=assignee.id if assignee else None,
             partner_id=partner.id if partner else None, due_on=due_on, accepted_at=now):
        _pay(actor, report, now)
    return report


def start(actor: User, report: Report, note: str, now: datetime) -> Report:
    """处理中: the work has begun. Raises WrongStep unless the report is 已受理."""
    require_role(actor, *STAFF_ROLES)
    _move(actor, report, ("accepted",), "in_progress", _text(note, NOTE_MAX), now)
    return report


def solve(actor: User, report: Report, *, resolution: str, photos: list[bytes] = (), on_wall: bool | None = None,
          now: datetime) -> Report:
    """已解决: what was done (required), up to 3 photos after. Raises WrongStep unless 处理中.

    The echo wall shows it by default if it is a hazard, or a wish whose reporter agreed;
    ``on_wall`` overrides (a wish without consent never shows).
    """
    require_role(actor, *STAFF_ROLES)
    resolution = _text(resolution, DESCRIPTION_MAX, _l("请写明做了什么。"))
    processed = photo_files.process_all(list(photos))
    db.session.refresh(report)
    show = report.wall_consent if on_wall is None else (bool(on_wall) and report.wall_consent)
    if _move(actor, report, ("in_progress",), "solved", "", now, resolution=resolution, solved_at=now,
             closed_at=now, on_wall=show):
        _add_photos(report, processed, "after", actor, now)
    return report


def decline(actor: User, report: Report, reason: str, now: datetime) -> Report:
    """不予处理, with a reason, from any open step. Points paid for it are reversed (never edited);
    raises InsufficientPoints if the reporter has spent them, WrongStep for a closed report."""
    require_role(actor, *STAFF_ROLES)
    reason = _text(reason, REASON_MAX, _l("请填写不予处理的原因。"))
    if _move(actor, report, OPEN_STATUSES, "declined", reason, now, decline_reason=reason, closed_at=now):
        entry = report.points_entry
        if entry is not None and db.session.scalar(
                select(PointsEntry.id).where(PointsEntry.reverses_id == entry.id)) is None:
            points.reverse(entry, reason=f"不予处理：{reason}", by=actor)
    return report


def set_on_wall(actor: User, report: Report, show: bool) -> Report:
    """Staff choose whether a solved report appears on the echo wall. A wish needs its reporter's consent."""
    require_role(actor, *STAFF_ROLES)
    if report.status != "solved":
        raise DomainError(_l("只有已解决的上报才能上回音壁。"))
    if show and not report.wall_consent:
        raise DomainError(_l("上报人没有同意公开这条微心愿，不能上回音壁。"))
    report.on_wall = bool(show)
    db.session.flush()
    return report


# --- photos --------------------------------------------------------------------------------

def photo_for(viewer: User | None, key: str) -> tuple[ReportPhoto, bool]:
    """The photo with ``key`` if ``viewer`` may see it, and whether everyone may (it is on the echo wall).

    The reporter and staff see a report's photos; everyone else only those on the echo wall.
    Anything else is NotFound, whether or not the photo exists.
    """
    photo = db.session.scalar(select(ReportPhoto).where(ReportPhoto.key == key)
                              .options(joinedload(ReportPhoto.report)))
    if photo is None:
        raise NotFound()
    report = photo.report
    if report.status == "solved" and report.on_wall:
        return photo, True
    if viewer is None or not viewer.is_authenticated or not viewer.is_active:
        raise NotFound()
    require_owner(viewer, report, staff_too=True)
    return photo, False


# --- the echo wall -------------------------------------------------------------------------

def wall(page: int = 1):
    """Solved reports staff put on the echo wall, newest first, with photos and partner."""
    query = (select(Report).where(Report.on_wall.is_(True))
             .order_by(Report.solved_at.desc(), Report.id.desc())
             .options(selectinload(Report.photos), joinedload(Report.partner)))
    return db.paginate(query, page=page, per_page=WALL_PAGE_SIZE, error_out=False)


def hours_taken(report: Report) -> float:
    return max((report.solved_at - report.created_at).total_seconds() / 3600, 0)


@dataclass
class Month:
    first_day: date
    reported: int
    solved: int
    average_days: float | None


def _days_to_solve():
    """Days from report to solution, in SQL (each database has its own date arithmetic)."""
    if db.engine.dialect.name == "sqlite":
        return func.julianday(Report.solved_at) - func.julianday(Report.created_at)
    return func.extract("epoch", Report.solved_at - Report.created_at) / 86400.0


def wall_months(now: datetime, months: int = WALL_MONTHS) -> list[Month]:
    """For each of the last ``months`` months (the community's calendar), newest first: reports
    received, reports solved, and the average days from report to solution of those solved.
    One query over the window, whatever the number of reports."""
    starts = [start_of_local_month(now)]
    for _ in range(months - 1):
        starts.append(start_of_local_month(starts[-1] - timedelta(days=1)))
    columns = []
    for i, start in enumerate(starts):
        end = starts[i - 1] if i else None

        def within(column, start=start, end=end):
            return and_(column >= start, column < end) if end is not None else column >= start

        solved_in = and_(Report.status == "solved", within(Report.solved_at))
        columns += [func.sum(case((within(Report.created_at), 1), else_=0)),
                    func.sum(case((solved_in, 1), else_=0)),
                    func.avg(case((solved_in, _days_to_solve()), else_=None))]
    oldest = starts[-1]
    row = db.session.execute(select(*columns).where(or_(Report.created_at >= oldest, Report.solved_at >= oldest))).one()
    return [Month(first_day=to_local(start).date(), reported=int(row[3 * i] or 0), solved=int(row[3 * i + 1] or 0),
                  average_days=round(float(row[3 * i + 2]), 1) if row[3 * i + 2] is not None else None)
            for i, start in enumerate(starts)]
