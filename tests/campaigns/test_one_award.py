"""One award per campaign: a person earns a campaign's points once, whichever zones they are marked in."""
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from gridapp.auth.models import User
from gridapp.clock import utcnow
from gridapp.campaigns import service as campaigns
from gridapp.campaigns.models import CampaignAward
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance
from gridapp.extensions import db
from gridapp.invariants import run_all
from gridapp.points import service as points

from .. import factories
from ..concurrency import run_at_once
from .conftest import EVENING_BEFORE, START

LATER = EVENING_BEFORE + timedelta(minutes=30)
AFTER = START + timedelta(hours=2, minutes=30)


def broken():
    return {name: rows for name, rows in run_all().items() if rows}


@pytest.fixture
def walk_in(app):
    return factories.make_user(name="艾力努尔·拜克力")


def test_a_walk_in_marked_in_a_second_zone_is_refused_and_earns_the_points_once(staff, campaign, walk_in):
    north, south = campaign.zones[1], campaign.zones[0]
    duty.mark_present(staff, north.session, walk_in, START)
    db.session.commit()
    with pytest.raises(campaigns.PresentInAnotherZone) as refused:
        duty.mark_present(staff, south.session, walk_in, START + timedelta(minutes=5))
    db.session.rollback()
    assert "艾力努尔·拜克力 已在“北门片区”签到" in refused.value.message
    assert duty.attendance_of(walk_in, south.session) is None and south.session.taken == 0
    for zone in (north, south):
        duty.confirm_all_present(staff, zone.session, AFTER)
    db.session.commit()
    assert points.balance(walk_in) == campaign.points == 15
    assert broken() == {}


def test_a_volunteer_checking_in_at_a_second_zone_is_refused_too(staff, campaign, walk_in):
    duty.check_in(walk_in, campaign.zones[0].session, START)
    db.session.commit()
    with pytest.raises(campaigns.PresentInAnotherZone):
        duty.check_in(walk_in, campaign.zones[2].session, START + timedelta(minutes=1))


def test_a_sign_up_in_another_zone_is_moved_to_where_the_person_is_marked_and_the_roster_says_so(staff, campaign,
                                                                                                   walk_in):
    north, south = campaign.zones[1], campaign.zones[0]
    campaigns.sign_up(walk_in, north, LATER)
    db.session.commit()
    attendance = duty.mark_present(staff, south.session, walk_in, START)
    db.session.commit()
    assert attendance.notes == ("原报名的“北门片区”已取消，改在“南门片区”签到（每次活动只计一个区域）。",)
    assert duty.attendance_of(walk_in, north.session).status == "cancelled" and north.session.taken == 0
    assert campaigns.place_of(walk_in, campaign)[0] == south and south.session.taken == 1
    duty.confirm(staff, attendance, AFTER)
    db.session.commit()
    assert points.balance(walk_in) == 15 and broken() == {}


def test_a_volunteer_signed_up_elsewhere_who_checks_in_here_is_moved_here(campaign, walk_in):
    campaigns.sign_up(walk_in, campaign.zones[3], LATER)
    attendance = duty.check_in(walk_in, campaign.zones[4].session, START)
    db.session.commit()
    assert attendance.status == "checked_in" and attendance.notes
    assert campaigns.place_of(walk_in, campaign)[0] == campaign.zones[4]
    assert campaign.zones[3].session.taken == 0


def test_an_ordinary_duty_session_is_not_touched_by_the_campaign_rule(staff, walk_in):
    session = factories_session(staff)
    attendance = duty.mark_present(staff, session, walk_in, START)
    assert attendance.notes == ()
    duty.confirm(staff, attendance, AFTER)
    db.session.commit()
    assert points.balance(walk_in) == 10 and CampaignAward.query.count() == 0


def test_a_roster_asks_once_whether_its_session_is_a_zone_however_many_are_confirmed(staff, campaign,
                                                                                        count_queries):
    zone = campaign.zones[0]
    people = [factories.make_user(name=f"扫雪志愿者{n}") for n in range(4)]
    for person in people:
        duty.check_in(person, zone.session, START)
    session = zone.session
    db.session.commit()  # a new transaction: nothing is known about the session's zone
    assert session.id and staff.id  # read again, before counting
    with count_queries() as queries:
        assert duty.confirm_all_present(staff, session, AFTER) == 4
    assert sum("FROM campaign_zones" in s for s in queries.selects) == 1, queries.report()
    assert CampaignAward.query.filter_by(campaign_id=campaign.id).count() == 4
    assert all(points.balance(person) == campaign.points for person in people) and broken() == {}


def factories_session(staff):
    patrol = duty.add_duty_type(staff, "安全巡逻", 10)
    [session] = duty.schedule(staff, duty_type=patrol, title="夜间巡逻", place="南门", starts_at=START,
                              ends_at=START + timedelta(hours=2))
    return session


def present_in_two_zones(staff, campaign, volunteer, monkeypatch):
    """Two zones' attendances for one person, as before this rule (the presence check switched off)."""
    with monkeypatch.context() as patched:
        patched.setattr(duty, "RULES", [])
        first = duty.mark_present(staff, campaign.zones[0].session, volunteer, START)
        second = duty.mark_present(staff, campaign.zones[1].session, volunteer, START)
    db.session.commit()
    return first, second


def test_a_second_award_in_one_campaign_is_refused_even_when_present_in_two_zones(staff, campaign, walk_in,
                                                                                    monkeypatch):
    first, second = present_in_two_zones(staff, campaign, walk_in, monkeypatch)
    duty.confirm(staff, first, AFTER)
    db.session.commit()
    with pytest.raises(campaigns.AwardedInAnotherZone) as refused:
        duty.confirm(staff, second, AFTER)
    db.session.rollback()
    assert "已在“南门片区”获得这次活动的积分" in refused.value.message
    with pytest.raises(campaigns.AwardedInAnotherZone):
        duty.confirm_all_present(staff, campaign.zones[1].session, AFTER)
    db.session.rollback()
    assert points.balance(walk_in) == 15
    award = CampaignAward.query.one()
    assert (award.attendance_id, award.zone_id) == (first.id, campaign.zones[0].id)


def test_the_database_refuses_a_second_award_row_for_one_volunteer_and_campaign(staff, campaign, walk_in,
                                                                                 monkeypatch):
    first, second = present_in_two_zones(staff, campaign, walk_in, monkeypatch)
    duty.confirm(staff, first, AFTER)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(CampaignAward(campaign_id=campaign.id, volunteer_id=walk_in.id, zone_id=campaign.zones[1].id,
                                     attendance_id=second.id))
        db.session.flush()
    db.session.rollback()


def test_rejecting_the_wrong_zone_lets_the_person_be_paid_in_the_right_one(staff, campaign, walk_in):
    wrong, right = campaign.zones[0], campaign.zones[1]
    duty.confirm(staff, duty.mark_present(staff, wrong.session, walk_in, START), AFTER)
    db.session.commit()
    with pytest.raises(campaigns.PresentInAnotherZone):
        duty.mark_present(staff, right.session, walk_in, START)
    db.session.rollback()
    duty.reject(staff, duty.attendance_of(walk_in, wrong.session), "区域记错了", AFTER)
    attendance = duty.mark_present(staff, right.session, walk_in, START)
    duty.confirm(staff, attendance, AFTER)
    db.session.commit()
    assert points.balance(walk_in) == 15
    assert CampaignAward.query.one().zone_id == right.id
    assert broken() == {}


def test_correcting_the_points_keeps_the_one_award(staff, campaign, walk_in):
    attendance = duty.mark_present(staff, campaign.zones[0].session, walk_in, START)
    duty.confirm(staff, attendance, AFTER)
    duty.correct_points(staff, attendance, 20, "多干了一小时", AFTER)
    db.session.commit()
    assert points.balance(walk_in) == 20 and CampaignAward.query.count() == 1 and broken() == {}


def test_verify_finds_a_double_award_from_before_the_rule(staff, campaign, walk_in, monkeypatch):
    first, second = present_in_two_zones(staff, campaign, walk_in, monkeypatch)
    with monkeypatch.context() as patched:
        patched.setattr(duty, "RULES", [])
        duty.confirm(staff, first, AFTER)
        duty.confirm(staff, second, AFTER)
    db.session.commit()
    assert points.balance(walk_in) == 30
    found = broken()
    assert found["each_volunteer_is_paid_once_per_campaign"] == [
        f"campaigns id {campaign.id}: volunteer id {walk_in.id} paid 2 times (attendances ids {first.id}, {second.id})"]
    assert len(found["campaign_awards_match_confirmed_attendances"]) == 2  # neither has the campaign's row
    duty.reject(staff, second, "重复计分", AFTER)  # the fix: a reversal
    db.session.add(CampaignAward(campaign_id=campaign.id, volunteer_id=walk_in.id, zone_id=campaign.zones[0].id,
                                 attendance_id=first.id))
    db.session.commit()
    assert points.balance(walk_in) == 15 and broken() == {}


def test_verify_command_fails_naming_the_double_award(runner, staff, campaign, walk_in, monkeypatch):
    first, second = present_in_two_zones(staff, campaign, walk_in, monkeypatch)
    with monkeypatch.context() as patched:
        patched.setattr(duty, "RULES", [])
        duty.confirm(staff, first, AFTER)
        duty.confirm(staff, second, AFTER)
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert "FAIL each_volunteer_is_paid_once_per_campaign" in result.output
    assert f"volunteer id {walk_in.id} paid 2 times" in result.output


@pytest.mark.own_database
def test_two_zones_confirming_one_person_at_the_same_moment_pay_once(app, staff, campaign, walk_in, monkeypatch):
    first, second = present_in_two_zones(staff, campaign, walk_in, monkeypatch)
    staff_id, ids = staff.id, [first.id, second.id]

    def confirm(n):
        return duty.confirm(db.session.get(User, staff_id), db.session.get(Attendance, ids[n]), AFTER).status

    results = run_at_once(app, 2, confirm)
    assert sorted(map(str, results)).count("confirmed") == 1, results
    assert any(isinstance(r, campaigns.AwardedInAnotherZone) for r in results), results
    db.session.expire_all()
    assert points.balance(db.session.get(User, walk_in.id)) == 15
    assert CampaignAward.query.count() == 1


@pytest.mark.own_database
def test_one_zone_confirmed_twice_at_the_same_moment_is_still_one_award(app, staff, campaign, walk_in):
    attendance_id = duty.mark_present(staff, campaign.zones[0].session, walk_in, START).id
    staff_id = staff.id

    def confirm(n):
        return duty.confirm(db.session.get(User, staff_id), db.session.get(Attendance, attendance_id), AFTER).status

    results = run_at_once(app, 2, confirm)
    assert results == ["confirmed", "confirmed"], results
    db.session.expire_all()
    assert points.balance(db.session.get(User, walk_in.id)) == 15 and broken() == {}


def test_the_roster_says_a_sign_up_was_moved_and_refuses_a_second_zone_with_the_reason(client, staff, live_campaign):
    walk_in = factories.make_user(name="古丽米拉·艾山")
    north, south, square = live_campaign.zones[1], live_campaign.zones[0], live_campaign.zones[2]
    campaigns.sign_up(walk_in, north, utcnow())
    db.session.commit()
    client.login(staff.phone)
    roster = f"/staff/duty/{south.session_id}"
    marked = client.submit(f"{roster}/mark-present", {"volunteer_id": str(walk_in.id)}, page=roster)
    assert marked.status_code == 303
    page = client.get(marked.location).get_data(as_text=True)
    assert "已为 古丽米拉·艾山 签到。" in page and "原报名的“北门片区”已取消，改在“南门片区”签到" in page
    other = f"/staff/duty/{square.session_id}"
    refused = client.submit(f"{other}/mark-present", {"volunteer_id": str(walk_in.id)}, page=other)
    assert refused.status_code == 422
    assert "古丽米拉·艾山 已在“南门片区”签到" in refused.get_data(as_text=True)
    assert duty.attendance_of(walk_in, square.session) is None
