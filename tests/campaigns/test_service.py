"""Campaign rules: drafts, 一键发起扫雪, publishing into duty sessions, sign-up per zone, zones, finishing."""
from datetime import date, timedelta

import pytest

from gridapp.auth.models import User
from gridapp.campaigns import service as campaigns
from gridapp.campaigns.models import Campaign, CampaignZone
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutySession, DutyType
from gridapp.errors import DomainError, NotFound, PermissionDenied
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.points.models import PointsEntry

from .. import factories
from ..concurrency import assert_invariants_hold, run_at_once
from .conftest import DAY, EVENING_BEFORE, START, ZONES, details, make_campaign, zone_details

LATER = EVENING_BEFORE + timedelta(minutes=30)


def snapshot():
    """What a refused action must leave unchanged."""
    return (Campaign.query.count(), CampaignZone.query.count(), DutySession.query.count(),
            sorted((a.session_id, a.volunteer_id, a.status) for a in Attendance.query),
            sorted((s.id, s.taken, s.capacity) for s in DutySession.query))


# --- drafts and 一键发起扫雪 -----------------------------------------------------------------

def test_a_new_campaign_is_a_draft_without_duty_sessions(staff):
    campaign = make_campaign(staff, zones=2)
    assert campaign.status == "draft" and campaign.duty_type.name == "扫雪除冰"
    assert [z.name for z in campaign.zones] == ["南门片区", "北门片区"]
    assert DutySession.query.count() == 0


def test_volunteers_cannot_plan_campaigns(app):
    volunteer = factories.make_user()
    with pytest.raises(PermissionDenied):
        campaigns.create_campaign(volunteer, details(factories.make_user(role="staff")), EVENING_BEFORE)
    with pytest.raises(PermissionDenied):
        campaigns.quick_snow(volunteer, DAY, EVENING_BEFORE)


def test_end_before_start_is_refused(staff):
    with pytest.raises(campaigns.BadTimes) as caught:
        campaigns.create_campaign(staff, details(staff, hours=-1), EVENING_BEFORE)
    assert "结束时间必须晚于开始时间" in caught.value.message


def test_quick_snow_copies_the_last_snow_campaign_to_a_new_day_as_a_draft(staff):
    older = make_campaign(staff, zones=2, starts_at=START - timedelta(days=30), now=EVENING_BEFORE - timedelta(days=31))
    last = make_campaign(staff, publish_at=EVENING_BEFORE, tools="铁锹、扫帚", safety="注意结冰路面")
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, last.zones[0], LATER)
    db.session.commit()

    new_day = DAY + timedelta(days=9)
    draft = campaigns.quick_snow(staff, new_day, START + timedelta(days=3))
    db.session.commit()

    assert draft.status == "draft" and draft.copied_from_id == last.id != older.id
    assert draft.starts_at == START + timedelta(days=9) and draft.ends_at == last.ends_at + timedelta(days=9)
    for name in ("meeting_point", "organiser", "body", "tools", "safety", "points", "duty_type_id"):
        assert getattr(draft, name) == getattr(last, name), name
    assert draft.title == f"{new_day.month}月{new_day.day}日扫雪除冰" != last.title
    copied = [(z.name, z.description, z.team, z.leader_name, z.leader_phone, z.needed) for z in draft.zones]
    assert copied == [tuple(zone) for zone in ZONES]
    assert all(z.session_id is None for z in draft.zones)  # nobody is signed up to the copy
    assert last.zones[0].session.taken == 1  # the original is untouched


def test_quick_snow_without_an_earlier_campaign_starts_from_the_report_texts(staff):
    draft = campaigns.quick_snow(staff, DAY, EVENING_BEFORE)
    db.session.commit()
    assert draft.status == "draft" and draft.zones == []
    assert "按照区域分工" in draft.body and draft.duty_type.name == "扫雪除冰"
    assert (draft.contact_name, draft.contact_phone) == (staff.name, staff.phone)
    assert DutyType.query.filter_by(name="扫雪除冰").one().default_points == 15


def test_quick_snow_refuses_a_day_before_today(staff):
    with pytest.raises(campaigns.InThePast) as caught:
        campaigns.quick_snow(staff, DAY - timedelta(days=2), EVENING_BEFORE)
    assert "日期不能早于今天" in caught.value.message
    db.session.rollback()
    assert Campaign.query.count() == 0


def test_a_draft_can_be_deleted_but_not_a_published_campaign(staff, campaign):
    draft = make_campaign(staff, zones=2)
    campaigns.delete_draft(staff, draft)
    db.session.commit()
    assert db.session.get(Campaign, draft.id) is None and CampaignZone.query.count() == 6
    with pytest.raises(campaigns.NotADraft):
        campaigns.delete_draft(staff, campaign)


# --- publishing -------------------------------------------------------------------------------

def test_publishing_creates_one_duty_session_per_zone(staff):
    campaign = make_campaign(staff, publish_at=EVENING_BEFORE)
    assert campaign.status == "published" and campaign.published_by_id == staff.id
    assert campaign.issued_on == date(2026, 12, 25)  # the notice's date: the day it was published
    sessions = DutySession.query.order_by(DutySession.id).all()
    assert len(sessions) == 6 == len({z.session_id for z in campaign.zones})
    for zone, session in zip(campaign.zones, sessions):
        assert zone.session_id == session.id
        assert (session.title, session.capacity, session.points) == (zone.name, zone.needed, 15)
        assert (session.starts_at, session.ends_at, session.place) == (START, campaign.ends_at, "迪祥佳苑B区南门广场")
        assert session.duty_type.name == "扫雪除冰" and session.team_id is None
        assert session.checkin_opens_at == START - timedelta(minutes=30)


def test_publishing_without_zones_is_refused_and_changes_nothing(staff):
    campaign = make_campaign(staff, zones=0)
    before = snapshot()
    with pytest.raises(campaigns.NoZones) as caught:
        campaigns.publish(staff, campaign, EVENING_BEFORE)
    assert "还没有划分区域，不能发布" in caught.value.message
    db.session.rollback()
    assert snapshot() == before and campaign.status == "draft"


def test_publishing_a_campaign_whose_time_has_passed_is_refused(staff):
    campaign = make_campaign(staff)
    before = snapshot()
    with pytest.raises(campaigns.InThePast) as caught:
        campaigns.publish(staff, campaign, START + timedelta(minutes=1))
    assert "12-26 10:00" in caught.value.message and "已经过去" in caught.value.message
    db.session.rollback()
    assert snapshot() == before and campaign.status == "draft"


def test_publishing_twice_is_refused_not_repeated(staff, campaign):
    with pytest.raises(campaigns.NotADraft):
        campaigns.publish(staff, campaign, LATER)
    db.session.rollback()
    assert DutySession.query.count() == 6


# --- sign-up per zone -------------------------------------------------------------------------

def test_signing_up_is_a_duty_sign_up_at_the_zone_session(campaign):
    volunteer = factories.make_user()
    zone = campaign.zones[1]
    attendance = campaigns.sign_up(volunteer, zone, LATER)
    db.session.commit()
    assert (attendance.session_id, attendance.status) == (zone.session_id, "signed_up")
    assert zone.session.taken == 1
    assert campaigns.place_of(volunteer, campaign) == (zone, attendance)
    assert_invariants_hold()


def test_a_full_zone_refuses_with_its_name_and_nothing_changes(campaign):
    zone = campaign.zones[2]  # 中心广场, 6 people
    for _ in range(zone.needed):
        campaigns.sign_up(factories.make_user(), zone, LATER)
    db.session.commit()
    late = factories.make_user()
    before = snapshot()
    with pytest.raises(campaigns.ZoneFull) as caught:
        campaigns.sign_up(late, zone, LATER)
    assert caught.value.message == "“中心广场”名额已满（共 6 人），请选择其他区域。"
    db.session.rollback()
    assert snapshot() == before and campaigns.place_of(late, campaign) is None


def test_signing_up_twice_is_refused(campaign):
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, campaign.zones[0], LATER)
    db.session.commit()
    before = snapshot()
    with pytest.raises(campaigns.AlreadySignedUp) as caught:
        campaigns.sign_up(volunteer, campaign.zones[0], LATER)
    assert "您已报名“南门片区”，无需重复报名" in caught.value.message
    with pytest.raises(campaigns.InAnotherZone) as caught:
        campaigns.sign_up(volunteer, campaign.zones[3], LATER)
    assert "每次活动只能报一个区域" in caught.value.message and "南门片区" in caught.value.message
    db.session.rollback()
    assert snapshot() == before


def test_cancelling_frees_the_place_and_another_zone_can_be_chosen(campaign):
    volunteer = factories.make_user()
    first, second = campaign.zones[0], campaign.zones[1]
    campaigns.sign_up(volunteer, first, LATER)
    left = campaigns.cancel(volunteer, campaign, LATER)
    campaigns.sign_up(volunteer, second, LATER)
    db.session.commit()
    assert left == first and first.session.taken == 0 and second.session.taken == 1
    assert campaigns.place_of(volunteer, campaign)[0] == second
    # back to the first zone: duty's cancelled attendance is reused, not duplicated
    campaigns.cancel(volunteer, campaign, LATER)
    campaigns.sign_up(volunteer, first, LATER)
    db.session.commit()
    assert Attendance.query.filter_by(volunteer_id=volunteer.id).count() == 2
    assert_invariants_hold()


def test_cancelling_without_a_sign_up_or_after_check_in_is_refused(campaign):
    volunteer = factories.make_user()
    with pytest.raises(campaigns.NotSignedUp):
        campaigns.cancel(volunteer, campaign, LATER)
    zone = campaign.zones[0]
    campaigns.sign_up(volunteer, zone, LATER)
    duty.check_in(volunteer, zone.session, START)
    db.session.commit()
    with pytest.raises(campaigns.AlreadyThere) as caught:
        campaigns.cancel(volunteer, campaign, START)
    assert "已在“南门片区”签到" in caught.value.message
    db.session.rollback()
    assert zone.session.taken == 1


def test_a_cancel_on_the_duty_page_is_the_same_cancel(campaign):
    """The zone place is the duty attendance: cancelling it in duty leaves the campaign consistent."""
    volunteer = factories.make_user()
    zone = campaign.zones[0]
    campaigns.sign_up(volunteer, zone, LATER)
    duty.cancel_sign_up(volunteer, zone.session)
    db.session.commit()
    assert campaigns.place_of(volunteer, campaign) is None
    campaigns.sign_up(volunteer, campaign.zones[1], LATER)  # free to choose again
    db.session.commit()
    assert_invariants_hold()


def test_drafts_take_no_sign_ups_and_are_hidden_from_volunteers(staff):
    draft = make_campaign(staff, zones=1)
    volunteer = factories.make_user()
    with pytest.raises(NotFound):
        campaigns.visible_campaign(volunteer, draft.id)
    assert campaigns.visible_campaign(staff, draft.id) == draft
    with pytest.raises(campaigns.NotPublished):
        campaigns.sign_up(volunteer, draft.zones[0], LATER)


def test_a_zone_of_another_campaign_is_not_found(staff, campaign):
    other = make_campaign(staff, zones=1)
    with pytest.raises(NotFound):
        campaigns.get_zone(campaign, other.zones[0].id)


@pytest.mark.own_database
def test_simultaneous_sign_ups_for_two_zones_take_one_place(app, campaign):
    """One zone per campaign holds even when the same volunteer signs up twice at the same moment."""
    volunteer_id = factories.make_user().id
    zone_ids = [campaign.zones[0].id, campaign.zones[1].id]

    def sign_up(n):
        volunteer = db.session.get(User, volunteer_id)
        return campaigns.sign_up(volunteer, db.session.get(CampaignZone, zone_ids[n]), LATER).id

    results = run_at_once(app, 2, sign_up)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, (int, campaigns.InAnotherZone)) for r in results), results
    assert Attendance.query.filter_by(volunteer_id=volunteer_id, status="signed_up").count() == 1
    assert_invariants_hold()


@pytest.mark.own_database
def test_simultaneous_sign_ups_never_exceed_the_zone(app, staff):
    campaign = make_campaign(staff, zones=1, publish_at=EVENING_BEFORE)
    zone_id, needed = campaign.zones[0].id, campaign.zones[0].needed
    volunteer_ids = [factories.make_user().id for _ in range(needed + 4)]

    def sign_up(n):
        return campaigns.sign_up(db.session.get(User, volunteer_ids[n]),
                                 db.session.get(CampaignZone, zone_id), LATER).id

    results = run_at_once(app, len(volunteer_ids), sign_up)
    assert sum(isinstance(r, int) for r in results) == needed
    assert all(isinstance(r, campaigns.ZoneFull) for r in results if not isinstance(r, int)), results
    assert db.session.get(CampaignZone, zone_id).session.taken == needed
    assert_invariants_hold()


# --- staff assign ----------------------------------------------------------------------------

def test_staff_assign_with_the_same_rules(staff, campaign):
    volunteer = factories.make_user(name="艾力努尔·拜克力")
    zone = campaign.zones[4]
    attendance = campaigns.assign(staff, zone, volunteer, LATER)
    db.session.commit()
    assert attendance.status == "signed_up" and zone.session.taken == 1
    with pytest.raises(campaigns.AssignedHere):
        campaigns.assign(staff, zone, volunteer, LATER)
    with pytest.raises(campaigns.AssignedElsewhere) as caught:
        campaigns.assign(staff, campaign.zones[0], volunteer, LATER)
    assert "艾力努尔·拜克力 已报名“5—8号楼”" in caught.value.message
    with pytest.raises(PermissionDenied):
        campaigns.assign(factories.make_user(), zone, factories.make_user(), LATER)
    with pytest.raises(DomainError) as caught:
        campaigns.assign(staff, zone, factories.make_user(role="sponsor"), LATER)
    assert caught.value.message == "只能分配已启用的志愿者。"
    db.session.rollback()
    campaigns.unassign(staff, zone, volunteer, LATER)
    db.session.commit()
    assert zone.session.taken == 0 and campaigns.place_of(volunteer, campaign) is None
    with pytest.raises(campaigns.NotSignedUp):
        campaigns.unassign(staff, zone, volunteer, LATER)


# --- zones -------------------------------------------------------------------------------------

def test_deleting_a_zone_with_people_is_refused_and_changes_nothing(staff, campaign):
    zone = campaign.zones[0]
    campaigns.sign_up(factories.make_user(), zone, LATER)
    db.session.commit()
    before = snapshot()
    with pytest.raises(campaigns.ZoneHasPeople) as caught:
        campaigns.delete_zone(staff, zone)
    assert caught.value.message.startswith("“南门片区”已有 1 人报名或签到，不能删除。")
    db.session.rollback()
    assert snapshot() == before


def test_deleting_an_empty_zone_of_a_published_campaign_removes_its_session(staff, campaign):
    zone = campaign.zones[5]
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, zone, LATER)
    campaigns.cancel(volunteer, campaign, LATER)  # a cancelled sign-up holds nothing
    db.session.commit()
    session_id = zone.session_id
    campaigns.delete_zone(staff, zone)
    db.session.commit()
    assert len(campaign.zones) == 5 and db.session.get(DutySession, session_id) is None
    assert Attendance.query.count() == 0
    assert_invariants_hold()


def test_a_zone_added_after_publishing_gets_its_session(staff, campaign):
    zone = campaigns.add_zone(staff, campaign, zone_details(0, name="东侧停车场", needed=4))
    db.session.commit()
    assert zone.session.capacity == 4 and zone.session.title == "东侧停车场"
    assert DutySession.query.count() == 7 and zone.position == 7


def test_zone_names_are_unique_in_a_campaign(staff, campaign):
    with pytest.raises(campaigns.DuplicateZone) as caught:
        campaigns.add_zone(staff, campaign, zone_details(0))
    assert "已有名为“南门片区”的区域" in caught.value.message
    db.session.rollback()
    with pytest.raises(campaigns.DuplicateZone):
        campaigns.update_zone(staff, campaign.zones[1], zone_details(0))


def test_people_needed_cannot_drop_below_those_signed_up(staff, campaign):
    zone = campaign.zones[2]
    for _ in range(3):
        campaigns.sign_up(factories.make_user(), zone, LATER)
    db.session.commit()
    with pytest.raises(campaigns.NeededBelowTaken) as caught:
        campaigns.update_zone(staff, zone, zone_details(2, needed=2))
    assert "已有 3 人报名，需要人数不能少于 3" in caught.value.message
    db.session.rollback()
    assert zone.session.capacity == 6 and zone.needed == 6
    campaigns.update_zone(staff, zone, zone_details(2, needed=10, name="中心广场和健身区"))
    db.session.commit()
    assert (zone.session.capacity, zone.session.title) == (10, "中心广场和健身区")


def test_editing_a_published_campaign_moves_its_sessions(staff, campaign):
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, campaign.zones[0], LATER)
    db.session.commit()
    later = START + timedelta(hours=1)
    campaigns.update_campaign(staff, campaign, details(staff, starts_at=later, meeting_point="B区北门", points=20), LATER)
    db.session.commit()
    for zone in campaign.zones:
        assert (zone.session.starts_at, zone.session.place, zone.session.points) == (later, "B区北门", 20)
        assert zone.session.checkin_opens_at == later - timedelta(minutes=30)
    assert campaign.zones[0].session.taken == 1  # sign-ups stay


def test_a_published_campaign_cannot_be_moved_into_the_past_but_an_ongoing_one_can_be_corrected(staff, campaign):
    with pytest.raises(campaigns.InThePast):
        campaigns.update_campaign(staff, campaign, details(staff, starts_at=LATER - timedelta(hours=2)), LATER)
    db.session.rollback()
    during = START + timedelta(minutes=30)
    campaigns.update_campaign(staff, campaign, details(staff, body="更正：请带好铁锹。"), during)
    db.session.commit()
    assert campaign.body == "更正：请带好铁锹。" and campaign.starts_at == START


# --- the day: check-in and points come from duty ------------------------------------------------

def test_checking_in_at_the_zone_and_staff_confirming_awards_the_campaign_points_once(staff, campaign):
    volunteer = factories.make_user()
    zone = campaign.zones[1]
    campaigns.sign_up(volunteer, zone, LATER)
    attendance = duty.check_in(volunteer, zone.session, START - timedelta(minutes=10))
    duty.confirm(staff, attendance, START + timedelta(hours=2))
    duty.confirm(staff, attendance, START + timedelta(hours=2))  # again: no second award
    duty.confirm_all_present(staff, zone.session, START + timedelta(hours=2))
    db.session.commit()
    assert points.balance(volunteer) == 15 == campaign.points
    entry = PointsEntry.query.one()
    assert entry.description == "扫雪除冰：北门片区（12月26日）"
    assert duty.roster(zone.session) == [attendance]
    assert_invariants_hold()


def test_a_walk_in_checks_in_without_signing_up_and_counts_in_the_zone(staff, campaign):
    walk_in = factories.make_user()
    zone = campaign.zones[0]
    duty.mark_present(staff, zone.session, walk_in, START)  # from the paper sign-in sheet
    db.session.commit()
    assert campaigns.place_of(walk_in, campaign)[0] == zone
    assert [a.volunteer_id for a in campaigns.people_in(zone)] == [walk_in.id]


# --- finishing --------------------------------------------------------------------------------

def test_finishing_only_after_the_start_then_no_more_sign_ups(staff, campaign):
    with pytest.raises(campaigns.NotStarted):
        campaigns.finish(staff, campaign, LATER)
    campaigns.finish(staff, campaign, START + timedelta(hours=3))
    campaigns.finish(staff, campaign, START + timedelta(hours=3))  # again: no-op
    db.session.commit()
    assert campaign.status == "finished"
    with pytest.raises(campaigns.CampaignClosed):
        campaigns.sign_up(factories.make_user(), campaign.zones[0], START + timedelta(hours=1))
    with pytest.raises(campaigns.CampaignClosed):
        campaigns.update_campaign(staff, campaign, details(staff), START + timedelta(hours=3))
    with pytest.raises(campaigns.NotPublished):
        campaigns.finish(staff, make_campaign(staff, zones=1), START + timedelta(hours=3))


def test_sign_up_closes_when_the_campaign_is_over(campaign):
    with pytest.raises(campaigns.CampaignClosed):
        campaigns.sign_up(factories.make_user(), campaign.zones[0], campaign.ends_at + timedelta(minutes=1))


# --- what volunteers see ------------------------------------------------------------------------

def test_volunteers_see_published_campaigns_with_their_zone(staff, campaign):
    make_campaign(staff, zones=2)  # a draft: not shown
    volunteer, other = factories.make_user(), factories.make_user()
    campaigns.sign_up(volunteer, campaign.zones[3], LATER)
    db.session.commit()
    zone, attendance = campaigns.place_of(volunteer, campaign)
    [(card, (zone_card, attendance_line), zone_count)] = campaigns.campaigns_for_volunteer(volunteer, LATER)
    assert (card.id, card.title, card.starts_at, card.meeting_point, card.points) == (
        campaign.id, campaign.title, campaign.starts_at, campaign.meeting_point, campaign.points)
    assert (zone_card.name, zone_card.session_id, attendance_line.id, attendance_line.status) == (
        zone.name, zone.session_id, attendance.id, "signed_up")
    assert zone_count == len(campaign.zones)
    assert [(c.id, place, n) for c, place, n in campaigns.campaigns_for_volunteer(other, LATER)] == [
        (campaign.id, None, len(campaign.zones))]
    assert campaigns.campaigns_for_volunteer(volunteer, campaign.ends_at + timedelta(minutes=1)) == []


def test_a_zone_card_opens_for_check_in_with_its_sessions_window(staff, campaign):
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, campaign.zones[0], LATER)
    db.session.commit()
    session = campaign.zones[0].session
    [(_card, (zone_card, _attendance), _n)] = campaigns.campaigns_for_volunteer(volunteer, LATER)
    assert not zone_card.window_open(session.checkin_opens_at - timedelta(seconds=1))
    assert zone_card.window_open(session.checkin_opens_at) and zone_card.window_open(session.checkin_closes_at)
    assert not zone_card.window_open(session.checkin_closes_at + timedelta(seconds=1))


def test_the_duty_list_keeps_only_the_volunteers_own_zone(staff, campaign):
    volunteer = factories.make_user()
    campaigns.sign_up(volunteer, campaign.zones[3], LATER)
    patrol_type = DutyType(name="安全巡逻", default_points=10)
    db.session.add(patrol_type)
    [patrol] = duty.schedule(staff, duty_type=patrol_type, title="南门夜间巡逻", place="B区南门岗亭",
                             starts_at=START, ends_at=START + timedelta(hours=1))
    db.session.commit()
    listed = campaigns.without_other_zones(duty.sessions_for_volunteer(volunteer, LATER))
    assert sorted(session.title for session, _ in listed) == ["1—4号楼", "南门夜间巡逻"]
    nobody = campaigns.without_other_zones(duty.sessions_for_volunteer(factories.make_user(), LATER))
    assert [session.id for session, _ in nobody] == [patrol.id]
