"""积分公示: staff post a month's points for residents to check; volunteers object (异议) to their own
line while the posting is open; staff accept (a reversal and a new ledger entry, linked to the
objection: the ledger is never edited) or reject with a reason. And the month's 光荣榜.

Names are masked as Chinese notices do (张*军), and for names with a middle dot each part is masked
(艾**尔·拜*力); households are shown as 栋/单元 only. The figures of a posting are frozen when it is
published (one INSERT … SELECT aggregate over the ledger): what was posted is what people objected to.
"""
from datetime import datetime, timedelta

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, delete, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError

from ..auth.models import STAFF_ROLES, User
from ..auth.service import require_owner, require_role
from ..community.models import Household
from ..duty import service as duty
from ..duty.models import Attendance
from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from ..org.scope import current_scope, working_grid_id
from ..points import service as points
from ..points.models import PointsEntry
from ..reporting.months import Month
from ..reporting.service import ISSUED, SPENT
from .models import HonourRollOptOut, Objection, Posting, PostingLine

DEFAULT_WINDOW_DAYS = 5
MAX_WINDOW_DAYS = 30
HONOUR_ROLL_SIZE = 10
MIDDLE_DOTS = "·•・‧"


class AlreadyObjected(DomainError):
    default_message = _l("您已对这一行提出过异议，请等待网格员处理。")


class PostingClosed(DomainError):
    default_message = _l("公示期已于 %(closed)s 结束，不能再提出异议。如有疑问，请直接联系网格员。")


class NotYourLine(PermissionDenied):
    default_message = _l("只能对自己的积分提出异议。")


# --- masking ----------------------------------------------------------------------------------

def _mask_part(part: str) -> str:
    if len(part) <= 1:
        return part
    if len(part) == 2:
        return part[0] + "*"
    return part[0] + "*" * (len(part) - 2) + part[-1]


def mask_name(name: str) -> str:
    """张三军 -> 张*军, 马静 -> 马*, 欧阳振华 -> 欧**华; a name with a middle dot is masked part by part:
    艾力努尔·拜克力 -> 艾**尔·拜*力 (the dot is kept as written)."""
    name = (name or "").strip()
    out, part = [], ""
    for ch in name:
        if ch in MIDDLE_DOTS:
            out.append(_mask_part(part) + ch)
            part = ""
        else:
            part += ch
    out.append(_mask_part(part))
    return "".join(out)


def building_unit(household: Household | None) -> str:
    """3栋2单元 (never the room)."""
    if household is None:
        return ""
    return f"{household.building}栋{household.unit}单元"


# --- postings ----------------------------------------------------------------------------------

def get_posting(posting_id: int) -> Posting:
    posting = db.session.get(Posting, posting_id)
    if posting is None:
        raise NotFound()
    return posting


def postings(limit: int = 24) -> list[Posting]:
    return db.session.scalars(select(Posting).order_by(Posting.month.desc()).limit(limit)).all()


def _month_lines(month: Month, grid_id: int):
    """(volunteer, earned, spent, balance at the month's end) of each volunteer of ``grid_id`` with points
    earned or spent in ``month``: earned = awards less reversed awards, spent = spends less voided ones.
    The grid's own volunteers only: a points entry carries no grid, and another grid's volunteers are
    posted (and objected to) on their own grid's list."""
    in_month = and_(PointsEntry.created_at >= month.start, PointsEntry.created_at < month.end)
    earned = func.sum(case((and_(in_month, ISSUED), PointsEntry.delta), else_=0))
    spent = func.sum(case((and_(in_month, SPENT), -PointsEntry.delta), else_=0))
    of_this_grid = select(User.id).where(User.grid_id == grid_id)
    return (select(PointsEntry.volunteer_id, earned, spent, func.sum(PointsEntry.delta))
            .where(PointsEntry.created_at < month.end, PointsEntry.volunteer_id.in_(of_this_grid))
            .group_by(PointsEntry.volunteer_id)
            .having(or_(earned != 0, spent != 0)))


def check_publishable(actor: User, month: Month, now: datetime, window_days: int) -> None:
    """Raises DomainError unless ``actor`` may post ``month`` now: staff only; the month is over (its
    redemptions at the month-end counter belong on the list, and a month is posted once); a window of
    1…30 days; the month not posted yet in this grid."""
    require_role(actor, *STAFF_ROLES)
    if month.end > now:
        raise DomainError(_l("%(month)s还没有结束，月底之后才能公示：公示要列出全月的积分和兑换。"),
                          month=month.display())
    if not 1 <= int(window_days) <= MAX_WINDOW_DAYS:
        raise DomainError(_l("公示期应为 1 至 %(max)d 天。"), max=MAX_WINDOW_DAYS)
    if db.session.scalar(select(Posting.id).where(Posting.month == month.first_day)) is not None:
        raise DomainError(_l("%(month)s的积分已经公示过了。"), month=month.display())


def preview(actor: User, month: Month, now: datetime, window_days: int) -> int:
    """How many volunteers posting ``month`` now would list (for the confirmation before publishing, which
    cannot be undone); raises DomainError as ``publish`` would."""
    check_publishable(actor, month, now, window_days)
    lines_of_month = _month_lines(month, working_grid_id(db.session)).subquery()
    return db.session.scalar(select(func.count()).select_from(lines_of_month))


def publish(actor: User, month: Month, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS,
            note: str = "") -> Posting:
    """Post ``month``'s points from ``now`` for ``window_days`` days in the working grid: one line per
    volunteer of the grid (``_month_lines``). A month is posted once per grid, after it has ended.

    Raises DomainError as ``check_publishable`` says.
    """
    check_publishable(actor, month, now, window_days)
    posting = Posting(month=month.first_day, opens_at=now, closes_at=now + timedelta(days=int(window_days)),
                      note=(note or "").strip()[:200], published_by_id=actor.id, published_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(posting)
    except IntegrityError:
        raise DomainError(_l("%(month)s的积分已经公示过了。"), month=month.display()) from None
    month_lines = _month_lines(month, posting.grid_id).add_columns(literal(posting.id))
    db.session.execute(insert(PostingLine).from_select(
        ["volunteer_id", "earned", "spent", "balance", "posting_id"], month_lines))
    db.session.flush()
    return posting


def lines(posting: Posting, page: int = 1, per_page: int = 100):
    """The posting's lines with the volunteer and household, by building, unit and name (a page at a time)."""
    query = (select(PostingLine, User, Household).join(User, PostingLine.volunteer_id == User.id)
             .outerjoin(Household, User.household_id == Household.id)
             .where(PostingLine.posting_id == posting.id)
             .order_by(Household.building, Household.unit, User.name, PostingLine.id))
    return db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()


def line_count(posting: Posting) -> int:
    return db.session.scalar(select(func.count()).select_from(PostingLine)
                             .where(PostingLine.posting_id == posting.id))


def line_of(posting: Posting, volunteer: User) -> PostingLine | None:
    return db.session.scalar(select(PostingLine).where(PostingLine.posting_id == posting.id,
                                                       PostingLine.volunteer_id == volunteer.id))


def outcome_counts(posting: Posting) -> dict[str, int]:
    """Objections by status: {'open': n, 'accepted': n, 'rejected': n}."""
    counts = dict.fromkeys(("open", "accepted", "rejected"), 0)
    counts.update(db.session.execute(select(Objection.status, func.count()).where(Objection.posting_id == posting.id)
                                     .group_by(Objection.status)).all())
    return counts


def objections(posting: Posting) -> list[Objection]:
    """The posting's objections, open ones first, with what the staff page shows of each (the line,
    the volunteer, who resolved it and the entries it wrote) in the same query."""
    return db.session.scalars(
        select(Objection).where(Objection.posting_id == posting.id)
        .options(db.joinedload(Objection.line), db.joinedload(Objection.volunteer),
                 db.joinedload(Objection.resolved_by), db.joinedload(Objection.reversal_entry),
                 db.joinedload(Objection.new_entry))
        .order_by(Objection.status != "open", Objection.id)).all()


def my_objections(volunteer: User) -> list[Objection]:
    return db.session.scalars(select(Objection).where(Objection.volunteer_id == volunteer.id)
                              .order_by(Objection.id.desc())).all()


# --- objections ---------------------------------------------------------------------------------

def raise_objection(volunteer: User, line: PostingLine, reason: str, now: datetime) -> Objection:
    """A volunteer questions their own line, with a reason, while the posting is open; once per line.

    Raises NotYourLine (someone else's line), PostingClosed (outside the window), AlreadyObjected
    (a second objection on the line; UNIQUE line_id backs it), DomainError without a reason."""
    if volunteer.role != "volunteer":
        raise NotYourLine()
    require_owner(volunteer, line, error=NotYourLine)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("请写明异议的理由。"))
    posting = line.posting
    if not posting.is_open(now):
        from ..clock import to_local

        raise PostingClosed(closed=format_datetime(to_local(posting.closes_at), "yyyy-MM-dd HH:mm", rebase=False))
    if db.session.scalar(select(Objection.id).where(Objection.line_id == line.id)) is not None:
        raise AlreadyObjected()
    objection = Objection(line_id=line.id, posting_id=posting.id, volunteer_id=volunteer.id, reason=reason[:300],
                          status="open", raised_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(objection)
    except IntegrityError:
        raise AlreadyObjected() from None
    return objection


def get_objection(objection_id: int) -> Objection:
    """An objection of this grid's postings (through its posting: an objection carries no grid), or NotFound."""
    objection = db.session.scalar(select(Objection).join(Posting, Objection.posting_id == Posting.id)
                                  .where(Objection.id == objection_id))
    if objection is None:
        raise NotFound()
    return objection


def correctable_entries(objection: Objection) -> list[PointsEntry]:
    """The volunteer's awards of the posted month that are still standing: what an accepted
    objection may correct."""
    return correctable_entries_of(objection.line.posting, [objection])[objection.id]


def correctable_entries_of(posting: Posting, objections: list[Objection]) -> dict[int, list[PointsEntry]]:
    """``correctable_entries`` of several objections on one posting, in one query: objection id → entries."""
    if not objections:
        return {}
    month = Month(posting.month.year, posting.month.month)
    reversed_ids = select(PointsEntry.reverses_id).where(PointsEntry.reverses_id.is_not(None))
    entries = db.session.scalars(select(PointsEntry).where(
        PointsEntry.volunteer_id.in_({o.volunteer_id for o in objections}), PointsEntry.kind == "award",
        PointsEntry.created_at >= month.start, PointsEntry.created_at < month.end,
        PointsEntry.id.not_in(reversed_ids)).order_by(PointsEntry.created_at, PointsEntry.id)).all()
    return {o.id: [e for e in entries if e.volunteer_id == o.volunteer_id] for o in objections}


def _claim(objection: Objection, status: str, actor: User, now: datetime, resolution: str, **values) -> None:
    """Move an open objection to ``status`` (a conditional UPDATE: two staff cannot both resolve it)."""
    moved = db.session.execute(
        Objection.__table__.update().where(Objection.id == objection.id, Objection.status == "open")
        .values(status=status, resolved_by_id=actor.id, resolved_at=now, resolution=resolution[:300], **values)
    ).rowcount
    db.session.refresh(objection)
    if moved != 1:
        raise DomainError(_l("这条异议已经处理过了（%(status)s）。"), status=objection.status_label)


def accept(actor: User, objection: Objection, entry: PointsEntry, correct_points: int, note: str,
           now: datetime) -> Objection:
    """Accept an objection: ``entry`` (one of the volunteer's standing awards of the posted month) is
    reversed and a new award of ``correct_points`` is written, both linked to the objection; if the
    award pays for a duty attendance, the attendance now points at the new award (duty's correction).

    Raises DomainError when the objection is resolved already, the entry is not correctable, the
    points are not positive or unchanged, or there is no note; InsufficientPoints if lowering the
    award would take the balance below zero (the points were spent)."""
    require_role(actor, *STAFF_ROLES)
    if objection.status != "open":
        raise DomainError(_l("这条异议已经处理过了（%(status)s）。"), status=objection.status_label)
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("请填写更正说明。"))
    if entry is None or entry.id not in {e.id for e in correctable_entries(objection)}:
        raise DomainError(_l("请选择这位志愿者当月一条有效的积分记录。"))
    if correct_points is None or int(correct_points) <= 0:
        raise DomainError(_l("更正后的积分必须大于0。"))
    if int(correct_points) == entry.delta:
        raise DomainError(_l("更正后的积分与原积分相同。"))
    reason = f"积分公示异议#{objection.id}：{note}"
    attendance = db.session.scalar(select(Attendance).where(Attendance.award_entry_id == entry.id))
    if attendance is not None and attendance.status == "confirmed":
        duty.correct_points(actor, attendance, int(correct_points), reason, now)
        db.session.refresh(attendance)
        new_entry_id = attendance.award_entry_id
    else:
        points.reverse(entry, reason=reason, by=actor)
        volunteer = db.session.get(User, objection.volunteer_id)
        new_entry_id = points.award(volunteer, int(correct_points), reference=f"objection:{objection.id}",
                                    description=f"{entry.description}（{reason}）",
                                    key=f"objection:{objection.id}:award", by=actor).id
    reversal_id = db.session.scalar(select(PointsEntry.id).where(PointsEntry.reverses_id == entry.id))
    _claim(objection, "accepted", actor, now, note, reversal_entry_id=reversal_id, new_entry_id=new_entry_id)
    return objection


def reject(actor: User, objection: Objection, reason: str, now: datetime) -> Objection:
    """Reject an objection with a reason the volunteer will read. Raises DomainError without one,
    or when it was resolved already."""
    require_role(actor, *STAFF_ROLES)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("请填写不予采纳的理由。"))
    _claim(objection, "rejected", actor, now, reason)
    return objection


# --- 光荣榜 -----------------------------------------------------------------------------------

def honour_roll(month: Month, size: int = HONOUR_ROLL_SIZE) -> list[tuple[User, int]]:
    """The month's top volunteers by points earned (awards less reversed awards), without those who
    opted out; ties by name. Under a grid scope, the volunteers whose home grid is in it (the ledger carries
    no grid: another grid's top volunteer is on that grid's roll)."""
    earned = func.sum(PointsEntry.delta).label("earned")
    opted_out = select(HonourRollOptOut.volunteer_id)
    statement = (select(PointsEntry.volunteer_id, earned)
                 .where(PointsEntry.created_at >= month.start, PointsEntry.created_at < month.end, ISSUED,
                        PointsEntry.volunteer_id.not_in(opted_out))
                 .group_by(PointsEntry.volunteer_id).having(func.sum(PointsEntry.delta) > 0)
                 .order_by(earned.desc(), PointsEntry.volunteer_id).limit(size))
    scope = current_scope()
    if scope is not None:
        statement = statement.where(PointsEntry.volunteer_id.in_(select(User.id).where(User.grid_id.in_(scope.ids))))
    rows = db.session.execute(statement).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r[0] for r in rows])))}
    return [(users[vid], int(total)) for vid, total in rows]


def is_opted_out(volunteer: User) -> bool:
    return db.session.get(HonourRollOptOut, volunteer.id) is not None


def set_opt_out(volunteer: User, opted_out: bool) -> bool:
    """The volunteer leaves (True) or rejoins (False) the 光荣榜; doing it twice changes nothing."""
    if volunteer.role != "volunteer":
        raise PermissionDenied()
    if opted_out and not is_opted_out(volunteer):
        try:
            with db.session.begin_nested():
                db.session.add(HonourRollOptOut(volunteer_id=volunteer.id))
        except IntegrityError:
            pass
    elif not opted_out:
        db.session.execute(delete(HonourRollOptOut).where(HonourRollOptOut.volunteer_id == volunteer.id))
    return opted_out


def month_of(posting: Posting) -> Month:
    return Month(posting.month.year, posting.month.month)


def default_month(now: datetime) -> Month:
    """What staff usually post: last month."""
    return Month.of(now).previous()


