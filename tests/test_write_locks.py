"""Short write transactions and the counter's locks (gridapp/database.py, gridapp/counter/service.py).

SQLite: the process-shared writer mutex (a flock next to the database) is held from BEGIN IMMEDIATE to
the end of the COMMIT or ROLLBACK, and a process killed while holding it stalls nobody; a check-in or a
confirm reads before its unit of work without the write lock, and what it decides it decides on a fresh
read under the lock — a request that raced it in between is seen, never overwritten, and never turns
into SQLITE_BUSY (a 500). Both databases: two baskets in opposite orders at once both go through,
closing the day waits for a redemption under way, receipt numbers stay gap-free. PostgreSQL: tables do
not wait for one another on the day's session row or the receipt number.
"""
import fcntl
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from gridapp import once
from gridapp.auth.models import User
from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.counter.models import CounterSession, Redemption
from gridapp.database import WRITER_LOCK_SUFFIX, WriteOutsideUnitOfWork, reading_only, unit_of_work
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutySession
from gridapp.extensions import db
from gridapp.goods import stock
from gridapp.goods.models import Item
from gridapp.points import service as points

from . import factories
from .concurrency import assert_invariants_hold, at_once, patrol, settle  # noqa: F401 (patrol: a fixture)
from .conftest import POSTGRES_URL
from .http_client import Browser

sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's writer mutex and write lock")
postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="row locks: SQLite's one writer serialises anyway")
TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')
REPO = Path(__file__).resolve().parent.parent


def lock_path(database_url: str) -> str:
    return sa.engine.make_url(database_url).database + WRITER_LOCK_SUFFIX


def mutex_held(database_url: str) -> bool:
    """Does some connection (of any process) hold the writer mutex right now?"""
    with open(lock_path(database_url), "a+b") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False


def in_thread(app, action, timeout=60):
    """Run ``action()`` in another thread with its own app context and session (committing); returns
    what it returned, or raises what it raised. Fails if it has not finished after ``timeout`` s."""
    outcome = {}

    def run():
        with app.app_context():
            try:
                outcome["value"] = action()
                db.session.commit()
            except Exception as exc:  # handed to the test
                db.session.rollback()
                outcome["error"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still waiting after {timeout} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --- SQLite: the writer mutex ------------------------------------------------------------------

@sqlite_only
@pytest.mark.own_database
def test_the_writer_mutex_is_held_from_the_first_write_to_commit_or_rollback(app, database_url):
    settle()
    assert not mutex_held(database_url)
    db.session.execute(text("INSERT INTO number_sequences (series, year, last) VALUES ('T1', 2026, 0)"))
    assert mutex_held(database_url)
    db.session.commit()
    assert not mutex_held(database_url)
    db.session.execute(text("INSERT INTO number_sequences (series, year, last) VALUES ('T2', 2026, 0)"))
    assert mutex_held(database_url)
    db.session.rollback()
    assert not mutex_held(database_url)
    with reading_only():  # a read never takes it
        db.session.execute(text("SELECT COUNT(*) FROM number_sequences"))
        assert not mutex_held(database_url)
        db.session.rollback()
    assert db.session.execute(text("SELECT series FROM number_sequences WHERE series LIKE 'T%'")).scalars().all() \
        == ["T1"]


@sqlite_only
@pytest.mark.own_database
def test_a_second_writer_waits_for_the_first_then_goes_through(app, database_url):
    settle()
    db.session.execute(text("INSERT INTO number_sequences (series, year, last) VALUES ('A', 2026, 0)"))
    started = threading.Event()

    def second():
        started.set()
        db.session.execute(text("INSERT INTO number_sequences (series, year, last) VALUES ('B', 2026, 0)"))
        return db.session.execute(text("SELECT COUNT(*) FROM number_sequences WHERE series IN ('A', 'B')")).scalar()

    result = {}
    thread = threading.Thread(target=lambda: result.update(seen=in_thread(app, second)), daemon=True)
    thread.start()
    started.wait(10)
    thread.join(0.5)
    assert thread.is_alive()  # queued behind the first writer, in the kernel
    db.session.commit()
    thread.join(60)
    assert result["seen"] == 2  # it began after the first committed: it sees the first's row


@sqlite_only
@pytest.mark.own_database
def test_a_writer_killed_while_holding_the_mutex_stalls_nobody(app, database_url, tmp_path):
    settle()
    script = textwrap.dedent(f"""
        import pathlib, time
        from sqlalchemy import text
        from gridapp import create_app
        from gridapp.config import TestConfig
        from gridapp.extensions import db
        app = create_app(TestConfig({database_url!r}, pathlib.Path({str(tmp_path / "child")!r})))
        with app.app_context():
            db.session.execute(text("INSERT INTO number_sequences (series, year, last) VALUES ('KILLED', 2026, 7)"))
            print("holding", flush=True)
            time.sleep(300)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        line = child.stdout.readline()
        assert line.strip() == b"holding", child.stderr.read().decode()
        assert mutex_held(database_url)  # the child is in the middle of its write transaction
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert not mutex_held(database_url)  # the kernel let go of it with the process

    def write():
        db.session.execute(text("INSERT INTO number_sequences (series, year, last) VALUES ('NEXT', 2026, 1)"))
        return True

    assert in_thread(app, write, timeout=30)  # goes straight through: nothing waits for the dead process
    rows = db.session.execute(text("SELECT series FROM number_sequences WHERE series IN ('KILLED', 'NEXT')"))
    assert rows.scalars().all() == ["NEXT"]  # and its unfinished write is gone


# --- SQLite: the write lock at the unit of work ------------------------------------------------

@sqlite_only
@pytest.mark.own_database
def test_why_a_read_transaction_is_ended_not_upgraded(app, database_url):
    """The design decision, shown on two plain connections: a deferred transaction that has read and
    then writes after another connection committed fails at once with SQLITE_BUSY (its snapshot is
    stale), whatever the busy timeout; a new transaction begun after the read one ended goes through."""
    import sqlite3

    settle()
    path = sa.engine.make_url(database_url).database
    reader, writer = (sqlite3.connect(path, timeout=10, isolation_level=None) for _ in range(2))
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM number_sequences").fetchone()  # the read phase
        writer.execute("INSERT INTO number_sequences (series, year, last) VALUES ('W', 2026, 0)")  # commits
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            reader.execute("INSERT INTO number_sequences (series, year, last) VALUES ('R', 2026, 0)")
        reader.execute("ROLLBACK")
        reader.execute("BEGIN IMMEDIATE")  # what unit_of_work does instead: a new transaction, fresh reads
        assert reader.execute("SELECT COUNT(*) FROM number_sequences WHERE series = 'W'").fetchone() == (1,)
        reader.execute("INSERT INTO number_sequences (series, year, last) VALUES ('R', 2026, 0)")
        reader.execute("COMMIT")
    finally:
        reader.close()
        writer.close()


@sqlite_only
def test_a_write_before_the_unit_of_work_is_refused(app):
    insert = text("INSERT INTO number_sequences (series, year, last) VALUES ('EARLY', 2026, 0)")
    with app.test_request_context("/duty/1/check-in", method="POST"):
        with pytest.raises(WriteOutsideUnitOfWork):
            db.session.execute(insert)
        db.session.rollback()
        with unit_of_work():
            db.session.execute(insert)  # inside it, the write is the unit's
    with app.test_request_context("/staff/duty/types", method="POST"):
        db.session.execute(text("INSERT INTO number_sequences (series, year, last) VALUES ('OTHER', 2026, 0)"))


def between_read_and_write(monkeypatch, token, action):
    """Run ``action()`` (another request, to the end) when the request posting ``token`` has done its
    reads and is about to enter its unit of work — the moment a stale read or an upgrade would bite."""
    earlier_result = once.earlier_result
    done = []

    def hooked(form_token, user):
        found = earlier_result(form_token, user)
        if form_token == token and not done:
            done.append(action())
        return found

    monkeypatch.setattr(once, "earlier_result", hooked)
    return done


@pytest.mark.own_database
def test_a_check_in_that_raced_another_tab_is_refused_not_doubled(app, live_server, patrol, monkeypatch):
    _, session = patrol
    session_id, number = session.id, factories.make_user().phone
    settle()
    phone = Browser(live_server.host).login(number, factories.PASSWORD)
    tabs = []
    for _ in range(2):  # two tabs of the same phone: two forms, two tokens
        _, _, page = phone.get(f"/duty/{session_id}")
        tabs.append({"csrf_token": phone.csrf_token(f"/duty/{session_id}"), "token": TOKEN.search(page).group(1)})
    url = f"/duty/{session_id}/check-in"
    other = between_read_and_write(monkeypatch, tabs[0]["token"], lambda: phone.request("POST", url, tabs[1])[:2])

    status, _, html = phone.request("POST", url, tabs[0])
    assert other == [(303, f"{url}/done")]  # the other tab checked in while this one was reading
    assert status == 422 and "无需重复签到" in html  # seen under the write lock: no second check-in, no 500
    settle()
    assert Attendance.query.filter_by(session_id=session_id).count() == 1
    assert db.session.get(DutySession, session_id).taken == 1
    assert_invariants_hold()


@pytest.fixture
def table(app):
    """Today's counter open, two items in stock (5 each), a volunteer with 100 points, two staff."""
    admin = factories.make_user(role="admin")
    staff = [factories.make_user(role="staff", name=name) for name in ("贾亮", "王芳")]
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")
    kettle = factories.make_item("烧水壶", points_price=40, category="日用品")
    sheet = factories.make_item("床单", points_price=40, category="日用品")
    factories.donate(staff[0], factories.make_sponsor("物业公司"), (kettle, 5), (sheet, 5))
    volunteer = factories.make_user(name="蒋生军")
    points.award(volunteer, 100, reference="test", description="测试积分", key="seed")
    session = counter.open_session(staff[0], local_today())
    db.session.commit()
    return {"staff": [s.phone for s in staff], "volunteer": volunteer.id, "session": session.id,
            "kettle": kettle.id, "sheet": sheet.id}


def confirm_form(desk, volunteer_id, items):
    """The confirm form of a basket holding one of each of ``items``, its fields in that order."""
    page = f"/counter/v/{volunteer_id}?" + "&".join(f"q{item}=1" for item in items)
    _, _, html = desk.get(page)
    return {"csrf_token": desk.csrf_token(page), "token": TOKEN.search(html).group(1),
            **{f"q{item}": "1" for item in items}}


@pytest.mark.own_database
def test_two_tables_spending_one_balance_while_reading_spend_it_once(app, live_server, table, monkeypatch):
    volunteer_id = table["volunteer"]
    settle()
    desks = [Browser(live_server.host).login(phone, factories.PASSWORD) for phone in table["staff"]]
    forms = [confirm_form(desk, volunteer_id, [table[item], table[other]])
             for desk, item, other in ((desks[0], "kettle", "sheet"), (desks[1], "sheet", "kettle"))]
    url = f"/counter/v/{volunteer_id}/confirm"
    other = between_read_and_write(monkeypatch, forms[0]["token"],
                                   lambda: desks[1].request("POST", url, forms[1])[0])

    status, _, html = desks[0].request("POST", url, forms[0])
    assert other == [303]  # the other table redeemed 80 of the 100 points meanwhile
    assert status == 422 and "积分不足" in html and "现有 20 分" in html  # the balance read under the lock
    settle()
    assert Redemption.query.count() == 1 and db.session.get(User, volunteer_id).points_balance == 20
    assert [db.session.get(Item, table[name]).stock for name in ("kettle", "sheet")] == [4, 4]
    assert_invariants_hold()


# --- both databases: lock order, closing, numbering --------------------------------------------

HOLD_SECONDS = 10  # how long a held transaction waits for the other before it gives up


class Lingering(set):
    """The items whose stock moves linger; ``reached`` is set once a transaction lingers over one."""

    def __init__(self):
        super().__init__()
        self.reached = threading.Event()


@pytest.fixture
def lingering(monkeypatch):
    """Each move of the stock of the items named in ``slow`` lingers (0.4 s) before its transaction goes on."""
    slow = Lingering()
    move = stock._move_item

    def lingering_move(item, delta):
        moved = move(item, delta)
        if item.id in slow:
            slow.reached.set()
            time.sleep(0.4)
        return moved

    monkeypatch.setattr(stock, "_move_item", lingering_move)
    return slow


@pytest.mark.own_database
def test_two_baskets_in_opposite_orders_at_two_tables_both_go_through(app, live_server, table, lingering):
    lingering.update({table["kettle"], table["sheet"]})
    others = [factories.make_user(name=name) for name in ("李娟", "阿依古丽")]
    for volunteer in others:
        points.award(volunteer, 100, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    ids = [v.id for v in others]
    settle()
    desks = [Browser(live_server.host).login(phone, factories.PASSWORD) for phone in table["staff"]]
    # The basket's order is the order the + buttons were pressed: kettle then sheet, and sheet then kettle.
    forms = [confirm_form(desks[0], ids[0], [table["kettle"], table["sheet"]]),
             confirm_form(desks[1], ids[1], [table["sheet"], table["kettle"]])]

    answers = at_once(2, lambda n: desks[n].request("POST", f"/counter/v/{ids[n]}/confirm", forms[n])[:2])
    assert [status for status, _ in answers] == [303, 303], answers  # no deadlock, no 500
    settle()
    assert [db.session.get(Item, table[name]).stock for name in ("kettle", "sheet")] == [3, 3]
    assert sorted(r.receipt_seq for r in Redemption.query) == [1, 2]
    assert_invariants_hold()


@pytest.mark.own_database
def test_closing_the_day_waits_for_a_redemption_under_way(app, table, lingering):
    lingering.add(table["kettle"])
    staff_phones, session_id, volunteer_id = table["staff"], table["session"], table["volunteer"]
    settle()

    def act(n):
        if n == 1:  # once the redemption is under way (lingering over its kettle)
            assert lingering.reached.wait(HOLD_SECONDS)
        actor = User.query.filter_by(phone=staff_phones[n]).one()
        session = db.session.get(CounterSession, session_id)
        if n == 0:
            result = counter.redeem(actor, session, db.session.get(User, volunteer_id), {table["kettle"]: 1},
                                    token="under-way", now=utcnow()).receipt_no
        else:
            result = counter.close_session(actor, session, utcnow()).closed_at
        finished[n] = time.monotonic()
        return result

    finished = {}
    results = []
    threads = [threading.Thread(target=lambda n=n: results.append((n, in_thread(app, lambda: act(n)))), daemon=True)
               for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    outcome = dict(results)
    assert re.fullmatch(r"DH-DXB-\d{4}-0001", outcome[0])  # it was not refused halfway
    assert outcome[1] is not None and finished[1] >= finished[0]  # closed after it had committed
    with pytest.raises(counter.SessionClosed):
        counter.redeem(User.query.filter_by(phone=staff_phones[0]).one(), db.session.get(CounterSession, session_id),
                       db.session.get(User, volunteer_id), {table["sheet"]: 1}, token="too-late", now=utcnow())
    db.session.rollback()
    assert_invariants_hold()


@pytest.mark.own_database
def test_receipt_numbers_stay_gap_free_when_tables_confirm_and_fail_at_once(app, table):
    volunteers = [factories.make_user() for _ in range(8)]
    for n, volunteer in enumerate(volunteers):  # every other one is 10 points short of a sheet
        points.award(volunteer, 40 if n % 2 == 0 else 30, reference="test", description="测试积分",
                     key=f"seed:{volunteer.id}")
    ids = [v.id for v in volunteers]
    staff_phone, session_id, sheet = table["staff"][0], table["session"], table["sheet"]
    settle()

    def redeem(n):
        with app.app_context():
            try:
                redemption = counter.redeem(User.query.filter_by(phone=staff_phone).one(),
                                            db.session.get(CounterSession, session_id),
                                            db.session.get(User, ids[n]), {sheet: 1}, token=f"t{n}", now=utcnow())
                db.session.commit()
                return redemption.receipt_seq
            except points.InsufficientPoints as exc:
                db.session.rollback()
                return exc
            finally:
                db.session.remove()

    results = at_once(8, redeem)
    assert sorted(r for r in results if isinstance(r, int)) == [1, 2, 3, 4]
    assert sum(isinstance(r, points.InsufficientPoints) for r in results) == 4
    assert_invariants_hold()


@postgres_only
@pytest.mark.own_database
def test_tables_do_not_wait_for_one_another_on_the_days_row_or_the_receipt_number(app, table, monkeypatch):
    """The first table stops over its kettle, mid-transaction, until the second table (a sheet for someone
    else, started once the first is there) has finished — and the second takes receipt number 1: the first
    held neither the session's row (only share-locked) nor the number's (taken last). Were the second to
    wait for the first, the first would go on only after HOLD_SECONDS, and finish first."""
    other = factories.make_user(name="李娟")
    points.award(other, 100, reference="test", description="测试积分", key="seed:other")
    people = [table["volunteer"], other.id]
    staff_phones, session_id = table["staff"], table["session"]
    settle()
    first_is_holding, second_is_done = threading.Event(), threading.Event()
    move = stock._move_item

    def holding_move(item, delta):
        moved = move(item, delta)
        if item.id == table["kettle"]:
            first_is_holding.set()
            second_is_done.wait(HOLD_SECONDS)
        return moved

    monkeypatch.setattr(stock, "_move_item", holding_move)
    finished = {}

    def act(n):
        with app.app_context():
            try:
                if n == 1:
                    assert first_is_holding.wait(HOLD_SECONDS)
                redemption = counter.redeem(User.query.filter_by(phone=staff_phones[n]).one(),
                                            db.session.get(CounterSession, session_id),
                                            db.session.get(User, people[n]),
                                            {table["kettle" if n == 0 else "sheet"]: 1}, token=f"table{n}",
                                            now=utcnow())
                db.session.commit()
                finished[n] = time.monotonic()
                if n == 1:
                    second_is_done.set()
                return redemption.receipt_seq
            finally:
                db.session.remove()

    results = at_once(2, act)
    assert results == [2, 1], results
    assert finished[1] < finished[0]
    assert_invariants_hold()
