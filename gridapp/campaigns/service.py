"""Campaign rules: drafts, zones, "一键发起扫雪", publishing, sign-up per zone, finishing.

How a campaign uses the duty capability (no second implementation of check-in or points):

- Publishing schedules one duty session per zone with ``duty.schedule`` (capacity = the
  zone's people needed, points = the campaign's), and links it to the zone.
- A volunteer's place in a zone *is* their duty attendance at the zone's session: signing up
  for a zone calls ``duty.sign_up``, cancelling calls ``duty.cancel_sign_up``, so capacity is
  counted by duty's conditional UPDATE, and check-in, the roster, confirmation and points are
  duty's. A cancel on the duty page and one here are the same thing; nothing can drift apart.
- The one rule duty does not know, one zone per volunteer per campaign, is checked here under
  a lock on the campaign row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write
  transactions are serial already), so two simultaneous sign-ups cannot both pass.

One award per campaign (``OneAwardPerCampaign``, a rule duty calls for every session): a person
earns a campaign's points once, whichever zones they are marked in.

- Checked in or marked present in a zone while only *signed up* for another zone of the same
  campaign: they are **moved** — the other sign-up is cancelled (its place freed) and the roster
  says so ("原报名的“A”已取消，改在“B”签到"). Where a person actually turns up wins over a sign-up.
- Already *present* (checked in, out, or confirmed) in another zone: **refused** with
  ``PresentInAnotherZone``, naming that zone. If the first zone was a mistake, staff reject that
  attendance (its points, if any, are reversed) and then mark the person here.
- A *rejected* attendance elsewhere earns nothing and does not count.
- The award itself: confirming writes a ``CampaignAward`` row, UNIQUE (campaign, volunteer), before
  the points; a second award for the same campaign is refused with ``AwardedInAnotherZone`` — by
  the check here, and by the database when two confirmations race. A rejection removes the row
  (the award is reversed), so the person can then be paid in the right zone; a points correction
  keeps it. ``flask verify`` (``checks.py``) finds any double award, e.g. from before this rule.

Every function flushes but never commits: the view's transaction makes each action atomic.
"""
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from functools import cache

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, delete, func, join, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..auth.models import STAFF_ROLES, User
from ..auth.service import require_role
from ..clock import from_local, to_local
from ..duty import service as duty
from ..duty.models import HOLDS_A_PLACE, PRESENT, Attendance, DutySession, DutyType
from ..errors import DomainError, NotFound
from ..extensions import db
from ..org.service import current_grid, letterhead
from .models import Campaign, CampaignAward, CampaignZone

SNOW = "扫雪除冰"
SNOW_DEFAULT_POINTS = 15
MAX_ZONES = 12
MAX_HOURS = 24  # what duty.schedule accepts for one session


# --- domain errors (Chinese first; English in the catalog) -------------------------------

class NoZones(DomainError):
    default_message = _l("还没有划分区域，不能发布。请先添加至少一个区域。")


class InThePast(DomainError):
    default_message = _l("活动开始时间（%(time)s）已经过去，请改到以后的时间。")


class NotADraft(DomainError):
    default_message = _l("这次活动已经发布，不能再这样操作。")


class CampaignClosed(DomainError):
    default_message = _l("这次活动已经结束，不能再报名或修改。")


class NotPublished(DomainError):
    default_message = _l("这次活动还没有发布，暂时不能报名。")


class ZoneFull(DomainError):
    default_message = _l("“%(zone)s”名额已满（共 %(capacity)d 人），请选择其他区域。")


class AlreadySignedUp(DomainError):
    default_message = _l("您已报名“%(zone)s”，无需重复报名。")


class InAnotherZone(DomainError):
    default_message = _l("您已报名“%(zone)s”。每次活动只能报一个区域，如需换区，请先取消报名。")


class AssignedElsewhere(DomainError):
    default_message = _l("%(name)s 已报名“%(zone)s”。请先在该区域取消，再分配到这里。")


class AssignedHere(DomainError):
    default_message = _l("%(name)s 已在“%(zone)s”，无需重复分配。")


class NotSignedUp(DomainError):
    default_message = _l("您还没有报名这次活动。")


class AlreadyThere(DomainError):
    default_message = _l("您已在“%(zone)s”签到，不能再取消报名。")


class PresentInAnotherZone(DomainError):
    default_message = _l("%(name)s 已在“%(zone)s”签到。每次活动只计一个区域、积分只得一次；"
                         "如签错了区域，请先在“%(zone)s”的签到名单中将其标为不通过，再在这里签到。")


class AwardedInAnotherZone(DomainError):
    default_message = _l("%(name)s 已在“%(zone)s”获得这次活动的积分，每次活动只得一次。"
                         "如区域记错了，请先在“%(zone)s”的签到名单中将其标为不通过。")


class ZoneHasPeople(DomainError):
    default_message = _l("“%(zone)s”已有 %(n)d 人报名或签到，不能删除。请先取消他们的报名或调到其他区域。")


class NeededBelowTaken(DomainError):
    default_message = _l("“%(zone)s”已有 %(n)d 人报名，需要人数不能少于 %(n)d。")


class DuplicateZone(DomainError):
    default_message = _l("这次活动已有名为“%(zone)s”的区域。")


class TooManyZones(DomainError):
    default_message = _l("一次活动最多划分 %(max)d 个区域。")


class BadTimes(DomainError):
    default_message = _l("结束时间必须晚于开始时间。")


class NotStarted(DomainError):
    default_message = _l("活动还没开始，不能结束。")


# --- what staff fill in ----------------------------------------------------------------

@dataclass
class Details:
    """The campaign's own fields, as the form gives them (times already naive UTC)."""

    title: str
    duty_type: DutyType
    starts_at: datetime
    ends_at: datetime
    meeting_point: str
    organiser: str
    contact_name: str = ""
    contact_phone: str = ""
    body: str = ""
    tools: str = ""
    safety: str = ""
    points: int = SNOW_DEFAULT_POINTS


@dataclass
class ZoneDetails:
    name: str
    needed: int
    description: str = ""
    team: str = ""
    leader_name: str = ""
    leader_phone: str = ""


# The texts of the 26 December campaign in the source report: "一键发起扫雪" starts from them
# when there is no earlier snow campaign to copy. The grid's names fill them in (``snow_template``).
SNOW_TEXTS = dict(
    title="关于开展扫雪除冰志愿服务活动的通知",
    body=("各位党员、志愿者、居民朋友：\n"
          "近期受大雪影响，小区人行道及部分背街小巷出现积雪结冰现象。为确保居民出行安全，"
          "{organiser}组织开展“双报到双服务”扫雪除冰志愿服务活动，按照区域分工，"
          "对小区和主要道路上的积雪进行集中清扫。欢迎在职党员、志愿者和居民朋友踊跃参加！"),
    tools="铁锹、扫帚、推雪板、手套（社区备有部分工具，可到集合地点领取）",
    safety=("穿防滑鞋、戴手套，注意脚下结冰路面。\n"
            "清扫时留意过往车辆，不在车辆前后作业。\n"
            "年老体弱者量力而行，身体不适请及时告诉区域负责人。"),
    points=SNOW_DEFAULT_POINTS,
    start=time(10, 0),
    hours=2,
)


def snow_template(grid) -> dict:
    """The 26 December texts for ``grid``: the meeting point is its counter place (else its name), the
    organiser its community's (its 党总支; else the grid's own organiser), named in the body too."""
    names = letterhead(grid)
    organiser = names.community_organiser or names.organiser
    return dict(SNOW_TEXTS, meeting_point=names.counter_place or names.grid, organiser=organiser,
                body=SNOW_TEXTS["body"].format(organiser=organiser))


def default_title(kind: str, day: date) -> str:
    """A campaign's default title carries its date, so that lists tell campaigns apart: "12月26日扫雪除冰"."""
    return f"{day.month}月{day.day}日{kind}"


def notice_heading(title: str) -> str:
    """The notice's heading: a title written as a notice ("关于……的通知") as it is; a short title such as
    "12月26日扫雪除冰" becomes "关于开展12月26日扫雪除冰志愿服务活动的通知"."""
    if title.startswith("关于") or title.endswith("通知"):
        return title
    return f"关于开展{title}志愿服务活动的通知"


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise BadTimes()
    if ends_at - starts_at > timedelta(hours=MAX_HOURS):
        raise BadTimes(_l("一次活动不能超过24小时。"))


def _local_time(value: datetime) -> str:
    return format_datetime(to_local(value), "MM-dd HH:mm", rebase=False)


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise InThePast(time=_local_time(starts_at))


# --- reading ---------------------------------------------------------------------------

def get_campaign(campaign_id: int) -> Campaign:
    """The campaign with this id (any status), its kind and zones (with their duty sessions) loaded in
    one query; raises NotFound."""
    campaign = (Campaign.query.options(db.joinedload(Campaign.duty_type),
                                       db.joinedload(Campaign.zones).joinedload(CampaignZone.session))
                .filter(Campaign.id == campaign_id).one_or_none())
    if campaign is None:
        raise NotFound()
    return campaign


def visible_campaign(user: User, campaign_id: int) -> Campaign:
    """The campaign as ``user`` may see it: a draft exists only for staff (NotFound otherwise)."""
    campaign = get_campaign(campaign_id)
    if campaign.is_draft and user.role not in STAFF_ROLES:
        raise NotFound()
    return campaign


def get_zone(campaign: Campaign, zone_id: int) -> CampaignZone:
    """A zone of this campaign; a zone of another campaign is NotFound (ids in URLs are checked)."""
    zone = db.session.get(CampaignZone, zone_id)
    if zone is None or zone.campaign_id != campaign.id:
        raise NotFound()
    return zone


def staff_campaigns(limit: int = 50) -> list[Campaign]:
    """Drafts first, then published, then finished; newest first within each."""
    order = db.case({"draft": 0, "published": 1, "finished": 2}, value=Campaign.status)
    return (Campaign.query.options(db.selectinload(Campaign.zones).joinedload(CampaignZone.session))
            .order_by(order, Campaign.starts_at.desc(), Campaign.id.desc()).limit(limit).all())


def last_snow_campaign() -> Campaign | None:
    """The snow campaign to copy: the one with the latest date (any status)."""
    return (Campaign.query.join(DutyType, Campaign.duty_type_id == DutyType.id).filter(DutyType.name == SNOW)
            .order_by(Campaign.starts_at.desc(), Campaign.id.desc()).first())


def places_of(volunteer: User, campaigns: list[Campaign]) -> dict[int, tuple[CampaignZone, Attendance]]:
    """For each campaign id, the volunteer's zone and attendance (holding a place), if any."""
    if not campaigns:
        return {}
    rows = db.session.execute(
        select(CampaignZone, Attendance)
        .join(Attendance, Attendance.session_id == CampaignZone.session_id)
        .options(db.joinedload(CampaignZone.session))  # the zone's card shows its check-in button
        .where(CampaignZone.campaign_id.in_([c.id for c in campaigns]), Attendance.volunteer_id == volunteer.id,
               Attendance.status.in_(HOLDS_A_PLACE))
        .order_by(Attendance.id)).all()
    return {zone.campaign_id: (zone, attendance) for zone, attendance in rows}


def place_of(volunteer: User, campaign: Campaign) -> tuple[CampaignZone, Attendance] | None:
    """The volunteer's zone in this campaign and their attendance there, or None."""
    return places_of(volunteer, [campaign]).get(campaign.id)


# The volunteer's campaign cards read plain rows of what they show (issue 14, as duty.sessions_for_volunteer):
# the ORM columns of the campaign, the zone where the volunteer holds a place, its session's check-in window
# and the attendance, so the grid scope's criteria apply as to the entities.
@dataclass(frozen=True, slots=True)
class CampaignCard:
    """A published campaign as the volunteer's home shows it: read-only, not an ORM entity."""

    id: int
    title: str
    starts_at: datetime
    meeting_point: str
    points: int


@dataclass(frozen=True, slots=True)
class ZoneCard:
    """The zone where the volunteer holds a place, with its session's check-in window (a zone is given its
    session when the campaign is published)."""

    name: str
    session_id: int | None
    checkin_opens_at: datetime | None
    checkin_closes_at: datetime | None

    def window_open(self, now: datetime) -> bool:
        return self.session_id is not None and DutySession.window_open(self, now)


@cache
def _campaigns_for_volunteer_query():
    first = (select(Campaign.id).where(Campaign.status == "published", Campaign.ends_at >= bindparam("now"))
             .order_by(Campaign.starts_at, Campaign.id).limit(10))
    counted = aliased(CampaignZone)
    zone_count = (select(func.count()).where(counted.campaign_id == Campaign.id).correlate(Campaign)
                  .scalar_subquery())
    held = join(CampaignZone, Attendance, and_(Attendance.session_id == CampaignZone.session_id,
                                               Attendance.volunteer_id == bindparam("volunteer_id"),
                                               Attendance.status.in_(HOLDS_A_PLACE)))
    return (select(Campaign.id, Campaign.title, Campaign.starts_at, Campaign.meeting_point, Campaign.points,
                   zone_count.label("zone_count"), CampaignZone.name, CampaignZone.session_id,
                   DutySession.checkin_opens_at, DutySession.checkin_closes_at, Attendance.id, Attendance.status)
            .outerjoin(held, CampaignZone.campaign_id == Campaign.id)
            .outerjoin(DutySession, DutySession.id == CampaignZone.session_id)
            .where(Campaign.id.in_(first))
            .order_by(Campaign.starts_at, Campaign.id, Attendance.id))


def campaigns_for_volunteer(volunteer: User, now: datetime) -> list[tuple[CampaignCard, tuple | None, int]]:
    """Published campaigns not yet over, soonest first, each with the volunteer's (zone, attendance) or
    None, and how many zones it has (its card says so).

    One query of plain rows, built once (it is on the volunteer's home): the first campaigns, each with its
    zone count, and the zone where the volunteer holds a place (as ``places_of``) with its session's window."""
    rows = db.session.execute(_campaigns_for_volunteer_query(), {"now": now, "volunteer_id": volunteer.id})
    campaigns, places = {}, {}
    for row in rows:  # a campaign's rows: its zones with my place, if any
        campaign_id, zone_count, attendance_id = row[0], row[5], row[10]
        campaigns.setdefault(campaign_id, (CampaignCard(*row[:5]), zone_count))
        if attendance_id is not None:  # ordered by attendance: the latest wins, as in places_of
            places[campaign_id] = (ZoneCard(*row[6:10]), duty.AttendanceLine(attendance_id, row[11]))
    return [(campaign, places.get(campaign_id), zone_count)
            for campaign_id, (campaign, zone_count) in campaigns.items()]


@cache
def zone_sessions():
    """The duty sessions of every campaign zone, as a select of their ids (to leave them out of a list);
    always the same statement object, so that a query using it is built once."""
    return select(CampaignZone.session_id).where(CampaignZone.session_id.isnot(None))


def zone_session_ids(session_ids) -> set[int]:
    """Which of these duty sessions belong to a campaign zone."""
    ids = list(session_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(CampaignZone.session_id).where(CampaignZone.session_id.in_(ids))))


def without_other_zones(sessions: list[tuple[DutySession, Attendance | None]]) -> list:
    """The volunteer's duty list without the zone sessions of campaigns they are not in.

    A campaign shows as one card with all its zones; of its sessions only the volunteer's own
    zone stays in the duty list (where they check in on the day).
    """
    zone_ids = zone_session_ids(session.id for session, _ in sessions)
    return [(session, attendance) for session, attendance in sessions
            if session.id not in zone_ids or (attendance is not None and attendance.status in HOLDS_A_PLACE)]


def people_in(zone: CampaignZone) -> list[Attendance]:
    """Everyone holding a place in the zone (signed up, checked in, confirmed …), in sign-up order."""
    if zone.session_id is None:
        return []
    return (Attendance.query.filter(Attendance.session_id == zone.session_id, Attendance.status.in_(HOLDS_A_PLACE))
            .options(db.joinedload(Attendance.volunteer))
            .order_by(func.coalesce(Attendance.signed_up_at, Attendance.checked_in_at), Attendance.id).all())


def taken(zone: CampaignZone) -> int:
    """Places held in the zone (duty's count), 0 before publishing."""
    return zone.session.taken if zone.session is not None else 0


# --- drafts and details ----------------------------------------------------------------

def snow_duty_type(actor: User) -> DutyType:
    """The 扫雪除冰 duty type, added (15 points) if the community has none yet."""
    duty_type = DutyType.query.filter_by(name=SNOW).one_or_none()
    return duty_type or duty.add_duty_type(actor, SNOW, SNOW_DEFAULT_POINTS)


def create_campaign(actor: User, details: Details, now: datetime) -> Campaign:
    """Staff start a campaign as a draft. Raises PermissionDenied, BadTimes."""
    require_role(actor, *STAFF_ROLES)
    _check_times(details.starts_at, details.ends_at)
    campaign = Campaign(created_by_id=actor.id, status="draft", issued_on=to_local(now).date(),
                        **{f.name: getattr(details, f.name) for f in fields(Details)})
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update_campaign(actor: User, campaign: Campaign, details: Details, now: datetime) -> Campaign:
    """Staff change a draft or a published campaign (the notice changes with it).

    A published campaign's zone sessions follow the new time, place, points and kind. Raises
    CampaignClosed for a finished campaign, BadTimes, or InThePast when a published campaign is
    moved to a time already past (fixing a typo in an ongoing campaign is fine).
    """
    require_role(actor, *STAFF_ROLES)
    _lock(campaign)
    if campaign.status == "finished":
        raise CampaignClosed()
    _check_times(details.starts_at, details.ends_at)
    moved = (details.starts_at, details.ends_at) != (campaign.starts_at, campaign.ends_at)
    if campaign.status == "published" and moved:
        _check_future(details.starts_at, now)
    for f in fields(Details):
        setattr(campaign, f.name, getattr(details, f.name))
    db.session.flush()
    if campaign.status == "published":
        for zone in campaign.zones:
            _sync_session(zone)
    return campaign


def delete_draft(actor: User, campaign: Campaign) -> None:
    """Staff throw away a draft (and its zones). Raises NotADraft once published."""
    require_role(actor, *STAFF_ROLES)
    _lock(campaign)
    if not campaign.is_draft:
        raise NotADraft()
    db.session.delete(campaign)
    db.session.flush()


def quick_snow(actor: User, day: date, now: datetime) -> Campaign:
    """一键发起扫雪: a new draft on ``day`` copied from the last snow campaign — texts, tools,
    safety notes, points, the same hours, and every zone (without anyone signed up); the title is the
    default one with the new date (e.g. "12月26日扫雪除冰"), so the two are told apart in lists.

    With no snow campaign yet, the draft starts from the 26 December texts and has no zones.
    Raises PermissionDenied, or InThePast for a day before today.
    """
    require_role(actor, *STAFF_ROLES)
    if day < to_local(now).date():
        raise InThePast(_l("日期不能早于今天（%(today)s）。"), today=to_local(now).date().isoformat())
    source = last_snow_campaign()
    if source is not None:
        start, length = to_local(source.starts_at).time(), source.ends_at - source.starts_at
        texts = {name: getattr(source, name) for name in (
            "title", "meeting_point", "organiser", "contact_name", "contact_phone", "body", "tools", "safety",
            "points")}
        duty_type = source.duty_type
    else:
        template = snow_template(current_grid())
        start, length = template.pop("start"), timedelta(hours=template.pop("hours"))
        texts = dict(template, contact_name=actor.name, contact_phone=actor.phone)
        duty_type = snow_duty_type(actor)
    texts["title"] = default_title(duty_type.name, day)  # never the last campaign's title again
    starts_at = from_local(day, start)
    campaign = create_campaign(actor, Details(duty_type=duty_type, starts_at=starts_at, ends_at=starts_at + length,
                                              **texts), now)
    campaign.copied_from_id = source.id if source else None
    for zone in (source.zones if source else []):
        campaign.zones.append(CampaignZone(
            position=zone.position, name=zone.name, description=zone.description, team=zone.team,
            leader_name=zone.leader_name, leader_phone=zone.leader_phone, needed=zone.needed))
    db.session.flush()
    return campaign


# --- zones -----------------------------------------------------------------------------

def _lock(campaign: Campaign) -> Campaign:
    """Hold the campaign row until commit (PostgreSQL: FOR UPDATE) and re-read it, so that
    sign-ups and status changes of one campaign happen one after another."""
    db.session.execute(select(Campaign).where(Campaign.id == campaign.id).with_for_update()
                       .execution_options(populate_existing=True)).scalar_one()
    return campaign


def _open_for_changes(campaign: Campaign) -> None:
    if campaign.status == "finished":
        raise CampaignClosed()


def _zone_title(zone: CampaignZone) -> str:
    """The duty session's title: the zone's name (duty adds the kind and the date where it shows it)."""
    return zone.name[:80]


def _schedule_zone(actor: User, zone: CampaignZone) -> DutySession:
    campaign = zone.campaign
    [session] = duty.schedule(actor, duty_type=campaign.duty_type, title=_zone_title(zone),
                              place=campaign.meeting_point, starts_at=campaign.starts_at, ends_at=campaign.ends_at,
                              points=campaign.points, capacity=zone.needed)
    zone.session = session
    return session


def _sync_session(zone: CampaignZone) -> None:
    """Carry a published zone's details to its duty session; the capacity never drops below the
    places already held (a conditional UPDATE, so a sign-up at the same moment is counted)."""
    session, campaign = zone.session, zone.campaign
    if session is None:
        return
    opens_before = session.starts_at - session.checkin_opens_at
    moved = db.session.execute(
        update(DutySession).where(DutySession.id == session.id, DutySession.taken <= zone.needed)
        .values(capacity=zone.needed, title=_zone_title(zone), place=campaign.meeting_point,
                duty_type_id=campaign.duty_type_id, points=campaign.points, starts_at=campaign.starts_at,
                ends_at=campaign.ends_at, checkin_opens_at=campaign.starts_at - opens_before,
                checkin_closes_at=campaign.ends_at)
        .execution_options(synchronize_session=False)).rowcount
    db.session.expire(session)
    if moved != 1:
        raise NeededBelowTaken(zone=zone.name, n=session.taken)


def _save_zone(zone: CampaignZone) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise DuplicateZone(zone=zone.name) from None


def add_zone(actor: User, campaign: Campaign, zone_details: ZoneDetails) -> CampaignZone:
    """Staff add a zone. In a published campaign its duty session is scheduled at once.

    Raises CampaignClosed, DuplicateZone, TooManyZones.
    """
    require_role(actor, *STAFF_ROLES)
    _lock(campaign)
    _open_for_changes(campaign)
    if len(campaign.zones) >= MAX_ZONES:
        raise TooManyZones(max=MAX_ZONES)
    if any(z.name == zone_details.name for z in campaign.zones):
        raise DuplicateZone(zone=zone_details.name)
    zone = CampaignZone(position=max((z.position for z in campaign.zones), default=0) + 1,
                        **{f.name: getattr(zone_details, f.name) for f in fields(ZoneDetails)})
    campaign.zones.append(zone)
    _save_zone(zone)
    if campaign.status == "published":
        _schedule_zone(actor, zone)
        db.session.flush()
    return zone


def update_zone(actor: User, zone: CampaignZone, zone_details: ZoneDetails) -> CampaignZone:
    """Staff change a zone. Raises CampaignClosed, DuplicateZone, or NeededBelowTaken when the
    people needed would be fewer than those already signed up."""
    require_role(actor, *STAFF_ROLES)
    _lock(zone.campaign)
    _open_for_changes(zone.campaign)
    if any(z.name == zone_details.name and z.id != zone.id for z in zone.campaign.zones):
        raise DuplicateZone(zone=zone_details.name)
    for f in fields(ZoneDetails):
        setattr(zone, f.name, getattr(zone_details, f.name))
    _save_zone(zone)
    _sync_session(zone)
    return zone


def delete_zone(actor: User, zone: CampaignZone) -> None:
    """Staff delete a zone nobody holds a place in (its unused duty session goes with it).

    Raises ZoneHasPeople (and changes nothing) while anyone is signed up or checked in there,
    CampaignClosed for a finished campaign.
    """
    require_role(actor, *STAFF_ROLES)
    campaign = _lock(zone.campaign)
    _open_for_changes(campaign)
    session = zone.session
    if session is not None:
        holding = db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.session_id == session.id, Attendance.status.in_(HOLDS_A_PLACE)))
        if holding:
            raise ZoneHasPeople(zone=zone.name, n=holding)
    campaign.zones.remove(zone)
    db.session.flush()
    if session is not None:
        # Only cancelled sign-ups remain: no place, no points. They go with the unused session.
        db.session.execute(delete(Attendance).where(Attendance.session_id == session.id,
                                                    Attendance.status == "cancelled"))
        db.session.delete(session)
        db.session.flush()


# --- publishing and finishing --------------------------------------------------------------

def publish(actor: User, campaign: Campaign, now: datetime) -> Campaign:
    """Publish a draft: schedule one duty session per zone (capacity = people needed, the campaign's
    points), then volunteers can see it and sign up. The notice's date becomes today.

    Raises NoZones, InThePast (start already past), NotADraft; publishing twice is refused, not repeated.
    """
    require_role(actor, *STAFF_ROLES)
    _lock(campaign)
    if not campaign.is_draft:
        raise NotADraft()
    if not campaign.zones:
        raise NoZones()
    _check_future(campaign.starts_at, now)
    for zone in campaign.zones:
        _schedule_zone(actor, zone)
    campaign.status, campaign.published_at, campaign.published_by_id = "published", now, actor.id
    campaign.issued_on = to_local(now).date()
    db.session.flush()
    return campaign


def finish(actor: User, campaign: Campaign, now: datetime) -> Campaign:
    """Mark a published campaign finished once it has started: no more sign-ups or changes.
    Attendance from the paper sheets is still entered on each zone's roster. Raises NotPublished,
    NotStarted; finishing twice is a no-op."""
    require_role(actor, *STAFF_ROLES)
    _lock(campaign)
    if campaign.status == "finished":
        return campaign
    if campaign.status != "published":
        raise NotPublished(_l("草稿还没有发布，不能结束。"))
    if now < campaign.starts_at:
        raise NotStarted()
    campaign.status, campaign.finished_at = "finished", now
    db.session.flush()
    return campaign


# --- sign-up -------------------------------------------------------------------------------

def _check_open_for_sign_up(campaign: Campaign, now: datetime) -> None:
    if campaign.status == "draft":
        raise NotPublished()
    if campaign.status == "finished" or now > campaign.ends_at:
        raise CampaignClosed()


def _take_zone(volunteer: User, zone: CampaignZone, now: datetime, *, same_zone_error, other_zone_error) -> Attendance:
    campaign = _lock(zone.campaign)
    _check_open_for_sign_up(campaign, now)
    current = place_of(volunteer, campaign)
    if current is not None:
        held, _attendance = current
        if held.id == zone.id:
            raise same_zone_error(zone=zone.name, name=volunteer.name)
        raise other_zone_error(zone=held.name, name=volunteer.name)
    try:
        return duty.sign_up(volunteer, zone.session, now)
    except duty.SessionFull:
        raise ZoneFull(zone=zone.name, capacity=zone.needed) from None


def sign_up(volunteer: User, zone: CampaignZone, now: datetime) -> Attendance:
    """A volunteer signs up for a zone: their duty sign-up at the zone's session (a held place).

    Raises NotPublished, CampaignClosed, AlreadySignedUp (the same zone again), InAnotherZone
    (one zone per campaign), ZoneFull. Nothing changes when it raises.
    """
    require_role(volunteer, "volunteer")
    return _take_zone(volunteer, zone, now, same_zone_error=AlreadySignedUp, other_zone_error=InAnotherZone)


def cancel(volunteer: User, campaign: Campaign, now: datetime) -> CampaignZone:
    """A volunteer withdraws from their zone, freeing the place. Returns the zone they left.

    Raises NotSignedUp, AlreadyThere (checked in already), CampaignClosed.
    """
    require_role(volunteer, "volunteer")
    _lock(campaign)
    _check_open_for_sign_up(campaign, now)
    current = place_of(volunteer, campaign)
    if current is None:
        raise NotSignedUp()
    zone, attendance = current
    if attendance.status != "signed_up":
        raise AlreadyThere(zone=zone.name)
    duty.cancel_sign_up(volunteer, zone.session)
    return zone


def assign(actor: User, zone: CampaignZone, volunteer: User, now: datetime) -> Attendance:
    """Staff sign a volunteer up for a zone (按区域分工), with the same rules as the volunteer's own
    sign-up (capacity, one zone per campaign). Raises PermissionDenied, DomainError for someone who
    is not an active volunteer, AssignedHere, AssignedElsewhere, ZoneFull."""
    require_role(actor, *STAFF_ROLES)
    if volunteer.role != "volunteer" or not volunteer.is_active:
        raise DomainError(_l("只能分配已启用的志愿者。"))
    return _take_zone(volunteer, zone, now, same_zone_error=AssignedHere, other_zone_error=AssignedElsewhere)


def unassign(actor: User, zone: CampaignZone, volunteer: User, now: datetime) -> None:
    """Staff cancel a volunteer's sign-up in this zone. Raises CampaignClosed, NotSignedUp, AlreadyThere."""
    require_role(actor, *STAFF_ROLES)
    _lock(zone.campaign)
    _check_open_for_sign_up(zone.campaign, now)
    current = place_of(volunteer, zone.campaign)
    if current is None or current[0].id != zone.id:
        raise NotSignedUp(_l("%(name)s 没有报名这个区域。"), name=volunteer.name)
    if current[1].status != "signed_up":
        raise AlreadyThere(_l("%(name)s 已签到，不能取消报名。"), name=volunteer.name)
    duty.cancel_sign_up(volunteer, zone.session)


def default_quick_day(now: datetime) -> date:
    """The day "一键发起扫雪" suggests: tomorrow (snow falls in the evening, clearing is next morning)."""
    return to_local(now).date() + timedelta(days=1)


# --- one award per campaign (a rule duty calls; see the module docstring) -------------------------

MOVED_NOTE = _l("原报名的“%(old)s”已取消，改在“%(new)s”签到（每次活动只计一个区域）。")


def zone_of_session(session: DutySession) -> CampaignZone | None:
    """The campaign zone whose duty session this is, or None for an ordinary duty session (read once per
    session object: the duty rules below ask at every check-in and confirm)."""
    return session.campaign_zone


def award_of(volunteer_id: int, campaign: Campaign) -> CampaignAward | None:
    """The volunteer's award for this campaign (which zone paid them), or None."""
    return db.session.scalars(select(CampaignAward).where(
        CampaignAward.campaign_id == campaign.id, CampaignAward.volunteer_id == volunteer_id)).first()


class OneAwardPerCampaign(duty.AttendanceRule):
    """A person earns a campaign's points once, whichever zones they are marked in."""

    def before_present(self, volunteer, session, now):
        """Move a mere sign-up in another zone here; refuse with PresentInAnotherZone when the person
        is already present (or paid) in another zone of the campaign."""
        zone = zone_of_session(session)
        if zone is None:
            return None
        campaign = _lock(zone.campaign)
        elsewhere = db.session.execute(
            select(CampaignZone, Attendance)
            .join(Attendance, Attendance.session_id == CampaignZone.session_id)
            .where(CampaignZone.campaign_id == campaign.id, CampaignZone.id != zone.id,
                   Attendance.volunteer_id == volunteer.id,
                   Attendance.status.in_(PRESENT + ("confirmed", "signed_up")))
            .order_by(Attendance.id)).all()
        for other, attendance in elsewhere:
            if attendance.status != "signed_up":
                raise PresentInAnotherZone(name=volunteer.name, zone=other.name)
        for other, _attendance in elsewhere:
            duty.cancel_sign_up(volunteer, other.session)
        if not elsewhere:
            return None
        return str(MOVED_NOTE) % {"old": "、".join(other.name for other, _ in elsewhere), "new": zone.name}

    def before_award(self, attendance):
        """Record the award (UNIQUE per campaign and volunteer) before the points are paid; raises
        AwardedInAnotherZone when another zone's attendance was paid already."""
        zone = zone_of_session(attendance.session)
        if zone is None:
            return
        campaign = _lock(zone.campaign)
        name = db.session.get(User, attendance.volunteer_id).name
        existing = award_of(attendance.volunteer_id, campaign)
        if existing is None:
            try:
                with db.session.begin_nested():
                    db.session.add(CampaignAward(campaign_id=campaign.id, volunteer_id=attendance.volunteer_id,
                                                 zone_id=zone.id, attendance_id=attendance.id))
                return
            except IntegrityError:  # a confirmation at the same moment was first
                existing = award_of(attendance.volunteer_id, campaign)
        if existing is not None and existing.attendance_id == attendance.id:
            return  # the same attendance, confirmed twice at once: duty makes the second a no-op
        raise AwardedInAnotherZone(name=name, zone=existing.zone.name if existing else zone.name)

    def after_reversal(self, attendance):
        """The award was reversed (a rejection): the person may be paid in another zone."""
        db.session.execute(delete(CampaignAward).where(CampaignAward.attendance_id == attendance.id))


duty.add_rule(OneAwardPerCampaign())
