"""Each main page of each role sends a small, fixed number of SQL statements, however many rows it shows.

On the demo world every page is requested as its role, its statements are counted (``count_queries``;
transaction control left out), and the count must stay under the page's ceiling. Then the rows the
page lists are multiplied (20 more volunteers, donations, redemptions, sessions …) and the page must
send exactly as many statements as before: a page that loads something per row (an N+1) fails here.
"""
from datetime import date, time, timedelta
from itertools import count

import pytest
import sqlalchemy as sa

from gridapp import clock
from gridapp.auth.models import User
from gridapp.campaigns import service as campaigns
from gridapp.counter import service as counter
from gridapp.counter.models import CounterSession, Redemption
from gridapp.demo import DEMO_LOGINS, DEMO_PASSWORD
from gridapp.duty import service as duty
from gridapp.duty.models import DutySession
from gridapp.extensions import db
from gridapp.goods.models import Donation, Item
from gridapp.points import service as points
from gridapp.publicity import service as publicity
from gridapp.publicity.models import Objection, Posting, PostingLine
from gridapp.reports import service as reports

from . import factories

pytestmark = pytest.mark.demo

MORE = 20  # rows added to the page's list: its statement count must not change
# The grid scope of a staff or admin request (org.service.scope_for): one statement per request, whatever
# the page; counted apart so that the figures below stay the pages' own.
SCOPE_STATEMENT = "WITH RECURSIVE below"
PHONES = {role: phone for phone, _name, role, _sponsor, _note in DEMO_LOGINS[:4]}  # admin, staff, volunteer, sponsor
_serial = count(1)


def demo_user(role: str) -> User:
    return db.session.scalars(sa.select(User).where(User.phone == PHONES[role])).one()


class Pages:
    """A client logged in as a demo role, and the number of statements each request sends."""

    def __init__(self, app, count_queries, role: str):
        self.app, self.client, self.count_queries = app, app.test_client(), count_queries
        assert self.client.login(PHONES[role], DEMO_PASSWORD).status_code == 303

    def statements(self, url: str) -> int:
        db.session.commit()  # the test's own session ends its transaction (it has nothing pending)
        # The request gets an app context, hence a database session, of its own — as on a real
        # server — so nothing the test has loaded is cached for it.
        with self.app.app_context(), self.count_queries() as queries:
            response = self.client.get(url)
        assert response.status_code == 200, f"GET {url}: {response.status_code}"
        self.last = queries
        # Every staff request works out its grid scope (org.service.scope_for: one statement at most), and
        # every page reads the names it prints (its grid with its community: org.current_grid) once; both
        # are counted apart, so that each ceiling below is the page's own work.
        scope = [statement for statement in queries.statements if statement.startswith(SCOPE_STATEMENT)]
        assert len(scope) <= 1, f"GET {url}: the grid scope took {len(scope)} statements"
        self.tree_reads = sum(1 for s in queries.statements if "FROM org_units" in s and not s.startswith(SCOPE_STATEMENT))
        assert self.tree_reads <= 1, f"GET {url} read the organisation tree {self.tree_reads} times: {queries.report()}"
        return len(queries) - len(scope) - self.tree_reads

    def assert_constant(self, url: str, ceiling: int, add_rows, later_url: str | None = None) -> int:
        """``url`` sends at most ``ceiling`` statements, and as many again after ``add_rows()``."""
        before = self.statements(url)
        assert before <= ceiling, f"GET {url}: {self.last.report()}"
        add_rows()
        after = self.statements(later_url or url)
        assert after == before, f"GET {later_url or url} after adding rows: {before} → {self.last.report()}"
        return before


# --- rows to add ----------------------------------------------------------------------------------

def staff_user() -> User:
    return demo_user("staff")


def volunteers(n: int, name: str = "加测志愿者") -> list[User]:
    """``n`` active volunteers, each in their own household and team (so nothing is shared in a cache)."""
    return [factories.make_user(name=f"{name}{next(_serial)}", household=factories.make_household("12", "1"),
                                team=factories.make_team()) for _ in range(n)]


def stocked_items(n: int, sponsor=None, price: int = 5, **fields) -> list[Item]:
    """``n`` cheap items on the shelf, each donated by its own sponsor (or all by ``sponsor``)."""
    items = [factories.make_item(f"加测物品{next(_serial)}", points_price=price, **fields) for _ in range(n)]
    for item in items:
        factories.donate(staff_user(), sponsor or factories.make_sponsor(), (item, 10, 150),
                         received_on=date(2026, 12, 1))
    return items


def awards(volunteer: User, n: int) -> None:
    for _ in range(n):
        serial = next(_serial)
        points.award(volunteer, 10, reference=f"test:{serial}", description="加测积分", key=f"more:{serial}")
    db.session.commit()


def upcoming_sessions(n: int, volunteer: User | None = None) -> list[DutySession]:
    """``n`` sessions open to all in the coming days (the volunteer signed up for each, if given)."""
    start = clock.from_local(clock.local_today() + timedelta(days=1), time(9, 0))
    made = []
    for i in range(n):
        duty_type = duty.add_duty_type(staff_user(), f"加测类型{next(_serial)}", 5)
        made += duty.schedule(staff_user(), duty_type=duty_type, title=f"加测服务{i}", place="B区",
                              starts_at=start + timedelta(hours=i * 3), ends_at=start + timedelta(hours=i * 3 + 2))
    db.session.commit()
    if volunteer is not None:
        for session in made:
            duty.sign_up(volunteer, session, clock.utcnow())
        db.session.commit()
    return made


def open_counter() -> CounterSession:
    """The counter open today (the demo's counter days are all past): an admin adds today, with a reason."""
    session = counter.open_session(demo_user("admin"), clock.local_today(), reason="加开一天")
    db.session.commit()
    return session


def redemptions(session: CounterSession, people: list[User], items: list[Item], served_by=None) -> list[Redemption]:
    """Each volunteer takes one of each item (in turn), served by the staff in ``served_by`` in turn."""
    served_by = served_by or [staff_user()]
    made = []
    for i, volunteer in enumerate(people):
        awards(volunteer, 5)
        wanted = {items[i % len(items)].id: 1, items[(i + 1) % len(items)].id: 1}
        made.append(counter.redeem(served_by[i % len(served_by)], session, volunteer, wanted,
                                   token=f"more-{next(_serial)}", now=clock.utcnow()))
        db.session.commit()
    return made


# --- the volunteer ------------------------------------------------------------------------------

def test_the_volunteer_home_sends_three_selects_besides_the_login(app, count_queries):
    """我的: the login (one query), then the counter card: the counter day and what the points buy (1),
    the duties with my attendance (1), the campaigns with their zones and my places in them (1).
    It measured 7 (the counter day took 2, what the points buy 1, the campaigns 2)."""
    pages = Pages(app, count_queries, "volunteer")
    me = demo_user("volunteer")

    def more():
        stocked_items(MORE)
        upcoming_sessions(MORE, volunteer=me)
        planner = staff_user()
        for _ in range(3):
            campaign = campaigns.create_campaign(planner, campaigns.Details(
                title=f"加测扫雪{next(_serial)}", duty_type=campaigns.snow_duty_type(planner),
                starts_at=clock.utcnow() + timedelta(days=2), ends_at=clock.utcnow() + timedelta(days=2, hours=2),
                meeting_point="中心广场", organiser="网格党支部", contact_name="贾亮", contact_phone="13800000002",
                body="扫雪", tools="铁锹", safety="注意防滑", points=10), clock.utcnow())
            for z in range(4):
                campaigns.add_zone(planner, campaign, campaigns.ZoneDetails(
                    name=f"区域{z}", description="", team="", leader_name="", leader_phone="", needed=5))
            campaigns.publish(planner, campaign, clock.utcnow())
            db.session.commit()
            campaigns.sign_up(me, campaign.zones[0], clock.utcnow())
            db.session.commit()

    total = pages.assert_constant("/me", 4, more)
    assert pages.tree_reads == 0  # the volunteer's grid comes with the login
    assert len(pages.last.selects) == total and total - 1 <= 3  # all reads; three besides the login


@pytest.mark.parametrize("url, ceiling", [("/me/points", 4), ("/me/goods", 4), ("/me/redemptions", 5),
                                          ("/me/card", 2), ("/gongshi", 3)])
def test_the_volunteers_pages_send_a_fixed_number_of_statements(app, count_queries, url, ceiling):
    pages = Pages(app, count_queries, "volunteer")
    me = demo_user("volunteer")

    def more():
        awards(me, MORE)
        items = stocked_items(MORE)
        session = open_counter()
        for n in range(MORE // 4):
            counter.redeem(staff_user(), session, me, {items[n].id: 1, items[n + 5].id: 1},
                           token=f"mine-{next(_serial)}", now=clock.utcnow())
        db.session.commit()

    pages.assert_constant(url, ceiling, more)


def test_a_receipt_with_many_lines_sends_as_many_statements_as_one_with_one(app, count_queries):
    staff = Pages(app, count_queries, "staff")
    session = open_counter()
    items = stocked_items(8)
    people = volunteers(2)
    awards(people[0], 5), awards(people[1], 5)
    short = counter.redeem(staff_user(), session, people[0], {items[0].id: 1}, token="short", now=clock.utcnow())
    long = counter.redeem(staff_user(), session, people[1], {item.id: 1 for item in items}, token="long",
                          now=clock.utcnow())
    db.session.commit()
    one_line = staff.statements(f"/counter/redemptions/{short.id}")
    assert one_line <= 4, staff.last.report()  # 7 before its session came with it and its balance was summed once
    assert staff.statements(f"/counter/redemptions/{long.id}") == one_line, staff.last.report()


# --- staff ----------------------------------------------------------------------------------------

def test_the_roster_of_volunteers_sends_four_statements_for_a_page_of_thirty(app, count_queries):
    """/staff/volunteers measured 44 statements for 30 rows (household and team per row); now 4."""
    staff = Pages(app, count_queries, "staff")
    volunteers(1, name="加测名册")
    staff.assert_constant("/staff/volunteers?q=加测名册", 4, lambda: volunteers(MORE, name="加测名册"))
    assert staff.statements("/staff/volunteers") <= 4  # the demo's first page: 30 rows


def test_the_counter_day_summary_sends_five_statements_however_many_redemptions(app, count_queries):
    """The day summary measured 31 statements on the demo's counter day; now 5."""
    staff = Pages(app, count_queries, "staff")
    demo_day = db.session.scalars(sa.select(CounterSession).order_by(CounterSession.day.desc())).first()
    assert staff.statements(f"/counter/sessions/{demo_day.id}") <= 5, staff.last.report()
    session = open_counter()
    items = stocked_items(6)
    others = [factories.make_user(role="staff") for _ in range(3)]
    redemptions(session, volunteers(2), items)

    def more():
        redemptions(session, volunteers(MORE), items, served_by=others)
        counter.void(staff_user(), session.redemptions.first(), "登记错了", clock.utcnow())
        db.session.commit()

    staff.assert_constant(f"/counter/sessions/{session.id}", 5, more)


def test_the_counter_pages_send_a_fixed_number_of_statements(app, count_queries):
    """The volunteer panel measured 8 statements and one more per redemption of the month (the household
    and each redemption's lines lazy loads, this month's use by the volunteer and by the household
    apart); then 6 however many; now 5 (this month's redemptions and use in one statement of rows). The
    lookup's counter day was 2, now 1."""
    staff = Pages(app, count_queries, "staff")
    session = open_counter()
    items = stocked_items(6)
    first = volunteers(2, name="加测柜台")
    redemptions(session, first, items)

    def more():
        stocked_items(MORE, monthly_limit=3, household_monthly_limit=2)
        redemptions(session, volunteers(MORE, name="加测柜台"), items)

    panel = f"/counter/v/{first[0].id}?add={items[0].id}"
    staff.assert_constant("/counter?q=加测柜台", 8, more)
    staff.assert_constant(panel, 5, lambda: stocked_items(MORE, monthly_limit=3, household_monthly_limit=2))
    staff.assert_constant(panel, 5, lambda: redemptions(session, [first[0]] * 3, stocked_items(2)))  # more this month


def test_the_donation_list_sends_five_statements_for_a_page_of_thirty(app, count_queries):
    """/staff/donations measured 22 statements (the lines of each donation); now 5."""
    staff = Pages(app, count_queries, "staff")
    staff.assert_constant("/staff/donations", 5, lambda: stocked_items(MORE))


@pytest.mark.parametrize("url, ceiling", [("/staff", 16), ("/staff/stock", 2)])
def test_the_staff_overviews_send_a_fixed_number_of_statements(app, count_queries, url, ceiling):
    staff = Pages(app, count_queries, "staff")

    def more():
        stocked_items(MORE, low_stock_threshold=20)
        volunteers(MORE)

    staff.assert_constant(url, ceiling, more)


def test_the_monthly_report_sends_a_fixed_number_of_statements(app, count_queries):
    staff = Pages(app, count_queries, "staff")
    month = clock.to_local(clock.utcnow()).strftime("%Y-%m")

    def more():
        for volunteer in volunteers(MORE):
            awards(volunteer, 1)
        stocked_items(MORE)

    staff.assert_constant(f"/staff/monthly/{month}", 17, more)


def test_an_items_history_sends_four_statements_however_many_donations(app, count_queries):
    staff = Pages(app, count_queries, "staff")
    item = stocked_items(1)[0]
    staff.assert_constant(f"/staff/items/{item.id}", 4, lambda: [
        factories.donate(staff_user(), factories.make_sponsor(), (item, 3), received_on=date(2026, 12, 2))
        for _ in range(MORE)])


def test_a_volunteers_page_for_staff_sends_a_fixed_number_of_statements(app, count_queries):
    staff = Pages(app, count_queries, "staff")
    volunteer = volunteers(1)[0]
    awards(volunteer, 1)
    staff.assert_constant(f"/staff/volunteers/{volunteer.id}", 7, lambda: awards(volunteer, MORE))


def test_the_duty_pages_send_a_fixed_number_of_statements(app, count_queries):
    staff = Pages(app, count_queries, "staff")
    session = upcoming_sessions(1)[0]
    people = volunteers(2)
    for volunteer in people:
        duty.sign_up(volunteer, session, clock.utcnow())
    db.session.commit()

    def more_people():
        for volunteer in volunteers(MORE):
            duty.sign_up(volunteer, session, clock.utcnow())
        duty.mark_present(staff_user(), session, people[0], clock.utcnow())
        db.session.commit()

    staff.assert_constant("/staff/duty", 3, lambda: upcoming_sessions(MORE))
    staff.assert_constant(f"/staff/duty/{session.id}", 6, more_people)


def test_the_report_queue_sends_a_fixed_number_of_statements(app, count_queries):
    staff = Pages(app, count_queries, "staff")

    def more():
        for volunteer in volunteers(MORE):
            reports.submit(volunteer, category="road", description="路面有坑", building="3", now=clock.utcnow())
        db.session.commit()

    staff.assert_constant("/staff/reports", 5, more)


def test_the_publicity_pages_send_a_fixed_number_of_statements(app, count_queries):
    """公示: the public table and the staff's page of objections (each open one with its own form)."""
    staff, volunteer = Pages(app, count_queries, "staff"), Pages(app, count_queries, "volunteer")
    posting = db.session.scalars(sa.select(Posting).order_by(Posting.id.desc())).first()

    def more():
        objected = sa.select(Objection.line_id)
        lines = db.session.scalars(sa.select(PostingLine).where(PostingLine.posting_id == posting.id,
                                                                PostingLine.id.not_in(objected))
                                   .order_by(PostingLine.id).limit(MORE)).all()
        for line in lines:
            publicity.raise_objection(line.volunteer, line, "积分好像少了", clock.utcnow())
        db.session.commit()

    staff.assert_constant(f"/staff/publicity/{posting.id}", 6, more)
    assert volunteer.statements(f"/gongshi/{posting.id}") <= 10, volunteer.last.report()


def test_a_campaigns_pages_send_a_fixed_number_of_statements(app, count_queries):
    staff, volunteer = Pages(app, count_queries, "staff"), Pages(app, count_queries, "volunteer")
    planner = staff_user()
    campaign = campaigns.create_campaign(planner, campaigns.Details(
        title="加测扫雪", duty_type=campaigns.snow_duty_type(planner),
        starts_at=clock.utcnow() + timedelta(days=2), ends_at=clock.utcnow() + timedelta(days=2, hours=2),
        meeting_point="中心广场", organiser="网格党支部", contact_name="贾亮", contact_phone="13800000002",
        body="扫雪", tools="铁锹", safety="注意防滑", points=10), clock.utcnow())

    def zones(n):
        for _ in range(n):
            campaigns.add_zone(planner, campaign, campaigns.ZoneDetails(
                name=f"区域{next(_serial)}", description="", team="", leader_name="", leader_phone="", needed=5))
        db.session.commit()

    zones(1)
    campaigns.publish(planner, campaign, clock.utcnow())
    db.session.commit()
    staff.assert_constant(f"/staff/campaigns/{campaign.id}", 3, lambda: zones(5))
    volunteer.assert_constant(f"/campaigns/{campaign.id}", 4, lambda: zones(5))


# --- sponsors and the admin -----------------------------------------------------------------------

def test_the_sponsor_home_sends_seven_statements_however_many_donations(app, count_queries):
    """/sponsor measured 20 statements (a query per item and per donation); now 7."""
    pages = Pages(app, count_queries, "sponsor")
    sponsor = demo_user("sponsor").sponsor

    def more():
        items = stocked_items(MORE, sponsor=sponsor)
        people = volunteers(3)
        for volunteer in people:
            awards(volunteer, 5)
        session = open_counter()
        for i, volunteer in enumerate(people):
            counter.redeem(staff_user(), session, volunteer, {items[i].id: 1, items[i + 3].id: 2},
                           token=f"sponsor-{i}", now=clock.utcnow())
        db.session.commit()

    pages.assert_constant("/sponsor", 7, more)
    donation = db.session.scalars(sa.select(Donation).where(Donation.sponsor_id == sponsor.id)).first()
    assert pages.statements(f"/sponsor/donations/{donation.id}") <= 5, pages.last.report()


def test_the_accounts_page_sends_two_statements_however_many_sponsor_accounts(app, count_queries):
    """Three with the header's grid switcher: the demo admin works in either grid of 屯坪社区."""
    admin = Pages(app, count_queries, "admin")
    admin.assert_constant("/admin/accounts", 3, lambda: [factories.make_user(role="sponsor") for _ in range(MORE)])


def test_a_confirm_reads_the_days_session_once_under_its_lock(app, count_queries):
    """The session's row, read again under the write lock (``_hold_open``), also refreshes the object the
    home-grid check reads: one SELECT of counter_sessions per confirm, not two; and a two-item confirm
    after the unit of work has expired everything sends a fixed number of statements."""
    session = open_counter()
    items = stocked_items(2)
    person = volunteers(1)[0]
    awards(person, 5)
    db.session.expire_all()  # as unit_of_work() leaves the request's objects: read again under the lock
    with count_queries() as queries:
        counter.redeem(staff_user(), session, person, {items[0].id: 1, items[1].id: 1}, token="once",
                       now=clock.utcnow())
    sessions_read = [s for s in queries.statements if s.startswith("SELECT") and "FROM counter_sessions" in s]
    assert len(sessions_read) == 1, "\n".join(queries.statements)
    # 24 before: the token's look-up, the grid's and one INSERT per line; PostgreSQL locks the household besides
    ceiling = 21 if db.engine.dialect.name == "sqlite" else 22
    assert len(queries.statements) <= ceiling, "\n".join(queries.statements)
