"""Dashboard and monthly-report figures equal sums computed here, independently, from the raw rows:
on the demo world (12 months) and on a hand-built pair of months that crosses a month boundary and
holds a voided redemption, a voided donation, a reversed award and a corrected award."""
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest

from gridapp import clock
from gridapp.auth.models import User
from gridapp.clock import to_local, utcnow
from gridapp.counter import service as counter
from gridapp.counter.models import Redemption, RedemptionLine
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutySession, DutyType
from gridapp.extensions import db
from gridapp.goods import donations
from gridapp.goods.models import Donation, DonationLine, Item
from gridapp.points import service as points
from gridapp.points.models import PointsEntry
from gridapp.reporting import service as reporting
from gridapp.reporting.months import Month, last_months

from .. import factories

pytestmark = pytest.mark.usefixtures("mid_december")  # written around one named day


def month_of(moment: datetime) -> Month:
    local = to_local(moment)
    return Month(local.year, local.month)


def independent(months: list[Month]) -> dict[Month, dict]:
    """Every figure of ``months`` from the raw rows, in Python (what the SQL must agree with)."""
    out = {m: Counter() for m in months}
    actives = defaultdict(set)
    sessions = {s.id: s for s in DutySession.query}
    for a in Attendance.query:
        m = month_of(sessions[a.session_id].starts_at)
        if m not in out:
            continue
        if a.status == "confirmed":
            out[m]["participations"] += 1
            actives[m].add(a.volunteer_id)
        elif a.status in ("checked_in", "checked_out"):
            out[m]["unconfirmed"] += 1
    for m in months:
        out[m]["active_volunteers"] = len(actives[m])
    for u in User.query.filter_by(role="volunteer"):
        if month_of(u.created_at) in out:
            out[month_of(u.created_at)]["new_registrations"] += 1
    for e in PointsEntry.query:
        m = month_of(e.created_at)
        if m not in out:
            continue
        if e.kind == "award" or (e.kind == "reversal" and e.delta < 0):
            out[m]["points_issued"] += e.delta
        else:
            out[m]["points_spent"] -= e.delta
    for r in Redemption.query.filter(Redemption.voided_at.is_(None)):
        m = month_of(r.created_at)
        if m in out:
            out[m]["redemptions"] += 1
            out[m]["items_out"] += sum(line.quantity for line in r.lines)
    for d in Donation.query.filter(Donation.voided_at.is_(None)):
        m = Month(d.received_on.year, d.received_on.month)
        if m in out:
            out[m]["donated_items"] += sum(line.quantity for line in d.lines)
            out[m]["donated_value_fen"] += sum(line.quantity * (line.unit_value_fen or 0) for line in d.lines)
    return out


def assert_figures_match(months):
    computed = reporting.month_figures(months)
    expected = independent(months)
    for figures in computed:
        wanted = {key: expected[figures.month][key] for key in figures.as_dict()}
        assert figures.as_dict() == wanted, figures.month


@pytest.mark.demo
def test_twelve_months_of_demo_figures_equal_sums_of_the_raw_rows(app):
    months = last_months(utcnow(), 12)
    assert_figures_match(months)
    this = reporting.month_figures(months[-2:])
    assert sum(f.participations for f in reporting.month_figures(months)) > 0
    assert this[0].redemptions > 0 or this[1].redemptions > 0


@pytest.mark.demo
def test_demo_totals_are_the_reports_figures(app):
    totals = reporting.totals()
    confirmed = Attendance.query.filter_by(status="confirmed").count()
    prizes = sum(line.quantity for line in RedemptionLine.query.join(Redemption)
                 .filter(Redemption.voided_at.is_(None)))
    donated = sum(line.quantity for line in DonationLine.query.join(Donation).filter(Donation.voided_at.is_(None)))
    assert (totals.participations, totals.prizes, totals.donated_items) == (confirmed, prizes, donated)
    assert totals.sponsors == 16
    assert totals.participations >= 1100 and totals.prizes >= 400 and totals.donated_items >= 600


@pytest.mark.demo
def test_demo_report_breakdowns_equal_sums_of_the_raw_rows(app):
    month = Month.of(utcnow()).previous()
    report = reporting.monthly_report(month)
    in_month = lambda moment: month_of(moment) == month  # noqa: E731
    # per team: confirmed participations of members, points issued to members
    teams = Counter()
    issued = Counter()
    users = {u.id: u for u in User.query}
    for a in Attendance.query.filter_by(status="confirmed"):
        if in_month(a.session.starts_at):
            teams[users[a.volunteer_id].team_id] += 1
    for e in PointsEntry.query:
        if in_month(e.created_at) and (e.kind == "award" or (e.kind == "reversal" and e.delta < 0)):
            issued[users[e.volunteer_id].team_id] += e.delta
    from gridapp.community.models import Team
    names = {t.id: t.name for t in Team.query}
    expected = [(names[tid], teams[tid], issued[tid]) for tid in sorted(names)] + [(None, teams[None], issued[None])]
    assert report.per_team == expected
    assert sum(n for _, n, _ in report.per_team) == report.figures.participations
    # per duty type
    per_type = defaultdict(lambda: [0, 0])
    for a in Attendance.query.filter_by(status="confirmed"):
        if in_month(a.session.starts_at):
            per_type[a.session.duty_type.name][0] += 1
            per_type[a.session.duty_type.name][1] += a.award_entry.delta
    assert {name: [n, p] for name, n, p in report.per_duty_type} == dict(per_type)
    # top items
    items = defaultdict(lambda: [0, 0])
    for line in RedemptionLine.query.join(Redemption).filter(Redemption.voided_at.is_(None)):
        if in_month(line.redemption.created_at):
            items[line.item.name][0] += line.quantity
            items[line.item.name][1] += line.quantity * line.unit_points
    top = sorted(items.items(), key=lambda kv: (-kv[1][0], kv[0]))[:10]
    assert [(name, n, p) for name, _unit, n, p in report.top_items] == [(k, v[0], v[1]) for k, v in top]
    # donations per sponsor
    sponsors = defaultdict(lambda: [set(), 0, 0])
    for line in DonationLine.query.join(Donation).filter(Donation.voided_at.is_(None)):
        d = line.donation
        if d.received_on.year == month.year and d.received_on.month == month.month:
            sponsors[d.sponsor.name][0].add(d.id)
            sponsors[d.sponsor.name][1] += line.quantity
            sponsors[d.sponsor.name][2] += line.quantity * (line.unit_value_fen or 0)
    assert {name: (n, u, v) for name, n, u, v in report.per_sponsor} == {
        k: (len(v[0]), v[1], v[2]) for k, v in sponsors.items()}


def local(text: str) -> datetime:
    return clock.parse_local(text)


@pytest.fixture
def boundary_world(app, fixed_clock):
    """November and December 2026 (the suite's clock is 16 December), built through the services,
    with rows on both sides of midnight between the two months."""
    staff = factories.make_user(role="staff")
    admin = factories.make_user(role="admin")
    team = factories.make_team("环保小卫士")
    ann = factories.make_user(name="张建军", team=team)
    bob = factories.make_user(name="艾力努尔·拜克力")
    patrol = DutyType(name="安全巡逻", default_points=10)
    db.session.add(patrol)
    db.session.flush()

    def session_at(text, pts=10):
        starts = local(text)
        return duty.schedule(staff, duty_type=patrol, title="夜间巡逻", place="南门", starts_at=starts,
                             ends_at=starts + timedelta(hours=1), points=pts, capacity=None, team=None,
                             opens_before=timedelta(minutes=30), repeat_weeks=1)[0]

    # A session that starts at 23:59 on 30 November belongs to November; one at 00:00 on 1 December to December.
    late_nov = session_at("2026-11-30T23:59")
    early_dec = session_at("2026-12-01T00:00", 15)
    mid_dec = session_at("2026-12-10T19:00")
    for s, who in ((late_nov, ann), (early_dec, ann), (early_dec, bob), (mid_dec, bob)):
        a = duty.check_in(who, s, s.starts_at)
        duty.confirm(staff, a, s.starts_at + timedelta(seconds=30))  # points are dated when confirmed
    unconfirmed = duty.check_in(ann, mid_dec, mid_dec.starts_at)  # present, never confirmed
    db.session.commit()
    # A correction (reversal + new award, in December) and a plain reversal of an award made in November.
    bob_attendance = duty.attendance_of(bob, early_dec)
    duty.correct_points(staff, bob_attendance, 20, "补记", utcnow())
    bonus = points.award(ann, 7, reference="bonus:1", description="奖励", key="bonus:1", by=staff,
                         at=local("2026-11-30T23:59:59"))
    points.award(bob, 3, reference="bonus:2", description="奖励", key="bonus:2", by=staff,
                 at=local("2026-12-01T00:00"))
    points.reverse(bonus, reason="重复", by=staff)
    db.session.commit()
    # Goods: donations on both sides of the boundary, one voided; a redemption kept, one voided.
    sponsor = factories.make_sponsor()
    tissue = factories.make_item(name="抽纸", unit="包", points_price=5)
    factories.donate(staff, sponsor, (tissue, 30, 800), received_on=date(2026, 11, 30))
    factories.donate(staff, sponsor, (tissue, 20, 900), received_on=date(2026, 12, 1))
    wrong = factories.donate(staff, sponsor, (tissue, 99, 100), received_on=date(2026, 12, 2))
    donations.void(staff, wrong, "录错了")
    db.session.commit()
    counter.add_redemption_day(admin, clock.local_today(), "测试")
    table = counter.open_session(staff, clock.local_today())
    kept = counter.redeem(staff, table, ann, {tissue.id: 2}, token="t1", now=utcnow())
    voided = counter.redeem(staff, table, bob, {tissue.id: 1}, token="t2", now=utcnow())
    counter.void(staff, voided, "拿错了", utcnow())
    db.session.commit()
    return dict(ann=ann, bob=bob, unconfirmed=unconfirmed, kept=kept)


def test_figures_of_two_months_across_the_boundary_equal_sums_of_the_raw_rows(boundary_world):
    nov, dec = Month(2026, 11), Month(2026, 12)
    assert_figures_match([nov, dec])
    figures = {f.month: f for f in reporting.month_figures([nov, dec])}
    # Hand-checked: Nov has the 23:59 session (10) and the 23:59:59 bonus (7);
    # Dec: 15 + 15 + 10 confirmed, Bob corrected 15 -> 20 (+20 -15), +3, and the Nov bonus reversed (-7).
    assert (figures[nov].participations, figures[nov].points_issued) == (1, 17)
    assert (figures[dec].participations, figures[dec].active_volunteers, figures[dec].unconfirmed) == (3, 2, 1)
    assert figures[dec].points_issued == 15 + 15 + 10 + 20 - 15 + 3 - 7
    assert (figures[dec].redemptions, figures[dec].items_out, figures[dec].points_spent) == (1, 2, 10)
    assert (figures[nov].donated_items, figures[nov].donated_value_fen) == (30, 30 * 800)
    assert (figures[dec].donated_items, figures[dec].donated_value_fen) == (20, 20 * 900)


def test_the_monthly_report_of_the_boundary_months(boundary_world):
    report = reporting.monthly_report(Month(2026, 12))
    assert report.per_duty_type == [("安全巡逻", 3, 15 + 20 + 10)]
    assert report.top_items == [("抽纸", "包", 2, 10)]
    assert report.per_team[0] == ("环保小卫士", 1, 15 - 7)
    assert report.per_team[-1] == (None, 2, 15 + 10 + 20 - 15 + 3)
    assert report.previous.participations == 1


def test_the_dashboard_shows_this_month_next_to_last_month(boundary_world):
    board = reporting.dashboard(utcnow())
    assert (board.this_month.month, board.last_month.month) == (Month(2026, 12), Month(2026, 11))
    assert len(board.trend) == 12 and board.trend[-1] is board.this_month
    assert board.snapshot.stock_value_points == Item.query.one().stock * 5
    assert board.totals.participations == 4 and board.totals.prizes == 2 and board.totals.donated_items == 50


def test_months_are_cut_in_the_community_zone():
    assert Month.of(local("2026-12-31T23:59:59")) == Month(2026, 12)
    assert Month.of(local("2027-01-01T00:00")) == Month(2027, 1)
    assert Month(2026, 12).end == local("2027-01-01T00:00")
    assert Month(2027, 1).previous() == Month(2026, 12) and Month(2026, 12).next() == Month(2027, 1)
    assert Month.parse("2026-13") is None and Month.parse("2026-02") == Month(2026, 2)


