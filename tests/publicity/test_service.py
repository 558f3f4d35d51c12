"""积分公示: masking, publishing a month's lines from the ledger, objections (accepted = exactly one
reversal and one new entry, and the invariants hold; refused a second time, after the window, or on
someone else's line), the 光荣榜 and its opt-out."""
from datetime import timedelta

import pytest

from gridapp import clock, invariants
from gridapp.clock import utcnow
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.errors import DomainError
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.points.models import PointsEntry
from gridapp.publicity import service as publicity
from gridapp.publicity.models import Objection
from gridapp.reporting.months import Month

from .. import factories


@pytest.mark.parametrize("name, masked", [
    ("张建军", "张*军"), ("马静", "马*"), ("欧阳振华", "欧**华"), ("王", "王"),
    ("艾力努尔·拜克力", "艾**尔·拜*力"),              # Uyghur: each part masked
    ("阿依古丽·买买提", "阿**丽·买*提"),
    ("阿不都热合曼·托合提", "阿****曼·托*提"),
    ("哈力木拉提·努尔兰", "哈***提·努*兰"),            # Kazakh
    ("阿依达娜·叶尔兰", "阿**娜·叶*兰"),
    ("马占福", "马*福"),                              # Hui
])
def test_names_are_masked_as_chinese_notices_do(name, masked):
    assert publicity.mask_name(name) == masked


def test_households_show_building_and_unit_only(app):
    household = factories.make_household("3", "2", "401")
    assert publicity.building_unit(household) == "3栋2单元"


@pytest.fixture
def world(app):
    """November 2026 earned and spent by two volunteers, posted on 2 December (window 5 days)."""
    staff = factories.make_user(role="staff")
    ann = factories.make_user(name="张建军", household=factories.make_household("5", "1", "302"))
    bob = factories.make_user(name="艾力努尔·拜克力")
    idle = factories.make_user(name="李四")  # nothing in November: no line
    patrol = DutyType(name="安全巡逻", default_points=10)
    db.session.add(patrol)
    db.session.flush()
    starts = clock.parse_local("2026-11-20T19:00")
    session = duty.schedule(staff, duty_type=patrol, title="夜间巡逻", place="南门", starts_at=starts,
                            ends_at=starts + timedelta(hours=2), points=10, capacity=None, team=None,
                            opens_before=timedelta(minutes=30), repeat_weeks=1)[0]
    for who in (ann, bob):
        duty.confirm(staff, duty.check_in(who, session, starts), starts + timedelta(hours=3))
    points.award(ann, 20, reference="bonus:1", description="奖励", key="b1", by=staff,
                 at=clock.parse_local("2026-11-30T23:59"))
    points.award(ann, 4, reference="bonus:2", description="十二月", key="b2", by=staff,
                 at=clock.parse_local("2026-12-01T00:00"))  # December: not in the posting
    db.session.commit()
    posted = clock.parse_local("2026-12-02T09:00")
    posting = publicity.publish(staff, Month(2026, 11), posted, 5)
    db.session.commit()
    return dict(staff=staff, ann=ann, bob=bob, idle=idle, posting=posting, posted=posted, session=session)


def test_publishing_freezes_each_volunteers_month_from_the_ledger(world):
    lines = {user.name: line for line, user, _h in publicity.lines(world["posting"])}
    assert set(lines) == {"张建军", "艾力努尔·拜克力"}
    assert (lines["张建军"].earned, lines["张建军"].spent, lines["张建军"].balance) == (30, 0, 30)
    assert (lines["艾力努尔·拜克力"].earned, lines["艾力努尔·拜克力"].balance) == (10, 10)
    assert world["posting"].closes_at - world["posting"].opens_at == timedelta(days=5)
    with pytest.raises(DomainError, match="已经公示过了"):
        publicity.publish(world["staff"], Month(2026, 11), world["posted"])


def test_an_accepted_objection_is_one_reversal_and_one_new_entry_and_verify_passes(world, runner):
    ann, staff = world["ann"], world["staff"]
    line = publicity.line_of(world["posting"], ann)
    objection = publicity.raise_objection(ann, line, "巡逻了两个小时，应记15分。", world["posted"] + timedelta(hours=1))
    db.session.commit()
    patrol_award = next(e for e in publicity.correctable_entries(objection) if e.reference.startswith("checkin:"))
    before = {e.id for e in PointsEntry.query}
    publicity.accept(staff, objection, patrol_award, 15, "核对签到表，更正为15分。", world["posted"] + timedelta(hours=2))
    db.session.commit()
    new = PointsEntry.query.filter(PointsEntry.id.not_in(before)).order_by(PointsEntry.id).all()
    assert [(e.kind, e.delta) for e in new] == [("reversal", -10), ("award", 15)]
    assert (objection.reversal_entry_id, objection.new_entry_id) == (new[0].id, new[1].id)
    assert new[0].reverses_id == patrol_award.id and objection.status == "accepted"
    assert points.balance(ann) == 30 + 4 - 10 + 15  # November, the December bonus, the correction
    assert duty.attendance_of(ann, world["session"]).award_entry_id == new[1].id
    assert {name: v for name, v in invariants.run_all().items() if v} == {}
    # Accepting again changes nothing more.
    with pytest.raises(DomainError, match="已经处理过了"):
        publicity.accept(staff, objection, patrol_award, 20, "再改", utcnow())
    db.session.rollback()
    assert PointsEntry.query.count() == len(before) + 2


@pytest.mark.own_database
def test_flask_verify_passes_after_an_accepted_objection(world, runner):
    ann = world["ann"]
    objection = publicity.raise_objection(ann, publicity.line_of(world["posting"], ann), "奖励少记了",
                                          world["posted"] + timedelta(hours=1))
    bonus = next(e for e in publicity.correctable_entries(objection) if e.reference == "bonus:1")
    publicity.accept(world["staff"], objection, bonus, 25, "更正", world["posted"] + timedelta(hours=2))
    db.session.commit()
    assert objection.new_entry.reference == f"objection:{objection.id}"
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output


def test_a_second_objection_on_the_same_line_is_refused(world):
    ann = world["ann"]
    line = publicity.line_of(world["posting"], ann)
    publicity.raise_objection(ann, line, "第一次", world["posted"] + timedelta(hours=1))
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        publicity.raise_objection(ann, line, "第二次", world["posted"] + timedelta(hours=2))
    assert refused.value.message == "您已对这一行提出过异议，请等待网格员处理。"
    db.session.rollback()
    assert Objection.query.count() == 1


def test_an_objection_after_the_window_is_refused(world):
    ann = world["ann"]
    line = publicity.line_of(world["posting"], ann)
    with pytest.raises(DomainError) as refused:
        publicity.raise_objection(ann, line, "晚了", world["posting"].closes_at)
    assert refused.value.message == "公示期已于 2026-12-07 09:00 结束，不能再提出异议。如有疑问，请直接联系网格员。"


def test_an_objection_on_someone_elses_line_is_refused(world):
    bobs_line = publicity.line_of(world["posting"], world["bob"])
    with pytest.raises(DomainError) as refused:
        publicity.raise_objection(world["ann"], bobs_line, "他的不对", world["posted"] + timedelta(hours=1))
    assert refused.value.message == "只能对自己的积分提出异议。"
    assert refused.value.status == 403


def test_a_rejected_objection_keeps_the_ledger_and_tells_the_reason(world):
    bob = world["bob"]
    objection = publicity.raise_objection(bob, publicity.line_of(world["posting"], bob), "少了",
                                          world["posted"] + timedelta(hours=1))
    count = PointsEntry.query.count()
    publicity.reject(world["staff"], objection, "签到表上只有一次。", world["posted"] + timedelta(hours=3))
    db.session.commit()
    assert (objection.status, objection.resolution) == ("rejected", "签到表上只有一次。")
    assert PointsEntry.query.count() == count
    assert publicity.outcome_counts(world["posting"]) == {"open": 0, "accepted": 0, "rejected": 1}


def test_the_honour_roll_ranks_by_points_earned_and_respects_the_opt_out(world):
    roll = publicity.honour_roll(Month(2026, 11))
    assert [(u.name, n) for u, n in roll] == [("张建军", 30), ("艾力努尔·拜克力", 10)]
    publicity.set_opt_out(world["ann"], True)
    db.session.commit()
    assert [u.name for u, _n in publicity.honour_roll(Month(2026, 11))] == ["艾力努尔·拜克力"]
    publicity.set_opt_out(world["ann"], False)
    db.session.commit()
    assert len(publicity.honour_roll(Month(2026, 11))) == 2
